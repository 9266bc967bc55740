//! The levels of `<inputs>`: `<param>`, `<conditional>`, `<repeat>` and `<section>`, nested.

use std::collections::BTreeSet;

use super::dom::Element;
use super::params::{
    SUPPORTED_TYPES, bool_attr, declared_name, is_identifier, number_attr, parse_param,
};
use super::xml::Ctx;
use super::{Case, Conditional, Input, ParamKind, Repeat, Section, ToolError};

/// The inputs of one level (`<inputs>`, a `<when>`, a `<repeat>`, a `<section>`); `outer`
/// names the data params of the enclosing levels. Names are unique within a level. The
/// legacy `<page>`s of `<inputs>` are read as Galaxy reads them: their inputs one after the
/// other, as if written without them.
pub(crate) fn parse_level(
    cx: &Ctx<'_>,
    level: &Element,
    outer: &[String],
) -> Result<Vec<Input>, ToolError> {
    let children: Vec<&Element> = level
        .children
        .iter()
        .flat_map(|c| match (level.name.as_str(), c.name.as_str()) {
            ("inputs", "page") => c.children.iter().collect::<Vec<_>>(),
            _ => vec![c],
        })
        .collect();
    let mut datasets = outer.to_vec();
    datasets.extend(
        children
            .iter()
            .filter(|c| c.name == "param" && c.attr("type") == Some("data"))
            .filter_map(|c| declared_name(c)),
    );
    let mut inputs = Vec::new();
    let mut seen = BTreeSet::new();
    for child in children {
        let input = match child.name.as_str() {
            "param" => Input::Param(parse_param(cx, child, &datasets)?),
            "conditional" => Input::Conditional(conditional(cx, child, &datasets)?),
            "repeat" => Input::Repeat(repeat(cx, child, &datasets)?),
            "section" => Input::Section(section(cx, child, &datasets)?),
            other => {
                let message = format!(
                    "not supported: only <param> (of type {SUPPORTED_TYPES}), <conditional>, \
                     <repeat> and <section>"
                );
                return Err(cx.invalid(child, format!("<{other}>"), &message));
            }
        };
        if !seen.insert(input.name().to_string()) {
            let construct = format!("{} name=\"{}\"", child.name, input.name());
            return Err(cx.invalid(child, construct, "duplicate parameter name"));
        }
        inputs.push(input);
    }
    Ok(inputs)
}

fn group_name(cx: &Ctx<'_>, el: &Element) -> Result<String, ToolError> {
    let name = el.attr("name").unwrap_or_default().trim();
    if !is_identifier(name) {
        let construct = format!("<{} name=\"{name}\">", el.name);
        return Err(cx.invalid(el, construct, "a name is letters, digits and '_'"));
    }
    Ok(name.to_string())
}

fn conditional(cx: &Ctx<'_>, el: &Element, outer: &[String]) -> Result<Conditional, ToolError> {
    let name = group_name(cx, el)?;
    let construct = format!("<conditional name=\"{name}\">");
    let mut params = el.children.iter().filter(|c| c.name == "param");
    let test_el = params
        .next()
        .ok_or_else(|| cx.invalid(el, construct.clone(), "needs a test <param>"))?;
    if let Some(extra) = params.next() {
        return Err(cx.invalid(extra, construct, "has one test <param> only"));
    }
    let test = parse_param(cx, test_el, outer)?;
    let options: Vec<String> = match &test.kind {
        ParamKind::Select { options, .. } => options.iter().map(|o| o.0.clone()).collect(),
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => vec![truevalue.clone(), falsevalue.clone()],
        _ => {
            let construct = format!("<conditional name=\"{name}\"> param type");
            let message = "the test param is a select or a boolean";
            return Err(cx.invalid(test_el, construct, message));
        }
    };
    let mut cases: Vec<Case> = Vec::new();
    for child in el.children.iter().filter(|c| c.name != "param") {
        if child.name != "when" {
            let construct = format!("<{}> in <conditional>", child.name);
            return Err(cx.invalid(child, construct, "expected <param> and <when>"));
        }
        let value = child.attr("value").unwrap_or_default().to_string();
        let construct = format!("<when value=\"{value}\">");
        if !options.contains(&value) {
            // Galaxy loads it (its linter warns): a case no value of the test param selects.
            log::debug!(
                "{}: {construct}: not a value of the test param '{}', never selected",
                cx.file.display(),
                test.name
            );
        }
        if cases.iter().any(|c| c.value == value) {
            return Err(cx.invalid(child, construct, "given twice"));
        }
        let inputs = parse_level(cx, child, outer)?;
        if let Some(clash) = inputs.iter().find(|i| i.name() == test.name) {
            let construct = format!("param name=\"{}\"", clash.name());
            return Err(cx.invalid(child, construct, "named like the test param"));
        }
        cases.push(Case { value, inputs });
    }
    for value in options {
        if !cases.iter().any(|c| c.value == value) {
            cases.push(Case {
                value,
                inputs: Vec::new(),
            });
        }
    }
    Ok(Conditional { name, test, cases })
}

fn repeat(cx: &Ctx<'_>, el: &Element, outer: &[String]) -> Result<Repeat, ToolError> {
    let name = group_name(cx, el)?;
    let min: usize = number_attr(cx, el, "min", "a count")?.unwrap_or(0);
    let max: Option<usize> = number_attr(cx, el, "max", "a count")?;
    if max.is_some_and(|m| m < min) {
        let construct = format!("<repeat name=\"{name}\">");
        return Err(cx.invalid(el, construct, "max is below min"));
    }
    let default: usize = number_attr(cx, el, "default", "a count")?.unwrap_or(min);
    Ok(Repeat {
        title: el.attr("title").unwrap_or(&name).to_string(),
        help: el.attr("help").unwrap_or_default().to_string(),
        min,
        max,
        default: default.max(min),
        inputs: parse_level(cx, el, outer)?,
        name,
    })
}

fn section(cx: &Ctx<'_>, el: &Element, outer: &[String]) -> Result<Section, ToolError> {
    let name = group_name(cx, el)?;
    Ok(Section {
        title: el.attr("title").unwrap_or_default().to_string(),
        help: el.attr("help").unwrap_or_default().to_string(),
        expanded: bool_attr(cx, el, "expanded")?.unwrap_or(false),
        inputs: parse_level(cx, el, outer)?,
        name,
    })
}
