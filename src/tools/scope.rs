//! A job's Cheetah scope (Galaxy's `param_dict`, `lib/galaxy/tools/evaluation.py`): the
//! tool's input tree filled from the job's stored flat values, its datasets as
//! `DatasetWrapper`s, its outputs, config files and the `__tool_directory__`-style globals.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cheetah::wrappers::{DatasetListWrapper, DatasetWrapper, InputKind, ParamWrapper};
use super::cheetah::{Map, Scope, Value};
use super::tree::Input;
use super::{Param, ParamKind, ParamValue, Tool};

/// Names every command may use besides the tool's inputs, outputs and config files.
pub(crate) const GLOBALS: &[&str] = &[
    "__tool_directory__",
    "__new_file_path__",
    "__root_dir__",
    "__user_email__",
    "__user_name__",
    "__user_id__",
    "__galaxy_url__",
    "__local_working_directory__",
    "GALAXY_DATA_INDEX_DIR",
];

/// One dataset as a command sees it.
#[derive(Debug, Clone, Default)]
pub struct DatasetInfo {
    pub path: String,
    pub ext: String,
    pub name: String,
    pub element_identifier: Option<String>,
    /// Metadata (`columns`, `data_lines`, ...), when known.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The extension and its ancestors (`["tabular", "txt", "data"]`); empty: the extension.
    pub datatypes: Vec<String>,
    pub dbkey: Option<String>,
    pub id: i64,
    pub hid: i64,
}

/// What a job's command is rendered from.
#[derive(Debug, Default)]
pub struct JobValues<'a> {
    /// The stored values, by flat key (`cond|p`, `rep_0|p`).
    pub values: &'a [(String, ParamValue)],
    /// Input datasets by the name they are linked under (a flat key; `key1`, `key2`, ... for
    /// a `multiple` data param).
    pub inputs: BTreeMap<String, DatasetInfo>,
    /// Output datasets by output name.
    pub outputs: BTreeMap<String, DatasetInfo>,
    /// Config files by name: the path each is written to.
    pub configfiles: BTreeMap<String, String>,
    /// `__new_file_path__`, the job's temporary directory.
    pub new_file_path: String,
    pub user_email: Option<String>,
    pub user_id: Option<i64>,
}

