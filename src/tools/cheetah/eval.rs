//! Evaluating expressions against the locals (`#set`, `#for`) and the caller's [`Scope`].

use std::borrow::Cow;
use std::collections::HashMap;

use super::builtins::iterate;
use super::builtins::{builtin, method};
use super::expr::{Comp, Expr, Part};
use super::ops::{binary, compare, overflow};
use super::value::{Scope, Value};

/// Why an evaluation failed; the renderer adds the line.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A name (or `a.b` path) that is nowhere: Cheetah's `NotFound`.
    NotFound(String),
    Error(String),
}

pub(crate) type EvalResult = Result<Value, Fault>;

pub(crate) fn err<T>(message: impl Into<String>) -> Result<T, Fault> {
    Err(Fault::Error(message.into()))
}

/// The names a render sees: its own (`#set`, `#for`) over the caller's.
pub(crate) struct Ctx<'s> {
    pub scope: &'s Scope,
    pub locals: HashMap<String, Value>,
}

/// Methods that change a list or dict held in a variable.
const MUTATING: &[&str] = &["append", "extend", "insert", "pop", "update", "remove"];

impl Ctx<'_> {
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        self.locals.get(name).or_else(|| self.scope.get(name))
    }

    pub fn eval(&mut self, expr: &Expr) -> EvalResult {
        match expr {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Interp(parts) => {
                let mut s = String::new();
                for part in parts {
                    match part {
                        Part::Text(t) => s.push_str(t),
                        Part::Expr(e) => s.push_str(&placeholder_text(&self.eval(e)?)),
                    }
                }
                Ok(Value::Str(s))
            }
            Expr::Name(_) | Expr::Attr(..) if let Some(found) = self.resolve(expr) => {
                found.map(Cow::into_owned)
            }
            Expr::Name(name) => Err(Fault::NotFound(name.clone())),
            Expr::Attr(obj, name) => {
                let v = self.eval(obj)?;
                attr(&v, name).ok_or_else(|| Fault::NotFound(name.clone()))
            }
            Expr::Index(obj, key) => {
                let (v, k) = (self.eval(obj)?, self.eval(key)?);
                index(&v, &k)
            }
            Expr::Slice(obj, [start, end]) => {
                let v = self.eval(obj)?;
                let start = self.eval_opt(start.as_deref())?;
                let end = self.eval_opt(end.as_deref())?;
                slice(&v, start, end)
            }
            Expr::Builtin(name, args, kwargs) => {
                let args = self.eval_all(args)?;
                let mut kw = Vec::with_capacity(kwargs.len());
                for (k, e) in kwargs {
                    kw.push((k.as_str(), self.eval(e)?));
                }
                builtin(self, name, args, &kw)
            }
            Expr::Method(obj, name, args) => {
                let args = self.eval_all(args)?;
                if let Expr::Name(var) = obj.as_ref()
                    && MUTATING.contains(&name.as_str())
                    && self
                        .lookup(var)
                        .is_some_and(|v| matches!(v, Value::List(_) | Value::Map(_)))
                {
                    if !self.locals.contains_key(var) {
                        let v = self.lookup(var).cloned().unwrap_or(Value::None);
                        self.locals.insert(var.clone(), v);
                    }
                    let Some(target) = self.locals.get_mut(var) else {
                        return Err(Fault::NotFound(var.clone()));
                    };
                    return super::builtins::mutate(target, name, args);
                }
                if let Some(found) = self.resolve(obj) {
                    return method(&*found?, name, &args);
                }
                let v = self.eval(obj)?;
                method(&v, name, &args)
            }
            Expr::Neg(e) => match self.eval(e)? {
                Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
                Value::Float(f) => Ok(Value::Float(-f)),
                Value::Bool(b) => Ok(Value::Int(-i64::from(b))),
                v => err(format!("bad operand type for unary -: '{}'", v.type_name())),
            },
            Expr::Not(e) => Ok(Value::Bool(!self.eval(e)?.truthy())),
            Expr::And(a, b) => {
                let a = self.eval(a)?;
                if a.truthy() { self.eval(b) } else { Ok(a) }
            }
            Expr::Or(a, b) => {
                let a = self.eval(a)?;
                if a.truthy() { Ok(a) } else { self.eval(b) }
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                binary(*op, a, b)
            }
            Expr::Compare(first, rest) => {
                let mut left = self.eval(first)?;
                for (op, e) in rest {
                    let right = self.eval(e)?;
                    if !compare(*op, &left, &right)? {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                Ok(Value::Bool(true))
            }
            Expr::Cond(parts) => {
                let [cond, then, orelse] = parts.as_ref();
                if self.eval(cond)?.truthy() {
                    self.eval(then)
                } else {
                    self.eval(orelse)
                }
            }
            Expr::List(items) => Ok(Value::List(self.eval_all(items)?)),
            Expr::Tuple(items) => Ok(Value::Tuple(self.eval_all(items)?)),
            Expr::Comp(comp) => self.comprehension(comp),
            Expr::Dict(items) => {
                let mut map = super::value::Map::new();
                for (k, v) in items {
                    let key = match self.eval(k)? {
                        Value::Str(s) => s,
                        other => return err(format!("dict key {} is not a str", other.repr())),
                    };
                    map.insert(key, self.eval(v)?);
                }
                Ok(Value::Map(map))
            }
        }
    }

    /// A dotted name (`a.b.c`) found without copying the maps on the way; `None` when
    /// `expr` is not one.
    pub fn resolve<'v>(&'v self, expr: &Expr) -> Option<Result<Cow<'v, Value>, Fault>> {
        match expr {
            Expr::Name(n) => Some(
                self.lookup(n)
                    .map(Cow::Borrowed)
                    .ok_or_else(|| Fault::NotFound(n.clone())),
            ),
            Expr::Attr(obj, name) => {
                let base = match self.resolve(obj)? {
                    Ok(base) => base,
                    Err(e) => return Some(Err(e)),
                };
                let found = match base {
                    Cow::Borrowed(Value::Map(m)) => m.get(name).map(Cow::Borrowed),
                    other => attr(&other, name).map(Cow::Owned),
                };
                let missing = || Fault::NotFound(path(expr).unwrap_or_else(|| name.clone()));
                Some(found.ok_or_else(missing))
            }
            _ => None,
        }
    }

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Value>, Fault> {
        items.iter().map(|e| self.eval(e)).collect()
    }

    fn eval_opt(&mut self, e: Option<&Expr>) -> Result<Option<Value>, Fault> {
        e.map(|e| self.eval(e)).transpose()
    }

    /// `getVar('a.b')`: a dotted path through locals, the scope and attributes.
    pub fn get_var(&self, path: &str) -> Option<Value> {
        let mut parts = path.trim_start_matches('$').split('.');
        let mut v = self.lookup(parts.next()?)?.clone();
        for p in parts {
            v = attr(&v, p)?;
        }
        Some(v)
    }
}

