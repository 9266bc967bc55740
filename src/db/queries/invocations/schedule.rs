//! Scheduling an invocation: one transaction that checks the scheduler still holds it (its
//! claim token), creates every tool step's job with its output datasets and links, records
//! each step in `workflow_invocation_step` (unique per invocation and step) and marks the
//! invocation `scheduled`. Either all of it commits or none: a scheduler killed in the middle
//! leaves nothing behind, and a step's job can never be created twice.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{READY, SCHEDULED};
use crate::db::models::{Dataset, Job, JobInput, JobOutput, NewJobStateHistory};
use crate::db::queries::collections::mapped::{BatchDataset, BatchJob};
use crate::db::schema::{
    dataset, history, job, job_state_history, job_to_input_dataset, job_to_output_dataset,
    workflow_invocation, workflow_invocation_step,
};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult, now};
use crate::db_tx;

/// Rows per multi-row insert.
const CHUNK: usize = 200;

/// Where a step's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A dataset that exists (an input step's).
    Dataset(i64),
    /// Output `output` (index into its outputs) of the planned job `job` (index into
    /// [`Schedule::jobs`], an earlier one).
    Step { job: usize, output: usize },
}

/// One output dataset of a planned job.
#[derive(Debug, Clone)]
pub struct PlannedOutput {
    pub name: String,
    pub ext: String,
    /// Its name when a label or `RenameDatasetAction` gives one; else "<tool> on data <hid>".
    pub dataset_name: Option<String>,
    pub visible: bool,
}

/// The job of one tool step.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    pub order_index: i32,
    pub tool_id: String,
    pub tool_version: String,
    pub tool_name: String,
    pub params: String,
    pub handler: Option<String>,
    pub handler_tag: Option<String>,
    pub destination_id: Option<String>,
    /// (job input name, source)
    pub inputs: Vec<(String, Source)>,
    pub outputs: Vec<PlannedOutput>,
}

/// Everything an invocation's scheduling writes.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub invocation_id: i64,
    pub claim_token: i64,
    /// The scheduler that holds the invocation.
    pub handler: String,
    pub history_id: i64,
    pub user_id: Option<i64>,
    /// (order index, dataset id) of the input steps.
    pub input_steps: Vec<(i32, i64)>,
    /// The tool steps' jobs, each after the jobs it reads.
    pub jobs: Vec<PlannedJob>,
    /// Tests only (the `scheduler-stall-in-transaction` fault): the transaction never
    /// commits, everything written and locked, until the process is killed.
    pub stall_before_commit: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workflow_invocation_step, treat_none_as_default_value = false)]
struct BatchStep {
    invocation_id: i64,
    order_index: i32,
    job_id: Option<i64>,
    dataset_id: Option<i64>,
    create_time: NaiveDateTime,
}

/// What is known of an input before the transaction writes: (state, deleted, hid).
type InputInfo = (DatasetState, bool, i64);

/// The states, readiness and output hids of the planned jobs, from their inputs' states.
struct Layout {
    job_states: Vec<(JobState, DatasetState, bool)>,
    /// Per job, the hid of each output.
    hids: Vec<Vec<i64>>,
    names: Vec<Vec<String>>,
}

