//! `job_conf.yml` (Galaxy >= 21): `runners`, `handling`, `execution`, `tools`, `limits`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::ConfigError;
use super::job_conf::{
    DEFAULT_WORKERS, Environment, Handling, JobConf, Runner, StaticHandler, ToolMapping,
    make_limit, parse_assign,
};
use super::yaml::find_key_line;

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn bad(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            line: find_key_line(self.text, key),
            message: message.into(),
        }
    }

    fn map<'v>(&self, v: &'v Value, key: &str) -> Result<Option<&'v Mapping>, ConfigError> {
        match v {
            Value::Null => Ok(None),
            Value::Mapping(m) => Ok(Some(m)),
            _ => Err(self.bad(key, "expected a mapping")),
        }
    }

    fn string(&self, v: &Value, key: &str) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.bad(key, "expected a string")),
        }
    }

    fn strings(&self, v: &Value, key: &str) -> Result<Vec<String>, ConfigError> {
        match v {
            Value::Null => Ok(vec![]),
            Value::Sequence(items) => items.iter().map(|i| self.string(i, key)).collect(),
            other => Ok(self
                .string(other, key)?
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()),
        }
    }

    fn uint(&self, v: &Value, key: &str) -> Result<u32, ConfigError> {
        match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| self.bad(key, "expected a whole number")),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.bad(key, format!("expected a whole number, got `{s}`"))),
            _ => Err(self.bad(key, "expected a whole number")),
        }
    }
}

fn key_str(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

pub fn parse(text: &str, file: &Path) -> Result<JobConf, ConfigError> {
    let cx = Ctx { file, text };
    let doc: Value = serde_yaml::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })?;
    let root = cx.map(&doc, "(top level)")?.cloned().unwrap_or_default();
    let mut conf = JobConf::default();
    for (k, _) in &root {
        let k = key_str(k);
        if ![
            "runners",
            "handling",
            "execution",
            "tools",
            "limits",
            "resources",
            "plugins",
            "handlers",
            "environments",
        ]
        .contains(&k.as_str())
        {
            log::warn!("{}: unknown job configuration key `{k}`", file.display());
        }
    }
    if let Some(runners) = cx.map(root.get("runners").unwrap_or(&Value::Null), "runners")? {
        conf.runners.clear();
        for (id, body) in runners {
            let id = key_str(id);
            let key = format!("runners.{id}");
            let body = cx.map(body, &key)?.cloned().unwrap_or_default();
            let load = match body.get("load") {
                Some(v) => cx.string(v, &format!("{key}.load"))?,
                None => return Err(cx.bad(&key, "expected a `load:` naming the runner plugin")),
            };
            let workers = match body.get("workers") {
                Some(v) => cx.uint(v, &format!("{key}.workers"))? as usize,
                None => DEFAULT_WORKERS,
            };
            if workers == 0 {
                return Err(cx.bad(&format!("{key}.workers"), "expected at least 1"));
            }
            conf.runners
                .insert(id.clone(), Runner { id, load, workers });
        }
    }
    if let Some(h) = cx.map(root.get("handling").unwrap_or(&Value::Null), "handling")? {
        conf.handling = handling(&cx, h)?;
    }
    if let Some(ex) = cx.map(root.get("execution").unwrap_or(&Value::Null), "execution")? {
        if let Some(envs) = cx.map(
            ex.get("environments").unwrap_or(&Value::Null),
            "execution.environments",
        )? {
            conf.environments.clear();
            for (id, body) in envs {
                let id = key_str(id);
                let key = format!("execution.environments.{id}");
                let body = cx.map(body, &key)?.cloned().unwrap_or_default();
                let runner = match body.get("runner") {
                    Some(v) => cx.string(v, &format!("{key}.runner"))?,
                    None => return Err(cx.bad(&key, "expected a `runner:`")),
                };
                let tags = cx.strings(
                    body.get("tags").unwrap_or(&Value::Null),
                    &format!("{key}.tags"),
                )?;
                let mut params = BTreeMap::new();
                for (pk, pv) in &body {
                    let pk = key_str(pk);
                    if pk != "runner" && pk != "tags" {
                        let text = match pv {
                            Value::String(s) => s.clone(),
                            other => serde_yaml::to_string(other)
                                .unwrap_or_default()
                                .trim()
                                .to_string(),
                        };
                        params.insert(pk, text);
                    }
                }
                conf.environments.insert(
                    id.clone(),
                    Environment {
                        id,
                        runner,
                        tags,
                        params,
                    },
                );
            }
        }
        match ex.get("default") {
            Some(v) => conf.default_environment = cx.string(v, "execution.default")?,
            None if !conf.environments.contains_key(&conf.default_environment) => {
                if let Some(first) = conf.environments.keys().next() {
                    conf.default_environment = first.clone();
                }
            }
            None => {}
        }
    }
    match root.get("tools").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::Sequence(items) => {
            for item in items {
                let m = cx.map(item, "tools")?.cloned().unwrap_or_default();
                let id = match m.get("id") {
                    Some(v) => cx.string(v, "tools.id")?,
                    None => return Err(cx.bad("tools", "each entry needs an `id:`")),
                };
                let handler = m
                    .get("handler")
                    .map(|v| cx.string(v, "tools.handler"))
                    .transpose()?;
                let environment = m
                    .get("environment")
                    .or_else(|| m.get("destination"))
                    .map(|v| cx.string(v, "tools.environment"))
                    .transpose()?;
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
        _ => return Err(cx.bad("tools", "expected a list of {id, handler, environment}")),
    }
    match root.get("limits").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::Sequence(items) => {
            for item in items {
                let m = cx.map(item, "limits")?.cloned().unwrap_or_default();
                let kind = match m.get("type") {
                    Some(v) => cx.string(v, "limits.type")?,
                    None => return Err(cx.bad("limits", "each limit needs a `type:`")),
                };
                let value = match m.get("value") {
                    Some(v) => cx.string(v, "limits.value")?,
                    None => {
                        return Err(cx.bad("limits", format!("limit `{kind}` needs a `value:`")));
                    }
                };
                let target = m
                    .get("id")
                    .or_else(|| m.get("tag"))
                    .or_else(|| m.get("environment"))
                    .map(|v| cx.string(v, "limits.id"))
                    .transpose()?;
                match make_limit(&kind, target, &value).map_err(|e| cx.bad("limits", e))? {
                    Some(l) => conf.limits.push(l),
                    None => log::warn!(
                        "{}: limit type `{kind}` is not enforced by this server; ignored",
                        file.display()
                    ),
                }
            }
        }
        _ => return Err(cx.bad("limits", "expected a list of {type, value}")),
    }
    Ok(conf)
}

