//! Atoms (literals, names, brackets, interpolated strings) and trailers (`.a`, `(…)`, `[…]`).

use super::CheetahError;
use super::expr::{
    BUILTINS, BinOp, Comp, Expr, Part, REJECTED_WORDS, describe, eat_op, expect, parse_expr,
    parse_expr_list, parse_or, unsupported,
};
use super::lexer::{Cursor, Tok};
use super::value::Value;

/// `.name`, `(args)`, `[index]` after an atom; `spaced` allows whitespace before each.
pub(crate) fn parse_trailers(
    cur: &mut Cursor<'_>,
    mut expr: Expr,
    spaced: bool,
) -> Result<Expr, CheetahError> {
    loop {
        if !spaced {
            let rest = cur.rest().as_bytes();
            let next_is_ident = rest
                .get(1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
            match rest.first() {
                Some(b'(' | b'[') => {}
                Some(b'.') if next_is_ident => {}
                _ => return Ok(expr),
            }
        }
        let at = cur.pos;
        expr = match cur.next_tok()? {
            Tok::Op(".") => match cur.next_tok()? {
                Tok::Name(name) => Expr::Attr(Box::new(expr), name),
                other => return Err(cur.error(describe(&other), "expected an attribute name")),
            },
            Tok::Op("(") => call(cur, expr)?,
            Tok::Op("[") => index(cur, expr)?,
            _ => {
                cur.pos = at;
                return Ok(expr);
            }
        };
    }
}

/// The keyword arguments a builtin takes: `sorted(reverse=)`, `enumerate(start=)`.
fn keyword_allowed(builtin: &str, keyword: &str) -> bool {
    matches!(
        (builtin, keyword),
        ("sorted", "reverse") | ("enumerate", "start")
    )
}

/// A literal pattern given to a `re` function must compile here, at load: Python's
/// look-around and backreferences are outside what the server's regex engine runs.
fn check_pattern(cur: &Cursor<'_>, function: &str, args: &[Expr]) -> Result<(), CheetahError> {
    if function == "escape" {
        return Ok(());
    }
    if let Some(Expr::Lit(super::value::Value::Str(pattern))) = args.first()
        && let Err(e) = regex::Regex::new(pattern)
    {
        let first = e.to_string().lines().last().unwrap_or_default().to_string();
        return Err(cur.error(
            format!("re.{function}('{pattern}')"),
            format!("a pattern the server cannot run (no look-around or backreferences): {first}"),
        ));
    }
    Ok(())
}

fn call(cur: &mut Cursor<'_>, callee: Expr) -> Result<Expr, CheetahError> {
    cur.depth += 1;
    let mut args = Vec::new();
    let mut kwargs = Vec::new();
    loop {
        if eat_op(cur, ")")? {
            break;
        }
        if matches!(cur.peek()?, Tok::Op("*" | "**")) {
            return Err(unsupported(cur, "*args in a call"));
        }
        let at = cur.pos;
        if let Tok::Name(name) = cur.next_tok()?
            && cur.peek()? == Tok::Op("=")
        {
            cur.next_tok()?;
            kwargs.push((name, parse_expr(cur)?));
        } else {
            cur.pos = at;
            args.push(parse_expr(cur)?);
        }
        if cur.peek()? == Tok::Name("for".into())
            && let Some(elt) = args.pop()
        {
            args.push(comp_tail(cur, elt)?);
        }
        if !eat_op(cur, ",")? {
            expect(cur, ")")?;
            break;
        }
    }
    cur.depth -= 1;
    match callee {
        Expr::Name(name) => match BUILTINS.iter().find(|b| **b == name) {
            Some(b) => {
                if let Some((k, _)) = kwargs.iter().find(|(k, _)| !keyword_allowed(b, k)) {
                    return Err(unsupported(cur, &format!("keyword argument {k}= to {b}()")));
                }
                Ok(Expr::Builtin(b, args, kwargs))
            }
            None => match cur.functions.iter().find(|(f, _, _)| *f == name).cloned() {
                Some((_, module, function)) if kwargs.is_empty() => {
                    if module == "re" {
                        check_pattern(cur, &function, &args)?;
                    }
                    Ok(Expr::Method(
                        Box::new(Expr::Lit(super::modules::module(&module))),
                        function,
                        args,
                    ))
                }
                Some(_) => Err(unsupported(cur, &format!("keyword arguments to {name}()"))),
                None => Err(cur.error(
                    format!("{name}()"),
                    "call of a function outside the supported builtins",
                )),
            },
        },
        Expr::Attr(obj, method) if kwargs.is_empty() => {
            if let Expr::Name(n) = obj.as_ref()
                && cur.modules.iter().any(|(name, m)| name == n && m == "re")
            {
                check_pattern(cur, &method, &args)?;
            }
            Ok(Expr::Method(obj, method, args))
        }
        Expr::Attr(_, method) => Err(unsupported(
            cur,
            &format!("keyword arguments to .{method}()"),
        )),
        _ => Err(unsupported(cur, "call of a computed value")),
    }
}

fn index(cur: &mut Cursor<'_>, obj: Expr) -> Result<Expr, CheetahError> {
    cur.depth += 1;
    let start = if cur.peek()? == Tok::Op(":") {
        None
    } else {
        Some(Box::new(parse_expr(cur)?))
    };
    let result = if eat_op(cur, ":")? {
        if cur.peek()? == Tok::Op(":") {
            return Err(unsupported(cur, "slice step"));
        }
        let end = if cur.peek()? == Tok::Op("]") {
            None
        } else {
            Some(Box::new(parse_expr(cur)?))
        };
        if cur.peek()? == Tok::Op(":") {
            return Err(unsupported(cur, "slice step"));
        }
        Expr::Slice(Box::new(obj), [start, end])
    } else {
        match start {
            Some(key) => Expr::Index(Box::new(obj), key),
            None => return Err(cur.error("[]", "empty subscript")),
        }
    };
    expect(cur, "]")?;
    cur.depth -= 1;
    Ok(result)
}

pub(super) fn parse_atom(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let tok = cur.next_tok()?;
    Ok(match tok {
        Tok::Int(i) => Expr::Lit(Value::Int(i)),
        Tok::Float(f) => Expr::Lit(Value::Float(f)),
        Tok::Str { text, interpolate } => {
            let mut expr = string_expr(cur, text, interpolate)?;
            // Adjacent literals concatenate, as in Python.
            while let Tok::Str { text, interpolate } = cur.peek()? {
                cur.next_tok()?;
                let next = string_expr(cur, text, interpolate)?;
                expr = Expr::Bin(BinOp::Add, Box::new(expr), Box::new(next));
            }
            expr
        }
        Tok::Name(name) => match name.as_str() {
            "True" => Expr::Lit(Value::Bool(true)),
            "False" => Expr::Lit(Value::Bool(false)),
            "None" => Expr::Lit(Value::None),
            "and" | "or" | "not" | "in" | "is" | "if" | "else" => {
                return Err(cur.error(name, "expected an expression"));
            }
            w if REJECTED_WORDS.contains(&w) => return Err(unsupported(cur, w)),
            _ => Expr::Name(name),
        },
        Tok::Op("${") => {
            cur.depth += 1;
            let inner = parse_expr(cur)?;
            expect(cur, "}")?;
            cur.depth -= 1;
            inner
        }
        Tok::Op("(") => {
            cur.depth += 1;
            let expr = if eat_op(cur, ")")? {
                Expr::Tuple(Vec::new())
            } else {
                let mut inner = parse_expr_list(cur)?;
                if cur.peek()? == Tok::Name("for".into()) {
                    if matches!(inner, Expr::Tuple(_)) {
                        return Err(unsupported(cur, "generator expression over a tuple"));
                    }
                    inner = comp_tail(cur, inner)?;
                }
                expect(cur, ")")?;
                inner
            };
            cur.depth -= 1;
            expr
        }
        Tok::Op("[") => list(cur)?,
        Tok::Op("{") => dict(cur)?,
        other => return Err(cur.error(describe(&other), "expected an expression")),
    })
}

/// `[a, b]` or `[elt for x in xs if c]`.
fn list(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    cur.depth += 1;
    let mut items = Vec::new();
    while !eat_op(cur, "]")? {
        items.push(parse_expr(cur)?);
        if cur.peek()? == Tok::Name("for".into()) {
            if items.len() > 1 {
                return Err(unsupported(cur, "list comprehension over a tuple"));
            }
            let elt = items.pop().unwrap_or(Expr::Lit(Value::None));
            let comp = comp_tail(cur, elt)?;
            expect(cur, "]")?;
            cur.depth -= 1;
            return Ok(comp);
        }
        if !eat_op(cur, ",")? {
            expect(cur, "]")?;
            break;
        }
    }
    cur.depth -= 1;
    Ok(Expr::List(items))
}

/// `for a, b in iter if cond …` after a comprehension's element.
fn comp_tail(cur: &mut Cursor<'_>, elt: Expr) -> Result<Expr, CheetahError> {
    cur.next_tok()?; // `for`
    let paren = eat_op(cur, "(")?;
    let mut targets = Vec::new();
    loop {
        match cur.next_tok()? {
            Tok::Name(n) if !["in", "for", "if"].contains(&n.as_str()) => targets.push(n),
            other => return Err(cur.error(describe(&other), "expected a loop variable")),
        }
        if !eat_op(cur, ",")? {
            break;
        }
    }
    if paren {
        expect(cur, ")")?;
    }
    if !matches!(cur.next_tok()?, Tok::Name(n) if n == "in") {
        return Err(cur.error("for", "expected 'in' in a comprehension"));
    }
    let iter = parse_or(cur)?;
    let mut conds = Vec::new();
    loop {
        match cur.peek()? {
            Tok::Name(n) if n == "if" => {
                cur.next_tok()?;
                conds.push(parse_or(cur)?);
            }
            Tok::Name(n) if n == "for" => {
                return Err(unsupported(cur, "nested comprehension"));
            }
            _ => break,
        }
    }
    Ok(Expr::Comp(Box::new(Comp {
        elt,
        targets,
        iter,
        conds,
    })))
}

fn dict(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    cur.depth += 1;
    let mut items = Vec::new();
    while !eat_op(cur, "}")? {
        let key = parse_expr(cur)?;
        if cur.peek()? != Tok::Op(":") {
            return Err(unsupported(cur, "set literal"));
        }
        expect(cur, ":")?;
        items.push((key, parse_expr(cur)?));
        if cur.peek()? == Tok::Name("for".into()) {
            return Err(unsupported(cur, "dict comprehension"));
        }
        if !eat_op(cur, ",")? {
            expect(cur, "}")?;
            break;
        }
    }
    cur.depth -= 1;
    Ok(Expr::Dict(items))
}

/// A string literal; a `c'…'` one is split into text and `$placeholders`, as Cheetah does
/// (an escaped `\\$` stays as written, as in Cheetah).
fn string_expr(cur: &Cursor<'_>, text: String, interpolate: bool) -> Result<Expr, CheetahError> {
    if !interpolate {
        return Ok(Expr::Lit(Value::Str(text)));
    }
    let line = cur.line();
    let mut inner = Cursor::new(&text);
    let mut parts = Vec::new();
    let mut buf = String::new();
    while let Some(c) = inner.rest().chars().next() {
        if inner.rest().starts_with("\\$") {
            buf.push_str("\\$");
            inner.pos += 2;
            continue;
        }
        if c == '$'
            && let Some(expr) = super::parser::placeholder(&mut inner).map_err(|mut e| {
                e.line = line;
                e
            })?
        {
            parts.push(Part::Text(std::mem::take(&mut buf)));
            parts.push(Part::Expr(expr.0));
            continue;
        }
        buf.push(c);
        inner.pos += c.len_utf8();
    }
    parts.push(Part::Text(buf));
    parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    Ok(Expr::Interp(parts))
}
