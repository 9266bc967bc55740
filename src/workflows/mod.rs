//! Workflows: Galaxy's native `.ga` workflows imported, checked against the toolbox, invoked,
//! and scheduled by the handlers of the `workflow-schedulers` pool (see ARCHITECTURE.md,
//! Workflows). `ga` reads and writes the format; this file checks a workflow and turns a step
//! into the checked values of its job; `invoke` resolves an invocation request; `scheduler`
//! is the scheduling loop.

pub mod ga;
pub mod invoke;
mod plan;
pub mod scheduler;

use serde_json::{Map, Value};

use crate::tools::{ParamKind, ParamValue, Tool, ToolBox};

pub use ga::{Step, StepKind, Workflow};
pub use scheduler::{SchedulerHandle, WORKFLOW_SCHEDULERS};

/// A workflow (or an invocation request) that cannot be used, naming the step at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{message}", step.as_ref().map(|s| format!("{s}: ")).unwrap_or_default())]
pub struct WorkflowError {
    /// `Step 2` or `Step 2 (sorted)`.
    pub step: Option<String>,
    pub message: String,
}

impl WorkflowError {
    pub fn at(step: &Step, message: impl Into<String>) -> Self {
        WorkflowError {
            step: Some(step.describe()),
            message: message.into(),
        }
    }
    pub fn general(message: impl Into<String>) -> Self {
        WorkflowError {
            step: None,
            message: message.into(),
        }
    }
}

/// The key of an invocation's stored parameters that holds its `replacement_params` (the
/// others are step order indexes).
pub const REPLACEMENTS_KEY: &str = "replacement_params";

/// `newname` with each `${name}` of `replacements` replaced (Galaxy's RenameDatasetAction).
pub fn replace_params(newname: &str, replacements: &Map<String, Value>) -> String {
    let mut out = newname.to_string();
    for (k, v) in replacements {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("${{{k}}}"), &text);
    }
    out
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let variant = ["8", "9", "a", "b"][(b[8] >> 6) as usize];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        &h[20..32]
    )
}

/// The id a step's data value carries until its dataset exists: `wf:<step>:<output>`.
pub fn placeholder(source: usize, output: &str) -> String {
    format!("wf:{source}:{output}")
}

/// The (step, output) of a placeholder id.
pub fn parse_placeholder(id: &str) -> Option<(usize, &str)> {
    let rest = id.strip_prefix("wf:")?;
    let (step, output) = rest.split_once(':')?;
    Some((step.parse().ok()?, output))
}

/// Checks a workflow against the toolbox: every tool installed, every connection from an
/// existing output into a data input, no cycle, every tool state acceptable to its tool.
/// Returns the steps in an order where every step comes after those it reads.
pub fn validate(wf: &Workflow, toolbox: &ToolBox) -> Result<Vec<usize>, WorkflowError> {
    if wf.steps.is_empty() {
        return Err(WorkflowError::general("the workflow has no steps"));
    }
    for step in &wf.steps {
        let StepKind::Tool { tool_id, .. } = &step.kind else {
            if !step.connections.is_empty() {
                return Err(WorkflowError::at(
                    step,
                    "an input step takes no connections",
                ));
            }
            continue;
        };
        let tool = toolbox.get(tool_id).ok_or_else(|| {
            WorkflowError::at(
                step,
                format!("tool '{tool_id}' is not installed on this server"),
            )
        })?;
        for c in &step.connections {
            match tool.param(&c.input_name).map(|p| &p.kind) {
                Some(ParamKind::Data { .. }) => {}
                _ => {
                    return Err(WorkflowError::at(
                        step,
                        format!(
                            "input '{}' is not a data input of tool '{tool_id}'",
                            c.input_name
                        ),
                    ));
                }
            }
            let source = &wf.steps[c.source];
            let exists = match &source.kind {
                StepKind::DataInput { .. } => c.output_name == ga::INPUT_OUTPUT,
                StepKind::Tool { tool_id, .. } => toolbox
                    .get(tool_id)
                    .is_some_and(|t| t.outputs.iter().any(|o| o.name == c.output_name)),
            };
            if !exists {
                return Err(WorkflowError::at(
                    step,
                    format!(
                        "input '{}' is connected to output '{}' of step {}, which has no such output",
                        c.input_name, c.output_name, c.source
                    ),
                ));
            }
        }
        for o in &step.workflow_outputs {
            if !tool.outputs.iter().any(|x| x.name == o.output_name) {
                return Err(WorkflowError::at(
                    step,
                    format!(
                        "workflow output '{}' is not an output of the tool",
                        o.output_name
                    ),
                ));
            }
        }
        step_values(tool, step, None)?;
    }
    order(wf)
}

