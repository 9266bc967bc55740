//! Tokens of the Python-expression subset, read on demand from a cursor into the template.

use super::CheetahError;

/// One token of an expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name, with or without its `$`.
    Name(String),
    /// A string literal; `interpolate` for Cheetah's `c'…$placeholder…'` strings.
    Str {
        text: String,
        interpolate: bool,
    },
    Int(i64),
    Float(f64),
    /// Punctuation and operators, including `${`.
    Op(&'static str),
    /// End of the expression: end of line (outside brackets), `#`, or end of input.
    End,
}

/// Operators, longest first.
const OPS: &[&str] = &[
    "${", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "<<", ">>", "(", ")", "[", "]", "{", "}",
    ",", ":", ".", "+", "-", "*", "/", "%", "<", ">", "=", "|", "&", "^", "~", "@", ";",
];

/// A position in the template source shared by the template parser and the expression parser.
pub(crate) struct Cursor<'a> {
    pub src: &'a str,
    pub pos: usize,
    /// Bracket depth: inside brackets, newlines are whitespace (as in Python).
    pub depth: usize,
    newlines: Vec<usize>,
    /// Functions made callable by `#from m import f [as g]`: (name, module, function).
    pub functions: Vec<(String, String, String)>,
    /// Modules bound by `#import m [as x]`: (name, module).
    pub modules: Vec<(String, String)>,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Self {
        let newlines = src.match_indices('\n').map(|(i, _)| i).collect();
        Self {
            src,
            pos: 0,
            depth: 0,
            newlines,
            functions: Vec::new(),
            modules: Vec::new(),
        }
    }

    /// The 1-based line of byte offset `at`.
    pub fn line_at(&self, at: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < at) + 1
    }

    pub fn line(&self) -> usize {
        self.line_at(self.pos)
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn peek_byte(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub fn error(&self, construct: impl Into<String>, message: impl Into<String>) -> CheetahError {
        CheetahError {
            line: self.line(),
            construct: construct.into(),
            message: message.into(),
        }
    }

    /// Skips blanks, escaped newlines, and newlines inside brackets.
    pub fn skip_space(&mut self) {
        while let Some(b) = self.peek_byte() {
            let newline_ok = self.depth > 0 && (b == b'\n' || b == b'\r');
            if b == b' ' || b == b'\t' || newline_ok {
                self.pos += 1;
            } else if b == b'\\' && self.rest()[1..].starts_with(['\n', '\r']) {
                // A backslash ending the line continues the expression (Cheetah).
                self.pos += 1;
                self.pos += if self.rest().starts_with("\r\n") {
                    2
                } else {
                    1
                };
            } else {
                break;
            }
        }
    }

    /// Reads the next token without consuming it.
    pub fn peek(&mut self) -> Result<Tok, CheetahError> {
        let at = self.pos;
        let tok = self.next_tok();
        self.pos = at;
        tok
    }

    /// Reads and consumes the next token.
    pub fn next_tok(&mut self) -> Result<Tok, CheetahError> {
        self.skip_space();
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(Tok::End);
        };
        if c == '\n' || c == '\r' || c == '#' {
            return Ok(Tok::End);
        }
        if c == '$' {
            let after = &rest[1..];
            if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                self.pos += 1;
                return Ok(Tok::Name(self.ident()));
            }
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let quote = rest[1..].chars().next();
            if matches!(c, 'r' | 'R' | 'u' | 'U' | 'c') && matches!(quote, Some('\'' | '"')) {
                self.pos += 1;
                let tok = self.string(matches!(c, 'r' | 'R'))?;
                return Ok(match tok {
                    Tok::Str { text, .. } if c == 'c' => Tok::Str {
                        interpolate: true,
                        text,
                    },
                    Tok::Str { text, .. } => Tok::Str {
                        interpolate: false,
                        text,
                    },
                    other => other,
                });
            }
            if matches!(c, 'b' | 'B' | 'f' | 'F') && matches!(quote, Some('\'' | '"')) {
                return Err(self.error(format!("{c}-string"), "only plain and r'' strings"));
            }
            return Ok(Tok::Name(self.ident()));
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|c: char| c.is_ascii_digit())) {
            return self.number();
        }
        if c == '\'' || c == '"' {
            return self.string(false);
        }
        for op in OPS {
            if rest.starts_with(op) {
                self.pos += op.len();
                return Ok(Tok::Op(op));
            }
        }
        Err(self.error(c.to_string(), "unexpected character in an expression"))
    }

    /// Reads an identifier at the cursor.
    pub fn ident(&mut self) -> String {
        let start = self.pos;
        let len = self
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_');
        self.pos += len.count();
        self.src[start..self.pos].to_string()
    }

    fn number(&mut self) -> Result<Tok, CheetahError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut float = false;
        while let Some(&b) = bytes.get(self.pos) {
            let exp_sign = (b == b'+' || b == b'-')
                && matches!(bytes.get(self.pos - 1), Some(b'e' | b'E'))
                && float;
            if b.is_ascii_digit() || b == b'_' || exp_sign {
                self.pos += 1;
            } else if b == b'.' || b == b'e' || b == b'E' {
                float = true;
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.src[start..self.pos]
            .chars()
            .filter(|&c| c != '_')
            .collect();
        let bad = || self.error(text.clone(), "not a number");
        if float {
            text.parse().map(Tok::Float).map_err(|_| bad())
        } else if text.len() > 1 && text.starts_with('0') {
            Err(self.error(text.clone(), "octal-looking integer literal"))
        } else {
            text.parse().map(Tok::Int).map_err(|_| bad())
        }
    }

    fn string(&mut self, raw: bool) -> Result<Tok, CheetahError> {
        let rest = self.rest();
        let quote = &rest[..1];
        let triple = quote.repeat(3);
        let delim = if rest.starts_with(&triple) {
            triple.as_str()
        } else {
            quote
        };
        let start_line = self.line();
        self.pos += delim.len();
        let mut text = String::new();
        loop {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                return Err(CheetahError {
                    line: start_line,
                    construct: "string literal".into(),
                    message: "unterminated string".into(),
                });
            };
            if rest.starts_with(delim) {
                self.pos += delim.len();
                return Ok(Tok::Str {
                    text,
                    interpolate: false,
                });
            }
            if c == '\n' && delim.len() == 1 {
                return Err(self.error("string literal", "unterminated string"));
            }
            self.pos += c.len_utf8();
            if c == '\\' {
                let Some(e) = self.rest().chars().next() else {
                    continue;
                };
                self.pos += e.len_utf8();
                match e {
                    _ if raw => {
                        text.push('\\');
                        text.push(e);
                    }
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    '0' => text.push('\0'),
                    '\\' | '\'' | '"' => text.push(e),
                    '\n' => {}
                    _ => {
                        text.push('\\');
                        text.push(e);
                    }
                }
                continue;
            }
            text.push(c);
        }
    }
}
