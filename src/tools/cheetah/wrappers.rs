//! Galaxy's parameter wrappers (`lib/galaxy/tools/wrappers.py`) as [`Wrapper`]s: sanitization
//! of values happens here, as in Galaxy, not in the engine.

use std::cmp::Ordering;
use std::sync::Arc;

use super::value::{Map, Value, Wrapper, float_repr};
use crate::tools::sanitize::sanitize_text;
use crate::tools::sanitizer::Sanitizer;

/// The parameter type, which decides how a value prints and compares.
#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    Text,
    Integer,
    Float,
    Boolean {
        truevalue: String,
        falsevalue: String,
    },
    /// A select (`multiple` when the raw value is a list).
    Select,
}

/// Galaxy's `InputValueWrapper` / `SelectToolParameterWrapper`: a parameter value.
///
/// - `str()` is the value as the command line sees it: text and select values sanitized
///   (`sanitize.rs`, or the param's `<sanitizer>`: `sanitizer.rs`), booleans as `truevalue`/`falsevalue`, a multiple select joined by `,`;
/// - `==`, `<`, ... cast the wrapper by type first (`$int_param == 5`, `$text == 'a b'`
///   compares the sanitized text, a boolean equals its true/false value or a truthy string);
/// - truthiness is Python's `bool()` of the raw value (`''`, `0`, `None`, `[]` are false);
/// - `.value` is the raw value, as in Galaxy; str methods (`$p.split(',')`) work on the
///   sanitized text (Galaxy would use the raw value: this subset stays on the safe side).
#[derive(Clone, Debug)]
pub struct ParamWrapper {
    pub kind: InputKind,
    /// `Value::None` for an optional parameter left empty.
    pub raw: Value,
    pub optional: bool,
    /// The param's own `<sanitizer>`, used instead of the default one.
    pub sanitizer: Option<Arc<Sanitizer>>,
}

impl ParamWrapper {
    pub fn new(kind: InputKind, raw: impl Into<Value>) -> Self {
        Self {
            kind,
            raw: raw.into(),
            optional: false,
            sanitizer: None,
        }
    }

    /// Sanitizes with the param's `<sanitizer>` instead of the default one.
    pub fn sanitized_by(mut self, sanitizer: Option<Arc<Sanitizer>>) -> Self {
        self.sanitizer = sanitizer;
        self
    }

    pub fn text(raw: &str) -> Self {
        Self::new(InputKind::Text, raw)
    }

    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Wraps it as a [`Value`] for a [`super::Scope`].
    pub fn value(self) -> Value {
        Value::Object(Arc::new(self))
    }

    fn cast(&self) -> Value {
        let text = self.str();
        match &self.kind {
            InputKind::Integer => super::builtins::to_int(&Value::Str(text)).unwrap_or(Value::None),
            InputKind::Float => super::builtins::to_float(&Value::Str(text)).unwrap_or(Value::None),
            InputKind::Boolean { .. } => Value::Bool(self.truthy()),
            InputKind::Text | InputKind::Select => Value::Str(text),
        }
    }

    /// Galaxy's `_get_cast_values`: what the wrapper compares as, against `other`.
    fn compared(&self, other: &Value) -> (Value, Value) {
        if let (
            InputKind::Boolean {
                truevalue,
                falsevalue,
            },
            Value::Str(s),
        ) = (&self.kind, other)
        {
            if s == truevalue || s == falsevalue {
                return (Value::Str(self.str()), other.clone());
            }
            let as_bool = ["true", "yes", "on", "1"].contains(&s.to_lowercase().as_str());
            return (Value::Bool(self.truthy()), Value::Bool(as_bool));
        }
        if self.optional && matches!(self.raw, Value::None) {
            return match other {
                Value::Str(_) => (Value::Str(self.str()), other.clone()),
                _ => (Value::None, other.clone()),
            };
        }
        (self.cast(), other.clone())
    }
}

