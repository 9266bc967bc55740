//! The names a template reads from its scope, for checks at tool load.

use std::collections::BTreeSet;

use super::Template;
use super::expr::{Expr, Part};
use super::parser::Node;

#[derive(Default)]
struct Names {
    used: BTreeSet<String>,
    bound: BTreeSet<String>,
}

impl Template {
    /// The names the template reads but never sets itself (with `#set`, `#for` or in a
    /// comprehension): the parameters, outputs and other variables the caller must provide.
    /// Names reached only through `getVar('…')` are not listed.
    pub fn free_names(&self) -> BTreeSet<String> {
        let mut names = Names::default();
        names.nodes(&self.nodes);
        let Names { used, bound } = names;
        used.difference(&bound).cloned().collect()
    }
}

impl Names {
    fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            match node {
                Node::Text(_) | Node::Break | Node::Continue => {}
                Node::Out { expr, .. } | Node::Silent { expr, .. } => self.expr(expr),
                Node::If { branches, orelse } => {
                    for (cond, _, body) in branches {
                        self.expr(cond);
                        self.nodes(body);
                    }
                    self.nodes(orelse);
                }
                Node::For {
                    targets,
                    iter,
                    body,
                    ..
                } => {
                    self.bound.extend(targets.iter().cloned());
                    self.expr(iter);
                    self.nodes(body);
                }
                Node::Set { name, expr, .. } => {
                    self.bound.insert(name.clone());
                    self.expr(expr);
                }
            }
        }
    }

    fn exprs(&mut self, exprs: &[Expr]) {
        for e in exprs {
            self.expr(e);
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Lit(_) => {}
            Expr::Name(n) => {
                self.used.insert(n.clone());
            }
            Expr::Interp(parts) => {
                for part in parts {
                    if let Part::Expr(e) = part {
                        self.expr(e);
                    }
                }
            }
            Expr::Attr(e, _) | Expr::Neg(e) | Expr::Not(e) => self.expr(e),
            Expr::Index(a, b) | Expr::Bin(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            Expr::Slice(e, bounds) => {
                self.expr(e);
                for b in bounds.iter().flatten() {
                    self.expr(b);
                }
            }
            Expr::Builtin(_, args, kwargs) => {
                self.exprs(args);
                for (_, e) in kwargs {
                    self.expr(e);
                }
            }
            Expr::Method(obj, _, args) => {
                self.expr(obj);
                self.exprs(args);
            }
            Expr::Compare(first, rest) => {
                self.expr(first);
                for (_, e) in rest {
                    self.expr(e);
                }
            }
            Expr::Cond(parts) => self.exprs(parts.as_ref()),
            Expr::List(items) | Expr::Tuple(items) => self.exprs(items),
            Expr::Dict(items) => {
                for (k, v) in items {
                    self.expr(k);
                    self.expr(v);
                }
            }
            Expr::Comp(comp) => {
                self.bound.extend(comp.targets.iter().cloned());
                self.expr(&comp.elt);
                self.expr(&comp.iter);
                self.exprs(&comp.conds);
            }
        }
    }
}
