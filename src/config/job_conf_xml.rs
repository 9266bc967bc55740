//! `job_conf.xml` (Galaxy's legacy format): `plugins`, `handlers`, `destinations` (with their
//! `<param>`, `<env>` and `<resubmit>`), `tools`, `limits`; elements we do not model
//! (`resources`, `macros`, `job_metrics`, …) are accepted and skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::ConfigError;
use super::execution::{Origin, Place, make_env_entry, make_resubmit, parse_bool};
use super::job_conf::{
    DEFAULT_WORKERS, Environment, JobConf, Runner, StaticHandler, ToolMapping, make_limit,
    parse_assign,
};
use crate::tools::dom::{self, Element};

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn parse(text: &str, file: &Path) -> Result<(JobConf, Origin), ConfigError> {
    let doc = dom::parse(text, file).map_err(|e| match e {
        crate::tools::ToolError::Invalid { line, message, .. } => ConfigError::Syntax {
            file: file.to_path_buf(),
            line: Some(line),
            message,
        },
        other => ConfigError::Syntax {
            file: file.to_path_buf(),
            line: None,
            message: other.to_string(),
        },
    })?;
    let bad = |el: &Element, key: String, message: String| ConfigError::Invalid {
        file: file.to_path_buf(),
        key,
        line: Some(doc.line(el.pos)),
        message,
    };
    let root = &doc.root;
    if root.name != "job_conf" {
        return Err(bad(
            root,
            format!("<{}>", root.name),
            "expected the root element <job_conf>".into(),
        ));
    }
    let mut conf = JobConf::default();
    let mut lines: HashMap<Place, usize> = HashMap::new();
    let number = |el: &Element, attr: &str| -> Result<Option<u32>, ConfigError> {
        el.attr(attr)
            .map(|v| {
                v.trim().parse::<u32>().map_err(|_| {
                    bad(
                        el,
                        format!("<{} {attr}>", el.name),
                        format!("expected a whole number, got `{v}`"),
                    )
                })
            })
            .transpose()
    };
    for section in &root.children {
        match section.name.as_str() {
            "plugins" => {
                conf.runners.clear();
                let default_workers =
                    number(section, "workers")?.map_or(DEFAULT_WORKERS, |w| w as usize);
                for p in section.children.iter().filter(|c| c.name == "plugin") {
                    if p.attr("type").is_some_and(|t| t != "runner") {
                        continue;
                    }
                    let id = p
                        .attr("id")
                        .ok_or_else(|| {
                            bad(p, "<plugin>".into(), "missing the `id` attribute".into())
                        })?
                        .to_string();
                    let load = p
                        .attr("load")
                        .ok_or_else(|| {
                            bad(
                                p,
                                format!("<plugin id=\"{id}\">"),
                                "missing the `load` attribute".into(),
                            )
                        })?
                        .to_string();
                    let workers = number(p, "workers")?.map_or(default_workers, |w| w as usize);
                    if workers == 0 {
                        return Err(bad(
                            p,
                            format!("<plugin id=\"{id}\" workers>"),
                            "expected at least 1".into(),
                        ));
                    }
                    lines.insert(Place::Runner(id.clone()), doc.line(p.pos));
                    let mut params = BTreeMap::new();
                    for param in p.children.iter().filter(|c| c.name == "param") {
                        if let Some(pid) = param.attr("id") {
                            lines.insert(
                                Place::RunnerParam(id.clone(), pid.to_string()),
                                doc.line(param.pos),
                            );
                            params.insert(pid.to_string(), param.text.trim().to_string());
                        }
                    }
                    conf.runners
                        .insert(id.clone(), Runner::new(id, load, workers, params));
                }
            }
            "handlers" => {
                if let Some(a) = section.attr("assign_with") {
                    for name in split_list(a) {
                        let m = parse_assign(&name).ok_or_else(|| {
                            bad(section, "<handlers assign_with>".into(), format!("unknown assign method `{name}`; expected mem-self, db-self, db-preassign, db-transaction-isolation or db-skip-locked"))
                        })?;
                        conf.handling.assign.push(m);
                    }
                }
                conf.handling.max_grab = number(section, "max_grab")?;
                conf.handling.ready_window_size = number(section, "ready_window_size")?;
                conf.handling.default = section.attr("default").map(String::from);
                for h in section.children.iter().filter(|c| c.name == "handler") {
                    let id = h
                        .attr("id")
                        .ok_or_else(|| {
                            bad(h, "<handler>".into(), "missing the `id` attribute".into())
                        })?
                        .to_string();
                    let tags = h.attr("tags").map(split_list).unwrap_or_default();
                    conf.handling.handlers.push(StaticHandler { id, tags });
                }
            }
            "destinations" => {
                conf.environments.clear();
                for d in section.children.iter().filter(|c| c.name == "destination") {
                    let id = d
                        .attr("id")
                        .ok_or_else(|| {
                            bad(
                                d,
                                "<destination>".into(),
                                "missing the `id` attribute".into(),
                            )
                        })?
                        .to_string();
                    let runner = d
                        .attr("runner")
                        .ok_or_else(|| {
                            bad(
                                d,
                                format!("<destination id=\"{id}\">"),
                                "missing the `runner` attribute".into(),
                            )
                        })?
                        .to_string();
                    let tags = d.attr("tags").map(split_list).unwrap_or_default();
                    lines.insert(Place::EnvRunner(id.clone()), doc.line(d.pos));
                    let mut params = BTreeMap::new();
                    let mut env = Vec::new();
                    let mut resubmit = Vec::new();
                    for c in &d.children {
                        match c.name.as_str() {
                            "param" => {
                                if let Some(pid) = c.attr("id") {
                                    lines.insert(
                                        Place::EnvParam(id.clone(), pid.to_string()),
                                        doc.line(c.pos),
                                    );
                                    params.insert(pid.to_string(), c.text.trim().to_string());
                                }
                            }
                            "env" => {
                                let key = format!("<destination id=\"{id}\"> <env>");
                                let raw = match c.attr("raw") {
                                    None => false,
                                    Some(v) => parse_bool(v).ok_or_else(|| {
                                        bad(
                                            c,
                                            format!("<destination id=\"{id}\"> <env raw>"),
                                            format!("expected true or false, got `{v}`"),
                                        )
                                    })?,
                                };
                                let name = c.attr("id").map(String::from);
                                let execute = c
                                    .attr("exec")
                                    .or_else(|| c.attr("execute"))
                                    .map(String::from);
                                let source = c.attr("file").map(String::from);
                                // Only a variable has a value: the element's text.
                                let value = name.as_ref().map(|_| c.text.trim().to_string());
                                let entry = make_env_entry(name, value, raw, execute, source)
                                    .map_err(|e| bad(c, key, e))?;
                                env.push(entry);
                            }
                            "resubmit" => {
                                lines.insert(
                                    Place::Resubmit(id.clone(), resubmit.len()),
                                    doc.line(c.pos),
                                );
                                if c.attr("handler").is_some() {
                                    log::warn!(
                                        "{}:{}: <resubmit handler>: resubmitting to another handler is not supported; the job stays with its handler",
                                        file.display(),
                                        doc.line(c.pos)
                                    );
                                }
                                let target = match (c.attr("destination"), c.attr("environment")) {
                                    (Some(a), Some(b)) if a != b => {
                                        return Err(bad(
                                            c,
                                            format!(
                                                "<destination id=\"{id}\"> <resubmit destination>"
                                            ),
                                            format!(
                                                "`destination=\"{a}\"` and `environment=\"{b}\"` differ; give one"
                                            ),
                                        ));
                                    }
                                    (a, b) => a.or(b).map(String::from),
                                };
                                let r = make_resubmit(c.attr("condition"), target, c.attr("delay"))
                                    .map_err(|(field, message)| {
                                        bad(
                                            c,
                                            format!("<destination id=\"{id}\"> <resubmit {field}>"),
                                            message,
                                        )
                                    })?;
                                resubmit.push(r);
                            }
                            _ => {}
                        }
                    }
                    conf.environments.insert(
                        id.clone(),
                        Environment {
                            id,
                            runner,
                            tags,
                            params,
                            env,
                            resubmit,
                        },
                    );
                }
                match section.attr("default") {
                    Some(d) => conf.default_environment = d.to_string(),
                    None => {
                        if let Some(first) = section
                            .children
                            .iter()
                            .find(|c| c.name == "destination")
                            .and_then(|c| c.attr("id"))
                        {
                            conf.default_environment = first.to_string();
                        }
                    }
                }
            }
            "tools" => {
                for t in section.children.iter().filter(|c| c.name == "tool") {
                    let id = t
                        .attr("id")
                        .ok_or_else(|| {
                            bad(t, "<tool>".into(), "missing the `id` attribute".into())
                        })?
                        .to_string();
                    let handler = t.attr("handler").map(String::from);
                    let environment = t
                        .attr("destination")
                        .or_else(|| t.attr("environment"))
                        .map(String::from);
                    conf.tools.insert(
                        id.clone(),
                        ToolMapping {
                            id,
                            handler,
                            environment,
                        },
                    );
                }
            }
            "limits" => {
                for l in section.children.iter().filter(|c| c.name == "limit") {
                    let kind = l.attr("type").ok_or_else(|| {
                        bad(l, "<limit>".into(), "missing the `type` attribute".into())
                    })?;
                    let target = l
                        .attr("id")
                        .or_else(|| l.attr("tag"))
                        .or_else(|| l.attr("destination"))
                        .map(String::from);
                    match make_limit(kind, target, l.text.trim())
                        .map_err(|e| bad(l, format!("<limit type=\"{kind}\">"), e))?
                    {
                        Some(limit) => conf.limits.push(limit),
                        None => log::warn!(
                            "{}:{}: limit type `{kind}` is not enforced by this server; ignored",
                            file.display(),
                            doc.line(l.pos)
                        ),
                    }
                }
            }
            "resources" | "macros" | "xml" | "execution" => {}
            other => log::warn!(
                "{}:{}: unknown element <{other}> in <job_conf>; ignored",
                file.display(),
                doc.line(section.pos)
            ),
        }
    }
    Ok((conf, Origin::Xml(lines)))
}
