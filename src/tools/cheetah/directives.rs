//! The block and assignment directives' heads: `#if` chains, `#for` targets, `#set`.

use super::CheetahError;
use super::expr::{Expr, describe, parse_expr, parse_expr_list};
use super::lexer::Tok;
use super::parser::{Node, Parser, SetOp, Stop};

impl Parser<'_> {
    /// Cheetah's single-line form `#if c: text` / `#for x in y: text`: the rest of the line,
    /// its newline included, is the body, and no `#end` follows. `None` when the directive
    /// is not in that form.
    pub(super) fn single_line_body(&mut self) -> Result<Option<Vec<Node>>, CheetahError> {
        self.cur.skip_space();
        let Some(after) = self.cur.rest().strip_prefix(':') else {
            return Ok(None);
        };
        let line_rest = after.split('\n').next().unwrap_or("").trim();
        if line_rest.is_empty() || line_rest.starts_with("##") {
            return Ok(None);
        }
        self.cur.pos += 1;
        if self.cur.rest().starts_with([' ', '\t']) {
            self.cur.pos += 1;
        }
        let rest = self.cur.rest();
        let eol = self.cur.pos + rest.find('\n').map_or(rest.len(), |i| i + 1);
        let inner = eol.min(self.limit);
        let outer = std::mem::replace(&mut self.limit, inner);
        let mut body = Vec::new();
        let stop = self.body(&mut body);
        self.limit = outer;
        match stop? {
            Stop::Eof => Ok(Some(body)),
            Stop::Elif(_, line) | Stop::Else(line) | Stop::End(_, line) => Err(CheetahError {
                line,
                construct: "#if c: text".into(),
                message: "a block directive inside a single-line directive".into(),
            }),
        }
    }

    /// After a directive's expression: only the end of the line, `#`, or a `:` may follow.
    pub(super) fn expect_directive_end(&mut self, what: &str) -> Result<(), CheetahError> {
        match self.cur.peek()? {
            Tok::End | Tok::Op(":") => Ok(()),
            Tok::Name(n) if n == "then" => Err(self.cur.error(
                "#if … then … else",
                "Cheetah's ternary directive is not supported; write `#echo a if c else b`",
            )),
            other => Err(self
                .cur
                .error(describe(&other), format!("unexpected in #{what}"))),
        }
    }

    pub(super) fn expect_end(
        &self,
        stop: Stop,
        what: &str,
        line: usize,
    ) -> Result<(), CheetahError> {
        let open = |message: &str| CheetahError {
            line,
            construct: format!("#{what}"),
            message: message.to_string(),
        };
        match stop {
            Stop::End(w, _) if w == what => Ok(()),
            Stop::End(w, at) => Err(CheetahError {
                line: at,
                construct: format!("#end {w}"),
                message: format!("inside #{what}"),
            }),
            Stop::Eof => Err(open(&format!("not closed by #end {what}"))),
            Stop::Elif(_, at) => Err(CheetahError {
                line: at,
                construct: "#elif".into(),
                message: format!("inside #{what}"),
            }),
            Stop::Else(at) => Err(CheetahError {
                line: at,
                construct: "#else".into(),
                message: format!("inside #{what}"),
            }),
        }
    }

    pub(super) fn condition(&mut self, what: &str) -> Result<Expr, CheetahError> {
        if matches!(self.cur.peek()?, Tok::End) {
            return Err(self.cur.error(what, "needs a condition"));
        }
        parse_expr(&mut self.cur)
    }

    pub(super) fn if_block(&mut self, cond: Expr, line: usize) -> Result<Node, CheetahError> {
        let mut branches = Vec::new();
        let (mut cond, mut cond_line) = (cond, line);
        loop {
            let mut body = Vec::new();
            match self.body(&mut body)? {
                Stop::Elif(next, next_line) => {
                    branches.push((cond, cond_line, body));
                    (cond, cond_line) = (next, next_line);
                }
                Stop::Else(_) => {
                    branches.push((cond, cond_line, body));
                    let mut orelse = Vec::new();
                    let stop = self.body(&mut orelse)?;
                    self.expect_end(stop, "if", line)?;
                    return Ok(Node::If { branches, orelse });
                }
                stop => {
                    self.expect_end(stop, "if", line)?;
                    branches.push((cond, cond_line, body));
                    return Ok(Node::If {
                        branches,
                        orelse: Vec::new(),
                    });
                }
            }
        }
    }

    fn target_name(&mut self) -> Result<String, CheetahError> {
        match self.cur.next_tok()? {
            Tok::Name(n) if !["in", "global"].contains(&n.as_str()) => Ok(n),
            other => Err(self.cur.error(describe(&other), "expected a variable name")),
        }
    }

    pub(super) fn for_head(&mut self) -> Result<(Vec<String>, Expr), CheetahError> {
        let paren = self.cur.peek()? == Tok::Op("(");
        if paren {
            self.cur.next_tok()?;
        }
        let mut targets = vec![self.target_name()?];
        while self.cur.peek()? == Tok::Op(",") {
            self.cur.next_tok()?;
            targets.push(self.target_name()?);
        }
        if paren && self.cur.next_tok()? != Tok::Op(")") {
            return Err(self
                .cur
                .error("#for", "expected ')' after the loop variables"));
        }
        if self.cur.next_tok()? != Tok::Name("in".into()) {
            return Err(self.cur.error("#for", "expected 'in'"));
        }
        Ok((targets, parse_expr_list(&mut self.cur)?))
    }

    pub(super) fn set(&mut self, line: usize) -> Result<Node, CheetahError> {
        if matches!(self.cur.peek()?, Tok::Name(n) if n == "global" || n == "local") {
            self.cur.next_tok()?;
        }
        let name = self.target_name()?;
        let op = match self.cur.next_tok()? {
            Tok::Op("=") => SetOp::Assign,
            Tok::Op("+=") => SetOp::Add,
            Tok::Op("-=") => SetOp::Sub,
            other => {
                let what = format!("#set {name} {}", describe(&other));
                return Err(self.cur.error(what, "only '#set name = expr' (or += / -=)"));
            }
        };
        let expr = parse_expr_list(&mut self.cur)?;
        Ok(Node::Set {
            name,
            op,
            expr,
            line,
        })
    }
}
