//! Methods of str, list and dict values, and Python's `%` / `.format()` string formatting.

use super::builtins::{iterate, to_float, to_int};
use super::eval::{EvalResult, Fault, err};
use super::value::Value;

fn str_arg<'v>(method: &str, args: &'v [Value], i: usize) -> Result<Option<&'v str>, Fault> {
    match args.get(i) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(other) => err(format!(
            ".{method}() argument must be str, not '{}'",
            other.type_name()
        )),
    }
}

fn int_arg(method: &str, args: &[Value], i: usize, default: i64) -> Result<i64, Fault> {
    match args.get(i) {
        None => Ok(default),
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => err(format!(
            ".{method}() argument must be int, not '{}'",
            other.type_name()
        )),
    }
}

fn strs(items: Vec<&str>) -> Value {
    Value::List(
        items
            .into_iter()
            .map(|s| Value::Str(s.to_string()))
            .collect(),
    )
}

fn split(s: &str, sep: Option<&str>, max: i64, right: bool) -> Result<Value, Fault> {
    let max = if max < 0 { usize::MAX } else { max as usize };
    Ok(match sep {
        Some("") => return err("empty separator"),
        Some(sep) if right => {
            let mut v: Vec<&str> = s.rsplitn(max.saturating_add(1), sep).collect();
            v.reverse();
            strs(v)
        }
        Some(sep) => strs(s.splitn(max.saturating_add(1), sep).collect()),
        None => {
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.len() <= max {
                strs(words)
            } else if right {
                let cut = words.len() - max;
                let mut rest = s.trim_end();
                let mut tail = Vec::new();
                for w in words[cut..].iter().rev() {
                    rest = rest[..rest.len() - w.len()].trim_end();
                    tail.push(*w);
                }
                tail.push(rest);
                tail.reverse();
                strs(tail)
            } else {
                let mut out = Vec::new();
                let mut rest = s.trim_start();
                for w in &words[..max] {
                    out.push(*w);
                    rest = rest[w.len()..].trim_start();
                }
                out.push(rest);
                strs(out)
            }
        }
    })
}

fn affix(method: &str, s: &str, arg: Option<&Value>) -> Result<bool, Fault> {
    let test = |p: &str| {
        if method == "startswith" {
            s.starts_with(p)
        } else {
            s.ends_with(p)
        }
    };
    match arg {
        Some(Value::Str(p)) => Ok(test(p)),
        Some(Value::Tuple(ps)) => Ok(ps.iter().any(|p| matches!(p, Value::Str(p) if test(p)))),
        _ => err(format!(".{method}() takes a str or a tuple of str")),
    }
}