pub(crate) fn build(tool: &Tool, job: &JobValues<'_>) -> Scope {
    let mut scope = Scope::new();
    for (name, value) in level(&tool.inputs, "", job).iter() {
        scope.set(name.clone(), value.clone());
    }
    for output in &tool.outputs {
        let ds = job
            .outputs
            .get(&output.name)
            .map(|info| dataset(info, true))
            .unwrap_or_else(|| DatasetWrapper::none().value());
        scope.set(output.name.clone(), ds);
    }
    for (name, path) in &job.configfiles {
        scope.set(name.clone(), Value::Str(path.clone()));
    }
    let tool_dir = tool
        .source_file
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    scope.set("__tool_directory__", Value::Str(tool_dir));
    scope.set("__new_file_path__", Value::Str(job.new_file_path.clone()));
    scope.set(
        "__local_working_directory__",
        Value::Str(job.new_file_path.clone()),
    );
    scope.set(
        "__root_dir__",
        Value::Str(
            std::env::current_dir()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    );
    scope.set(
        "__user_email__",
        Value::Str(job.user_email.clone().unwrap_or_default()),
    );
    scope.set(
        "__user_name__",
        Value::Str(
            job.user_email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .unwrap_or_default()
                .to_string(),
        ),
    );
    scope.set(
        "__user_id__",
        Value::Str(job.user_id.map(|i| i.to_string()).unwrap_or_default()),
    );
    scope.set("__galaxy_url__", Value::Str(String::new()));
    scope.set("GALAXY_DATA_INDEX_DIR", Value::Str(String::new()));
    scope
}

/// One level of the input tree under flat-key `prefix`.
fn level(inputs: &[Input], prefix: &str, job: &JobValues<'_>) -> Map {
    let mut map = Map::new();
    for input in inputs {
        match input {
            Input::Param(p) => {
                map.insert(
                    p.name.clone(),
                    param(p, &format!("{prefix}{}", p.name), job),
                );
            }
            Input::Conditional(c) => {
                let inner = format!("{prefix}{}|", c.name);
                let test_key = format!("{inner}{}", c.test.name);
                let mut sub = Map::new();
                sub.insert(c.test.name.clone(), param(&c.test, &test_key, job));
                let chosen = stored(job, &test_key).map(|v| case_value(&c.test.kind, v));
                let case = chosen
                    .and_then(|v| c.cases.iter().position(|k| k.value == v))
                    .or_else(|| (!c.cases.is_empty()).then_some(0));
                if let Some(index) = case {
                    for (name, value) in level(&c.cases[index].inputs, &inner, job).iter() {
                        sub.insert(name.clone(), value.clone());
                    }
                    sub.insert("__current_case__", Value::Int(index as i64));
                }
                map.insert(c.name.clone(), Value::Map(sub));
            }
            Input::Repeat(r) => {
                let head = format!("{prefix}{}_", r.name);
                let mut indices: Vec<usize> = job
                    .values
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .chain(job.inputs.keys().map(String::as_str))
                    .filter_map(|k| k.strip_prefix(&head))
                    .filter_map(|rest| rest.split('|').next()?.parse().ok())
                    .collect();
                indices.sort_unstable();
                indices.dedup();
                let instances = indices
                    .into_iter()
                    .map(|i| {
                        let mut sub = level(&r.inputs, &format!("{head}{i}|"), job);
                        sub.insert("__index__", Value::Int(i as i64));
                        Value::Map(sub)
                    })
                    .collect();
                map.insert(r.name.clone(), Value::List(instances));
            }
            Input::Section(s) => {
                let sub = level(&s.inputs, &format!("{prefix}{}|", s.name), job);
                map.insert(s.name.clone(), Value::Map(sub));
            }
        }
    }
    map
}

fn stored<'v>(job: &'v JobValues<'_>, key: &str) -> Option<&'v ParamValue> {
    job.values.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A conditional's test value as its `<when value>` is written (a boolean's as its
/// `truevalue`/`falsevalue`).
fn case_value(kind: &ParamKind, v: &ParamValue) -> String {
    match v {
        ParamValue::Boolean(b) => match kind {
            ParamKind::Boolean {
                truevalue,
                falsevalue,
            } => if *b { truevalue } else { falsevalue }.clone(),
            _ => b.to_string(),
        },
        ParamValue::Text(s) | ParamValue::Select(s) => s.clone(),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Float(f) => f.to_string(),
        _ => String::new(),
    }
}

fn param(p: &Param, key: &str, job: &JobValues<'_>) -> Value {
    let value = stored(job, key);
    let wrap = |kind: InputKind, raw: Value| {
        let w = ParamWrapper::new(kind, raw).sanitized_by(p.sanitizer.clone());
        if p.optional { w.optional() } else { w }.value()
    };
    match &p.kind {
        ParamKind::Data {
            multiple: false, ..
        } => job
            .inputs
            .get(key)
            .map(|info| dataset(info, false))
            .unwrap_or_else(|| DatasetWrapper::none().value()),
        ParamKind::Data { multiple: true, .. } => {
            let list = (1..)
                .map_while(|i| job.inputs.get(&format!("{key}{i}")))
                .map(|info| Arc::new(dataset_wrapper(info)))
                .collect();
            DatasetListWrapper(list).value()
        }
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => wrap(
            InputKind::Boolean {
                truevalue: truevalue.clone(),
                falsevalue: falsevalue.clone(),
            },
            match value {
                Some(ParamValue::Boolean(b)) => Value::Bool(*b),
                _ => Value::Bool(false),
            },
        ),
        ParamKind::Integer { .. } => wrap(
            InputKind::Integer,
            match value {
                Some(ParamValue::Integer(i)) => Value::Int(*i),
                _ => Value::None,
            },
        ),
        ParamKind::Float { .. } => wrap(
            InputKind::Float,
            match value {
                Some(ParamValue::Float(f)) => Value::Float(*f),
                Some(ParamValue::Integer(i)) => Value::Float(*i as f64),
                _ => Value::None,
            },
        ),
        ParamKind::Select { multiple: true, .. } => {
            let items = match value {
                Some(ParamValue::SelectList(list)) => list,
                _ => &Vec::new(),
            };
            let raw = Value::List(items.iter().map(|s| Value::Str(s.clone())).collect());
            wrap(InputKind::Select, raw)
        }
        ParamKind::Select { .. } => wrap(InputKind::Select, text(value)),
        ParamKind::DataColumn { multiple, .. } => {
            let columns = match value {
                Some(ParamValue::Columns(c)) => c.clone(),
                _ => Vec::new(),
            };
            let raw = if *multiple {
                Value::List(columns.iter().map(|c| Value::Str(c.to_string())).collect())
            } else {
                columns
                    .first()
                    .map(|c| Value::Str(c.to_string()))
                    .unwrap_or(Value::None)
            };
            wrap(InputKind::Select, raw)
        }
        // Galaxy writes a color as checked (`#rrggbb`), unsanitized.
        ParamKind::Color => text(value),
        ParamKind::Text | ParamKind::Hidden => {
            let raw = text(value);
            let raw = if matches!(raw, Value::None) && !p.optional {
                Value::Str(String::new())
            } else {
                raw
            };
            wrap(InputKind::Text, raw)
        }
    }
}

fn text(value: Option<&ParamValue>) -> Value {
    match value {
        Some(ParamValue::Text(s) | ParamValue::Select(s)) => Value::Str(s.clone()),
        Some(ParamValue::Integer(i)) => Value::Str(i.to_string()),
        Some(ParamValue::Float(f)) => Value::Str(f.to_string()),
        Some(ParamValue::Boolean(b)) => Value::Str(b.to_string()),
        _ => Value::None,
    }
}

fn dataset_wrapper(info: &DatasetInfo) -> DatasetWrapper {
    let mut w = DatasetWrapper::new(info.path.clone(), info.ext.clone(), info.name.clone());
    w.element_identifier = info.element_identifier.clone();
    if !info.datatypes.is_empty() {
        w.datatypes = info.datatypes.clone();
    }
    let mut metadata = Map::new();
    for (k, v) in &info.metadata {
        metadata.insert(k.clone(), json_value(v));
    }
    if let Some(dbkey) = &info.dbkey {
        metadata.insert("dbkey", Value::Str(dbkey.clone()));
        w.extra.insert("dbkey", Value::Str(dbkey.clone()));
    }
    w.metadata = metadata;
    w.extra.insert("id", Value::Int(info.id));
    w.extra.insert("hid", Value::Int(info.hid));
    let files = info
        .path
        .strip_suffix(".dat")
        .map(|stem| format!("{stem}_files"))
        .unwrap_or_else(|| format!("{}_files", info.path));
    w.extra
        .insert("extra_files_path", Value::Str(files.clone()));
    w.extra.insert("files_path", Value::Str(files));
    w
}

fn dataset(info: &DatasetInfo, _output: bool) -> Value {
    dataset_wrapper(info).value()
}

/// A JSON metadata value as a Cheetah value.
fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or_default())),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(json_value).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), json_value(v));
            }
            Value::Map(m)
        }
    }
}
