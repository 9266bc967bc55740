//! An invocation request resolved against its workflow: which dataset feeds each input step
//! (`inputs` keyed by step index, label or uuid, as BioBlend's `invoke_workflow` sends them)
//! and which parameters override each tool step's state (`parameters` keyed by step index,
//! label, uuid or tool id). Every tool step is checked with its overrides before the
//! invocation is recorded, so a bad value is a 400 naming the step, never a failed schedule.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{StepKind, Workflow, WorkflowError, step_values};
use crate::tools::{DataRef, ToolBox};

/// What an invocation runs with: the dataset of each input step, the overrides of each tool
/// step, both keyed by step order index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub inputs: BTreeMap<usize, DataRef>,
    pub parameters: BTreeMap<usize, Map<String, Value>>,
}

/// Finds the step a key names: its order index, else its label, else its uuid.
fn step_of(wf: &Workflow, key: &str) -> Option<usize> {
    if let Ok(i) = key.parse::<usize>()
        && i < wf.steps.len()
    {
        return Some(i);
    }
    wf.steps
        .iter()
        .find(|s| s.label.as_deref() == Some(key))
        .or_else(|| wf.steps.iter().find(|s| s.uuid == key))
        .map(|s| s.order_index)
}

fn data_ref(key: &str, v: &Value) -> Result<DataRef, WorkflowError> {
    let src = v.get("src").and_then(Value::as_str).unwrap_or("hda");
    let id = match v.get("id") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(WorkflowError::general(format!(
                "input '{key}' must be {{\"src\": \"hda\", \"id\": \"<dataset id>\"}}"
            )));
        }
    };
    if src != "hda" {
        return Err(WorkflowError::general(format!(
            "input '{key}': only src 'hda' datasets are supported, not '{src}'"
        )));
    }
    Ok(DataRef {
        src: src.to_string(),
        id,
    })
}

/// Resolves `inputs` and `parameters` and checks every tool step with its overrides.
pub fn resolve(
    wf: &Workflow,
    toolbox: &ToolBox,
    inputs: &Map<String, Value>,
    parameters: &Map<String, Value>,
) -> Result<Resolved, WorkflowError> {
    let mut out = Resolved::default();
    for (key, v) in inputs {
        let i = step_of(wf, key).ok_or_else(|| {
            WorkflowError::general(format!("input '{key}' names no step of the workflow"))
        })?;
        let step = &wf.steps[i];
        if !matches!(step.kind, StepKind::DataInput { .. }) {
            return Err(WorkflowError::at(
                step,
                format!("input '{key}' names a step that is not an input step"),
            ));
        }
        out.inputs.insert(i, data_ref(key, v)?);
    }
    for step in &wf.steps {
        if let StepKind::DataInput {
            optional: false, ..
        } = step.kind
            && !out.inputs.contains_key(&step.order_index)
        {
            return Err(WorkflowError::at(
                step,
                "no dataset was given for this input step",
            ));
        }
    }
    for (key, v) in parameters {
        let Value::Object(values) = v else {
            return Err(WorkflowError::general(format!(
                "parameters of '{key}' must be an object of parameter names and values"
            )));
        };
        // The legacy form {"param": name, "value": v}.
        let values = match (values.get("param"), values.get("value")) {
            (Some(Value::String(p)), Some(val)) if values.len() == 2 => {
                let mut m = Map::new();
                m.insert(p.clone(), val.clone());
                m
            }
            _ => values.clone(),
        };
        let steps: Vec<usize> = match step_of(wf, key) {
            Some(i) => vec![i],
            None => wf
                .steps
                .iter()
                .filter(|s| s.tool_id() == Some(key.as_str()))
                .map(|s| s.order_index)
                .collect(),
        };
        if steps.is_empty() {
            return Err(WorkflowError::general(format!(
                "parameters are given for '{key}', which names no step or tool of the workflow"
            )));
        }
        for i in steps {
            out.parameters.entry(i).or_default().extend(values.clone());
        }
    }
    for step in &wf.steps {
        if let StepKind::Tool { tool_id, .. } = &step.kind {
            let tool = toolbox.get(tool_id).ok_or_else(|| {
                WorkflowError::at(
                    step,
                    format!("tool '{tool_id}' is not installed on this server"),
                )
            })?;
            if let Some(over) = out.parameters.get(&step.order_index)
                && let Some(k) = over.keys().find(|k| {
                    matches!(
                        tool.param(k).map(|p| &p.kind),
                        Some(crate::tools::ParamKind::Data { .. })
                    )
                })
            {
                return Err(WorkflowError::at(
                    step,
                    format!(
                        "'{k}' is a data input: it comes from the workflow's connections, not from parameters"
                    ),
                ));
            }
            step_values(tool, step, out.parameters.get(&step.order_index))?;
        } else if out.parameters.contains_key(&step.order_index) {
            return Err(WorkflowError::at(step, "an input step takes no parameters"));
        }
    }
    Ok(out)
}
