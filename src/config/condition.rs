//! Resubmission conditions: the small Python-like expressions of Galaxy's `resubmit`
//! (`walltime_reached and attempt < 3`), parsed once at load and evaluated against the facts of
//! one failed attempt.
//!
//! The language: the names of [`NAMES`], `True`, `False`, integer and decimal literals, `and`,
//! `or`, `not`, parentheses, comparisons `< <= > >= == !=` (chained as in Python:
//! `1 < attempt <= 3`), and `+ - *` on numbers. Values are booleans or numbers; a boolean
//! counts as 0 or 1 in arithmetic and comparisons, a number is true when it is not 0 — Python's
//! rules for the same expressions.

use serde::{Serialize, Serializer};

/// What is known about one failed attempt of a job, for [`Condition::eval`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FailureFacts {
    /// The runner stopped the job at its walltime (Slurm `TIMEOUT`, the local runner's limit).
    pub walltime_reached: bool,
    /// The job ran out of memory (Slurm `OUT_OF_MEMORY`).
    pub memory_limit_reached: bool,
    /// A failure of the job or its runner not otherwise classified (e.g. Slurm `NODE_FAIL`).
    pub unknown_error: bool,
    /// 1 for the first run, 2 for the first resubmission, …
    pub attempt: u32,
    /// Seconds since the job last became `queued`.
    pub seconds_since_queued: f64,
    /// Seconds the job was last `running`.
    pub seconds_running: f64,
}

/// The names a condition may use.
pub const NAMES: [&str; 9] = [
    "walltime_reached",
    "memory_limit_reached",
    "unknown_error",
    "any_failure",
    "any_potential_job_failure",
    "attempt",
    "seconds_since_queued",
    "seconds_running",
    "True, False",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fact {
    WalltimeReached,
    MemoryLimitReached,
    UnknownError,
    AnyFailure,
    Attempt,
    SecondsSinceQueued,
    SecondsRunning,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ArithOp {
    Add,
    Sub,
    Mul,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Bool(bool),
    Fact(Fact),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `a < b <= c`: every adjacent pair holds.
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
}

/// A parsed resubmission condition and the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    expr: Expr,
    text: String,
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl Condition {
    /// Parses `text`; the error names the offending token.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err("empty condition".into());
        }
        let mut p = Parser { tokens, at: 0 };
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(format!(
                "unexpected `{}` after a complete expression",
                t.show()
            ));
        }
        Ok(Condition {
            expr,
            text: text.trim().to_string(),
        })
    }

    /// Whether the condition holds for this failure.
    pub fn eval(&self, f: &FailureFacts) -> bool {
        eval(&self.expr, f).truthy()
    }

    /// The source text (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the condition reads `attempt` (a resubmission loop without it never ends).
    pub fn uses_attempt(&self) -> bool {
        uses(&self.expr, Fact::Attempt)
    }
}

fn uses(e: &Expr, fact: Fact) -> bool {
    match e {
        Expr::Num(_) | Expr::Bool(_) => false,
        Expr::Fact(f) => *f == fact,
        Expr::Not(a) | Expr::Neg(a) => uses(a, fact),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(_, a, b) => uses(a, fact) || uses(b, fact),
        Expr::Compare(a, rest) => uses(a, fact) || rest.iter().any(|(_, b)| uses(b, fact)),
    }
}

#[derive(Debug, Clone, Copy)]
enum Val {
    B(bool),
    N(f64),
}

impl Val {
    fn num(self) -> f64 {
        match self {
            Val::B(b) => f64::from(u8::from(b)),
            Val::N(n) => n,
        }
    }
    fn truthy(self) -> bool {
        match self {
            Val::B(b) => b,
            Val::N(n) => n != 0.0,
        }
    }
}

