//! Expressions: the AST and a recursive-descent parser with Python's precedence.

use super::CheetahError;
use super::lexer::{Cursor, Tok};
use super::value::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

/// Functions a template may call by name.
pub(crate) const BUILTINS: &[&str] = &[
    "str",
    "int",
    "float",
    "bool",
    "len",
    "enumerate",
    "range",
    "zip",
    "list",
    "sorted",
    "min",
    "max",
    "abs",
    "getVar",
    "hasVar",
    "varExists",
];

/// A piece of an interpolated string literal.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Lit(Value),
    Interp(Vec<Part>),
    Name(String),
    Attr(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, [Option<Box<Expr>>; 2]),
    /// A builtin function (one of [`BUILTINS`]).
    Builtin(&'static str, Vec<Expr>, Vec<(String, Expr)>),
    Method(Box<Expr>, String, Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
    Cond(Box<[Expr; 3]>),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
}

/// Python words that start constructs outside the subset.
const REJECTED_WORDS: &[&str] = &["lambda", "yield", "await", "for"];

fn unsupported(cur: &Cursor<'_>, construct: &str) -> CheetahError {
    cur.error(construct, "Python construct outside the supported subset")
}

fn expect(cur: &mut Cursor<'_>, op: &str) -> Result<(), CheetahError> {
    match cur.next_tok()? {
        Tok::Op(o) if o == op => Ok(()),
        other => Err(cur.error(describe(&other), format!("expected '{op}'"))),
    }
}

pub(crate) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Name(n) => n.clone(),
        Tok::Str { .. } => "string literal".into(),
        Tok::Int(i) => i.to_string(),
        Tok::Float(f) => f.to_string(),
        Tok::Op(o) => (*o).to_string(),
        Tok::End => "end of line".into(),
    }
}

fn eat_op(cur: &mut Cursor<'_>, op: &str) -> Result<bool, CheetahError> {
    if matches!(cur.peek()?, Tok::Op(o) if o == op) {
        cur.next_tok()?;
        return Ok(true);
    }
    Ok(false)
}

fn eat_word(cur: &mut Cursor<'_>, word: &str) -> Result<bool, CheetahError> {
    if matches!(cur.peek()?, Tok::Name(n) if n == word) {
        cur.next_tok()?;
        return Ok(true);
    }
    Ok(false)
}

/// `expr [, expr]*`: a bare tuple where Python allows one (`#set x = 1, 2`).
pub(crate) fn parse_expr_list(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let first = parse_expr(cur)?;
    if cur.peek()? != Tok::Op(",") {
        return Ok(first);
    }
    let mut items = vec![first];
    while eat_op(cur, ",")? {
        if starts_expr(&cur.peek()?) {
            items.push(parse_expr(cur)?);
        }
    }
    Ok(Expr::Tuple(items))
}

fn starts_expr(tok: &Tok) -> bool {
    !matches!(tok, Tok::End | Tok::Op(")" | "]" | "}" | ":" | "=" | ","))
}

/// `a if c else b` and everything below it.
pub(crate) fn parse_expr(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let then = parse_or(cur)?;
    if eat_word(cur, "if")? {
        let cond = parse_or(cur)?;
        if !eat_word(cur, "else")? {
            return Err(cur.error("if", "conditional expression without 'else'"));
        }
        let orelse = parse_expr(cur)?;
        return Ok(Expr::Cond(Box::new([cond, then, orelse])));
    }
    Ok(then)
}

fn parse_or(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let mut left = parse_and(cur)?;
    while eat_word(cur, "or")? {
        left = Expr::Or(Box::new(left), Box::new(parse_and(cur)?));
    }
    Ok(left)
}

fn parse_and(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let mut left = parse_not(cur)?;
    while eat_word(cur, "and")? {
        left = Expr::And(Box::new(left), Box::new(parse_not(cur)?));
    }
    Ok(left)
}

fn parse_not(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    if eat_word(cur, "not")? {
        return Ok(Expr::Not(Box::new(parse_not(cur)?)));
    }
    parse_compare(cur)
}

