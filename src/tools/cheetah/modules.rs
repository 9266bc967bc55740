//! The Python standard-library modules a template may `#import` (or `#from … import`): the
//! parts of `re`, `os` and `os.path` Galaxy tools' commands use. A module is a [`Wrapper`]
//! whose methods are its functions, so `re.sub(…)` is a method call; an unknown module or
//! function is refused when the template compiles.

use std::sync::Arc;

use regex::Regex;

use super::value::{Value, Wrapper};

/// The modules and their functions (or, for `os`, the `path` submodule).
const MODULES: &[(&str, &[&str])] = &[
    (
        "re",
        &[
            "sub",
            "match",
            "search",
            "fullmatch",
            "findall",
            "split",
            "escape",
        ],
    ),
    ("os", &["path", "sep"]),
    (
        "os.path",
        &["join", "basename", "dirname", "splitext", "split", "sep"],
    ),
];

/// The names `module` has, when it is one of the supported modules.
pub(crate) fn names_of(module: &str) -> Option<&'static [&'static str]> {
    MODULES.iter().find(|(m, _)| *m == module).map(|(_, n)| *n)
}

/// The supported module names, for messages.
pub(crate) fn supported() -> String {
    MODULES
        .iter()
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value a template sees for `module` (one of [`MODULES`]).
pub(crate) fn module(module: &str) -> Value {
    Value::Object(Arc::new(Module(
        names_of(module).map_or("", |_| module).to_string(),
    )))
}

/// Whether `member` of `module` is a submodule or constant (bound as a value by `#from`),
/// not a function (called).
pub(crate) fn is_value(module: &str, member: &str) -> bool {
    matches!(
        (module, member),
        ("os", "path" | "sep") | ("os.path", "sep")
    )
}

#[derive(Debug)]
struct Module(String);

impl Wrapper for Module {
    fn str(&self) -> String {
        format!("<module '{}'>", self.0)
    }

    fn attr(&self, name: &str) -> Option<Value> {
        match (self.0.as_str(), name) {
            ("os", "path") => Some(module("os.path")),
            ("os" | "os.path", "sep") => Some(Value::Str("/".into())),
            _ => None,
        }
    }

    fn call(&self, function: &str, args: &[Value]) -> Result<Value, String> {
        let text = |i: usize| -> Result<String, String> {
            match args.get(i) {
                Some(v) => Ok(v.to_str()),
                None => Err(format!(
                    "{}.{function}() is missing argument {}",
                    self.0,
                    i + 1
                )),
            }
        };
        match (self.0.as_str(), function) {
            ("re", "escape") => Ok(Value::Str(py_escape(&text(0)?))),
            ("re", _) => re_call(function, &text(0)?, args),
            ("os.path", "join") => {
                let mut path = String::new();
                for part in args.iter().map(Value::to_str) {
                    if part.starts_with('/') {
                        path = part;
                    } else if path.is_empty() || path.ends_with('/') {
                        path.push_str(&part);
                    } else {
                        path = format!("{path}/{part}");
                    }
                }
                Ok(Value::Str(path))
            }
            ("os.path", "basename") => Ok(Value::Str(split(&text(0)?).1)),
            ("os.path", "dirname") => Ok(Value::Str(split(&text(0)?).0)),
            ("os.path", "split") => {
                let (head, tail) = split(&text(0)?);
                Ok(Value::Tuple(vec![Value::Str(head), Value::Str(tail)]))
            }
            ("os.path", "splitext") => {
                let path = text(0)?;
                let base_at = path.rfind('/').map_or(0, |i| i + 1);
                let base = &path[base_at..];
                let dot = base
                    .rfind('.')
                    .filter(|&i| base[..i].chars().any(|c| c != '.'));
                let at = dot.map_or(path.len(), |i| base_at + i);
                Ok(Value::Tuple(vec![
                    Value::Str(path[..at].to_string()),
                    Value::Str(path[at..].to_string()),
                ]))
            }
            (m, f) => Err(format!("module '{m}' has no function '{f}'")),
        }
    }
}

/// Python's `os.path.split`: (head without trailing slashes unless root, tail).
fn split(path: &str) -> (String, String) {
    let at = path.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = path.split_at(at);
    let trimmed = head.trim_end_matches('/');
    let head = if trimmed.is_empty() { head } else { trimmed };
    (head.to_string(), tail.to_string())
}

/// Python's `re.escape`: every character but ASCII letters, digits and `_` is escaped.
fn py_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("re: bad pattern '{pattern}': {e}"))
}

