//! Expressions: the AST and a recursive-descent parser with Python's precedence (operators
//! here, atoms and trailers in `atoms`).

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
    /// `[elt for targets in iter if cond]` (also a generator expression, made a list).
    Comp(Box<Comp>),
}

#[derive(Clone, Debug)]
pub(crate) struct Comp {
    pub elt: Expr,
    pub targets: Vec<String>,
    pub iter: Expr,
    pub conds: Vec<Expr>,
}

/// Python words that start constructs outside the subset.
pub(super) const REJECTED_WORDS: &[&str] = &["lambda", "yield", "await", "for", "async"];

pub(super) fn unsupported(cur: &Cursor<'_>, construct: &str) -> CheetahError {
    cur.error(construct, "Python construct outside the supported subset")
}

pub(super) fn expect(cur: &mut Cursor<'_>, op: &str) -> Result<(), CheetahError> {
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

pub(super) fn eat_op(cur: &mut Cursor<'_>, op: &str) -> Result<bool, CheetahError> {
    if matches!(cur.peek()?, Tok::Op(o) if o == op) {
        cur.next_tok()?;
        return Ok(true);
    }
    Ok(false)
}

pub(super) fn eat_word(cur: &mut Cursor<'_>, word: &str) -> Result<bool, CheetahError> {
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

pub(super) fn parse_or(cur: &mut Cursor<'_>) -> Result<Expr, CheetahError> {
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
    let atom = super::atoms::parse_atom(cur)?;
    super::atoms::parse_trailers(cur, atom, true)
}
