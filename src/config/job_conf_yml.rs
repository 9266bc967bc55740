//! `job_conf.yml` (Galaxy >= 21): `runners`, `handling`, `execution`, `tools`, `limits`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::ConfigError;
use super::execution::{EnvEntry, Origin, Resubmit, make_env_entry, make_resubmit, parse_bool};
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

/// A parameter's value as text: strings as they are, anything else as YAML.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
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

pub fn parse(text: &str, file: &Path) -> Result<(JobConf, Origin), ConfigError> {
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
            let params = body
                .iter()
                .map(|(k, v)| (key_str(k), value_text(v)))
                .filter(|(k, _)| k != "load" && k != "workers")
                .collect();
            conf.runners
                .insert(id.clone(), Runner::new(id, load, workers, params));
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
                    if !["runner", "tags", "env", "resubmit"].contains(&pk.as_str()) {
                        params.insert(pk, value_text(pv));
                    }
                }
                let env = env_entries(
                    &cx,
                    body.get("env").unwrap_or(&Value::Null),
                    &format!("{key}.env"),
                )?;
                let resubmit = resubmits(
                    &cx,
                    body.get("resubmit").unwrap_or(&Value::Null),
                    &format!("{key}.resubmit"),
                )?;
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
    Ok((conf, Origin::Yaml(text.to_string())))
}

/// An environment's `env`: a list of `{name, value[, raw]}`, `{execute}` or `{file}`.
fn env_entries(cx: &Ctx<'_>, v: &Value, key: &str) -> Result<Vec<EnvEntry>, ConfigError> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items,
        _ => {
            return Err(cx.bad(
                key,
                "expected a list of {name, value}, {execute} or {file} entries",
            ));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let k = format!("{key}[{i}]");
        let Some(m) = cx.map(item, &k)? else {
            return Err(cx.bad(&k, "expected {name, value}, {execute} or {file}"));
        };
        let (mut name, mut value, mut raw, mut execute, mut file) = (None, None, false, None, None);
        for (fk, fv) in m {
            let fk = key_str(fk);
            let fkey = format!("{k}.{fk}");
            match fk.as_str() {
                "name" => name = Some(cx.string(fv, &fkey)?),
                "value" => {
                    value = Some(match fv {
                        Value::Null => String::new(),
                        other => cx.string(other, &fkey)?,
                    })
                }
                "raw" => {
                    raw = match fv {
                        Value::Bool(b) => *b,
                        other => parse_bool(&cx.string(other, &fkey)?)
                            .ok_or_else(|| cx.bad(&fkey, "expected true or false"))?,
                    }
                }
                "execute" => execute = Some(cx.string(fv, &fkey)?),
                "file" => file = Some(cx.string(fv, &fkey)?),
                _ => {
                    return Err(cx.bad(
                        &fkey,
                        "unknown key; an env entry takes name, value, raw, execute or file",
                    ));
                }
            }
        }
        out.push(make_env_entry(name, value, raw, execute, file).map_err(|e| cx.bad(&k, e))?);
    }
    Ok(out)
}

/// An environment's `resubmit`: one `{condition, environment, delay}` or a list of them
/// (`destination` is Galaxy's older name of `environment`).
fn resubmits(cx: &Ctx<'_>, v: &Value, key: &str) -> Result<Vec<Resubmit>, ConfigError> {
    let items: Vec<(String, &Value)> = match v {
        Value::Null => return Ok(vec![]),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{key}[{i}]"), item))
            .collect(),
        Value::Mapping(_) => vec![(key.to_string(), v)],
        _ => {
            return Err(cx.bad(
                key,
                "expected a list of {condition, environment, delay} entries",
            ));
        }
    };
    let mut out = Vec::new();
    for (k, item) in items {
        let Some(m) = cx.map(item, &k)? else {
            return Err(cx.bad(&k, "expected {condition, environment, delay}"));
        };
        let (mut condition, mut environment, mut delay) = (None, None::<(String, String)>, None);
        for (fk, fv) in m {
            let fk = key_str(fk);
            let fkey = format!("{k}.{fk}");
            match fk.as_str() {
                "condition" => {
                    condition = match fv {
                        Value::Null => None,
                        Value::Bool(true) => Some("True".to_string()),
                        Value::Bool(false) => Some("False".to_string()),
                        other => Some(cx.string(other, &fkey)?),
                    }
                }
                "environment" | "destination" => {
                    let target = cx.string(fv, &fkey)?;
                    if let Some((other_key, other)) = &environment
                        && *other != target
                    {
                        return Err(cx.bad(
                            &fkey,
                            format!("`{other_key}: {other}` names another environment; give one"),
                        ));
                    }
                    environment = Some((fk.clone(), target));
                }
                "delay" => delay = Some(cx.string(fv, &fkey)?),
                "handler" => log::warn!(
                    "{}: key `{fkey}`: resubmitting to another handler is not supported; the job stays with its handler",
                    cx.file.display()
                ),
                _ => {
                    return Err(cx.bad(
                        &fkey,
                        "unknown key; a resubmit entry takes condition, environment (or destination), delay and handler",
                    ));
                }
            }
        }
        let r = make_resubmit(
            condition.as_deref(),
            environment.map(|(_, e)| e),
            delay.as_deref(),
        )
        .map_err(|(field, message)| cx.bad(&format!("{k}.{field}"), message))?;
        out.push(r);
    }
    Ok(out)
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