fn str_method(s: &str, name: &str, args: &[Value]) -> EvalResult {
    match name {
        "join" => return join(s, args),
        "format" => return format(s, args).map(Value::Str),
        "startswith" | "endswith" => return Ok(Value::Bool(affix(name, s, args.first())?)),
        _ => {}
    }
    let chars = str_arg(name, args, 0)?;
    let trim = |c: char| chars.map_or(c.is_whitespace(), |set| set.contains(c));
    Ok(match name {
        "split" | "rsplit" => split(s, chars, int_arg(name, args, 1, -1)?, name == "rsplit")?,
        "strip" => Value::Str(s.trim_matches(trim).to_string()),
        "lstrip" => Value::Str(s.trim_start_matches(trim).to_string()),
        "rstrip" => Value::Str(s.trim_end_matches(trim).to_string()),
        "lower" => Value::Str(s.to_lowercase()),
        "upper" => Value::Str(s.to_uppercase()),
        "replace" => {
            let (Some(from), Some(to)) = (chars, str_arg(name, args, 1)?) else {
                return err(".replace() takes two str");
            };
            match int_arg(name, args, 2, -1)? {
                n if n < 0 => Value::Str(s.replace(from, to)),
                n => Value::Str(s.replacen(from, to, n as usize)),
            }
        }
        "find" => {
            let needle = chars.unwrap_or_default();
            Value::Int(s.find(needle).map_or(-1, |b| s[..b].chars().count() as i64))
        }
        "count" => Value::Int(s.matches(chars.unwrap_or_default()).count() as i64),
        "isdigit" => Value::Bool(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "splitlines" => strs(s.lines().collect()),
        "capitalize" => {
            let mut cs = s.chars();
            Value::Str(match cs.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(cs.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        _ => return err(format!("'str' object has no method '{name}'")),
    })
}

fn join(s: &str, args: &[Value]) -> EvalResult {
    let parts = iterate(args.first().unwrap_or(&Value::None))?;
    let mut texts = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Value::Str(t) => texts.push(t),
            Value::Object(o) => texts.push(o.str()),
            other => {
                return err(format!(
                    ".join() expects str items, found '{}'",
                    other.type_name()
                ));
            }
        }
    }
    Ok(Value::Str(texts.join(s)))
}

/// Calls `v.name(args)` on a value that is not held by a variable (no mutation).
pub(crate) fn method(v: &Value, name: &str, args: &[Value]) -> EvalResult {
    match v {
        Value::Str(s) => str_method(s, name, args),
        Value::Object(o) => o.call(name, args).map_err(Fault::Error),
        Value::Map(m) => match name {
            "get" => Ok(match args.first() {
                Some(Value::Str(k)) => m.get(k).cloned(),
                _ => None,
            }
            .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::None))),
            "keys" => Ok(Value::List(
                m.iter().map(|(k, _)| Value::Str(k.clone())).collect(),
            )),
            "values" => Ok(Value::List(m.iter().map(|(_, v)| v.clone()).collect())),
            "items" => Ok(Value::List(
                m.iter()
                    .map(|(k, v)| Value::Tuple(vec![Value::Str(k.clone()), v.clone()]))
                    .collect(),
            )),
            _ => err(format!("'dict' object has no method '{name}'")),
        },
        Value::List(items) | Value::Tuple(items) => match name {
            "index" => match items
                .iter()
                .position(|x| args.first().is_some_and(|a| x.py_eq(a)))
            {
                Some(i) => Ok(Value::Int(i as i64)),
                None => err(".index(x): x not in list"),
            },
            "count" => Ok(Value::Int(
                items
                    .iter()
                    .filter(|x| args.first().is_some_and(|a| x.py_eq(a)))
                    .count() as i64,
            )),
            _ => err(format!("'{}' object has no method '{name}'", v.type_name())),
        },
        other => err(format!(
            "'{}' object has no method '{name}'",
            other.type_name()
        )),
    }
}

/// `var.append(x)` and friends on a list or dict held by a variable.
pub(crate) fn mutate(target: &mut Value, name: &str, args: Vec<Value>) -> EvalResult {
    let mut args = args.into_iter();
    match (target, name, args.next(), args.next()) {
        (Value::List(l), "append", Some(x), None) => l.push(x),
        (Value::List(l), "extend", Some(x), None) => l.extend(iterate(&x)?),
        (Value::List(l), "insert", Some(Value::Int(i)), Some(x)) => {
            let len = l.len() as i64;
            let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
            l.insert(at as usize, x);
        }
        (Value::List(l), "remove", Some(x), None) => match l.iter().position(|v| v.py_eq(&x)) {
            Some(i) => {
                l.remove(i);
            }
            None => return err(".remove(x): x not in list"),
        },
        (Value::List(l), "pop", i, None) => {
            let len = l.len() as i64;
            let i = match i {
                None => len - 1,
                Some(Value::Int(i)) if i < 0 => i + len,
                Some(Value::Int(i)) => i,
                Some(_) => return err(".pop() index must be int"),
            };
            if !(0..len).contains(&i) {
                return err("pop index out of range");
            }
            return Ok(l.remove(i as usize));
        }
        (Value::Map(m), "update", Some(Value::Map(other)), None) => {
            for (k, v) in other.iter() {
                m.insert(k.clone(), v.clone());
            }
        }
        (Value::Map(m), "pop", Some(Value::Str(k)), default) => {
            let found = m.get(&k).cloned().or(default);
            let kept: Vec<(String, Value)> = m
                .iter()
                .filter(|(key, _)| **key != k)
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            *m = kept
                .into_iter()
                .fold(super::value::Map::new(), |m, (k, v)| m.with(k, v));
            return found.ok_or_else(|| Fault::Error(format!("key '{k}' not found")));
        }
        (t, name, ..) => {
            return err(format!(
                "'{}' object: unsupported .{name}() call",
                t.type_name()
            ));
        }
    }
    Ok(Value::None)
}

