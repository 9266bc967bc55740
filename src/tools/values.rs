//! One param's value as a client sent it: shapes accepted, checked, defaults filled.
//!
//! - data values as `{"src": "hda", "id": ...}`, `{"values": [{"src": "hda", "id": ...}]}`
//!   (what the Galaxy UI and BioBlend's `dataset()` helper send), a one-element list, or a
//!   bare id string (taken as an HDA); a `multiple` data param takes a list of these;
//! - a select takes a one-element list for its value; other params want a scalar;
//! - an empty string is "not given" for everything but text.

use serde_json::Value;

use super::params::{columns, is_color};
use super::template::float_text;
use super::{DataRef, Param, ParamKind, ParamValue, ToolInputError};

/// An error about the value at flat key `key`.
pub(super) fn error(key: &str, message: impl Into<String>) -> ToolInputError {
    ToolInputError::Param {
        name: key.to_string(),
        message: message.into(),
    }
}

/// A scalar given as text (numbers and booleans as JSON text); `None` for arrays and objects.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A one-element list stands for its element (the Galaxy UI sends selects so).
fn unwrap_single(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

/// Checks the value given for `param` (at flat key `key`; `None`: not given) and fills its
/// default. A `data_column` is only checked for its shape here (see `inputs`).
pub(crate) fn check_param(
    key: &str,
    param: &Param,
    value: Option<&Value>,
) -> Result<ParamValue, ToolInputError> {
    let checked = check_value(key, param, value)?;
    validate(key, param, &checked)?;
    Ok(checked)
}

/// The param's `<validator>`s, as Galaxy's `ToolParameter.validate`: an optional param left
/// empty is not validated.
fn validate(key: &str, param: &Param, value: &ParamValue) -> Result<(), ToolInputError> {
    let empty = matches!(value, ParamValue::Text(s) | ParamValue::Select(s) if s.is_empty())
        || matches!(value, ParamValue::Empty)
        || matches!(value, ParamValue::SelectList(l) if l.is_empty());
    if param.optional && empty {
        return Ok(());
    }
    for validator in &param.validators {
        validator.validate(value).map_err(|m| error(key, m))?;
    }
    Ok(())
}

fn check_value(
    key: &str,
    param: &Param,
    value: Option<&Value>,
) -> Result<ParamValue, ToolInputError> {
    let value = value.filter(|v| !v.is_null());
    match &param.kind {
        ParamKind::Data { multiple: true, .. } => {
            let list = value
                .map(|v| data_list(key, v))
                .transpose()?
                .unwrap_or_default();
            if list.is_empty() && !param.optional {
                return Err(error(key, "at least one dataset is required"));
            }
            return Ok(ParamValue::DataList(list));
        }
        ParamKind::Data { .. } => {
            let data = value.map(|v| data_ref(key, v)).transpose()?.flatten();
            if data.is_none() && !param.optional {
                return Err(error(key, "a dataset is required"));
            }
            return Ok(ParamValue::Data(data));
        }
        ParamKind::DataColumn { multiple, .. } => {
            return column_value(key, param, *multiple, value);
        }
        ParamKind::Select {
            options,
            multiple: true,
        } => return super::selects::multiple_select(key, param, options, value),
        _ => {}
    }
    // Only a select takes a one-element list for its value; other params want a scalar.
    let value = match param.kind {
        ParamKind::Select { .. } => value.map(unwrap_single),
        _ => value,
    };
    let text = match value {
        None => None,
        Some(v) => Some(
            scalar_text(v)
                .ok_or_else(|| error(key, format!("expected a single value, got {v}")))?,
        ),
    };
    // An empty string is "not given" for everything but text and a select with an
    // `<option value="">` (a legal value there, as in Galaxy).
    let given = text.filter(|t| match &param.kind {
        ParamKind::Text | ParamKind::Hidden => true,
        ParamKind::Select { options, .. } if t.is_empty() => options.iter().any(|o| o.0.is_empty()),
        _ => !t.trim().is_empty(),
    });
    let default = param.value.clone();
    match &param.kind {
        ParamKind::Text | ParamKind::Hidden => {
            Ok(ParamValue::Text(given.or(default).unwrap_or_default()))
        }
        ParamKind::Color => {
            let color = given.or(default).unwrap_or_else(|| "#000000".to_string());
            if is_color(&color) {
                Ok(ParamValue::Text(color.to_ascii_lowercase()))
            } else {
                Err(error(
                    key,
                    format!("a color #rrggbb is required, got '{color}'"),
                ))
            }
        }
        ParamKind::Integer { min, max } => {
            let Some(text) = given.or(default).filter(|t| !t.trim().is_empty()) else {
                if param.optional {
                    return Ok(ParamValue::Empty);
                }
                return Err(error(key, "an integer is required"));
            };
            let number: i64 = text
                .trim()
                .parse()
                .map_err(|_| error(key, format!("an integer is required, got '{text}'")))?;
            check_range(key, number, *min, *max, |n| n.to_string())?;
            Ok(ParamValue::Integer(number))
        }
        ParamKind::Float { min, max } => {
            let Some(text) = given.or(default).filter(|t| !t.trim().is_empty()) else {
                if param.optional {
                    return Ok(ParamValue::Empty);
                }
                return Err(error(key, "a real number is required"));
            };
            let number: f64 = text
                .trim()
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .ok_or_else(|| error(key, format!("a real number is required, got '{text}'")))?;
            check_range(key, number, *min, *max, float_text)?;
            Ok(ParamValue::Float(number))
        }
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => match given {
            None => Ok(ParamValue::Boolean(default.as_deref() == Some("true"))),
            Some(text) => boolean(&text, truevalue, falsevalue)
                .map(ParamValue::Boolean)
                .ok_or_else(|| error(key, format!("true or false is required, got '{text}'"))),
        },
        ParamKind::Select { options, .. } => {
            let chosen = match given {
                Some(text) => text,
                None => default
                    .or_else(|| options.iter().find(|o| o.2).map(|o| o.0.clone()))
                    .or_else(|| options.first().map(|o| o.0.clone()))
                    .unwrap_or_default(),
            };
            if options.iter().any(|(v, _, _)| *v == chosen) {
                Ok(ParamValue::Select(chosen))
            } else {
                let legal: Vec<&str> = options.iter().map(|o| o.0.as_str()).collect();
                Err(error(
                    key,
                    format!("'{chosen}' is not one of the options: {}", legal.join(", ")),
                ))
            }
        }
        ParamKind::Data { .. } | ParamKind::DataColumn { .. } => Ok(ParamValue::Data(None)),
    }
}

fn check_range<T: PartialOrd + Copy>(
    key: &str,
    value: T,
    min: Option<T>,
    max: Option<T>,
    show: impl Fn(T) -> String,
) -> Result<(), ToolInputError> {
    if let Some(min) = min.filter(|m| value < *m) {
        let message = format!("value {} is below the minimum {}", show(value), show(min));
        return Err(error(key, message));
    }
    if let Some(max) = max.filter(|m| value > *m) {
        let message = format!("value {} is above the maximum {}", show(value), show(max));
        return Err(error(key, message));
    }
    Ok(())
}

fn boolean(text: &str, truevalue: &str, falsevalue: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ if text == truevalue => Some(true),
        _ if text == falsevalue => Some(false),
        _ => None,
    }
}

