//! `<outputs>` of a tool XML: `<data>` with its format rules, kept as written (evaluated later).

use super::dom::Element;
use super::params::is_identifier;
use super::xml::Ctx;
use super::{ChangeFormat, OutputDef, ToolError};

pub(crate) fn parse_outputs<'e>(
    cx: &Ctx<'_>,
    outputs: &'e Element,
) -> Result<Vec<(OutputDef, &'e Element)>, ToolError> {
    let mut defs = Vec::new();
    for el in &outputs.children {
        if el.name != "data" {
            let message = "not supported (only <data> outputs, no collections)";
            return Err(cx.invalid(el, format!("<{}>", el.name), message));
        }
        defs.push((parse_data(cx, el)?, el));
    }
    Ok(defs)
}

fn parse_data(cx: &Ctx<'_>, el: &Element) -> Result<OutputDef, ToolError> {
    let name = el.attr("name").unwrap_or_default().trim().to_string();
    if !is_identifier(&name) {
        let construct = format!("data name=\"{name}\"");
        let message = "an output needs a name of letters, digits, '_'";
        return Err(cx.invalid(el, construct, message));
    }
    // A label with Cheetah (`${tool.name} on ${on_string}`) is compiled by the caller.
    let label = el.attr("label").map(str::to_string);
    let attr = |key: &str| {
        el.attr(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut def = OutputDef {
        name,
        format: attr("format").unwrap_or_else(|| "data".to_string()),
        label,
        format_source: attr("format_source"),
        metadata_source: attr("metadata_source"),
        from_work_dir: attr("from_work_dir"),
        filters: Vec::new(),
        change_format: Vec::new(),
        metadata_actions: Vec::new(),
    };
    for child in &el.children {
        match child.name.as_str() {
            "filter" => def.filters.push(child.text.trim().to_string()),
            "change_format" => {
                for when in &child.children {
                    def.change_format.push(change_format(cx, when)?);
                }
            }
            "actions" => {
                for action in &child.children {
                    def.metadata_actions.push(metadata_action(cx, action)?);
                }
            }
            other => {
                let construct = format!("<{other}> in <data>");
                let message =
                    "not supported inside an output (only <filter>, <change_format>, <actions>)";
                return Err(cx.invalid(child, construct, message));
            }
        }
    }
    Ok(def)
}

/// Galaxy's constant metadata action, `<action type="metadata" name="column_names"
/// default="a,b"/>`; actions with options, conditionals or formats are refused.
fn metadata_action(cx: &Ctx<'_>, action: &Element) -> Result<(String, String), ToolError> {
    let refuse = |el: &Element, construct: String| {
        let message = "only <action type=\"metadata\" name=\"…\" default=\"…\"/> (a constant \
                       metadata value) is supported in <actions>";
        cx.invalid(el, construct, message)
    };
    if action.name != "action" {
        return Err(refuse(action, format!("<{}> in <actions>", action.name)));
    }
    if let Some(child) = action.children.first() {
        return Err(refuse(child, format!("<{}> in <action>", child.name)));
    }
    match (
        action.attr("type"),
        action.attr("name"),
        action.attr("default"),
    ) {
        (Some("metadata"), Some(name), Some(default)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), default.to_string()))
        }
        (kind, _, _) => Err(refuse(
            action,
            format!("<action type=\"{}\">", kind.unwrap_or_default()),
        )),
    }
}

fn change_format(cx: &Ctx<'_>, when: &Element) -> Result<ChangeFormat, ToolError> {
    if when.name != "when" {
        let construct = format!("<{}> in <change_format>", when.name);
        return Err(cx.invalid(when, construct, "expected <when>"));
    }
    let get = |key: &str| when.attr(key).map(str::to_string);
    match (get("input"), get("value"), get("format")) {
        (Some(input), Some(value), Some(format)) => Ok(ChangeFormat {
            input,
            value,
            format,
        }),
        _ => {
            let construct = "<change_format><when>".to_string();
            let message = "needs the attributes input, value and format";
            Err(cx.invalid(when, construct, message))
        }
    }
}
