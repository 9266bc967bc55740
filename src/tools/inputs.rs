//! Checking the `inputs` of a tool run (`POST /api/tools`) as Galaxy clients send them.
//!
//! Accepted shapes, all mapped onto the tool's flat param list:
//! - flat keys: `{"seconds": "5", "input1": {"src": "hda", "id": "f2db41e1fa331b3e"}}`;
//! - legacy group keys (`input_format: "legacy"`): `{"cond|input1": ...}` — the last `|`
//!   segment is taken as the param name (this tool subset has no groups);
//! - nested dicts (`input_format: "21.01"`): `{"cond": {"input1": ..., "__current_case__": 0}}`
//!   — looked into for param names;
//! - data values as `{"src": "hda", "id": ...}`, `{"values": [{"src": "hda", "id": ...}]}`
//!   (what the Galaxy UI and BioBlend's `dataset()` helper send), a one-element list, or a
//!   bare id string (taken as an HDA).
//!
//! A key at the top level named exactly like a param wins over one found through a group key or
//! a nested dict. Keys naming no param are ignored, as Galaxy ignores them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::template::float_text;
use super::{DataRef, Param, ParamKind, ParamValue, Tool, ToolInputError};

pub(crate) fn check_inputs(
    tool: &Tool,
    inputs: &Map<String, Value>,
) -> Result<Vec<(String, ParamValue)>, ToolInputError> {
    let given = flatten(tool, inputs);
    tool.inputs
        .iter()
        .map(|param| {
            let value = given
                .get(param.name.as_str())
                .copied()
                .filter(|v| !v.is_null());
            Ok((param.name.clone(), check_param(param, value)?))
        })
        .collect()
}

fn is_data_ref(object: &Map<String, Value>) -> bool {
    object.contains_key("src") || object.contains_key("id") || object.contains_key("values")
}

/// Param name → the value the client gave for it.
fn flatten<'a>(tool: &Tool, inputs: &'a Map<String, Value>) -> BTreeMap<&'a str, &'a Value> {
    let mut found = BTreeMap::new();
    collect_nested(tool, inputs, &mut found);
    for (key, value) in inputs {
        if tool.param(key).is_some() {
            found.insert(key.as_str(), value);
        }
    }
    found
}

/// Group keys and nested dicts, first one found wins.
fn collect_nested<'a>(
    tool: &Tool,
    object: &'a Map<String, Value>,
    found: &mut BTreeMap<&'a str, &'a Value>,
) {
    for (key, value) in object {
        if let Value::Object(inner) = value
            && !is_data_ref(inner)
        {
            collect_nested(tool, inner, found);
            continue;
        }
        let name = key.rsplit('|').next().unwrap_or(key);
        if tool.param(name).is_some() && !found.contains_key(name) {
            found.insert(name, value);
        }
    }
}

fn error(param: &Param, message: impl Into<String>) -> ToolInputError {
    ToolInputError::Param {
        name: param.name.clone(),
        message: message.into(),
    }
}

/// A scalar given as text (numbers and booleans as JSON text); `None` for arrays and objects.
fn scalar_text(value: &Value) -> Option<String> {
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

fn check_param(param: &Param, value: Option<&Value>) -> Result<ParamValue, ToolInputError> {
    if let ParamKind::Data { .. } = param.kind {
        let data = value.map(|v| data_ref(param, v)).transpose()?.flatten();
        if data.is_none() && !param.optional {
            return Err(error(param, "a dataset is required"));
        }
        return Ok(ParamValue::Data(data));
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
                .ok_or_else(|| error(param, format!("expected a single value, got {v}")))?,
        ),
    };
    // An empty string is "not given" for everything but text.
    let given = text.filter(|t| matches!(param.kind, ParamKind::Text) || !t.trim().is_empty());
    let default = param.value.clone();
    match &param.kind {
        ParamKind::Text => Ok(ParamValue::Text(given.or(default).unwrap_or_default())),
        ParamKind::Integer { min, max } => {
            let Some(text) = given.or(default).filter(|t| !t.trim().is_empty()) else {
                return Err(error(param, "an integer is required"));
            };
            let number: i64 = text
                .trim()
                .parse()
                .map_err(|_| error(param, format!("an integer is required, got '{text}'")))?;
            check_range(param, number, *min, *max, |n| n.to_string())?;
            Ok(ParamValue::Integer(number))
        }
        ParamKind::Float { min, max } => {
            let Some(text) = given.or(default).filter(|t| !t.trim().is_empty()) else {
                return Err(error(param, "a real number is required"));
            };
            let number: f64 = text
                .trim()
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .ok_or_else(|| error(param, format!("a real number is required, got '{text}'")))?;
            check_range(param, number, *min, *max, float_text)?;
            Ok(ParamValue::Float(number))
        }
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => match given {
            None => Ok(ParamValue::Boolean(default.as_deref() == Some("true"))),
            Some(text) => boolean(&text, truevalue, falsevalue)
                .map(ParamValue::Boolean)
                .ok_or_else(|| error(param, format!("true or false is required, got '{text}'"))),
        },
        ParamKind::Select { options } => {
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
                    param,
                    format!("'{chosen}' is not one of the options: {}", legal.join(", ")),
                ))
            }
        }
        ParamKind::Data { .. } => Ok(ParamValue::Data(None)),
    }
}

fn check_range<T: PartialOrd + Copy>(
    param: &Param,
    value: T,
    min: Option<T>,
    max: Option<T>,
    show: impl Fn(T) -> String,
) -> Result<(), ToolInputError> {
    if let Some(min) = min.filter(|m| value < *m) {
        let message = format!("value {} is below the minimum {}", show(value), show(min));
        return Err(error(param, message));
    }
    if let Some(max) = max.filter(|m| value > *m) {
        let message = format!("value {} is above the maximum {}", show(value), show(max));
        return Err(error(param, message));
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
fn data_ref(param: &Param, value: &Value) -> Result<Option<DataRef>, ToolInputError> {
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
            [one] => data_ref(param, one),
            _ => Err(error(param, "only one dataset may be given")),
        },
        Value::Object(object) if object.contains_key("values") => match &object["values"] {
            values @ Value::Array(_) => data_ref(param, values),
            _ => Err(error(param, "'values' must be a list of datasets")),
        },
        Value::Object(object) => {
            let src = match object.get("src") {
                None | Some(Value::Null) => "hda".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(error(param, format!("{shape}, got src {other}"))),
            };
            let id = match object.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(error(param, format!("{shape}, got {value}"))),
            };
            Ok(Some(DataRef { src, id }))
        }
        other => Err(error(param, format!("{shape}, got {other}"))),
    }
}