/// A dataset reference in any of the accepted shapes; `None` when none was chosen.
fn data_ref(key: &str, value: &Value) -> Result<Option<DataRef>, ToolInputError> {
    let shape = r#"expected {"src": "hda", "id": "<encoded id>"}"#;
    match value {
        Value::Null => Ok(None),
        Value::String(id) if id.trim().is_empty() => Ok(None),
        Value::String(id) => Ok(Some(DataRef {
            src: "hda".into(),
            id: id.clone(),
        })),
        Value::Array(items) => match items.as_slice() {
            [] => Ok(None),
            [one] => data_ref(key, one),
            _ => Err(error(key, "only one dataset may be given")),
        },
        Value::Object(object) if object.contains_key("values") => match &object["values"] {
            values @ Value::Array(_) => data_ref(key, values),
            _ => Err(error(key, "'values' must be a list of datasets")),
        },
        Value::Object(object) => {
            let src = match object.get("src") {
                None | Some(Value::Null) => "hda".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(error(key, format!("{shape}, got src {other}"))),
            };
            let id = match object.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(error(key, format!("{shape}, got {value}"))),
            };
            Ok(Some(DataRef { src, id }))
        }
        other => Err(error(key, format!("{shape}, got {other}"))),
    }
}

/// The datasets of a `multiple` data param: a list, `{"values": [...]}`, or one dataset.
fn data_list(key: &str, value: &Value) -> Result<Vec<DataRef>, ToolInputError> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| data_ref(key, item).transpose())
            .collect(),
        Value::Object(object) if object.contains_key("values") => match &object["values"] {
            values @ Value::Array(_) => data_list(key, values),
            _ => Err(error(key, "'values' must be a list of datasets")),
        },
        one => Ok(data_ref(key, one)?.into_iter().collect()),
    }
}

/// A `data_column` value: `1`, `"1"`, `"c1"`, `"1,3"` or a list of these.
fn column_value(
    key: &str,
    param: &Param,
    multiple: bool,
    value: Option<&Value>,
) -> Result<ParamValue, ToolInputError> {
    let texts: Vec<String> = match value.map(unwrap_single) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                scalar_text(i).ok_or_else(|| error(key, format!("expected a column, got {i}")))
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            vec![scalar_text(v).ok_or_else(|| error(key, format!("expected a column, got {v}")))?]
        }
    };
    let joined = texts.join(",");
    let given = if joined.trim().is_empty() {
        param.value.clone().unwrap_or_default()
    } else {
        joined
    };
    let numbers = columns(&given).ok_or_else(|| {
        error(
            key,
            format!("a column number (1 is the first) is required, got '{given}'"),
        )
    })?;
    if numbers.len() > 1 && !multiple {
        return Err(error(key, "only one column may be given"));
    }
    if numbers.is_empty() && !param.optional {
        // Galaxy picks the first column when none is chosen.
        return Ok(ParamValue::Columns(vec![1]));
    }
    Ok(ParamValue::Columns(numbers))
}