fn layout(s: &Schedule, existing: &HashMap<i64, InputInfo>, first_hid: i64) -> Layout {
    let mut job_states: Vec<(JobState, DatasetState, bool)> = Vec::with_capacity(s.jobs.len());
    let mut hids: Vec<Vec<i64>> = Vec::with_capacity(s.jobs.len());
    let mut next = first_hid;
    for j in &s.jobs {
        hids.push(
            j.outputs
                .iter()
                .map(|_| {
                    next += 1;
                    next - 1
                })
                .collect(),
        );
    }
    let mut names = Vec::with_capacity(s.jobs.len());
    for j in &s.jobs {
        let infos: Vec<InputInfo> = j
            .inputs
            .iter()
            .map(|(_, src)| match src {
                // A missing dataset can never be ok.
                Source::Dataset(id) => {
                    existing
                        .get(id)
                        .copied()
                        .unwrap_or((DatasetState::Error, true, 0))
                }
                Source::Step { job, output } => (
                    job_states[*job].1,
                    false,
                    hids[*job].get(*output).copied().unwrap_or(0),
                ),
            })
            .collect();
        let failed = infos.iter().any(|(st, del, _)| *del || st.is_failed());
        let ready = infos
            .iter()
            .all(|(st, del, _)| !del && *st == DatasetState::Ok);
        job_states.push(if failed {
            (JobState::Paused, DatasetState::Paused, ready)
        } else {
            (JobState::New, DatasetState::Queued, ready)
        });
        let first_hid = infos.first().map(|(_, _, hid)| *hid);
        names.push(
            j.outputs
                .iter()
                .map(|o| match (&o.dataset_name, first_hid) {
                    (Some(n), _) => n.clone(),
                    (None, Some(h)) => format!("{} on data {h}", j.tool_name),
                    (None, None) => j.tool_name.clone(),
                })
                .collect(),
        );
    }
    Layout {
        job_states,
        hids,
        names,
    }
}

