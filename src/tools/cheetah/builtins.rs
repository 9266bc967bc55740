//! Python builtins a template may call: `str()`, `int()`, `len()`, `enumerate()`, ...

use std::cmp::Ordering;

use super::eval::{Ctx, EvalResult, Fault, err};
pub(crate) use super::methods::{method, mutate, percent_format};
use super::value::Value;

/// `for x in v`: the items Python would iterate.
pub(crate) fn iterate(v: &Value) -> Result<Vec<Value>, Fault> {
    match v {
        Value::List(items) | Value::Tuple(items) => Ok(items.clone()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        Value::Map(m) => Ok(m.iter().map(|(k, _)| Value::Str(k.clone())).collect()),
        Value::Object(o) => o
            .iter()
            .ok_or_else(|| Fault::Error("object is not iterable".into())),
        other => err(format!("'{}' object is not iterable", other.type_name())),
    }
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if args.len() < min || args.len() > max {
        return err(format!(
            "{name}() takes {min} to {max} arguments ({} given)",
            args.len()
        ));
    }
    Ok(())
}

/// Python's `int(v)`.
pub(crate) fn to_int(v: &Value) -> EvalResult {
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(Value::Int(f.trunc() as i64)),
        Value::Str(s) => s
            .trim()
            .replace('_', "")
            .parse()
            .map(Value::Int)
            .or_else(|_| err(format!("invalid literal for int(): {}", v.repr()))),
        // Galaxy's InputValueWrapper: int(float(str(self))).
        Value::Object(o) => match to_float(&Value::Str(o.str()))? {
            Value::Float(f) => to_int(&Value::Float(f)),
            other => to_int(&other),
        },
        other => err(format!(
            "int() argument must not be '{}'",
            other.type_name()
        )),
    }
}

/// Python's `float(v)`.
pub(crate) fn to_float(v: &Value) -> EvalResult {
    match v {
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Int(_) | Value::Bool(_) => Ok(Value::Float(v.number().unwrap_or(0.0))),
        Value::Str(s) => {
            let t = s.trim().to_ascii_lowercase();
            let parsed = match t.trim_start_matches(['+', '-']) {
                "inf" | "infinity" | "nan" => t.parse::<f64>().ok(),
                _ if t.chars().all(|c| c.is_ascii_digit() || "+-.e_".contains(c)) => {
                    t.replace('_', "").parse().ok()
                }
                _ => None,
            };
            parsed.map(Value::Float).ok_or_else(|| {
                Fault::Error(format!("could not convert string to float: {}", v.repr()))
            })
        }
        Value::Object(o) => to_float(&Value::Str(o.str())),
        other => err(format!(
            "float() argument must not be '{}'",
            other.type_name()
        )),
    }
}

/// Sorts with Python's ordering; items that cannot be compared are an error.
pub(crate) fn sort(items: &mut [Value]) -> Result<(), Fault> {
    let mut failed = false;
    items.sort_by(|a, b| {
        a.py_cmp(b).unwrap_or_else(|| {
            failed = true;
            Ordering::Equal
        })
    });
    if failed {
        return err("items cannot be ordered");
    }
    Ok(())
}

fn extreme(name: &str, args: Vec<Value>, want: Ordering) -> EvalResult {
    let items = if args.len() == 1 {
        iterate(&args[0])?
    } else {
        args
    };
    let mut best: Option<Value> = None;
    for item in items {
        best = Some(match best {
            None => item,
            Some(b) => match item.py_cmp(&b) {
                Some(o) if o == want => item,
                Some(_) => b,
                None => return err(format!("{name}(): items cannot be ordered")),
            },
        });
    }
    best.ok_or_else(|| Fault::Error(format!("{name}() arg is an empty sequence")))
}