impl ParamWrapper {
    /// One value as the command line sees it: sanitized by the param's sanitizer or the
    /// default one.
    fn item_text(&self, v: &Value) -> String {
        let owned;
        let text = match v {
            Value::Str(s) => s.as_str(),
            other => {
                owned = other.to_str();
                owned.as_str()
            }
        };
        match &self.sanitizer {
            Some(custom) => custom.apply(text),
            None => sanitize_text(text),
        }
    }
}

impl Wrapper for ParamWrapper {
    fn str(&self) -> String {
        match (&self.kind, &self.raw) {
            (
                InputKind::Boolean {
                    truevalue,
                    falsevalue,
                },
                raw,
            ) => if raw.truthy() { truevalue } else { falsevalue }.clone(),
            // Galaxy's `to_param_dict_string` writes `None` as nothing (a select's, as
            // `SelectToolParameter` has it, as `None`).
            (InputKind::Text | InputKind::Integer | InputKind::Float, Value::None) => String::new(),
            // `SelectToolParameter.to_param_dict_string`: nothing chosen is `None`.
            (InputKind::Select, Value::List(items)) if items.is_empty() => "None".to_string(),
            (_, Value::List(items)) => items
                .iter()
                .map(|v| self.item_text(v))
                .collect::<Vec<_>>()
                .join(","),
            (_, Value::Float(f)) => float_repr(*f),
            (_, raw) => self.item_text(raw),
        }
    }

    fn attr(&self, name: &str) -> Option<Value> {
        match name {
            "value" => Some(self.raw.clone()),
            _ => None,
        }
    }

    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        super::methods::method(&Value::Str(self.str()), method, args).map_err(|f| match f {
            super::eval::Fault::Error(m) | super::eval::Fault::NotFound(m) => m,
        })
    }

    fn truthy(&self) -> bool {
        self.raw.truthy()
    }

    fn eq(&self, other: &Value) -> Option<bool> {
        if self.kind == InputKind::Select
            && let Value::Str(s) = other
        {
            let empty = matches!(&self.raw, Value::None)
                || matches!(&self.raw, Value::List(l) if l.is_empty());
            return Some((s.is_empty() && empty) || self.str() == *s);
        }
        if self.kind == InputKind::Select {
            return None;
        }
        let (a, b) = self.compared(other);
        Some(a.py_eq(&b))
    }

    fn cmp(&self, other: &Value) -> Option<Ordering> {
        let (a, b) = self.compared(other);
        a.py_cmp(&b)
    }

    fn iter(&self) -> Option<Vec<Value>> {
        Some(match &self.raw {
            Value::List(items) => items
                .iter()
                .map(|v| Value::Str(self.item_text(v)))
                .collect(),
            _ => vec![Value::Str(self.str())],
        })
    }
}

/// Galaxy's `DatasetFilenameWrapper`: `str()` is the file path.
///
/// Attributes: `file_name`, `path` (the path), `ext`, `extension`, `file_ext`, `name`
/// (sanitized), `element_identifier` (sanitized; the name when not in a collection),
/// `name_and_ext`, `metadata` ([`MetadataWrapper`]: `$input.metadata.columns`, values as the
/// caller gives them, `None` when unset)
/// and any of `extra`. Method: `is_of_type('tabular', ...)` against `datatypes`, the
/// extension and its ancestors. An absent optional dataset ([`DatasetWrapper::none`]) is
/// false and prints `None`.
#[derive(Clone, Debug, Default)]
pub struct DatasetWrapper {
    pub path: String,
    pub ext: String,
    pub name: String,
    pub element_identifier: Option<String>,
    pub metadata: Map,
    /// The datatype's extension and its ancestors' (`["tabular", "txt", "data"]`).
    pub datatypes: Vec<String>,
    /// Other attributes (`dbkey`, `id`, `hid`, `extra_files_path`, ...).
    pub extra: Map,
    pub absent: bool,
}

impl DatasetWrapper {
    pub fn new(path: impl Into<String>, ext: impl Into<String>, name: impl Into<String>) -> Self {
        let ext = ext.into();
        Self {
            path: path.into(),
            datatypes: vec![ext.clone()],
            ext,
            name: name.into(),
            ..Self::default()
        }
    }

    /// An optional data input left empty.
    pub fn none() -> Self {
        Self {
            absent: true,
            ..Self::default()
        }
    }