/// Schedules the invocation if `s.handler` still holds it with `s.claim_token` and it is
/// `ready`; `None` when it does not (taken over, cancelled): nothing is written then.
pub fn schedule(conn: &mut DbConn, s: &Schedule) -> DbResult<Option<Vec<Job>>> {
    let t = now();
    let existing_ids: Vec<i64> = s
        .jobs
        .iter()
        .flat_map(|j| j.inputs.iter())
        .filter_map(|(_, src)| match src {
            Source::Dataset(id) => Some(*id),
            Source::Step { .. } => None,
        })
        .collect();
    let n_outputs: i64 = s.jobs.iter().map(|j| j.outputs.len() as i64).sum();
    db_tx!(conn, |c| {
        let fenced = diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::id.eq(s.invocation_id))
                .filter(workflow_invocation::handler.eq(&s.handler))
                .filter(workflow_invocation::claim_token.eq(s.claim_token))
                .filter(workflow_invocation::state.eq(READY)),
        )
        .set((
            workflow_invocation::state.eq(SCHEDULED),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?;
        if fenced == 0 {
            return Ok(None);
        }
        let mut existing: HashMap<i64, InputInfo> = HashMap::new();
        if !existing_ids.is_empty() {
            let rows: Vec<(i64, DatasetState, bool, i64)> = dataset::table
                .filter(dataset::id.eq_any(&existing_ids))
                .select((dataset::id, dataset::state, dataset::deleted, dataset::hid))
                .load(c)?;
            for (id, st, del, hid) in rows {
                existing.insert(id, (st, del, hid));
            }
        }
        let counter: i64 = diesel::update(history::table.find(s.history_id))
            .set((
                history::hid_counter.eq(history::hid_counter + n_outputs),
                history::update_time.eq(t),
            ))
            .returning(history::hid_counter)
            .get_result(c)?;
        let lay = layout(s, &existing, counter - n_outputs);
        let job_rows: Vec<BatchJob<'_>> = s
            .jobs
            .iter()
            .zip(&lay.job_states)
            .map(|(j, (state, _, ready))| BatchJob {
                user_id: s.user_id,
                history_id: s.history_id,
                tool_id: &j.tool_id,
                tool_version: &j.tool_version,
                state: *state,
                handler: j.handler.as_deref(),
                claim_token: 0,
                params: &j.params,
                destination_id: j.destination_id.as_deref(),
                client_address: None,
                create_time: t,
                update_time: t,
                handler_tag: j.handler_tag.as_deref(),
                inputs_ready: *ready,
            })
            .collect();
        let mut jobs: Vec<Job> = Vec::with_capacity(job_rows.len());
        for chunk in job_rows.chunks(CHUNK) {
            let mut made: Vec<Job> = diesel::insert_into(job::table)
                .values(chunk)
                .returning(Job::as_returning())
                .get_results(c)?;
            made.sort_unstable_by_key(|j| j.id);
            jobs.extend(made);
        }
        let mut ds_rows = Vec::with_capacity(n_outputs as usize);
        for (i, j) in s.jobs.iter().enumerate() {
            for (o, out) in j.outputs.iter().enumerate() {
                ds_rows.push(BatchDataset {
                    history_id: s.history_id,
                    user_id: s.user_id,
                    hid: lay.hids[i][o],
                    name: &lay.names[i][o],
                    state: lay.job_states[i].1,
                    extension: &out.ext,
                    file_size: 0,
                    creating_job_id: Some(jobs[i].id),
                    deleted: false,
                    visible: out.visible,
                    create_time: t,
                    update_time: t,
                });
            }
        }
        let mut datasets: Vec<Dataset> = Vec::with_capacity(ds_rows.len());
        for chunk in ds_rows.chunks(CHUNK) {
            let mut made: Vec<Dataset> = diesel::insert_into(dataset::table)
                .values(chunk)
                .returning(Dataset::as_returning())
                .get_results(c)?;
            made.sort_unstable_by_key(|d| d.id);
            datasets.extend(made);
        }
        // The dataset id of (job, output), in insertion order.
        let mut output_ids: Vec<Vec<i64>> = Vec::with_capacity(s.jobs.len());
        let mut k = 0;
        for j in &s.jobs {
            output_ids.push(
                datasets[k..k + j.outputs.len()]
                    .iter()
                    .map(|d| d.id)
                    .collect(),
            );
            k += j.outputs.len();
        }
        let mut out_links = Vec::with_capacity(datasets.len());
        let mut in_links = Vec::new();
        for (i, j) in s.jobs.iter().enumerate() {
            for (o, out) in j.outputs.iter().enumerate() {
                out_links.push(JobOutput {
                    id: 0,
                    job_id: jobs[i].id,
                    dataset_id: output_ids[i][o],
                    name: out.name.clone(),
                });
            }
            for (name, src) in &j.inputs {
                let dataset_id = match src {
                    Source::Dataset(id) => *id,
                    Source::Step { job, output } => output_ids[*job][*output],
                };
                in_links.push(JobInput {
                    id: 0,
                    job_id: jobs[i].id,
                    dataset_id,
                    name: name.clone(),
                });
            }
        }
        for chunk in out_links.chunks(CHUNK) {
            diesel::insert_into(job_to_output_dataset::table)
                .values(chunk)
                .execute(c)?;
        }
        for chunk in in_links.chunks(CHUNK) {
            diesel::insert_into(job_to_input_dataset::table)
                .values(chunk)
                .execute(c)?;
        }
        let hist: Vec<NewJobStateHistory<'_>> = s
            .jobs
            .iter()
            .zip(&jobs)
            .map(|(j, job)| NewJobStateHistory {
                job_id: job.id,
                state: job.state,
                handler: j.handler.as_deref(),
                create_time: t,
            })
            .collect();
        for chunk in hist.chunks(CHUNK) {
            diesel::insert_into(job_state_history::table)
                .values(chunk)
                .execute(c)?;
        }
        let steps: Vec<BatchStep> = s
            .input_steps
            .iter()
            .map(|(order_index, ds)| BatchStep {
                invocation_id: s.invocation_id,
                order_index: *order_index,
                job_id: None,
                dataset_id: Some(*ds),
                create_time: t,
            })
            .chain(s.jobs.iter().zip(&jobs).map(|(j, job)| BatchStep {
                invocation_id: s.invocation_id,
                order_index: j.order_index,
                job_id: Some(job.id),
                dataset_id: None,
                create_time: t,
            }))
            .collect();
        for chunk in steps.chunks(CHUNK) {
            diesel::insert_into(workflow_invocation_step::table)
                .values(chunk)
                .execute(c)?;
        }
        if s.stall_before_commit {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        Ok(Some(jobs))
    })
}
