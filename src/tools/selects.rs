//! `<param type="select" multiple="true">`: a list of the options' values (Galaxy's
//! `SelectToolParameter` with `multiple`), optional unless the param says otherwise.

use serde_json::Value;

use super::values::{error, scalar_text};
use super::{Param, ParamValue, ToolInputError};

/// Checks a multiple select's value: a list, or one text with the values separated by `,`
/// (as a test's `value="a,b"`); none given: the `selected` options. Each must be an option's
/// value; the chosen ones are kept in the order given, without repeats.
pub(crate) fn multiple_select(
    key: &str,
    param: &Param,
    options: &[(String, String, bool)],
    value: Option<&Value>,
) -> Result<ParamValue, ToolInputError> {
    let given: Option<Vec<String>> = match value {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| {
                    scalar_text(v)
                        .ok_or_else(|| error(key, format!("expected option values, got {v}")))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(v) => {
            let text = scalar_text(v)
                .ok_or_else(|| error(key, format!("expected option values, got {v}")))?;
            Some(
                text.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
    };
    let chosen = match given {
        Some(list) => list,
        None => options
            .iter()
            .filter(|o| o.2)
            .map(|o| o.0.clone())
            .chain(
                param
                    .value
                    .iter()
                    .flat_map(|v| v.split(',').map(str::to_string)),
            )
            .collect(),
    };
    if let Some(bad) = chosen.iter().find(|c| !options.iter().any(|o| o.0 == **c)) {
        let legal: Vec<&str> = options.iter().map(|o| o.0.as_str()).collect();
        return Err(error(
            key,
            format!("'{bad}' is not one of the options: {}", legal.join(", ")),
        ));
    }
    if chosen.is_empty() && !param.optional {
        return Err(error(key, "at least one option is required"));
    }
    let mut unique: Vec<String> = Vec::with_capacity(chosen.len());
    for c in chosen {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    Ok(ParamValue::SelectList(unique))
}
