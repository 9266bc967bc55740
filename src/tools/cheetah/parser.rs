//! The template: text, placeholders and directives into a tree of [`Node`]s.

use super::CheetahError;
use super::atoms::parse_trailers;
use super::expr::{Expr, describe, parse_expr, parse_expr_list};
use super::lexer::{Cursor, Tok};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SetOp {
    Assign,
    Add,
    Sub,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Text(String),
    /// A placeholder (or `#echo`); `silent` (`$!x`) writes nothing for a missing name.
    Out {
        expr: Expr,
        line: usize,
        silent: bool,
    },
    If {
        branches: Vec<(Expr, usize, Vec<Node>)>,
        orelse: Vec<Node>,
    },
    For {
        targets: Vec<String>,
        iter: Expr,
        line: usize,
        body: Vec<Node>,
    },
    Set {
        name: String,
        op: SetOp,
        expr: Expr,
        line: usize,
    },
    Silent {
        expr: Expr,
        line: usize,
    },
    Break,
    Continue,
}

/// Directives Cheetah has that this subset does not.
const UNSUPPORTED: &[&str] = &[
    "extends",
    "implements",
    "super",
    "raw",
    "include",
    "cache",
    "filter",
    "transform",
    "call",
    "arg",
    "capture",
    "attr",
    "def",
    "block",
    "defmacro",
    "closure",
    "del",
    "while",
    "stop",
    "return",
    "yield",
    "repeat",
    "unless",
    "assert",
    "raise",
    "try",
    "except",
    "finally",
    "errorCatcher",
    "breakpoint",
    "compiler",
    "compiler-settings",
    "shBang",
    "encoding",
    "unicode",
];

/// Why a body stopped.
pub(super) enum Stop {
    Eof,
    Elif(Expr, usize),
    Else(usize),
    End(String, usize),
}

pub(crate) fn parse(src: &str) -> Result<Vec<Node>, CheetahError> {
    let mut p = Parser {
        cur: Cursor::new(src),
        buf: String::new(),
        loops: 0,
        limit: src.len(),
    };
    let mut nodes = Vec::new();
    match p.body(&mut nodes)? {
        Stop::Eof => Ok(nodes),
        Stop::Elif(..) => Err(p.cur.error("#elif", "without #if")),
        Stop::Else(line) => Err(CheetahError {
            line,
            construct: "#else".into(),
            message: "without #if".into(),
        }),
        Stop::End(what, line) => Err(CheetahError {
            line,
            construct: format!("#end {what}"),
            message: "without an open block".into(),
        }),
    }
}

/// Parses a placeholder at `$`; `None` (cursor unchanged) when `$` starts none.
pub(crate) fn placeholder(cur: &mut Cursor<'_>) -> Result<Option<(Expr, bool)>, CheetahError> {
    let start = cur.pos;
    let rest = cur.rest().as_bytes();
    let silent = rest.get(1) == Some(&b'!');
    let at = 1 + usize::from(silent);
    let ident_start = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let close = match rest.get(at) {
        Some(b'{') => "}",
        Some(b'(') => ")",
        Some(b'[') => "]",
        b if ident_start(b) => "",
        _ => return Ok(None),
    };
    if !close.is_empty() {
        // `${ expr }`: any expression, blanks allowed after the opening bracket.
        let inner = rest[at + 1..]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\x0c'));
        if silent && !ident_start(inner) || matches!(inner, None | Some(b')' | b'}' | b']')) {
            return Ok(None);
        }
    }
    cur.pos += at;
    let expr = if close.is_empty() {
        let name = cur.ident();
        parse_trailers(cur, Expr::Name(name), false)?
    } else {
        cur.pos += 1;
        cur.depth += 1;
        let expr = parse_expr(cur)?;
        match cur.next_tok()? {
            Tok::Op(o) if o == close => {}
            other => {
                cur.pos = start;
                return Err(cur.error(
                    describe(&other),
                    format!("placeholder not closed by '{close}'"),
                ));
            }
        }
        cur.depth -= 1;
        expr
    };
    Ok(Some((expr, silent)))
}

pub(super) struct Parser<'a> {
    pub(super) cur: Cursor<'a>,
    /// Text not yet made a node.
    pub(super) buf: String,
    /// Open `#for` blocks, for `#break`/`#continue`.
    pub(super) loops: usize,
    /// Where the body being parsed ends (the line's end for `#if c: text`).
    pub(super) limit: usize,
}

