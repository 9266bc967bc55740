//! `<param>` of a tool XML's `<inputs>` (the groups around them are in `groups`).

use std::sync::Arc;

use super::dom::Element;
use super::sanitizer::parse_sanitizer;
use super::validators::parse_validator;
use super::xml::Ctx;
use super::{Param, ParamKind, ToolError};

pub(crate) const SUPPORTED_TYPES: &str =
    "text, integer, float, boolean, select, data, data_column, hidden, color";

/// A name usable as `$name` in the command.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Galaxy's `string_as_bool` spellings, strictly.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

pub(crate) fn bool_attr(cx: &Ctx<'_>, el: &Element, key: &str) -> Result<Option<bool>, ToolError> {
    match el.attr(key) {
        None => Ok(None),
        Some(v) => parse_bool(v).map(Some).ok_or_else(|| {
            let construct = format!("{} {key}=\"{v}\"", el.name);
            cx.invalid(el, construct, "expected true or false")
        }),
    }
}

pub(crate) fn number_attr<T: std::str::FromStr>(
    cx: &Ctx<'_>,
    el: &Element,
    key: &str,
    what: &str,
) -> Result<Option<T>, ToolError> {
    match el.attr(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            let construct = format!("param {key}=\"{v}\"");
            cx.invalid(
                el,
                construct,
                &format!("the attribute '{key}' must be {what}"),
            )
        }),
    }
}

/// A `<param>`'s name: `name`, else its `argument` without the leading dashes and with `-`
/// as `_` (Galaxy's rule).
pub(crate) fn declared_name(el: &Element) -> Option<String> {
    match (el.attr("name"), el.attr("argument")) {
        (Some(name), _) => Some(name.trim().to_string()),
        (None, Some(arg)) => Some(arg.trim().trim_start_matches('-').replace('-', "_")),
        (None, None) => None,
    }
}

/// One `<param>`; `datasets` names the data params a `data_column` may refer to (this level
/// and the enclosing ones).
pub(crate) fn parse_param(
    cx: &Ctx<'_>,
    el: &Element,
    datasets: &[String],
) -> Result<Param, ToolError> {
    let Some(name) = declared_name(el) else {
        return Err(cx.invalid(el, "<param>".into(), "missing attribute 'name'"));
    };
    if !is_identifier(&name) {
        let construct = format!("param name=\"{name}\"");
        return Err(cx.invalid(el, construct, "a name is letters, digits and '_'"));
    }
    let kind_name = el.attr("type").unwrap_or_default().trim();
    let multiple = bool_attr(cx, el, "multiple")? == Some(true);
    if multiple && !matches!(kind_name, "data" | "data_column" | "select") {
        let construct = format!("param type=\"{kind_name}\" multiple=\"true\"");
        return Err(cx.invalid(el, construct, "multiple values are not supported"));
    }
    // As Galaxy: a multiple select is optional unless it says otherwise.
    let optional = bool_attr(cx, el, "optional")?.unwrap_or(multiple && kind_name == "select");
    let mut value = el.attr("value").map(str::to_string);
    let kind = match kind_name {
        "text" => ParamKind::Text,
        "integer" => ParamKind::Integer {
            min: number_attr(cx, el, "min", "an integer")?,
            max: number_attr(cx, el, "max", "an integer")?,
        },
        "float" => {
            let min: Option<f64> = number_attr(cx, el, "min", "a real number")?;
            let max: Option<f64> = number_attr(cx, el, "max", "a real number")?;
            ParamKind::Float { min, max }
        }
        "boolean" => {
            let checked = bool_attr(cx, el, "checked")?.unwrap_or(false);
            value = Some(checked.to_string());
            ParamKind::Boolean {
                truevalue: el.attr("truevalue").unwrap_or("true").to_string(),
                falsevalue: el.attr("falsevalue").unwrap_or("false").to_string(),
            }
        }
        "select" => {
            let select = parse_select(cx, el, multiple)?;
            // Galaxy reads a select's default from `selected` only: a `value` naming no
            // option is ignored (one naming an option stays the default, as before).
            if let (ParamKind::Select { options, .. }, Some(v)) = (&select, value.as_deref())
                && !options.iter().any(|(o, _, _)| o == v)
            {
                log::debug!("param {name}: select value=\"{v}\" is no option, ignored");
                value = None;
            }
            select
        }
        "data" => ParamKind::Data {
            format: el.attr("format").unwrap_or("data").trim().to_string(),
            multiple,
        },
        "data_column" => data_column(cx, el, multiple, value.as_deref(), datasets)?,
        "hidden" => ParamKind::Hidden,
        "color" => {
            let color = value.get_or_insert_with(|| "#000000".to_string());
            if !is_color(color) {
                let construct = format!("param type=\"color\" value=\"{color}\"");
                return Err(cx.invalid(el, construct, "a color is written #rrggbb"));
            }
            ParamKind::Color
        }
        "" => return Err(cx.invalid(el, "<param>".into(), "missing attribute 'type'")),
        other => {
            let construct = format!("param type=\"{other}\"");
            let message = format!("unsupported parameter type (supported: {SUPPORTED_TYPES})");
            return Err(cx.invalid(el, construct, &message));
        }
    };
    check_children(cx, el, &kind)?;
    check_default(cx, el, &kind, value.as_deref())?;
    let mut validators = Vec::new();
    let mut sanitizer = None;
    for child in &el.children {
        match child.name.as_str() {
            "validator" => validators.push(parse_validator(cx, child, &kind)?),
            "sanitizer" if sanitizer.is_some() => {
                let construct = "<sanitizer> in <param>".to_string();
                return Err(cx.invalid(child, construct, "only one <sanitizer> per param"));
            }
            "sanitizer" => sanitizer = Some(Arc::new(parse_sanitizer(cx, child)?)),
            _ => {}
        }
    }
    Ok(Param {
        validators,
        sanitizer,
        name,
        label: el.attr("label").unwrap_or_default().to_string(),
        help: el.attr("help").unwrap_or_default().to_string(),
        optional,
        value,
        kind,
    })
}

