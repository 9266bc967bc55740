//! Walking the compiled tree: text out, directives run.

use super::RenderError;
use super::builtins::iterate;
use super::eval::{Ctx, Fault, placeholder_text};
use super::expr::BinOp;
use super::ops::binary;
use super::parser::{Node, SetOp};

/// How a body ended.
#[derive(PartialEq)]
pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

fn at(line: usize) -> impl Fn(Fault) -> RenderError {
    move |fault| match fault {
        Fault::NotFound(name) => RenderError::NotFound { line, name },
        Fault::Error(message) => RenderError::Eval { line, message },
    }
}

pub(crate) fn render(
    nodes: &[Node],
    ctx: &mut Ctx<'_>,
    out: &mut String,
) -> Result<Flow, RenderError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Out { expr, line, silent } => match ctx.eval(expr) {
                Ok(v) => out.push_str(&placeholder_text(&v)),
                Err(Fault::NotFound(_)) if *silent => {}
                Err(fault) => return Err(at(*line)(fault)),
            },
            Node::If { branches, orelse } => {
                let mut chosen = orelse;
                for (cond, line, body) in branches {
                    if ctx.eval(cond).map_err(at(*line))?.truthy() {
                        chosen = body;
                        break;
                    }
                }
                let flow = render(chosen, ctx, out)?;
                if flow != Flow::Normal {
                    return Ok(flow);
                }
            }
            Node::For {
                targets,
                iter,
                line,
                body,
            } => {
                let items = match ctx.resolve(iter) {
                    Some(found) => iterate(&*found.map_err(at(*line))?),
                    None => iterate(&ctx.eval(iter).map_err(at(*line))?),
                }
                .map_err(at(*line))?;
                for item in items {
                    ctx.bind(targets, item).map_err(at(*line))?;
                    if render(body, ctx, out)? == Flow::Break {
                        break;
                    }
                }
            }
            Node::Set {
                name,
                op,
                expr,
                line,
            } => {
                let v = ctx.eval(expr).map_err(at(*line))?;
                let v = match op {
                    SetOp::Assign => v,
                    SetOp::Add | SetOp::Sub => {
                        let old = ctx
                            .lookup(name)
                            .cloned()
                            .ok_or_else(|| at(*line)(Fault::NotFound(name.clone())))?;
                        let bin = if *op == SetOp::Add {
                            BinOp::Add
                        } else {
                            BinOp::Sub
                        };
                        binary(bin, old, v).map_err(at(*line))?
                    }
                };
                ctx.locals.insert(name.clone(), v);
            }
            Node::Silent { expr, line } => {
                ctx.eval(expr).map_err(at(*line))?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
    }
    Ok(Flow::Normal)
}