/// `a.b.c` for error messages, when the expression is a plain dotted path.
fn path(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.clone()),
        Expr::Attr(obj, name) => Some(format!("{}.{name}", path(obj)?)),
        _ => None,
    }
}

/// What a placeholder writes: Cheetah's default filter (`None` writes nothing).
pub(crate) fn placeholder_text(v: &Value) -> String {
    match v {
        Value::None => String::new(),
        v => v.to_str(),
    }
}

/// `v.name`: a map key or a wrapper attribute.
pub(crate) fn attr(v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Map(m) => m.get(name).cloned(),
        Value::Object(o) => o.attr(name),
        _ => None,
    }
}

fn position(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

fn index(v: &Value, k: &Value) -> EvalResult {
    let key_error = || Fault::Error(format!("{} has no item {}", v.type_name(), k.repr()));
    match (v, k) {
        (Value::List(items) | Value::Tuple(items), Value::Int(i)) => position(items.len(), *i)
            .map(|i| items[i].clone())
            .ok_or_else(key_error),
        (Value::Str(s), Value::Int(i)) => {
            let chars: Vec<char> = s.chars().collect();
            position(chars.len(), *i)
                .map(|i| Value::Str(chars[i].to_string()))
                .ok_or_else(key_error)
        }
        (Value::Map(m), Value::Str(key)) => m.get(key).cloned().ok_or_else(key_error),
        (Value::Object(o), k) => o.index(k).ok_or_else(key_error),
        _ => Err(key_error()),
    }
}

fn bound(len: usize, v: Option<Value>, default: usize) -> Result<usize, Fault> {
    let len = len as i64;
    match v {
        None | Some(Value::None) => Ok(default),
        Some(Value::Int(i)) => Ok((if i < 0 { i + len } else { i }).clamp(0, len) as usize),
        Some(other) => err(format!(
            "slice index must be int, not {}",
            other.type_name()
        )),
    }
}

fn slice(v: &Value, start: Option<Value>, end: Option<Value>) -> EvalResult {
    match v {
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let a = bound(chars.len(), start, 0)?;
            let b = bound(chars.len(), end, chars.len())?;
            Ok(Value::Str(chars[a..b.max(a)].iter().collect()))
        }
        Value::List(items) | Value::Tuple(items) => {
            let a = bound(items.len(), start, 0)?;
            let b = bound(items.len(), end, items.len())?;
            let part = items[a..b.max(a)].to_vec();
            Ok(match v {
                Value::Tuple(_) => Value::Tuple(part),
                _ => Value::List(part),
            })
        }
        other => err(format!("{} cannot be sliced", other.type_name())),
    }
}

impl Ctx<'_> {
    /// Binds loop targets: one name takes the item, several unpack it.
    pub fn bind(&mut self, targets: &[String], item: Value) -> Result<(), Fault> {
        if let [name] = targets {
            self.locals.insert(name.clone(), item);
            return Ok(());
        }
        let parts = iterate(&item)?;
        if parts.len() != targets.len() {
            return err(format!(
                "cannot unpack {} values into {} names",
                parts.len(),
                targets.len()
            ));
        }
        for (name, v) in targets.iter().zip(parts) {
            self.locals.insert(name.clone(), v);
        }
        Ok(())
    }

    /// A list comprehension; its loop variables do not outlive it (Python 3).
    fn comprehension(&mut self, comp: &Comp) -> EvalResult {
        let items = iterate(&self.eval(&comp.iter)?)?;
        let saved: Vec<(String, Option<Value>)> = comp
            .targets
            .iter()
            .map(|t| (t.clone(), self.locals.get(t).cloned()))
            .collect();
        let result = self.fill(comp, items);
        for (name, old) in saved {
            match old {
                Some(v) => self.locals.insert(name, v),
                None => self.locals.remove(&name),
            };
        }
        result.map(Value::List)
    }

    fn fill(&mut self, comp: &Comp, items: Vec<Value>) -> Result<Vec<Value>, Fault> {
        let mut out = Vec::with_capacity(items.len());
        'items: for item in items {
            self.bind(&comp.targets, item)?;
            for cond in &comp.conds {
                if !self.eval(cond)?.truthy() {
                    continue 'items;
                }
            }
            out.push(self.eval(&comp.elt)?);
        }
        Ok(out)
    }
}
