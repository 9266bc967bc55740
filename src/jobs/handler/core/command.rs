//! A job's command line: the tool's command rendered with the job's stored parameters and
//! the paths of its input and output datasets.

use std::collections::BTreeMap;

use crate::db::models::Job;
use crate::db::queries::jobs as q;
use crate::jobs::{JobError, JobsEnv};
use crate::tools::{DataRef, ParamValue};

/// Renders the tool's command with the job's input and output paths; returns it with the ids
/// of the job's output datasets.
pub(super) fn build_command(
    env: &JobsEnv,
    c: &mut crate::db::DbConn,
    job: &Job,
) -> Result<(String, Vec<i64>), JobError> {
    let tool = env
        .toolbox
        .get(&job.tool_id)
        .ok_or_else(|| JobError::Internal(format!("tool '{}' is not loaded", job.tool_id)))?;
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&job.params)
        .map_err(|e| JobError::Internal(format!("job params: {e}")))?;
    let values: Vec<(String, ParamValue)> = tool
        .inputs
        .iter()
        .map(|p| {
            let v = params
                .get(&p.name)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            (p.name.clone(), stored_value(&p.kind, v))
        })
        .collect();
    let data_paths: BTreeMap<String, String> = q::job_inputs(c, job.id)?
        .into_iter()
        .map(|(link, ds)| {
            (
                link.name,
                env.dataset_path(ds.id).to_string_lossy().into_owned(),
            )
        })
        .collect();
    let outputs = q::job_outputs(c, job.id)?;
    let output_ids = outputs.iter().map(|(_, ds)| ds.id).collect();
    let output_paths: BTreeMap<String, String> = outputs
        .into_iter()
        .map(|(link, ds)| {
            (
                link.name,
                env.dataset_path(ds.id).to_string_lossy().into_owned(),
            )
        })
        .collect();
    Ok((
        tool.render_command(&values, &data_paths, &output_paths),
        output_ids,
    ))
}

/// Reads back a parameter value stored by `submit::params_json`.
fn stored_value(kind: &crate::tools::ParamKind, v: serde_json::Value) -> ParamValue {
    use crate::tools::ParamKind as K;
    match kind {
        K::Integer { .. } => ParamValue::Integer(v.as_i64().unwrap_or_default()),
        K::Float { .. } => ParamValue::Float(v.as_f64().unwrap_or_default()),
        K::Boolean { .. } => ParamValue::Boolean(v.as_bool().unwrap_or_default()),
        K::Select { .. } => ParamValue::Select(v.as_str().unwrap_or_default().to_string()),
        K::Text => ParamValue::Text(v.as_str().unwrap_or_default().to_string()),
        K::Data { .. } => ParamValue::Data(v.as_object().map(|o| {
            DataRef {
                src: o
                    .get("src")
                    .and_then(|s| s.as_str())
                    .unwrap_or("hda")
                    .to_string(),
                id: o
                    .get("id")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default()
                    .to_string(),
            }
        })),
    }
}
