//! Creating jobs: a tool run becomes a `new` job with `queued` output datasets; an `upload1`
//! paste becomes a dataset written at once, recorded by a finished job.

use std::sync::Arc;

use crate::datatypes;
use crate::db::models::{Dataset, Job};
use crate::db::queries::collections::{self, MappedCreated, MappedRun, NewCollection};
use crate::db::queries::transitions::{self, End, Output};
use crate::db::queries::{datasets, jobs, notify};
use crate::db::{DbConn, DbError};
use crate::tools::paste::Staged;
use crate::tools::{ParamValue, Tool};

use super::assign::Assignment;
use super::states::JobState;
use super::{JobError, JobsEnv};

/// A created job, its outputs by name, and where it went.
pub type CreatedJob = (Job, Vec<(String, Dataset)>, Assignment);

/// A checked request to run a tool.
pub struct RunRequest {
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub tool: Arc<Tool>,
    pub values: Vec<(String, ParamValue)>,
    /// (data param name, dataset id), already checked for access.
    pub inputs: Vec<(String, i64)>,
    pub client_address: Option<String>,
}

/// Records a tool run as a `new` job, assigned to a handler or a pool (see `assign`), and
/// wakes the handlers of other processes (NOTIFY on PostgreSQL).
pub fn create_tool_job(
    env: &JobsEnv,
    conn: &mut DbConn,
    req: &RunRequest,
) -> Result<CreatedJob, JobError> {
    let assignment = env.assigner.assign(&env.job_conf, conn, &req.tool.id)?;
    let destination = super::limits::destination_for_tool(&env.job_conf, &req.tool.id);
    let params = params_json(&req.values);
    let outputs = output_names(&req.tool, req.inputs.first().map(|(_, id)| *id));
    let spec = jobs::JobSpec {
        user_id: req.user_id,
        history_id: req.history_id,
        tool_id: &req.tool.id,
        tool_version: &req.tool.version,
        state: JobState::New,
        handler: assignment.handler(),
        handler_tag: assignment.tag(),
        params: &params,
        destination_id: Some(&destination),
        client_address: req.client_address.as_deref(),
        inputs: req.inputs.clone(),
        outputs,
    };
    let (job, outputs) = jobs::create_job(conn, &spec)?;
    let wake = match &assignment {
        Assignment::Handler { mailbox: true, .. } => None,
        Assignment::Handler { name, .. } => Some(name.as_str()),
        Assignment::Pool { tag } => Some(tag.as_str()),
    };
    if let Some(channel_payload) = wake
        && let Err(e) = notify::new_job(conn, channel_payload)
    {
        log::warn!("(job {}) could not notify handlers: {e}", job.id);
    }
    Ok((job, outputs, assignment))
}

/// An upload with its content written to a temporary file (or why it could not be).
pub struct StagedUpload {
    pub name: Option<String>,
    /// `auto` when not given.
    pub file_type: String,
    pub content: Result<Staged, String>,
}

/// Writes a pasted dataset: the job and dataset rows first (so the file has its id), then the
/// file, then both rows finished.
pub fn create_upload(
    env: &JobsEnv,
    conn: &mut DbConn,
    user_id: Option<i64>,
    history_id: i64,
    tool: &Tool,
    upload: StagedUpload,
    client_address: Option<&str>,
) -> Result<(Job, Dataset), JobError> {
    let (job, mut datasets) = create_uploads(
        env,
        conn,
        user_id,
        history_id,
        tool,
        vec![upload],
        client_address,
    )?;
    let dataset = datasets
        .pop()
        .ok_or_else(|| JobError::Internal("upload created no dataset".into()))?;
    Ok((job, dataset))
}