fn parse_select(cx: &Ctx<'_>, el: &Element, multiple: bool) -> Result<ParamKind, ToolError> {
    if let Some(sep) = el.attr("separator").filter(|s| *s != ",") {
        let construct = format!("param type=\"select\" separator=\"{sep}\"");
        return Err(cx.invalid(el, construct, "only the default separator ',' is supported"));
    }
    for key in ["dynamic_options", "data_ref"] {
        if el.attr(key).is_some() {
            let construct = format!("param type=\"select\" {key}");
            return Err(cx.invalid(el, construct, "dynamic options are not supported"));
        }
    }
    if let Some(options) = el.children.iter().find(|c| c.name == "options") {
        let construct = "<options> in param type=\"select\"".to_string();
        let message = "dynamic options (from_file, from_data_table, from_dataset, ...) are not \
                       supported: list the choices as <option>";
        return Err(cx.invalid(options, construct, message));
    }
    let mut options = Vec::new();
    for option in el.children.iter().filter(|c| c.name == "option") {
        let label = option.text.trim().to_string();
        let value = option
            .attr("value")
            .map(str::to_string)
            .unwrap_or_else(|| label.clone());
        let selected = bool_attr(cx, option, "selected")?.unwrap_or(false);
        options.push((value, label, selected));
    }
    if options.is_empty() {
        let construct = "param type=\"select\"".to_string();
        return Err(cx.invalid(el, construct, "a select needs at least one <option>"));
    }
    Ok(ParamKind::Select { options, multiple })
}

fn check_children(cx: &Ctx<'_>, el: &Element, kind: &ParamKind) -> Result<(), ToolError> {
    let allowed = |name: &str| {
        matches!(name, "validator" | "sanitizer")
            || (name == "option" && matches!(kind, ParamKind::Select { .. }))
    };
    match el.children.iter().find(|c| !allowed(&c.name)) {
        None => Ok(()),
        Some(child) => {
            let construct = format!("<{}> in <param>", child.name);
            let message = "not supported (only <validator>, <sanitizer> and a select's <option>)";
            Err(cx.invalid(child, construct, message))
        }
    }
}

/// Number defaults parse (an optional number without one is `None` when left empty).
fn check_default(
    cx: &Ctx<'_>,
    el: &Element,
    kind: &ParamKind,
    value: Option<&str>,
) -> Result<(), ToolError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let (what, parses) = match kind {
        ParamKind::Integer { .. } => ("an integer", value.is_none_or(|v| v.parse::<i64>().is_ok())),
        ParamKind::Float { .. } => (
            "a real number",
            value.is_none_or(|v| v.parse::<f64>().is_ok_and(f64::is_finite)),
        ),
        _ => return Ok(()),
    };
    let type_name = el.attr("type").unwrap_or_default();
    if !parses {
        let construct = format!(
            "param type=\"{type_name}\" value=\"{}\"",
            value.unwrap_or("")
        );
        return Err(cx.invalid(
            el,
            construct,
            &format!("the attribute 'value' must be {what}"),
        ));
    }
    Ok(())
}

/// `#rrggbb`.
pub(crate) fn is_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// 1-based column numbers written `1`, `c1` or `1,3`; `None` when one is not a column.
pub(crate) fn columns(text: &str) -> Option<Vec<u32>> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let digits = c.strip_prefix('c').unwrap_or(c);
            digits.parse::<u32>().ok().filter(|n| *n >= 1)
        })
        .collect()
}

fn data_column(
    cx: &Ctx<'_>,
    el: &Element,
    multiple: bool,
    value: Option<&str>,
    datasets: &[String],
) -> Result<ParamKind, ToolError> {
    let data_ref = el.attr("data_ref").map(str::trim).unwrap_or_default();
    if data_ref.is_empty() {
        let construct = "param type=\"data_column\"".to_string();
        return Err(cx.invalid(el, construct, "missing attribute 'data_ref'"));
    }
    if !datasets.iter().any(|d| d == data_ref) {
        let construct = format!("param type=\"data_column\" data_ref=\"{data_ref}\"");
        let message = "no data param of that name at this level or around it";
        return Err(cx.invalid(el, construct, message));
    }
    if let Some(v) = value.filter(|v| !v.trim().is_empty())
        && columns(v).is_none_or(|c| !multiple && c.len() > 1)
    {
        let construct = format!("param type=\"data_column\" value=\"{v}\"");
        return Err(cx.invalid(el, construct, "expected a column number (1 is the first)"));
    }
    Ok(ParamKind::DataColumn {
        data_ref: data_ref.to_string(),
        multiple,
        numerical: bool_attr(cx, el, "numerical")?.unwrap_or(false),
        use_header_names: bool_attr(cx, el, "use_header_names")?.unwrap_or(false),
    })
}