fn compare_op(cur: &mut Cursor<'_>) -> Result<Option<CmpOp>, CheetahError> {
    let op = match cur.peek()? {
        Tok::Op("==") => CmpOp::Eq,
        Tok::Op("!=") => CmpOp::Ne,
        Tok::Op("<") => CmpOp::Lt,
        Tok::Op("<=") => CmpOp::Le,
        Tok::Op(">") => CmpOp::Gt,
        Tok::Op(">=") => CmpOp::Ge,
        Tok::Name(n) if n == "in" => CmpOp::In,
        Tok::Name(n) if n == "is" => {
            cur.next_tok()?;
            return Ok(Some(if eat_word(cur, "not")? {
                CmpOp::IsNot
            } else {
                CmpOp::Is
            }));
        }
        Tok::Name(n) if n == "not" => {
            let at = cur.pos;
            cur.next_tok()?;
            if eat_word(cur, "in")? {
                return Ok(Some(CmpOp::NotIn));
            }
            cur.pos = at;
            return Ok(None);
        }
        _ => return Ok(None),
    };
    cur.next_tok()?;
    Ok(Some(op))
}

fn parse_compare(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let left = parse_arith(cur)?;
    let mut rest = Vec::new();
    while let Some(op) = compare_op(cur)? {
        rest.push((op, parse_arith(cur)?));
    }
    if rest.is_empty() {
        return Ok(left);
    }
    Ok(Expr::Compare(Box::new(left), rest))
}

fn parse_arith(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let mut left = parse_term(cur)?;
    loop {
        let op = match cur.peek()? {
            Tok::Op("+") => BinOp::Add,
            Tok::Op("-") => BinOp::Sub,
            _ => return Ok(left),
        };
        cur.next_tok()?;
        left = Expr::Bin(op, Box::new(left), Box::new(parse_term(cur)?));
    }
}

fn parse_term(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let mut left = parse_unary(cur)?;
    loop {
        let op = match cur.peek()? {
            Tok::Op("*") => BinOp::Mul,
            Tok::Op("/") => BinOp::Div,
            Tok::Op("//") => BinOp::FloorDiv,
            Tok::Op("%") => BinOp::Mod,
            Tok::Op(o @ ("**" | "|" | "&" | "^" | "<<" | ">>" | "@" | "~" | ";")) => {
                return Err(unsupported(cur, &format!("'{o}' operator")));
            }
            _ => return Ok(left),
        };
        cur.next_tok()?;
        left = Expr::Bin(op, Box::new(left), Box::new(parse_unary(cur)?));
    }
}

fn parse_unary(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    match cur.peek()? {
        Tok::Op("-") => {
            cur.next_tok()?;
            Ok(Expr::Neg(Box::new(parse_unary(cur)?)))
        }
        Tok::Op("+") => {
            cur.next_tok()?;
            parse_unary(cur)
        }
        _ => parse_postfix(cur),
    }
}

fn parse_postfix(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
    let atom = parse_atom(cur)?;
    parse_trailers(cur, atom, true)
}

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
        if cur.peek()? == Tok::Name("for".into()) {
            return Err(unsupported(cur, "generator expression"));
        }
        if !eat_op(cur, ",")? {
            expect(cur, ")")?;
            break;
        }
    }
    cur.depth -= 1;
    match callee {
        Expr::Name(name) => match BUILTINS.iter().find(|b| **b == name) {
            Some(b) => Ok(Expr::Builtin(b, args, kwargs)),
            None => Err(cur.error(
                format!("{name}()"),
                "call of a function outside the supported builtins",
            )),
        },
        Expr::Attr(obj, method) if kwargs.is_empty() => Ok(Expr::Method(obj, method, args)),
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

fn parse_atom(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
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
                let inner = parse_expr_list(cur)?;
                if cur.peek()? == Tok::Name("for".into()) {
                    return Err(unsupported(cur, "generator expression"));
                }
                expect(cur, ")")?;
                inner
            };
            cur.depth -= 1;
            expr
        }
        Tok::Op("[") => Expr::List(sequence(cur, "]", "list comprehension")?),
        Tok::Op("{") => dict(cur)?,
        other => return Err(cur.error(describe(&other), "expected an expression")),
    })
}

fn sequence(cur: &mut Cursor<'_>, close: &str, what: &str) -> Result<Vec<Expr>, CheetahError> {
    cur.depth += 1;
    let mut items = Vec::new();
    while !eat_op(cur, close)? {
        items.push(parse_expr(cur)?);
        if cur.peek()? == Tok::Name("for".into()) {
            return Err(unsupported(cur, what));
        }
        if !eat_op(cur, ",")? {
            expect(cur, close)?;
            break;
        }
    }
    cur.depth -= 1;
    Ok(items)
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

/// A string literal; one holding `$placeholders` is split into text and expressions.
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
            buf.push('$');
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