    pub fn value(self) -> Value {
        Value::Object(Arc::new(self))
    }

    fn identifier(&self) -> String {
        sanitize_text(self.element_identifier.as_deref().unwrap_or(&self.name))
    }
}

impl Wrapper for DatasetWrapper {
    fn str(&self) -> String {
        if self.absent {
            return "None".into();
        }
        self.path.clone()
    }

    fn attr(&self, name: &str) -> Option<Value> {
        if self.absent {
            return None;
        }
        Some(match name {
            "file_name" | "path" => Value::Str(self.path.clone()),
            "ext" | "extension" | "file_ext" => Value::Str(self.ext.clone()),
            "name" => Value::Str(sanitize_text(&self.name)),
            "element_identifier" => Value::Str(self.identifier()),
            "name_and_ext" => Value::Str(format!("{}.{}", self.identifier(), self.ext)),
            "metadata" => Value::Object(Arc::new(MetadataWrapper(self.metadata.clone()))),
            other => return self.extra.get(other).cloned(),
        })
    }

    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        match method {
            "is_of_type" => Ok(Value::Bool(args.iter().any(
                |a| matches!(a, Value::Str(t) if self.datatypes.iter().any(|d| d == t)),
            ))),
            _ => Err(format!("dataset has no method '{method}'")),
        }
    }

    fn truthy(&self) -> bool {
        !self.absent
    }
}

/// Galaxy's `DatasetFilenameWrapper.MetadataWrapper`: `$input.metadata.name` is the value,
/// or `None` (which writes nothing) when the dataset has no such metadata; `.get(name,
/// default)`, `.element_is_set(name)` and `.items()` as in Galaxy.
#[derive(Clone, Debug)]
pub struct MetadataWrapper(pub Map);

impl Wrapper for MetadataWrapper {
    fn str(&self) -> String {
        Value::Map(self.0.clone()).repr()
    }

    fn attr(&self, name: &str) -> Option<Value> {
        Some(self.0.get(name).cloned().unwrap_or(Value::None))
    }

    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        let key = match args.first() {
            Some(Value::Str(k)) => Some(k.as_str()),
            _ => None,
        };
        match (method, key) {
            ("get", Some(k)) => Ok(self
                .0
                .get(k)
                .cloned()
                .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::None))),
            ("element_is_set", Some(k)) => {
                Ok(Value::Bool(self.0.get(k).is_some_and(Value::truthy)))
            }
            ("items", None) => Ok(Value::List(
                self.0
                    .iter()
                    .map(|(k, v)| Value::Tuple(vec![Value::Str(k.clone()), v.clone()]))
                    .collect(),
            )),
            _ => Err(format!(
                "metadata has no method '{method}' with these arguments"
            )),
        }
    }

    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }

    fn iter(&self) -> Option<Vec<Value>> {
        Some(self.0.iter().map(|(k, _)| Value::Str(k.clone())).collect())
    }
}

/// Galaxy's `DatasetListWrapper` (a `multiple="true"` data input or a collection's
/// datasets): iterates its datasets and prints their paths joined by `,`.
#[derive(Clone, Debug, Default)]
pub struct DatasetListWrapper(pub Vec<Arc<DatasetWrapper>>);

impl DatasetListWrapper {
    pub fn value(self) -> Value {
        Value::Object(Arc::new(self))
    }
}

impl Wrapper for DatasetListWrapper {
    fn str(&self) -> String {
        self.0.iter().map(|d| d.str()).collect::<Vec<_>>().join(",")
    }

    fn attr(&self, _name: &str) -> Option<Value> {
        None
    }

    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }

    fn iter(&self) -> Option<Vec<Value>> {
        Some(self.0.iter().map(|d| Value::Object(d.clone())).collect())
    }

    fn index(&self, key: &Value) -> Option<Value> {
        let Value::Int(i) = key else { return None };
        let len = self.0.len() as i64;
        let i = if *i < 0 { i + len } else { *i };
        let d = self.0.get(usize::try_from(i).ok()?)?;
        Some(Value::Object(d.clone()))
    }
}
