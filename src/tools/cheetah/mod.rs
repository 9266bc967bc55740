//! The subset of Cheetah that Galaxy tools' `<command>` and `<configfile>` blocks use.
//!
//! [`compile`] parses a template once (at tool load); [`Template::render`] fills it from a
//! [`Scope`] of [`Value`]s. Anything outside the subset fails in [`compile`] with the 1-based
//! line (within the template) and the construct; only data errors (a missing name, a type
//! error) fail at render time. [`Template::free_names`] lists the names a template expects
//! from its scope, so a tool loader can check them against the tool's parameters.
//!
//! # Supported
//!
//! - Placeholders: `$x`, `$!x` (writes nothing when `x` is missing), with trailers written
//!   without spaces: `$x.attr.attr`, `$x.method(args)`, `$x['key']`, `$x[0]`, `$x[1:]`;
//!   `${expr}`, `$(expr)`, `$[expr]` with any expression inside (so an unescaped shell
//!   `$((1+2))` is Cheetah's, as in Galaxy); `$getVar('a.b', default)`. A `$` not followed
//!   by a name or bracket (`$1`, `$ `, `$()`) is text; `\$` writes `$` and `\#` writes `#`
//!   (so `\${GALAXY_SLOTS:-1}` writes `${GALAXY_SLOTS:-1}`). A placeholder writes Python's
//!   `str()` of its value, except that `None` writes nothing (Cheetah's default filter).
//! - Directives: `#if`/`#elif`/`#else if`/`#else`/`#end if`, `#for a in …`/`#for a, b in …`/
//!   `#end for`, `#break`, `#continue`, `#set [global|local] x = expr` (also `+=`, `-=`),
//!   `#silent expr`, `#echo expr`, `#pass`, `#slurp`; a trailing `:` on a block directive
//!   (`#if c:`) is allowed, and `#if c: text` / `#for x in y: text` are Cheetah's
//!   single-line forms (the rest of the line, newline included, is the body; no `#end`).
//!   Comments: `## …` and `#* … *#` (nested; an unclosed one runs to the end, as in
//!   Cheetah).
//! - Lines, as Cheetah: a directive ends at the end of its line or at a closing `#`
//!   (`#if $x#a#else#b#end if#`); a line holding only a directive or a `##` comment (or a
//!   block comment followed by blanks only) writes nothing, not even its newline; text before
//!   a directive keeps the line's newline; a `#` ending a line (Cheetah's EOL slurp token)
//!   and `#slurp` swallow the newline. A `#` not followed by a directive name (`#!/bin/sh`,
//!   `# note`, `#SBATCH`) is text.
//! - Expressions (Python): literals (`'…'`, `"…"`, `r'…'`, triple quotes, int, float,
//!   `True`/`False`/`None`, lists, tuples, dicts with str keys); names with or without `$`;
//!   attribute access (a map's key, a wrapper's attribute), indexing, slicing without step;
//!   `==` `!=` `<` `<=` `>` `>=` (chained) `in` `not in` `is` `is not`; `and` `or` `not`;
//!   `+ - * / // %` (also `str % args` with `%s %r %d %i %f`), unary `-`; `a if c else b`.
//!   As in Cheetah, only `c'…'` string literals fill in `$placeholders`; other strings are
//!   plain Python strings. List comprehensions and generator arguments with one `for` and
//!   any `if`s (`' '.join(str(f) for f in $files)`).
//! - `#import re`, `#import os.path`, `#import re as r`, `#from os.path import basename
//!   [as b]`: `re` (`sub match search fullmatch findall split escape`, matches with
//!   `.group()`/`.groups()`), `os` (`path`, `sep`) and `os.path` (`join basename dirname
//!   split splitext`); see `modules`.
//! - Builtins: `str int float bool len list sorted(reverse=) min max abs range
//!   enumerate(start=) zip`,
//!   `getVar hasVar varExists`. Methods: str `split rsplit strip lstrip rstrip replace join
//!   startswith endswith lower upper find count isdigit splitlines capitalize format`; dict
//!   `get keys values items`; list `index count`; on a variable holding a list or dict,
//!   `append extend insert remove pop update`; any method a [`Wrapper`] answers.
//!
//! # Rejected at compile time
//!
//! `#def`, `#block`, `#import`/`#from` of other modules or names, `#include`, `#raw`, `#extends`, `#while`, `#unless`,
//! `#try`, `#stop`, `#return`, `#call`, `#filter`, `#cache`, `#compiler-settings` and the
//! other directives; the single-line `#elif c: text` / `#else: text` and `#if c then a else
//! b`; text after a directive's expression; calls of functions other than the builtins;
//! lambdas, nested and dict comprehensions, `**`, bitwise operators, slice steps, `*args`,
//! `f''`/`b''` strings; unclosed blocks, strings and placeholders; `#break`/`#continue`
//! outside `#for`.
//!
//! Values and sanitization: the engine writes what [`Value::to_str`] and [`Wrapper::str`]
//! return; Galaxy's sanitization of parameter values lives in [`wrappers`].

// Integration with `tools::template` follows; until then only the tests use the module.
#![allow(dead_code)]

mod atoms;
mod builtins;
mod directives;
mod eval;
mod expr;
mod imports;
mod lexer;
mod lines;
mod methods;
mod modules;
mod names;
mod ops;
mod parser;
mod render;
mod value;
pub mod wrappers;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

// The caller's side of the interface; used by the tests until the integration.
#[allow(unused_imports)]
pub use value::{Map, Scope, Value, Wrapper, float_repr};

/// A construct outside the subset, or a syntax error, found by [`compile`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {construct}: {message}")]
pub struct CheetahError {
    /// 1-based, counted from the start of the template.
    pub line: usize,
    pub construct: String,
    pub message: String,
}

/// A data error while rendering.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// Cheetah's `NotFound`: the name (or dotted path) that is in no scope.
    #[error("line {line}: cannot find '{name}'")]
    NotFound { line: usize, name: String },
    #[error("line {line}: {message}")]
    Eval { line: usize, message: String },
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parser::Node>,
    /// Source length, to size the output.
    size: usize,
}

/// Parses `src` into a [`Template`], rejecting what is outside the subset.
pub fn compile(src: &str) -> Result<Template, CheetahError> {
    Ok(Template {
        nodes: parser::parse(src)?,
        size: src.len(),
    })
}

impl Template {
    /// Fills the template from `scope`.
    pub fn render(&self, scope: &Scope) -> Result<String, RenderError> {
        let mut ctx = eval::Ctx {
            scope,
            locals: HashMap::new(),
        };
        let mut out = String::with_capacity(self.size + self.size / 2);
        render::render(&self.nodes, &mut ctx, &mut out)?;
        Ok(out)
    }
}
