//! Values a template works on: what the caller puts in a [`Scope`] and what expressions make.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A Python-like value.
#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Made by `enumerate`, `zip`, `.items()` and tuple literals; printed `(a, b)`.
    Tuple(Vec<Value>),
    /// Ordered, string keys; `$m.key` and `$m['key']` both read it.
    Map(Map),
    /// A caller's object (a dataset, a parameter value) behind [`Wrapper`].
    Object(Arc<dyn Wrapper>),
}

/// An insertion-ordered map with string keys, like a Python dict of Galaxy's nested params.
#[derive(Clone, Debug, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing entry in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Builder form of [`Map::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A caller-defined object: Galaxy's `DatasetFilenameWrapper`, `InputValueWrapper`, ...
///
/// The engine only knows these operations; everything else (paths, sanitization) is the
/// wrapper's business.
pub trait Wrapper: fmt::Debug + Send + Sync {
    /// Python's `str(obj)`: what a placeholder writes.
    fn str(&self) -> String;
    /// `obj.name`; `None` means "no such attribute" (a render error naming it).
    fn attr(&self, name: &str) -> Option<Value>;
    /// `obj.method(args)`; `Err` carries the message of a render error.
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        let _ = args;
        Err(format!("object has no method '{method}'"))
    }
    /// Python's `bool(obj)`.
    fn truthy(&self) -> bool {
        true
    }
    /// `obj == other`; `None` falls back to identity (Python's default `__eq__`).
    fn eq(&self, other: &Value) -> Option<bool> {
        let _ = other;
        None
    }
    /// `obj < other` and friends; `None` is a render error (not orderable).
    fn cmp(&self, other: &Value) -> Option<Ordering> {
        let _ = other;
        None
    }
    /// `for x in obj`; `None` means not iterable.
    fn iter(&self) -> Option<Vec<Value>> {
        None
    }
    /// `obj[key]`; `None` means not subscriptable or no such key.
    fn index(&self, key: &Value) -> Option<Value> {
        let _ = key;
        None
    }
}

/// The variables a render sees (Galaxy's `param_dict`), looked up after `#set`/`#for` names.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    vars: HashMap<String, Value>,
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Builder form of [`Scope::set`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Scope {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        iter.into_iter().fold(Map::new(), |m, (k, v)| m.with(k, v))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}
impl<W: Wrapper + 'static> From<Arc<W>> for Value {
    fn from(w: Arc<W>) -> Self {
        Value::Object(w)
    }
}

impl Value {
    /// Wraps a caller's object.
    pub fn object(w: impl Wrapper + 'static) -> Self {
        Value::Object(Arc::new(w))
    }

    /// Python's type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Map(_) => "dict",
            Value::Object(_) => "object",
        }
    }

    /// Python's `bool(v)`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// Python's `str(v)`.
    pub fn to_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Object(o) => o.str(),
            other => other.repr(),
        }
    }

    /// Python's `repr(v)` (used inside lists, tuples and dicts).
    pub fn repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => str_repr(s),
            Value::List(v) => format!("[{}]", join_repr(v)),
            Value::Tuple(v) if v.len() == 1 => format!("({},)", v[0].repr()),
            Value::Tuple(v) => format!("({})", join_repr(v)),
            Value::Map(m) => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{}: {}", str_repr(k), v.repr()))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            Value::Object(o) => o.str(),
        }
    }

    /// Python's `==`.
    pub fn py_eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Object(a), b) => a.eq(b).unwrap_or_else(|| match b {
                Object(b) => Arc::ptr_eq(a, b) || b.eq(self).unwrap_or(false),
                _ => false,
            }),
            (a, Object(b)) => b.eq(a).unwrap_or(false),
            (None, None) => true,
            (Str(a), Str(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Map(a), Map(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.py_eq(w)))
            }
            (a, b) => match (a.number(), b.number()) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            },
        }
    }

    /// Python's ordering; `None` when the two cannot be compared.
    pub fn py_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Object(a), b) => a.cmp(b),
            (a, Object(b)) => b.cmp(a).map(Ordering::reverse),
            (Str(a), Str(b)) => Some(a.cmp(b)),
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.py_cmp(y)? {
                        Ordering::Equal => continue,
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            (a, b) => a.number()?.partial_cmp(&b.number()?),
        }
    }

    /// Numbers (and bools) as `f64`, for mixed comparisons.
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

fn join_repr(v: &[Value]) -> String {
    v.iter().map(Value::repr).collect::<Vec<_>>().join(", ")
}

/// Python's `repr(str)`: single quotes unless the text holds one and no double quote.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..16).contains(&exp) {
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{body}")
}
