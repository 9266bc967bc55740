//! Galaxy's tool dictionaries (`Tool.to_dict`, `ToolParameter.to_dict`, `ToolOutput.to_dict`)
//! for `/api/tools` and `/api/tools/{id}?io_details=true`.

use serde_json::{Value, json};

use super::{Input, OutputDef, Param, ParamKind, Tool};

/// The panel section id for a section name: Galaxy ids are written in tool_conf.xml; the model
/// keeps only the name, so the id is derived from it ("Text Manipulation" → "text_manipulation").
pub(crate) fn section_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    id.trim_end_matches('_').to_string()
}

pub(crate) fn tool_to_json(tool: &Tool, io_details: bool) -> Value {
    let mut dict = json!({
        "model_class": "Tool",
        "id": tool.id,
        "name": tool.name,
        "version": tool.version,
        "description": tool.description,
        "labels": [],
        "edam_operations": [],
        "edam_topics": [],
        "hidden": "",
        "is_workflow_compatible": !tool.is_upload(),
        "xrefs": [],
        "config_file": tool.source_file.to_string_lossy(),
        "panel_section_id": tool.section.as_deref().map(section_id),
        "panel_section_name": tool.section,
        "form_style": "regular",
        "link": format!("/tool_runner?tool_id={}", tool.id),
        "min_width": -1,
        "target": "galaxy_main",
        "tool_shed_repository": null,
    });
    if io_details && let Value::Object(map) = &mut dict {
        let inputs = inputs_to_json(&tool.inputs);
        let outputs: Vec<Value> = tool.outputs.iter().map(output_to_json).collect();
        map.insert("inputs".into(), inputs);
        map.insert("outputs".into(), Value::Array(outputs));
    }
    dict
}

fn inputs_to_json(inputs: &[Input]) -> Value {
    Value::Array(inputs.iter().map(input_to_json).collect())
}

/// `Conditional.to_dict`, `Repeat.to_dict`, `Section.to_dict` (grouping.py) and the params'.
fn input_to_json(input: &Input) -> Value {
    match input {
        Input::Param(p) => param_to_json(p),
        Input::Conditional(c) => {
            let cases: Vec<Value> = c
                .cases
                .iter()
                .map(|case| {
                    json!({
                        "model_class": "ConditionalWhen",
                        "value": case.value,
                        "inputs": inputs_to_json(&case.inputs),
                    })
                })
                .collect();
            json!({
                "model_class": "Conditional",
                "name": c.name,
                "type": "conditional",
                "cases": cases,
                "test_param": param_to_json(&c.test),
            })
        }
        Input::Repeat(r) => json!({
            "model_class": "Repeat",
            "name": r.name,
            "type": "repeat",
            "title": r.title,
            "help": r.help,
            "default": r.default,
            "min": r.min,
            // Galaxy's `inf`, as its JSON encoder writes it.
            "max": r.max.map_or(json!("__Infinity__"), |m| json!(m)),
            "inputs": inputs_to_json(&r.inputs),
        }),
        Input::Section(s) => json!({
            "model_class": "Section",
            "name": s.name,
            "type": "section",
            "title": s.title,
            "help": s.help,
            "expanded": s.expanded,
            "inputs": inputs_to_json(&s.inputs),
        }),
    }
}

fn param_to_json(param: &Param) -> Value {
    let (model_class, type_name) = match param.kind {
        ParamKind::Text => ("TextToolParameter", "text"),
        ParamKind::Integer { .. } => ("IntegerToolParameter", "integer"),
        ParamKind::Float { .. } => ("FloatToolParameter", "float"),
        ParamKind::Boolean { .. } => ("BooleanToolParameter", "boolean"),
        ParamKind::Select { .. } => ("SelectToolParameter", "select"),
        ParamKind::Data { .. } => ("DataToolParameter", "data"),
        ParamKind::DataColumn { .. } => ("ColumnListParameter", "data_column"),
        ParamKind::Hidden => ("HiddenToolParameter", "hidden"),
        ParamKind::Color => ("ColorToolParameter", "color"),
    };
    let mut dict = json!({
        "model_class": model_class,
        "name": param.name,
        "argument": null,
        "type": type_name,
        "label": param.label,
        "help": param.help,
        "refresh_on_change": false,
        "optional": param.optional,
        "hidden": matches!(param.kind, ParamKind::Hidden),
        "is_dynamic": matches!(param.kind, ParamKind::DataColumn { .. }),
    });
    let Value::Object(map) = &mut dict else {
        return dict;
    };
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    match &param.kind {
        ParamKind::Text => {
            put("value", json!(param.value.clone().unwrap_or_default()));
            put("area", json!(false));
            put("datalist", json!([]));
        }
        ParamKind::Integer { min, max } => {
            put("value", json!(param.value));
            put("min", json!(min));
            put("max", json!(max));
            put("area", json!(false));
            put("datalist", json!([]));
        }
        ParamKind::Float { min, max } => {
            put("value", json!(param.value));
            put("min", json!(min));
            put("max", json!(max));
            put("area", json!(false));
            put("datalist", json!([]));
        }
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => {
            put("value", json!(param.value.as_deref() == Some("true")));
            put("truevalue", json!(truevalue));
            put("falsevalue", json!(falsevalue));
        }
        ParamKind::Select { options, multiple } => {
            let default = match multiple {
                true => json!(
                    options
                        .iter()
                        .filter(|o| o.2)
                        .map(|o| &o.0)
                        .collect::<Vec<_>>()
                ),
                false => json!(
                    param
                        .value
                        .clone()
                        .or_else(|| options.iter().find(|o| o.2).map(|o| o.0.clone()))
                        .or_else(|| options.first().map(|o| o.0.clone()))
                ),
            };
            let listed: Vec<Value> = options
                .iter()
                .map(|(value, label, selected)| json!([label, value, selected]))
                .collect();
            put("value", json!(default));
            put("options", Value::Array(listed));
            put("display", Value::Null);
            put("multiple", json!(multiple));
            put("textable", json!(false));
        }
        ParamKind::Data { format, multiple } => {
            let extensions: Vec<&str> = format.split(',').map(str::trim).collect();
            put("value", Value::Null);
            put("extensions", json!(extensions));
            put("multiple", json!(multiple));
            put("options", json!({"hda": [], "hdca": [], "dce": []}));
        }
        ParamKind::DataColumn {
            data_ref,
            multiple,
            numerical,
            ..
        } => {
            // The options are the columns of the chosen dataset: filled by the client.
            put("value", json!(param.value));
            put("options", json!([]));
            put("display", Value::Null);
            put("multiple", json!(multiple));
            put("textable", json!(true));
            put("data_ref", json!(data_ref));
            put("numerical", json!(numerical));
        }
        ParamKind::Hidden | ParamKind::Color => put("value", json!(param.value)),
    }
    dict
}

fn output_to_json(output: &OutputDef) -> Value {
    let metadata_source = output.metadata_source.clone().unwrap_or_default();
    json!({
        "model_class": "ToolOutput",
        "name": output.name,
        "format": output.format,
        "label": output.label,
        "hidden": false,
        "output_type": "data",
        "format_source": output.format_source,
        "metadata_source": metadata_source,
        "parent": null,
        "count": 1,
        "from_work_dir": output.from_work_dir,
        "default_identifier_source": null,
        "discover_datasets": [],
    })
}
