//! Operators: arithmetic, `%` formatting, comparisons, `in` and `is`.

use std::cmp::Ordering;

use super::builtins::percent_format;
use super::eval::{EvalResult, Fault, err};
use super::expr::{BinOp, CmpOp};
use super::value::Value;

pub(crate) fn overflow() -> Fault {
    Fault::Error("integer overflow".into())
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Largest text or list a `*` may build.
const MAX_REPEAT: usize = 1 << 24;

fn repeat_count(len: usize, n: &Value) -> Result<usize, Fault> {
    let times = usize::try_from(as_int(n).unwrap_or(0).max(0)).unwrap_or(usize::MAX);
    if len.saturating_mul(times) > MAX_REPEAT {
        return err("repetition too large for a template");
    }
    Ok(times)
}

pub(crate) fn binary(op: BinOp, a: Value, b: Value) -> EvalResult {
    use Value::*;
    let unsupported = |a: &Value, b: &Value| {
        err(format!(
            "unsupported operand types for {op:?}: '{}' and '{}'",
            a.type_name(),
            b.type_name()
        ))
    };
    if let (Some(x), Some(y)) = (as_int(&a), as_int(&b)) {
        return match op {
            BinOp::Add => x.checked_add(y).map(Int).ok_or_else(overflow),
            BinOp::Sub => x.checked_sub(y).map(Int).ok_or_else(overflow),
            BinOp::Mul => x.checked_mul(y).map(Int).ok_or_else(overflow),
            BinOp::Div if y == 0 => err("division by zero"),
            BinOp::Div => Ok(Float(x as f64 / y as f64)),
            BinOp::FloorDiv | BinOp::Mod if y == 0 => err("integer division or modulo by zero"),
            BinOp::FloorDiv => {
                let (q, r) = (x.checked_div(y).ok_or_else(overflow)?, x % y);
                Ok(Int(if r != 0 && ((r < 0) != (y < 0)) {
                    q - 1
                } else {
                    q
                }))
            }
            BinOp::Mod => {
                let r = x.checked_rem(y).ok_or_else(overflow)?;
                Ok(Int(if r != 0 && ((r < 0) != (y < 0)) {
                    r + y
                } else {
                    r
                }))
            }
        };
    }
    if let (Some(x), Some(y)) = (a.number(), b.number()) {
        return match op {
            BinOp::Add => Ok(Float(x + y)),
            BinOp::Sub => Ok(Float(x - y)),
            BinOp::Mul => Ok(Float(x * y)),
            _ if y == 0.0 => err("float division by zero"),
            BinOp::Div => Ok(Float(x / y)),
            BinOp::FloorDiv => Ok(Float((x / y).floor())),
            BinOp::Mod => Ok(Float(x - y * (x / y).floor())),
        };
    }
    match (op, &a, &b) {
        (BinOp::Add, Str(x), Str(y)) => Ok(Str(format!("{x}{y}"))),
        // Galaxy's select wrapper adds as text; accepted for every wrapper.
        (BinOp::Add, Str(_) | Object(_), Str(_) | Object(_)) => {
            Ok(Str(format!("{}{}", a.to_str(), b.to_str())))
        }
        (BinOp::Add, List(x), List(y)) => Ok(List([x.as_slice(), y].concat())),
        (BinOp::Add, Tuple(x), Tuple(y)) => Ok(Tuple([x.as_slice(), y].concat())),
        (BinOp::Mul, Str(s), n) | (BinOp::Mul, n, Str(s)) if as_int(n).is_some() => {
            let times = repeat_count(s.len(), n)?;
            Ok(Str(s.repeat(times)))
        }
        (BinOp::Mul, List(l), n) | (BinOp::Mul, n, List(l)) if as_int(n).is_some() => {
            let times = repeat_count(l.len(), n)?;
            Ok(List((0..times).flat_map(|_| l.iter().cloned()).collect()))
        }
        (BinOp::Mod, Str(fmt), args) => percent_format(fmt, args).map(Str),
        _ => unsupported(&a, &b),
    }
}

/// `a in b`.
pub(crate) fn contains(container: &Value, item: &Value) -> Result<bool, Fault> {
    match container {
        Value::Str(s) => match item {
            Value::Str(i) => Ok(s.contains(i.as_str())),
            Value::Object(o) => Ok(s.contains(&o.str())),
            other => err(format!(
                "'in <string>' requires str, not {}",
                other.type_name()
            )),
        },
        Value::List(items) | Value::Tuple(items) => Ok(items.iter().any(|v| v.py_eq(item))),
        Value::Map(m) => Ok(matches!(item, Value::Str(k) if m.get(k).is_some())),
        Value::Object(o) => match o.iter() {
            Some(items) => Ok(items.iter().any(|v| v.py_eq(item))),
            None => err("argument of type 'object' is not iterable"),
        },
        other => err(format!(
            "argument of type '{}' is not iterable",
            other.type_name()
        )),
    }
}

pub(crate) fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, Fault> {
    let order = || {
        a.py_cmp(b).ok_or_else(|| {
            Fault::Error(format!(
                "'{}' and '{}' cannot be ordered",
                a.type_name(),
                b.type_name()
            ))
        })
    };
    Ok(match op {
        CmpOp::Eq => a.py_eq(b),
        CmpOp::Ne => !a.py_eq(b),
        CmpOp::Lt => order()? == Ordering::Less,
        CmpOp::Le => order()? != Ordering::Greater,
        CmpOp::Gt => order()? == Ordering::Greater,
        CmpOp::Ge => order()? != Ordering::Less,
        CmpOp::In => contains(b, a)?,
        CmpOp::NotIn => !contains(b, a)?,
        CmpOp::Is => identical(a, b),
        CmpOp::IsNot => !identical(a, b),
    })
}

fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
        _ => false,
    }
}