/// One finished upload job with one dataset per upload (`POST /api/tools/fetch` sends the
/// elements of a target): the rows first, then each file moved into place, then the job
/// ended, `ok` when every file is in place.
pub fn create_uploads(
    env: &JobsEnv,
    conn: &mut DbConn,
    user_id: Option<i64>,
    history_id: i64,
    tool: &Tool,
    uploads: Vec<StagedUpload>,
    client_address: Option<&str>,
) -> Result<(Job, Vec<Dataset>), JobError> {
    let mut params = serde_json::Map::new();
    let mut outputs = Vec::new();
    for (i, upload) in uploads.iter().enumerate() {
        let ext = if upload.file_type == "auto" {
            "txt".to_string()
        } else {
            upload.file_type.clone()
        };
        let name = upload
            .name
            .clone()
            .unwrap_or_else(|| "Pasted Entry".to_string());
        if i == 0 {
            params.insert("file_type".into(), upload.file_type.clone().into());
        }
        params.insert(
            format!("files_{i}|file_type"),
            upload.file_type.clone().into(),
        );
        params.insert(format!("files_{i}|NAME"), name.clone().into());
        let output = if i == 0 {
            primary_output(tool)
        } else {
            format!("output{i}")
        };
        outputs.push((output, name, ext));
    }
    let params = serde_json::Value::Object(params).to_string();
    let spec = jobs::JobSpec {
        user_id,
        history_id,
        tool_id: &tool.id,
        tool_version: &tool.version,
        state: JobState::Queued,
        handler: Some(&env.server_name),
        handler_tag: None,
        params: &params,
        destination_id: None,
        client_address,
        inputs: vec![],
        outputs,
    };
    let (job, outputs) = jobs::create_job(conn, &spec)?;
    if outputs.len() != uploads.len() {
        return Err(JobError::Internal("upload created too few datasets".into()));
    }
    let mut sizes = Vec::new();
    let mut failures = Vec::new();
    for ((_, dataset), upload) in outputs.iter().zip(uploads) {
        let path = env.dataset_path(dataset.id);
        let file_type = upload.file_type;
        let written = upload.content.and_then(|staged| {
            staged
                .persist(&path)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
        match written {
            Ok(size) => {
                // `auto` is sniffed; an explicit type is kept.
                let ext = datatypes::upload_ext(&file_type, &path);
                let metadata = datatypes::metadata_json(&path, &ext);
                sizes.push(Output {
                    id: dataset.id,
                    size: size as i64,
                    ext: Some(ext),
                    metadata,
                });
            }
            Err(info) => {
                sizes.push(Output::sized(dataset.id, 0));
                failures.push(info);
            }
        }
    }
    let ok = failures.is_empty();
    let info = (!ok).then(|| failures.join("; "));
    let token = jobs::claim_queued_upload(conn, job.id)?;
    let end = End {
        id: job.id,
        tok: token,
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        stdout: String::new(),
        stderr: info.clone().unwrap_or_default(),
        info,
        outputs: Some(sizes),
        metrics: Vec::new(),
    };
    transitions::apply(conn, &[], &[], &[end])?;
    let job = jobs::find_job(conn, job.id)?
        .ok_or_else(|| DbError::Query(diesel::result::Error::NotFound))?;
    let mut datasets = Vec::new();
    for (_, d) in outputs {
        datasets.push(
            datasets::find_dataset(conn, d.id)?
                .ok_or_else(|| DbError::Query(diesel::result::Error::NotFound))?,
        );
    }
    Ok((job, datasets))
}

fn primary_output(tool: &Tool) -> String {
    tool.outputs
        .first()
        .map_or_else(|| "output0".to_string(), |o| o.name.clone())
}

/// A run's output datasets: (output name, dataset name, format). A dataset is named by its
/// output's label, else "<tool> on data <hid of the first input>", else the tool's name.
fn output_names(tool: &Tool, first_input_hid: Option<i64>) -> Vec<(String, String, String)> {
    tool.outputs
        .iter()
        .map(|o| {
            let name = match (&o.label, first_input_hid) {
                (Some(label), _) => label.clone(),
                (None, Some(id)) => format!("{} on data {}", tool.name, id),
                (None, None) => tool.name.clone(),
            };
            (o.name.clone(), name, o.format.clone())
        })
        .collect()
}

/// The checked parameters as stored in the job row (Galaxy's `params`): one entry per leaf
/// param under its flat key (`p`, `cond|p`, `rep_0|p`, `sect|p`), so a tool without groups
/// stores exactly what it stored before.
pub fn params_json(values: &[(String, ParamValue)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(k, v)| {
            let j = match v {
                ParamValue::Text(s) | ParamValue::Select(s) => serde_json::Value::from(s.as_str()),
                ParamValue::Integer(i) => serde_json::Value::from(*i),
                ParamValue::Float(f) => serde_json::Value::from(*f),
                ParamValue::Boolean(b) => serde_json::Value::from(*b),
                ParamValue::Data(Some(d)) => serde_json::json!({"src": d.src, "id": d.id}),
                ParamValue::Data(None) => serde_json::Value::Null,
                ParamValue::DataList(list) => list
                    .iter()
                    .map(|d| serde_json::json!({"src": d.src, "id": d.id}))
                    .collect(),
                // Galaxy's form: "2" for one column, ["1", "3"] for several.
                ParamValue::Columns(columns) => match columns.as_slice() {
                    [one] => serde_json::Value::from(one.to_string()),
                    many => many
                        .iter()
                        .map(|c| serde_json::Value::from(c.to_string()))
                        .collect(),
                },
            };
            (k.clone(), j)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// One job of a run mapped over a collection or batched over datasets: its checked values and
/// its (data param name, dataset id) inputs, already checked for access.
pub struct MappedJob {
    pub values: Vec<(String, ParamValue)>,
    pub inputs: Vec<(String, i64)>,
}

/// A checked request to run a tool once per element of a collection (or per dataset of a
/// batch).
pub struct MappedRequest {
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub tool: Arc<Tool>,
    pub client_address: Option<String>,
    pub jobs: Vec<MappedJob>,
    /// For a collection: its structure with the job index at each leaf, and its hid (the
    /// outputs are gathered into collections of the same structure). `None` for a batch.
    pub structure: Option<(NewCollection<usize>, i64)>,
}

/// Records every job of a mapped-over run, their outputs and (over a collection) one output
/// collection per tool output, in one transaction; the jobs all go where one assignment sends
/// them.
pub fn create_mapped_tool_jobs(
    env: &JobsEnv,
    conn: &mut DbConn,
    req: &MappedRequest,
) -> Result<(MappedCreated, Assignment), JobError> {
    let assignment = env.assigner.assign(&env.job_conf, conn, &req.tool.id)?;
    let destination = super::limits::destination_for_tool(&env.job_conf, &req.tool.id);
    let params: Vec<String> = req.jobs.iter().map(|j| params_json(&j.values)).collect();
    let specs = req
        .jobs
        .iter()
        .zip(&params)
        .map(|(j, params)| {
            let outputs = output_names(&req.tool, j.inputs.first().map(|(_, id)| *id));
            jobs::JobSpec {
                user_id: req.user_id,
                history_id: req.history_id,
                tool_id: &req.tool.id,
                tool_version: &req.tool.version,
                state: JobState::New,
                handler: assignment.handler(),
                handler_tag: assignment.tag(),
                params,
                destination_id: Some(&destination),
                client_address: req.client_address.as_deref(),
                inputs: j.inputs.clone(),
                outputs,
            }
        })
        .collect();
    let collections = match &req.structure {
        None => Vec::new(),
        Some((tree, hid)) => req
            .tool
            .outputs
            .iter()
            .enumerate()
            .map(|(o, out)| {
                (
                    format!("{} on collection {hid}", req.tool.name),
                    out.name.clone(),
                    tree.map_leaves(&mut |j| (*j, o)),
                )
            })
            .collect(),
    };
    let run = MappedRun {
        history_id: req.history_id,
        user_id: req.user_id,
        jobs: specs,
        collections,
    };
    let created = collections::create_mapped_run(conn, &run)?;
    let wake = match &assignment {
        Assignment::Handler { mailbox: true, .. } => None,
        Assignment::Handler { name, .. } => Some(name.as_str()),
        Assignment::Pool { tag } => Some(tag.as_str()),
    };
    if let Some(channel_payload) = wake
        && !created.jobs.is_empty()
        && let Err(e) = notify::new_job(conn, channel_payload)
    {
        log::warn!(
            "could not notify handlers of {} jobs: {e}",
            created.jobs.len()
        );
    }
    Ok((created, assignment))
}