/// The steps ordered so that each comes after its sources; a cycle names one of its steps.
fn order(wf: &Workflow) -> Result<Vec<usize>, WorkflowError> {
    let n = wf.steps.len();
    let mut indegree = vec![0usize; n];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for s in &wf.steps {
        for c in &s.connections {
            indegree[s.order_index] += 1;
            readers[c.source].push(s.order_index);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        out.push(i);
        for &r in &readers[i] {
            indegree[r] -= 1;
            if indegree[r] == 0 {
                ready.push_back(r);
            }
        }
    }
    match (0..n).find(|i| indegree[*i] > 0) {
        None => Ok(out),
        Some(i) => Err(WorkflowError::at(
            &wf.steps[i],
            "the step is part of a cycle of connections",
        )),
    }
}

/// Keys of a tool state that are the editor's, not the tool's.
fn editor_key(k: &str) -> bool {
    k.starts_with("__") || k == "chromInfo" || k == "dbkey"
}

/// A tool state without the editor's keys, `null`s and connected/runtime markers.
fn clean_state(state: &Map<String, Value>) -> Map<String, Value> {
    state
        .iter()
        .filter(|(k, _)| !editor_key(k))
        .filter_map(|(k, v)| {
            let v = match v {
                Value::Null => return None,
                Value::Object(m) if m.contains_key("__class__") => return None,
                Value::Object(m) => Value::Object(clean_state(m)),
                v => v.clone(),
            };
            Some((k.clone(), v))
        })
        .collect()
}

/// The checked values of a tool step's job: its tool state, its connections as placeholder
/// data values ([`placeholder`]) and `overrides` (an invocation's `parameters` for the step)
/// over them. A wrong value, or a required data input left unconnected, names the step.
pub fn step_values(
    tool: &Tool,
    step: &Step,
    overrides: Option<&Map<String, Value>>,
) -> Result<Vec<(String, ParamValue)>, WorkflowError> {
    let StepKind::Tool { state, .. } = &step.kind else {
        return Err(WorkflowError::at(step, "not a tool step"));
    };
    let mut inputs = clean_state(state);
    // Data params come from connections only.
    inputs.retain(|k, _| !matches!(tool.param(k).map(|p| &p.kind), Some(ParamKind::Data { .. })));
    let mut by_input: Vec<(String, Vec<Value>)> = Vec::new();
    for c in &step.connections {
        let v = serde_json::json!({"src": "hda", "id": placeholder(c.source, &c.output_name)});
        match by_input.iter_mut().find(|(k, _)| *k == c.input_name) {
            Some((_, list)) => list.push(v),
            None => by_input.push((c.input_name.clone(), vec![v])),
        }
    }
    for (k, mut list) in by_input {
        let multiple = matches!(
            tool.param(&k).map(|p| &p.kind),
            Some(ParamKind::Data { multiple: true, .. })
        );
        let v = if multiple || list.len() > 1 {
            serde_json::json!({"values": list})
        } else {
            list.remove(0)
        };
        inputs.insert(k, v);
    }
    if let Some(o) = overrides {
        for (k, v) in o {
            inputs.insert(k.clone(), v.clone());
        }
    }
    let values = tool
        .check_inputs(&inputs)
        .map_err(|e| WorkflowError::at(step, e.to_string()))?;
    for (k, v) in &values {
        if let ParamValue::Data(None) = v
            && tool.param(k).is_some_and(|p| !p.optional)
        {
            return Err(WorkflowError::at(
                step,
                format!("required data input '{k}' is not connected"),
            ));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> serde_json::Value {
        json!({
            "a_galaxy_workflow": "true", "format-version": "0.1", "name": "w",
            "steps": {
                "10": {"id": 10, "type": "data_input", "label": "in", "tool_state": "{\"optional\": false}"},
                "11": {"id": 11, "type": "tool", "tool_id": "sort1",
                       // An old export: every value JSON text of its own.
                       "tool_state": "{\"order\": \"\\\"descending\\\"\", \"__page__\": \"0\"}",
                       "input_connections": {"input": [{"id": 10, "output_name": "output"}]},
                       "post_job_actions": {"RenameDatasetActionout_file1": {
                           "action_type": "RenameDatasetAction", "output_name": "out_file1",
                           "action_arguments": {"newname": "sorted"}}},
                       "workflow_outputs": [{"output_name": "out_file1", "label": "s"}]}
            }
        })
    }

    #[test]
    fn parse_orders_steps_by_id_and_decodes_old_states() {
        let wf = ga::parse(&doc()).unwrap();
        assert_eq!(wf.steps.len(), 2);
        assert_eq!(wf.steps[1].connections[0].source, 0);
        match &wf.steps[1].kind {
            StepKind::Tool { state, .. } => assert_eq!(state["order"], "descending"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            wf.steps[1].post_job_actions,
            vec![ga::PostJobAction::Rename {
                output_name: "out_file1".into(),
                newname: "sorted".into()
            }]
        );
    }

    #[test]
    fn export_reads_back_the_same() {
        let wf = ga::parse(&doc()).unwrap();
        let again = ga::parse(&ga::export(&wf)).unwrap();
        assert_eq!(wf, again);
        assert_eq!(ga::export(&wf), ga::export(&again));
    }

    #[test]
    fn cycles_and_bad_documents_are_refused() {
        let mut d = doc();
        d["steps"]["10"] = json!({"id": 10, "type": "tool", "tool_id": "sort1",
            "input_connections": {"input": {"id": 11, "output_name": "out_file1"}}});
        let wf = ga::parse(&d).unwrap();
        let e = order(&wf).unwrap_err();
        assert!(e.to_string().contains("cycle"), "{e}");
        for bad in [
            json!([]),
            json!({"a_galaxy_workflow": "false", "steps": {}}),
            json!({"a_galaxy_workflow": "true", "format-version": "0.2", "steps": {}}),
            json!({"a_galaxy_workflow": "true", "steps": {"0": {"id": 0, "type": "pause"}}}),
            json!({"a_galaxy_workflow": "true", "steps": {"0": {"id": 0, "type": "tool",
                "tool_id": "x", "input_connections": {"a": {"id": 7}}}}}),
        ] {
            assert!(ga::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replacement_params() {
        let r = json!({"sample": "s1", "n": 3});
        let r = r.as_object().unwrap();
        assert_eq!(
            replace_params("${sample} sorted (${n})", r),
            "s1 sorted (3)"
        );
        assert_eq!(replace_params("${other}", r), "${other}");
    }

    #[test]
    fn uuids_and_placeholders() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(
            parse_placeholder(&placeholder(3, "out_file1")),
            Some((3, "out_file1"))
        );
        assert_eq!(parse_placeholder("12"), None);
    }
}
