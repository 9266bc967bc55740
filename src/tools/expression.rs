//! `<validator type="expression">`: Galaxy's `ExpressionValidator`, a Python expression over
//! `value` (the param's value: `str`, `int` or `float`) that must be true. Compiled at load
//! with the Cheetah expression subset (anything outside it, or a name other than `value`, is
//! refused there); evaluated when a run's inputs are checked. On a data param it is accepted
//! and not checked, as the dataset validators are.

use super::cheetah::{Scope, Template, Value};
use super::dom::Element;
use super::validators::Check;
use super::xml::Ctx;
use super::{ParamValue, ToolError};

/// The check of an expression validator.
pub(crate) fn parse(cx: &Ctx<'_>, el: &Element) -> Result<Check, ToolError> {
    let expression = el.text.trim().to_string();
    let construct = || format!("<validator type=\"expression\">{expression}</validator>");
    if expression.is_empty() {
        return Err(cx.invalid(el, construct(), "the expression (element text) is empty"));
    }
    let template = super::template::compile(&format!("${{{expression}}}"), &|n| n == "value")
        .map_err(|issue| {
            cx.invalid(
                el,
                construct(),
                &format!("{}: {}", issue.construct, issue.message),
            )
        })?;
    Ok(Check::Expression {
        expression,
        template,
    })
}

/// Whether `value` (one of its texts, `text`) makes the expression true; an expression that
/// cannot be evaluated fails, as Galaxy's raises.
pub(crate) fn passes(template: &Template, value: &ParamValue, text: &str) -> bool {
    let typed = match value {
        ParamValue::Integer(i) => Value::Int(*i),
        ParamValue::Float(f) => Value::Float(*f),
        _ => Value::Str(text.to_string()),
    };
    let scope = Scope::new().with("value", typed);
    template
        .render(&scope)
        .is_ok_and(|out| !super::template::is_false(out.trim()))
}