fn range(args: &[Value]) -> EvalResult {
    let ints: Vec<i64> = args
        .iter()
        .map(|a| match a {
            Value::Int(i) => Ok(*i),
            other => err(format!("range() takes ints, not '{}'", other.type_name())),
        })
        .collect::<Result<_, _>>()?;
    let (start, stop, step) = match ints.as_slice() {
        [stop] => (0, *stop, 1),
        [start, stop] => (*start, *stop, 1),
        [start, stop, step] if *step != 0 => (*start, *stop, *step),
        _ => return err("range() takes 1 to 3 arguments, step not 0"),
    };
    let (span, step_len) = if step > 0 {
        (stop.saturating_sub(start).max(0), step)
    } else {
        (start.saturating_sub(stop).max(0), step.saturating_neg())
    };
    let count = span / step_len + i64::from(span % step_len != 0);
    if count > 1_000_000 {
        return err("range() too long for a template");
    }
    Ok(Value::List(
        (0..count).map(|i| Value::Int(start + i * step)).collect(),
    ))
}

/// Calls builtin `name` (one of `expr::BUILTINS`).
pub(crate) fn builtin(
    ctx: &Ctx<'_>,
    name: &str,
    args: Vec<Value>,
    kwargs: &[(&str, Value)],
) -> EvalResult {
    let mut args = args;
    let reverse = match kwargs {
        [] => false,
        [("reverse", v)] if name == "sorted" => v.truthy(),
        [("start", v)] if name == "enumerate" && args.len() == 1 => {
            args.push(v.clone());
            false
        }
        [(k, _), ..] => return err(format!("{name}() got an unexpected keyword argument '{k}'")),
    };
    match name {
        "str" | "int" | "float" | "bool" | "len" | "list" | "sorted" | "abs" => {
            arity(name, &args, 1, 1)?
        }
        "enumerate" | "getVar" => arity(name, &args, 1, 2)?,
        "hasVar" | "varExists" => arity(name, &args, 1, 1)?,
        _ => {}
    }
    let first = args.first().cloned().unwrap_or(Value::None);
    match name {
        "str" => Ok(Value::Str(first.to_str())),
        "int" => to_int(&first),
        "float" => to_float(&first),
        "bool" => Ok(Value::Bool(first.truthy())),
        "len" => Ok(Value::Int(match &first {
            Value::Str(s) => s.chars().count(),
            Value::Map(m) => m.len(),
            other => iterate(other)?.len(),
        } as i64)),
        "list" => Ok(Value::List(iterate(&first)?)),
        "sorted" => {
            let mut items = iterate(&first)?;
            sort(&mut items)?;
            if reverse {
                items.reverse();
            }
            Ok(Value::List(items))
        }
        "abs" => match first {
            Value::Int(i) => i
                .checked_abs()
                .map(Value::Int)
                .ok_or_else(|| Fault::Error("integer overflow".into())),
            Value::Float(f) => Ok(Value::Float(f.abs())),
            other => err(format!(
                "bad operand type for abs(): '{}'",
                other.type_name()
            )),
        },
        "min" => extreme(name, args, Ordering::Less),
        "max" => extreme(name, args, Ordering::Greater),
        "range" => range(&args),
        "enumerate" => {
            let start = match args.get(1) {
                None => 0,
                Some(Value::Int(i)) => *i,
                Some(other) => {
                    return err(format!(
                        "enumerate() start must be int, not '{}'",
                        other.type_name()
                    ));
                }
            };
            let items = iterate(&first)?;
            Ok(Value::List(
                items
                    .into_iter()
                    .zip(start..)
                    .map(|(v, i)| Value::Tuple(vec![Value::Int(i), v]))
                    .collect(),
            ))
        }
        "zip" => {
            let lists = args.iter().map(iterate).collect::<Result<Vec<_>, _>>()?;
            let len = lists.iter().map(Vec::len).min().unwrap_or(0);
            Ok(Value::List(
                (0..len)
                    .map(|i| Value::Tuple(lists.iter().map(|l| l[i].clone()).collect()))
                    .collect(),
            ))
        }
        "getVar" | "hasVar" | "varExists" => {
            let Value::Str(path) = &first else {
                return err(format!("{name}() takes a name as str"));
            };
            let found = ctx.get_var(path);
            match (name, found, args.get(1)) {
                ("getVar", Some(v), _) => Ok(v),
                ("getVar", None, Some(default)) => Ok(default.clone()),
                ("getVar", None, None) => Err(Fault::NotFound(path.clone())),
                (_, found, _) => Ok(Value::Bool(found.is_some())),
            }
        }
        other => err(format!("{other}() is not supported")),
    }
}