/// Python's replacement syntax (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`) as the regex crate's.
fn replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_string();
                    if let Some(e) = chars.peek().filter(|e| e.is_ascii_digit()) {
                        group.push(*e);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn re_call(function: &str, pattern: &str, args: &[Value]) -> Result<Value, String> {
    let re = compile(pattern)?;
    let arg = |i: usize| {
        args.get(i)
            .map(Value::to_str)
            .ok_or_else(|| format!("re.{function}() is missing argument {}", i + 1))
    };
    match function {
        "sub" => {
            let (repl, text) = (arg(1)?, arg(2)?);
            let count = match args.get(3) {
                Some(Value::Int(n)) if *n > 0 => *n as usize,
                _ => 0,
            };
            Ok(Value::Str(
                re.replacen(&text, count, replacement(&repl).as_str())
                    .into_owned(),
            ))
        }
        "match" | "search" | "fullmatch" => {
            let text = arg(1)?;
            // `match` is anchored at the start, `fullmatch` at both ends.
            let re = match function {
                "match" => compile(&format!("^(?:{pattern})"))?,
                "fullmatch" => compile(&format!("^(?:{pattern})$"))?,
                _ => re,
            };
            let found = re.captures(&text);
            Ok(match found {
                None => Value::None,
                Some(c) => Value::Object(Arc::new(Match(
                    (0..c.len())
                        .map(|i| c.get(i).map(|m| m.as_str().to_string()))
                        .collect(),
                ))),
            })
        }
        "findall" => {
            let text = arg(1)?;
            let groups = re.captures_len() - 1;
            Ok(Value::List(
                re.captures_iter(&text)
                    .map(|c| {
                        let g =
                            |i: usize| Value::Str(c.get(i).map_or("", |m| m.as_str()).to_string());
                        match groups {
                            0 => g(0),
                            1 => g(1),
                            n => Value::Tuple((1..=n).map(g).collect()),
                        }
                    })
                    .collect(),
            ))
        }
        "split" => Ok(Value::List(
            re.split(&arg(1)?)
                .map(|s| Value::Str(s.to_string()))
                .collect(),
        )),
        other => Err(format!("module 're' has no function '{other}'")),
    }
}

/// A `re` match: `.group(n)`, `.groups()`, true.
#[derive(Debug)]
struct Match(Vec<Option<String>>);

impl Wrapper for Match {
    fn str(&self) -> String {
        format!("<re.Match object; match='{}'>", self.group(0))
    }

    fn attr(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        let at = |v: &Value| match v {
            Value::Int(i) if *i >= 0 && (*i as usize) < self.0.len() => Ok(*i as usize),
            other => Err(format!("no such group: {}", other.to_str())),
        };
        match method {
            "group" => match args {
                [] => Ok(Value::Str(self.group(0))),
                [one] => Ok(self.value(at(one)?)),
                many => Ok(Value::Tuple(
                    many.iter()
                        .map(|v| at(v).map(|i| self.value(i)))
                        .collect::<Result<_, _>>()?,
                )),
            },
            "groups" => Ok(Value::Tuple(
                (1..self.0.len()).map(|i| self.value(i)).collect(),
            )),
            other => Err(format!("'re.Match' object has no method '{other}'")),
        }
    }
}

impl Match {
    fn group(&self, i: usize) -> String {
        self.0.get(i).cloned().flatten().unwrap_or_default()
    }

    fn value(&self, i: usize) -> Value {
        match self.0.get(i).cloned().flatten() {
            Some(s) => Value::Str(s),
            None => Value::None,
        }
    }
}
