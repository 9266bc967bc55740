//! Galaxy's native workflow format (`.ga`, `format-version` 0.1): read into a [`Workflow`]
//! and written back. Reading checks the document's shape only; `validate` checks it against
//! the toolbox. What is written back reads again into the same workflow.

use serde_json::{Map, Value, json};

use super::WorkflowError;

/// A workflow as imported: its steps in order (a step's index is its `order_index`).
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub annotation: String,
    pub uuid: String,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub order_index: usize,
    pub kind: StepKind,
    pub label: Option<String>,
    pub name: String,
    pub uuid: String,
    pub annotation: String,
    /// The editor's position, kept for the export.
    pub position: Value,
    pub connections: Vec<Connection>,
    pub workflow_outputs: Vec<WorkflowOutput>,
    pub post_job_actions: Vec<PostJobAction>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `data_input`: one dataset given at invocation.
    DataInput { optional: bool, format: Vec<String> },
    /// `tool`: `state` is the tool state as flat or nested values, connections left out.
    Tool {
        tool_id: String,
        tool_version: Option<String>,
        state: Map<String, Value>,
    },
}

/// One data input of a tool step fed by an output of an earlier step.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// The tool's data param (`input1`, `cond|input`).
    pub input_name: String,
    /// The source step's order index.
    pub source: usize,
    pub output_name: String,
}

/// An output the workflow shows, optionally under a label.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowOutput {
    pub output_name: String,
    pub label: Option<String>,
    pub uuid: Option<String>,
}

/// The post-job actions this server applies; others are kept and exported but not applied.
#[derive(Debug, Clone, PartialEq)]
pub enum PostJobAction {
    /// `RenameDatasetAction`: the output is named `newname`.
    Rename {
        output_name: String,
        newname: String,
    },
    /// `HideDatasetAction`: the output is hidden.
    Hide {
        output_name: String,
    },
    Other {
        key: String,
        value: Value,
    },
}

/// The output name of a `data_input` step.
pub const INPUT_OUTPUT: &str = "output";

impl Step {
    pub fn tool_id(&self) -> Option<&str> {
        match &self.kind {
            StepKind::Tool { tool_id, .. } => Some(tool_id),
            StepKind::DataInput { .. } => None,
        }
    }

    /// `Step 2 (sorted)`: how errors name the step.
    pub fn describe(&self) -> String {
        match &self.label {
            Some(l) => format!("Step {} ({l})", self.order_index),
            None => format!("Step {}", self.order_index),
        }
    }
}

fn err(step: Option<usize>, message: impl Into<String>) -> WorkflowError {
    WorkflowError {
        step: step.map(|s| format!("Step {s}")),
        message: message.into(),
    }
}

fn opt_str(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Reads a `.ga` document.
pub fn parse(doc: &Value) -> Result<Workflow, WorkflowError> {
    let Value::Object(top) = doc else {
        return Err(err(None, "a workflow must be a JSON object"));
    };
    match top.get("a_galaxy_workflow") {
        Some(Value::String(s)) if s == "true" => {}
        Some(Value::Bool(true)) => {}
        _ => {
            return Err(err(
                None,
                "not a Galaxy workflow: `a_galaxy_workflow` must be \"true\"",
            ));
        }
    }
    match top.get("format-version") {
        None => {}
        Some(Value::String(v)) if v == "0.1" => {}
        Some(other) => {
            return Err(err(
                None,
                format!("unsupported `format-version` {other}: only \"0.1\" is read"),
            ));
        }
    }
    let name = opt_str(top.get("name")).unwrap_or_else(|| "Unnamed workflow".to_string());
    let Some(Value::Object(raw_steps)) = top.get("steps") else {
        return Err(err(None, "`steps` must be an object of steps"));
    };
    // Steps are ordered by their `id` (the key when there is none); connections name ids.
    let mut keyed: Vec<(i64, &Map<String, Value>)> = Vec::with_capacity(raw_steps.len());
    for (key, s) in raw_steps {
        let Value::Object(s) = s else {
            return Err(err(None, format!("step `{key}` must be an object")));
        };
        let id = match s.get("id") {
            Some(Value::Number(n)) => n.as_i64(),
            _ => key.parse().ok(),
        }
        .ok_or_else(|| err(None, format!("step `{key}` has no integer `id`")))?;
        if keyed.iter().any(|(i, _)| *i == id) {
            return Err(err(None, format!("two steps have the id {id}")));
        }
        keyed.push((id, s));
    }
    keyed.sort_by_key(|(id, _)| *id);
    let index_of = |id: i64| keyed.iter().position(|(i, _)| *i == id);
    let mut steps = Vec::with_capacity(keyed.len());
    for (order_index, (_, s)) in keyed.iter().enumerate() {
        steps.push(parse_step(order_index, s, &index_of)?);
    }
    let mut labels = std::collections::HashSet::new();
    for s in &steps {
        if let Some(l) = &s.label
            && !labels.insert(l.clone())
        {
            return Err(err(
                Some(s.order_index),
                format!("the label `{l}` is used by two steps"),
            ));
        }
    }
    Ok(Workflow {
        name,
        annotation: opt_str(top.get("annotation")).unwrap_or_default(),
        uuid: opt_str(top.get("uuid")).unwrap_or_else(super::new_uuid),
        tags: match top.get("tags") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        },
        steps,
    })
}