fn handling(cx: &Ctx<'_>, h: &Mapping) -> Result<Handling, ConfigError> {
    let mut out = Handling::default();
    if let Some(v) = h.get("assign") {
        for name in cx.strings(v, "handling.assign")? {
            let m = parse_assign(&name).ok_or_else(|| {
                cx.bad("handling.assign", format!("unknown assign method `{name}`; expected mem-self, db-self, db-preassign, db-transaction-isolation or db-skip-locked"))
            })?;
            out.assign.push(m);
        }
    }
    if let Some(v) = h.get("max_grab") {
        out.max_grab = Some(cx.uint(v, "handling.max_grab")?);
    }
    if let Some(v) = h.get("ready_window_size") {
        out.ready_window_size = Some(cx.uint(v, "handling.ready_window_size")?);
    }
    if let Some(v) = h.get("default") {
        out.default = Some(cx.string(v, "handling.default")?);
    }
    for section in ["processes", "handlers"] {
        let key = format!("handling.{section}");
        if let Some(procs) = cx.map(h.get(section).unwrap_or(&Value::Null), &key)? {
            for (id, body) in procs {
                let id = key_str(id);
                let tags = match cx.map(body, &format!("{key}.{id}"))? {
                    Some(b) => cx.strings(
                        b.get("tags").unwrap_or(&Value::Null),
                        &format!("{key}.{id}.tags"),
                    )?,
                    None => vec![],
                };
                out.handlers.push(StaticHandler { id, tags });
            }
        }
    }
    Ok(out)
}
