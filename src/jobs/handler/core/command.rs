//! A job's command line: the tool's config files and command rendered (Cheetah) with the
//! job's stored parameters and its input and output datasets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::db::models::{Dataset, Job};
use crate::db::queries::jobs as q;
use crate::jobs::{JobError, JobsEnv};
use crate::tools::scope::{DatasetInfo, JobValues};
use crate::tools::{DataRef, ParamValue};

/// A job's rendered command, its config files (path, content) to write into its directory,
/// and the ids of its output datasets.
pub(super) struct BuiltCommand {
    pub command: String,
    pub configfiles: Vec<(PathBuf, String)>,
    /// (id, extension) of each output dataset.
    pub outputs: Vec<(i64, String)>,
}

/// Where a job's config file `name` is written, under its job directory.
fn configfile_path(job_dir: &Path, name: &str) -> PathBuf {
    job_dir.join("configs").join(name)
}

/// Renders the tool's config files and command for `job`, whose directory is `job_dir`.
/// A template that cannot be rendered (a name missing at run time) fails the job with
/// Cheetah's message; a tool with a requirement missing on `PATH` fails it, naming it.
pub(super) fn build_command(
    env: &JobsEnv,
    c: &mut crate::db::DbConn,
    job: &Job,
    job_dir: &Path,
) -> Result<BuiltCommand, JobError> {
    let tool = env
        .toolbox
        .get(&job.tool_id)
        .ok_or_else(|| JobError::Internal(format!("tool '{}' is not loaded", job.tool_id)))?;
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&job.params)
        .map_err(|e| JobError::Internal(format!("job params: {e}")))?;
    // Stored under flat keys (`cond|p`, `rep_0|p`); a key the tool no longer declares is
    // skipped.
    let values: Vec<(String, ParamValue)> = params
        .into_iter()
        .filter_map(|(key, v)| {
            let kind = &tool.param(&key)?.kind;
            Some((key, stored_value(kind, v)))
        })
        .collect();
    let info = |ds: &Dataset| crate::jobs::naming::dataset_info(env, ds);
    let inputs: BTreeMap<String, DatasetInfo> = q::job_inputs(c, job.id)?
        .into_iter()
        .map(|(link, ds)| (link.name, info(&ds)))
        .collect();
    let outputs = q::job_outputs(c, job.id)?;
    let output_ids = outputs
        .iter()
        .map(|(_, ds)| (ds.id, ds.extension.clone()))
        .collect();
    let outputs: BTreeMap<String, DatasetInfo> = outputs
        .into_iter()
        .map(|(link, ds)| (link.name, info(&ds)))
        .collect();
    let configfiles: BTreeMap<String, String> = tool
        .configfiles
        .iter()
        .map(|(name, _)| {
            let path = configfile_path(job_dir, name);
            (name.clone(), path.to_string_lossy().into_owned())
        })
        .collect();
    let scope = JobValues {
        values: &values,
        inputs,
        outputs,
        configfiles,
        new_file_path: job_dir.join("working").to_string_lossy().into_owned(),
        user_email: None,
        user_id: job.user_id,
    };
    let rendered = tool.render(&scope).map_err(|e| {
        JobError::Internal(format!(
            "cannot render the command of tool '{}': {e}",
            tool.id
        ))
    })?;
    Ok(BuiltCommand {
        command: rendered.command,
        configfiles: rendered
            .configfiles
            .into_iter()
            .map(|(name, text)| (configfile_path(job_dir, &name), text))
            .collect(),
        outputs: output_ids,
    })
}

fn stored_ref(v: &serde_json::Value) -> Option<DataRef> {
    let o = v.as_object()?;
    Some(DataRef {
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
    })
}

/// Reads back a parameter value stored by `submit::params_json`.
fn stored_value(kind: &crate::tools::ParamKind, v: serde_json::Value) -> ParamValue {
    use crate::tools::ParamKind as K;
    match kind {
        K::Integer { .. } | K::Float { .. } if v.is_null() => ParamValue::Empty,
        K::Integer { .. } => ParamValue::Integer(v.as_i64().unwrap_or_default()),
        K::Float { .. } => ParamValue::Float(v.as_f64().unwrap_or_default()),
        K::Boolean { .. } => ParamValue::Boolean(v.as_bool().unwrap_or_default()),
        K::Select { multiple: true, .. } => ParamValue::SelectList(
            v.as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        K::Select { .. } => ParamValue::Select(v.as_str().unwrap_or_default().to_string()),
        K::Text | K::Hidden | K::Color => {
            ParamValue::Text(v.as_str().unwrap_or_default().to_string())
        }
        K::Data { multiple: true, .. } => ParamValue::DataList(
            v.as_array()
                .map(|items| items.iter().filter_map(stored_ref).collect())
                .unwrap_or_default(),
        ),
        K::Data { .. } => ParamValue::Data(stored_ref(&v)),
        K::DataColumn { .. } => {
            let texts: Vec<String> = match &v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            let columns = texts
                .iter()
                .flat_map(|t| t.split(','))
                .filter_map(|c| c.trim().parse().ok())
                .collect();
            ParamValue::Columns(columns)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::stored_value;
    use crate::jobs::submit::params_json;
    use crate::tools::{ParamValue, Tool};

    /// What `POST /api/tools` checks is stored under flat keys and read back for rendering.
    #[test]
    fn tools_params_round_trip_through_the_job_row() {
        let tool = Tool::from_xml(
            r#"<tool id="t" name="T"><command>cat $d > '$out'</command><inputs>
               <param name="d" type="data" multiple="true"/>
               <param name="c" type="data_column" data_ref="d" multiple="true"/>
               <conditional name="m"><param name="k" type="boolean"/>
                 <when value="true"><param name="n" type="integer" value="2"/></when></conditional>
               <repeat name="r"><param name="s" type="color"/></repeat>
               </inputs><outputs><data name="out"/></outputs></tool>"#,
            Path::new("t.xml"),
            None,
        )
        .unwrap();
        let given = json!({"d": ["a", "b"], "c": "1,3", "m": {"k": true}, "r": [{}]});
        let serde_json::Value::Object(given) = given else {
            unreachable!()
        };
        let values = tool.check_inputs(&given).unwrap();
        let stored: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&params_json(&values)).unwrap();
        assert_eq!(stored["c"], json!(["1", "3"]));
        assert_eq!(stored["m|n"], json!(2));
        let back: Vec<(String, ParamValue)> = values
            .iter()
            .map(|(k, _)| {
                let kind = &tool.param(k).unwrap().kind;
                (k.clone(), stored_value(kind, stored[k].clone()))
            })
            .collect();
        assert_eq!(back, values);
    }
}