/// Pads `s` to `width`: left-aligned with `left`, else right-aligned (with zeros for `zero`).
fn pad(s: String, width: usize, left: bool, zero: bool) -> String {
    let n = s.chars().count();
    if n >= width {
        return s;
    }
    let fill = width - n;
    if left {
        format!("{s}{}", " ".repeat(fill))
    } else if zero {
        match s.strip_prefix('-') {
            Some(digits) => format!("-{}{digits}", "0".repeat(fill)),
            None => format!("{}{s}", "0".repeat(fill)),
        }
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

/// One conversion: `s`, `r`, `d`/`i`, `f`; `prec` for `f`.
fn convert(conv: char, prec: Option<usize>, v: &Value) -> Result<String, Fault> {
    Ok(match conv {
        's' => v.to_str(),
        'r' => v.repr(),
        'd' | 'i' => match to_int(v)? {
            Value::Int(i) => i.to_string(),
            _ => return err("%d needs a number"),
        },
        'f' => match to_float(v)? {
            Value::Float(f) => format!("{f:.*}", prec.unwrap_or(6)),
            _ => return err("%f needs a number"),
        },
        c => return err(format!("unsupported format character '{c}'")),
    })
}

/// Python's `fmt % args` for `%s %r %d %i %f` with `-`/`0` flags, width and precision.
pub(crate) fn percent_format(fmt: &str, args: &Value) -> Result<String, Fault> {
    let args: Vec<Value> = match args {
        Value::Tuple(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut next = args.iter();
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&f) = chars.peek().filter(|f| **f == '-' || **f == '0') {
            left |= f == '-';
            zero |= f == '0';
            chars.next();
        }
        let mut width = String::new();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            width.push(d);
        }
        let mut prec = None;
        if chars.next_if_eq(&'.').is_some() {
            let mut p = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                p.push(d);
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(conv) = chars.next() else {
            return err("incomplete format");
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            return err("not enough arguments for format string");
        };
        let width: usize = width.parse().unwrap_or(0);
        if width > 4096 || prec.is_some_and(|p: usize| p > 4096) {
            return err("format width or precision too large");
        }
        let text = convert(conv, prec, arg)?;
        out.push_str(&pad(text, width, left, zero));
    }
    if next.next().is_some() {
        return err("not all arguments converted during string formatting");
    }
    Ok(out)
}

/// Python's `str.format` for `{}`, `{0}`, `{{`/`}}` and the specs `:.Nf`, `:d`, `:s`.
fn format(fmt: &str, args: &[Value]) -> Result<String, Fault> {
    let mut out = String::with_capacity(fmt.len());
    let mut auto = 0;
    let mut rest = fmt;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            return err("single '}' in format string");
        };
        let field = &tail[1..end];
        let (key, spec) = field.split_once(':').unwrap_or((field, ""));
        let index = if key.is_empty() {
            auto += 1;
            auto - 1
        } else {
            key.parse::<usize>()
                .or_else(|_| err(format!("format field '{key}' is not supported")))?
        };
        let Some(v) = args.get(index) else {
            return err(format!("format index {index} out of range"));
        };
        let text = match spec {
            "" | "s" => v.to_str(),
            "d" => convert('d', None, v)?,
            s if s.starts_with('.') && s.ends_with('f') => {
                convert('f', Some(s[1..s.len() - 1].parse().unwrap_or(6)), v)?
            }
            s => return err(format!("format spec '{s}' is not supported")),
        };
        out.push_str(&text);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