/// A `tool_state`: a JSON string (Galaxy's export) or an object. In old exports every value
/// is itself JSON text (`"\"ascending\""`, `"null"`); those are decoded.
fn tool_state(step: usize, v: Option<&Value>) -> Result<Map<String, Value>, WorkflowError> {
    let map = match v {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => return Err(err(Some(step), "`tool_state` is not a JSON object")),
        },
        Some(_) => return Err(err(Some(step), "`tool_state` must be a JSON object")),
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s)
                    if s == "null"
                        || s.starts_with('"')
                        || s.starts_with('{')
                        || s.starts_with('[') =>
                {
                    serde_json::from_str(&s).unwrap_or(Value::String(s))
                }
                v => v,
            };
            (k, v)
        })
        .collect())
}

fn parse_step(
    order_index: usize,
    s: &Map<String, Value>,
    index_of: &dyn Fn(i64) -> Option<usize>,
) -> Result<Step, WorkflowError> {
    let kind_name = s.get("type").and_then(Value::as_str).unwrap_or("tool");
    let state = tool_state(order_index, s.get("tool_state"))?;
    let kind = match kind_name {
        "data_input" => StepKind::DataInput {
            optional: state
                .get("optional")
                .is_some_and(|v| v == &Value::Bool(true) || v == "true"),
            format: match state.get("format") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
        },
        "tool" => StepKind::Tool {
            tool_id: opt_str(s.get("tool_id"))
                .ok_or_else(|| err(Some(order_index), "a tool step needs a `tool_id`"))?,
            tool_version: opt_str(s.get("tool_version")),
            state,
        },
        other => {
            return Err(err(
                Some(order_index),
                format!("steps of type `{other}` are not supported (only `data_input` and `tool`)"),
            ));
        }
    };
    let mut connections = Vec::new();
    match s.get("input_connections") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (input_name, c) in m {
                let list = match c {
                    Value::Array(a) => a.clone(),
                    one => vec![one.clone()],
                };
                for c in list {
                    let source_id = c.get("id").and_then(Value::as_i64).ok_or_else(|| {
                        err(
                            Some(order_index),
                            format!("the connection of input `{input_name}` has no step `id`"),
                        )
                    })?;
                    let source = index_of(source_id).ok_or_else(|| {
                        err(
                            Some(order_index),
                            format!(
                                "input `{input_name}` is connected to step {source_id}, which does not exist"
                            ),
                        )
                    })?;
                    let output_name =
                        opt_str(c.get("output_name")).unwrap_or_else(|| INPUT_OUTPUT.to_string());
                    connections.push(Connection {
                        input_name: input_name.clone(),
                        source,
                        output_name,
                    });
                }
            }
        }
        Some(_) => {
            return Err(err(
                Some(order_index),
                "`input_connections` must be an object",
            ));
        }
    }
    let workflow_outputs = match s.get("workflow_outputs") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|o| {
                Some(WorkflowOutput {
                    output_name: opt_str(o.get("output_name"))?,
                    label: opt_str(o.get("label")),
                    uuid: opt_str(o.get("uuid")),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let post_job_actions = match s.get("post_job_actions") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(key, a)| post_job_action(order_index, key, a))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    Ok(Step {
        order_index,
        kind,
        label: opt_str(s.get("label")),
        name: opt_str(s.get("name")).unwrap_or_default(),
        uuid: opt_str(s.get("uuid")).unwrap_or_else(super::new_uuid),
        annotation: opt_str(s.get("annotation")).unwrap_or_default(),
        position: s.get("position").cloned().unwrap_or(Value::Null),
        connections,
        workflow_outputs,
        post_job_actions,
    })
}

fn post_job_action(step: usize, key: &str, a: &Value) -> Result<PostJobAction, WorkflowError> {
    let kind = a.get("action_type").and_then(Value::as_str).unwrap_or("");
    let output_name = opt_str(a.get("output_name"));
    match (kind, output_name) {
        ("RenameDatasetAction", Some(output_name)) => {
            let newname = a
                .get("action_arguments")
                .and_then(|args| opt_str(args.get("newname")))
                .ok_or_else(|| {
                    err(
                        Some(step),
                        format!("the RenameDatasetAction `{key}` has no `newname`"),
                    )
                })?;
            Ok(PostJobAction::Rename {
                output_name,
                newname,
            })
        }
        ("HideDatasetAction", Some(output_name)) => Ok(PostJobAction::Hide { output_name }),
        _ => Ok(PostJobAction::Other {
            key: key.to_string(),
            value: a.clone(),
        }),
    }
}

/// The `.ga` document of a workflow (what `/download` returns; it imports unchanged).
pub fn export(wf: &Workflow) -> Value {
    let steps: Map<String, Value> = wf
        .steps
        .iter()
        .map(|s| (s.order_index.to_string(), export_step(s)))
        .collect();
    json!({
        "a_galaxy_workflow": "true",
        "format-version": "0.1",
        "name": wf.name,
        "annotation": wf.annotation,
        "uuid": wf.uuid,
        "tags": wf.tags,
        "steps": steps,
    })
}

fn export_step(s: &Step) -> Value {
    let mut connections: Map<String, Value> = Map::new();
    for c in &s.connections {
        let one = json!({"id": c.source, "output_name": c.output_name});
        match connections.get_mut(&c.input_name) {
            Some(Value::Array(list)) => list.push(one),
            Some(first) => *first = Value::Array(vec![first.clone(), one]),
            None => {
                connections.insert(c.input_name.clone(), one);
            }
        }
    }
    let pjas: Map<String, Value> = s
        .post_job_actions
        .iter()
        .map(|p| match p {
            PostJobAction::Rename {
                output_name,
                newname,
            } => (
                format!("RenameDatasetAction{output_name}"),
                json!({"action_type": "RenameDatasetAction", "output_name": output_name,
                       "action_arguments": {"newname": newname}}),
            ),
            PostJobAction::Hide { output_name } => (
                format!("HideDatasetAction{output_name}"),
                json!({"action_type": "HideDatasetAction", "output_name": output_name,
                       "action_arguments": {}}),
            ),
            PostJobAction::Other { key, value } => (key.clone(), value.clone()),
        })
        .collect();
    let outputs: Vec<Value> = s
        .workflow_outputs
        .iter()
        .map(|o| json!({"output_name": o.output_name, "label": o.label, "uuid": o.uuid}))
        .collect();
    let (kind, tool_id, tool_version, state) = match &s.kind {
        StepKind::DataInput { optional, format } => {
            let mut st = json!({"optional": optional});
            if !format.is_empty() {
                st["format"] = json!(format);
            }
            ("data_input", Value::Null, Value::Null, st)
        }
        StepKind::Tool {
            tool_id,
            tool_version,
            state,
        } => (
            "tool",
            json!(tool_id),
            json!(tool_version),
            Value::Object(state.clone()),
        ),
    };
    json!({
        "id": s.order_index,
        "type": kind,
        "tool_id": tool_id,
        "tool_version": tool_version,
        "name": s.name,
        "label": s.label,
        "uuid": s.uuid,
        "annotation": s.annotation,
        "position": s.position,
        "tool_state": state.to_string(),
        "input_connections": connections,
        "inputs": if kind == "data_input" {
            json!([{"name": s.label.clone().unwrap_or_else(|| s.name.clone()), "description": ""}])
        } else {
            json!([])
        },
        "outputs": [],
        "post_job_actions": pjas,
        "workflow_outputs": outputs,
    })
}