impl Parser<'_> {
    fn flush(&mut self, out: &mut Vec<Node>) {
        if !self.buf.is_empty() {
            out.push(Node::Text(std::mem::take(&mut self.buf)));
        }
    }

    pub(super) fn body(&mut self, out: &mut Vec<Node>) -> Result<Stop, CheetahError> {
        loop {
            let (at, rest) = (self.cur.pos, self.cur.rest());
            let Some(c) = rest.chars().next().filter(|_| at < self.limit) else {
                self.flush(out);
                return Ok(Stop::Eof);
            };
            match c {
                '\\' if rest[1..].starts_with(['$', '#']) => {
                    self.buf.push_str(&rest[1..2]);
                    self.cur.pos += 2;
                }
                '$' => match placeholder(&mut self.cur)? {
                    Some((expr, silent)) => {
                        let line = self.cur.line_at(at);
                        self.flush(out);
                        out.push(Node::Out { expr, line, silent });
                    }
                    None => {
                        self.buf.push('$');
                        self.cur.pos += 1;
                    }
                },
                '#' => {
                    if let Some(stop) = self.hash(out)? {
                        return Ok(stop);
                    }
                }
                c => {
                    self.buf.push(c);
                    self.cur.pos += c.len_utf8();
                }
            }
        }
    }

    /// A `#` in text: a comment, a directive, or a literal `#`.
    fn hash(&mut self, out: &mut Vec<Node>) -> Result<Option<Stop>, CheetahError> {
        let at = self.cur.pos;
        let clear = self.line_clear(at);
        let rest = self.cur.rest();
        if rest.starts_with("##") {
            if clear {
                self.strip_line_indent();
            }
            self.skip_line(clear);
            return Ok(None);
        }
        if rest.starts_with("#*") {
            self.block_comment(clear);
            return Ok(None);
        }
        let after = rest[1..].trim_start_matches([' ', '\t', '\x0c']);
        if after.starts_with(['\n', '\r']) {
            // Cheetah's end-of-line slurp token: a `#` ending a line swallows the newline.
            if clear {
                self.strip_line_indent();
            }
            self.skip_line(true);
            self.flush(out);
            return Ok(None);
        }
        let word_len = rest[1..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            .count();
        let word = rest[1..1 + word_len].to_string();
        let known = [
            "if", "elif", "else", "end", "for", "set", "silent", "slurp", "break", "continue",
            "echo", "pass", "import", "from",
        ];
        if UNSUPPORTED.contains(&word.as_str()) {
            return Err(self.cur.error(
                format!("#{word}"),
                "directive outside the supported Cheetah subset",
            ));
        }
        if !known.contains(&word.as_str()) {
            self.buf.push('#');
            self.cur.pos += 1;
            return Ok(None);
        }
        let first_eol = at + rest.find('\n').unwrap_or(rest.len());
        let line = self.cur.line();
        self.cur.pos += 1 + word.len();
        let mut stop = None;
        let mut node = None;
        let mut bound = Vec::new();
        match word.as_str() {
            "import" => bound = self.import(line)?,
            "from" => bound = self.import_from(line)?,
            "slurp" => {
                if clear {
                    self.strip_line_indent();
                }
                self.skip_line(true);
                self.flush(out);
                return Ok(None);
            }
            "if" => {
                let cond = self.condition("#if")?;
                if let Some(body) = self.single_line_body()? {
                    self.flush(out);
                    let branches = vec![(cond, line, body)];
                    out.push(Node::If {
                        branches,
                        orelse: Vec::new(),
                    });
                    return Ok(None);
                }
                self.expect_directive_end("if")?;
                self.end_tag(clear, first_eol)?;
                self.flush(out);
                out.push(self.if_block(cond, line)?);
                return Ok(None);
            }
            "for" => {
                let (targets, iter) = self.for_head()?;
                self.loops += 1;
                let single = self.single_line_body();
                self.loops -= 1;
                if let Some(body) = single? {
                    self.flush(out);
                    out.push(Node::For {
                        targets,
                        iter,
                        line,
                        body,
                    });
                    return Ok(None);
                }
                self.expect_directive_end("for")?;
                self.end_tag(clear, first_eol)?;
                self.flush(out);
                self.loops += 1;
                let mut body = Vec::new();
                let ended = self.body(&mut body)?;
                self.loops -= 1;
                self.expect_end(ended, "for", line)?;
                out.push(Node::For {
                    targets,
                    iter,
                    line,
                    body,
                });
                return Ok(None);
            }
            "elif" => stop = Some(Stop::Elif(self.condition("#elif")?, line)),
            "else" => {
                self.cur.skip_space();
                if self.cur.rest().starts_with("if")
                    && !self.cur.rest()[2..].starts_with(|c: char| c.is_alphanumeric())
                {
                    self.cur.pos += 2;
                    stop = Some(Stop::Elif(self.condition("#else if")?, line));
                } else {
                    stop = Some(Stop::Else(line));
                }
            }
            "end" => {
                self.cur.skip_space();
                let what = self.cur.ident();
                if what != "if" && what != "for" {
                    return Err(self.cur.error(format!("#end {what}"), "unknown block end"));
                }
                // Cheetah ignores what follows `#end if` up to the end of the tag.
                let rest = self.cur.rest();
                self.cur.pos += rest.find(['#', '\n', '\r']).unwrap_or(rest.len());
                stop = Some(Stop::End(what, line));
            }
            "set" => node = Some(self.set(line)?),
            "silent" => {
                let expr = parse_expr_list(&mut self.cur)?;
                node = Some(Node::Silent { expr, line });
            }
            "echo" => {
                let expr = parse_expr_list(&mut self.cur)?;
                node = Some(Node::Out {
                    expr,
                    line,
                    silent: false,
                });
            }
            "break" | "continue" if self.loops == 0 => {
                return Err(self.cur.error(format!("#{word}"), "outside #for"));
            }
            "break" => node = Some(Node::Break),
            "continue" => node = Some(Node::Continue),
            _ => {} // pass
        }
        if word != "end" {
            self.expect_directive_end(&word)?;
        }
        self.end_tag(clear, first_eol)?;
        self.flush(out);
        out.extend(node);
        out.extend(bound);
        Ok(stop)
    }
}
