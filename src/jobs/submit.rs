//! Creating jobs: a tool run becomes a `new` job with `queued` output datasets. Uploads,
//! written at once and recorded by a finished job, are in `jobs::uploads` (re-exported here).

use std::sync::Arc;

pub use super::uploads::{
    StagedUpload, UploadCollection, Uploaded, create_upload, create_uploads, create_uploads_in,
};
use crate::db::DbConn;
use crate::db::models::{Dataset, Job};
use crate::db::queries::collections::{self, MappedCreated, MappedRun, NewCollection};
use crate::db::queries::{jobs, notify};
use crate::tools::{ParamValue, Tool};

use super::assign::Assignment;
use super::naming;
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
    /// The input datasets as the caller's access check read them (by id); those missing are
    /// read again.
    pub found: std::collections::BTreeMap<i64, Dataset>,
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
    let found = if req.inputs.iter().all(|(_, id)| req.found.contains_key(id)) {
        req.found.clone()
    } else {
        naming::input_datasets(conn, &req.inputs)?
    };
    let formats = super::formats::output_formats(&req.tool, &req.values, &req.inputs, &found);
    let mut outputs =
        naming::output_names(env, &req.tool, &req.values, &req.inputs, &found, formats);
    // Outputs whose `<filter>` is false are not created (a mapped run keeps them all: its
    // output collections need every element).
    let kept = req.tool.kept_outputs(&req.values);
    for (_, why) in &kept {
        if let Some(why) = why {
            log::warn!("tool {}: {why}", req.tool.id);
        }
    }
    let mut keep = kept.iter().map(|(k, _)| *k);
    outputs.retain(|_| keep.next().unwrap_or(true));
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
    // The wake-up goes with the job's own commit (PostgreSQL NOTIFY; nothing on SQLite).
    let wake = match &assignment {
        Assignment::Handler { mailbox: true, .. } => None,
        Assignment::Handler { name, .. } => Some(name.as_str()),
        Assignment::Pool { tag } => Some(tag.as_str()),
    };
    let (job, outputs) = jobs::create_job_notify(conn, &spec, wake)?;
    Ok((job, outputs, assignment))
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
                ParamValue::Data(None) | ParamValue::Empty => serde_json::Value::Null,
                ParamValue::SelectList(list) => list.iter().map(|s| s.as_str()).collect(),
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
    let found = naming::input_datasets(conn, req.jobs.iter().flat_map(|j| &j.inputs))?;
    let formats = req
        .jobs
        .iter()
        .map(|j| super::formats::output_formats(&req.tool, &j.values, &j.inputs, &found));
    let specs = req
        .jobs
        .iter()
        .zip(&params)
        .zip(formats)
        .map(|((j, params), formats)| {
            let outputs =
                naming::output_names(env, &req.tool, &j.values, &j.inputs, &found, formats);
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
                    Some(out.name.clone()),
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
