//! `#import m[.sub] [as x], …` and `#from m import f [as g], …` for the standard-library
//! modules of [`super::modules`]: `#import` binds the module as a variable (`#import os.path`
//! binds `os`, as Python does); `#from` binds a submodule or constant as a variable and makes
//! a function callable by its name (`basename(x)`). Any other module or name is refused here,
//! at compile time.

use super::CheetahError;
use super::expr::{Expr, describe};
use super::lexer::Tok;
use super::modules::{self, is_value, names_of};
use super::parser::{Node, Parser, SetOp};
use super::value::Value;

impl Parser<'_> {
    /// A dotted module name, checked against the supported ones.
    fn module_name(&mut self, directive: &str) -> Result<String, CheetahError> {
        let mut name = match self.cur.next_tok()? {
            Tok::Name(n) => n,
            other => return Err(self.cur.error(describe(&other), "expected a module name")),
        };
        while self.cur.peek()? == Tok::Op(".") {
            self.cur.next_tok()?;
            match self.cur.next_tok()? {
                Tok::Name(n) => name = format!("{name}.{n}"),
                other => return Err(self.cur.error(describe(&other), "expected a module name")),
            }
        }
        if names_of(&name).is_none() {
            let message = format!(
                "only these modules can be imported: {}",
                modules::supported()
            );
            return Err(self.cur.error(format!("{directive} {name}"), &message));
        }
        Ok(name)
    }

    /// `as name`, when it follows.
    fn alias(&mut self) -> Result<Option<String>, CheetahError> {
        if self.cur.peek()? != Tok::Name("as".into()) {
            return Ok(None);
        }
        self.cur.next_tok()?;
        match self.cur.next_tok()? {
            Tok::Name(n) => Ok(Some(n)),
            other => Err(self
                .cur
                .error(describe(&other), "expected a name after 'as'")),
        }
    }

    /// After `#import`: one `#set` per module bound.
    pub(super) fn import(&mut self, line: usize) -> Result<Vec<Node>, CheetahError> {
        let mut nodes = Vec::new();
        loop {
            let module = self.module_name("#import")?;
            let (name, value) = match self.alias()? {
                Some(alias) => (alias, modules::module(&module)),
                None => {
                    let top = module.split('.').next().unwrap_or_default().to_string();
                    let value = modules::module(&top);
                    (top, value)
                }
            };
            if module == "re" {
                self.cur.modules.push((name.clone(), module.clone()));
            }
            nodes.push(bind(name, value, line));
            if self.cur.peek()? != Tok::Op(",") {
                return Ok(nodes);
            }
            self.cur.next_tok()?;
        }
    }

    /// After `#from`: `#set`s for submodules and constants; functions become callable.
    pub(super) fn import_from(&mut self, line: usize) -> Result<Vec<Node>, CheetahError> {
        let module = self.module_name("#from")?;
        if self.cur.next_tok()? != Tok::Name("import".into()) {
            return Err(self
                .cur
                .error(format!("#from {module}"), "expected 'import'"));
        }
        let members = names_of(&module).unwrap_or_default();
        let mut nodes = Vec::new();
        loop {
            let member = match self.cur.next_tok()? {
                Tok::Name(n) => n,
                other => {
                    let what = format!("#from {module} import {}", describe(&other));
                    return Err(self.cur.error(what, "expected the names to import"));
                }
            };
            if !members.contains(&member.as_str()) {
                let construct = format!("#from {module} import {member}");
                let message = format!("available from {module}: {}", members.join(", "));
                return Err(self.cur.error(construct, &message));
            }
            let local = self.alias()?.unwrap_or_else(|| member.clone());
            if is_value(&module, &member) {
                let value = match member.as_str() {
                    "path" => modules::module("os.path"),
                    _ => Value::Str("/".into()),
                };
                nodes.push(bind(local, value, line));
            } else {
                self.cur.functions.push((local, module.clone(), member));
            }
            if self.cur.peek()? != Tok::Op(",") {
                return Ok(nodes);
            }
            self.cur.next_tok()?;
        }
    }
}

fn bind(name: String, value: Value, line: usize) -> Node {
    Node::Set {
        name,
        op: SetOp::Assign,
        expr: Expr::Lit(value),
        line,
    }
}