fn eval(e: &Expr, f: &FailureFacts) -> Val {
    match e {
        Expr::Num(n) => Val::N(*n),
        Expr::Bool(b) => Val::B(*b),
        Expr::Fact(fact) => match fact {
            Fact::WalltimeReached => Val::B(f.walltime_reached),
            Fact::MemoryLimitReached => Val::B(f.memory_limit_reached),
            Fact::UnknownError => Val::B(f.unknown_error),
            Fact::AnyFailure => {
                Val::B(f.walltime_reached || f.memory_limit_reached || f.unknown_error)
            }
            Fact::Attempt => Val::N(f64::from(f.attempt)),
            Fact::SecondsSinceQueued => Val::N(f.seconds_since_queued),
            Fact::SecondsRunning => Val::N(f.seconds_running),
        },
        Expr::Not(a) => Val::B(!eval(a, f).truthy()),
        Expr::Neg(a) => Val::N(-eval(a, f).num()),
        // Python's `and`/`or` give one of their operands; only truthiness matters here.
        Expr::And(a, b) => {
            let l = eval(a, f);
            if l.truthy() { eval(b, f) } else { l }
        }
        Expr::Or(a, b) => {
            let l = eval(a, f);
            if l.truthy() { l } else { eval(b, f) }
        }
        Expr::Arith(op, a, b) => {
            let (l, r) = (eval(a, f).num(), eval(b, f).num());
            Val::N(match op {
                ArithOp::Add => l + r,
                ArithOp::Sub => l - r,
                ArithOp::Mul => l * r,
            })
        }
        Expr::Compare(first, rest) => {
            let mut left = eval(first, f).num();
            for (op, e) in rest {
                let right = eval(e, f).num();
                let holds = match op {
                    CmpOp::Lt => left < right,
                    CmpOp::Le => left <= right,
                    CmpOp::Gt => left > right,
                    CmpOp::Ge => left >= right,
                    CmpOp::Eq => left == right,
                    CmpOp::Ne => left != right,
                };
                if !holds {
                    return Val::B(false);
                }
                left = right;
            }
            Val::B(true)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64, String),
    Name(String),
    Cmp(CmpOp, &'static str),
    Arith(ArithOp, &'static str),
    Open,
    Close,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Num(_, s) | Tok::Name(s) => s.clone(),
            Tok::Cmp(_, s) | Tok::Arith(_, s) => (*s).to_string(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            if chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                let mut j = i;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let whole: String = chars[start..j].iter().collect();
                return Err(format!("`{whole}` is not a number"));
            }
            let n = s
                .parse::<f64>()
                .map_err(|_| format!("`{s}` is not a number"))?;
            out.push(Tok::Num(n, s));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le, "<="), 2),
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge, ">="), 2),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq, "=="), 2),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne, "!="), 2),
            ('<', _) => (Tok::Cmp(CmpOp::Lt, "<"), 1),
            ('>', _) => (Tok::Cmp(CmpOp::Gt, ">"), 1),
            ('+', _) => (Tok::Arith(ArithOp::Add, "+"), 1),
            ('-', _) => (Tok::Arith(ArithOp::Sub, "-"), 1),
            ('*', Some('*')) => return Err("unsupported operator `**`".into()),
            ('*', _) => (Tok::Arith(ArithOp::Mul, "*"), 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            ('=', _) => return Err("unexpected `=` (comparison is `==`)".into()),
            ('&', Some('&')) => return Err("unsupported operator `&&` (use `and`)".into()),
            ('|', Some('|')) => return Err("unsupported operator `||` (use `or`)".into()),
            ('!', _) => return Err("unsupported operator `!` (use `not`)".into()),
            _ => return Err(format!("unexpected `{c}`")),
        };
        out.push(tok);
        i += len;
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, String> {
        let first = self.sum()?;
        let mut rest = Vec::new();
        while let Some(Tok::Cmp(op, _)) = self.peek() {
            let op = *op;
            self.at += 1;
            rest.push((op, self.sum()?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Expr::Compare(Box::new(first), rest)
        })
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(Tok::Arith(op @ (ArithOp::Add | ArithOp::Sub), _)) = self.peek() {
            let op = *op;
            self.at += 1;
            let right = self.product()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(Tok::Arith(ArithOp::Mul, _)) = self.peek() {
            self.at += 1;
            let right = self.unary()?;
            left = Expr::Arith(ArithOp::Mul, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(Tok::Arith(ArithOp::Sub, _)) => {
                self.at += 1;
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Some(Tok::Arith(ArithOp::Add, _)) => {
                self.at += 1;
                self.unary()
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.next() {
            None => Err("unexpected end of the condition".into()),
            Some(Tok::Num(n, _)) => Ok(Expr::Num(n)),
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    Some(t) => Err(format!("expected `)`, found `{}`", t.show())),
                    None => Err("expected `)` before the end of the condition".into()),
                }
            }
            Some(Tok::Name(n)) => Ok(match n.as_str() {
                "True" => Expr::Bool(true),
                "False" => Expr::Bool(false),
                "walltime_reached" => Expr::Fact(Fact::WalltimeReached),
                "memory_limit_reached" => Expr::Fact(Fact::MemoryLimitReached),
                "unknown_error" => Expr::Fact(Fact::UnknownError),
                "any_failure" | "any_potential_job_failure" => Expr::Fact(Fact::AnyFailure),
                "attempt" => Expr::Fact(Fact::Attempt),
                "seconds_since_queued" => Expr::Fact(Fact::SecondsSinceQueued),
                "seconds_running" => Expr::Fact(Fact::SecondsRunning),
                "and" | "or" | "not" => return Err(format!("unexpected `{n}`")),
                _ => {
                    return Err(format!(
                        "unknown name `{n}`; known names: {}",
                        NAMES.join(", ")
                    ));
                }
            }),
            Some(t) => Err(format!("unexpected `{}`", t.show())),
        }
    }
}
