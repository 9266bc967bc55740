//! Galaxy's tool dictionaries (`Tool.to_dict`, `ToolParameter.to_dict`, `ToolOutput.to_dict`)
//! for `/api/tools` and `/api/tools/{id}?io_details=true`.

use serde_json::{Value, json};

use super::{OutputDef, Param, ParamKind, Tool};

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
        let inputs: Vec<Value> = tool.inputs.iter().map(param_to_json).collect();
        let outputs: Vec<Value> = tool.outputs.iter().map(output_to_json).collect();
        map.insert("inputs".into(), Value::Array(inputs));
        map.insert("outputs".into(), Value::Array(outputs));
    }
    dict
}

fn param_to_json(param: &Param) -> Value {
    let (model_class, type_name) = match param.kind {
        ParamKind::Text => ("TextToolParameter", "text"),
        ParamKind::Integer { .. } => ("IntegerToolParameter", "integer"),
        ParamKind::Float { .. } => ("FloatToolParameter", "float"),
        ParamKind::Boolean { .. } => ("BooleanToolParameter", "boolean"),
        ParamKind::Select { .. } => ("SelectToolParameter", "select"),
        ParamKind::Data { .. } => ("DataToolParameter", "data"),
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
        "hidden": false,
        "is_dynamic": false,
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
        ParamKind::Select { options } => {
            let default = param
                .value
                .clone()
                .or_else(|| options.iter().find(|o| o.2).map(|o| o.0.clone()))
                .or_else(|| options.first().map(|o| o.0.clone()));
            let listed: Vec<Value> = options
                .iter()
                .map(|(value, label, selected)| json!([label, value, selected]))
                .collect();
            put("value", json!(default));
            put("options", Value::Array(listed));
            put("display", Value::Null);
            put("multiple", json!(false));
            put("textable", json!(false));
        }
        ParamKind::Data { format } => {
            put("value", Value::Null);
            put("extensions", json!([format]));
            put("multiple", json!(false));
            put("options", json!({"hda": [], "hdca": [], "dce": []}));
        }
    }
    dict
}

fn output_to_json(output: &OutputDef) -> Value {
    json!({
        "model_class": "ToolOutput",
        "name": output.name,
        "format": output.format,
        "label": output.label,
        "hidden": false,
        "output_type": "data",
        "format_source": null,
        "metadata_source": "",
        "parent": null,
        "count": 1,
        "from_work_dir": null,
        "default_identifier_source": null,
        "discover_datasets": [],
    })
}
