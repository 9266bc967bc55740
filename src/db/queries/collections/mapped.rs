//! A mapped-over (or batched) tool run created in one transaction of multi-row inserts: every
//! job, its outputs, the links, the first state-history rows and the output collections.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{
    CHUNK, CollectionRow, Flat, Hdca, NewCollection, NewCollectionRow, NewElementRow, NewHdca,
    NewHdcaRow, flatten,
};
use crate::db::models::{Dataset, Job, JobInput, JobOutput, NewJobStateHistory};
use crate::db::queries::jobs::JobSpec;
use crate::db::schema::{
    dataset, dataset_collection, dataset_collection_element, history, history_dataset_collection,
    job, job_state_history, job_to_input_dataset, job_to_output_dataset,
};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult, now};
use crate::db_tx;

/// A job row of a multi-row insert: `None` written as NULL, so that SQLite too takes every
/// row in one statement (a `DEFAULT` would make diesel insert row by row). Shared by mapped
/// runs and workflow scheduling.
#[derive(Debug, Insertable)]
#[diesel(table_name = job, treat_none_as_default_value = false)]
pub(in crate::db::queries) struct BatchJob<'a> {
    pub(in crate::db::queries) user_id: Option<i64>,
    pub(in crate::db::queries) history_id: i64,
    pub(in crate::db::queries) tool_id: &'a str,
    pub(in crate::db::queries) tool_version: &'a str,
    pub(in crate::db::queries) state: JobState,
    pub(in crate::db::queries) handler: Option<&'a str>,
    pub(in crate::db::queries) claim_token: i64,
    pub(in crate::db::queries) params: &'a str,
    pub(in crate::db::queries) destination_id: Option<&'a str>,
    pub(in crate::db::queries) client_address: Option<&'a str>,
    pub(in crate::db::queries) create_time: NaiveDateTime,
    pub(in crate::db::queries) update_time: NaiveDateTime,
    pub(in crate::db::queries) handler_tag: Option<&'a str>,
    pub(in crate::db::queries) inputs_ready: bool,
}

/// An output dataset row of a multi-row insert (as [`BatchJob`]).
#[derive(Debug, Insertable)]
#[diesel(table_name = dataset, treat_none_as_default_value = false)]
pub(in crate::db::queries) struct BatchDataset<'a> {
    pub(in crate::db::queries) history_id: i64,
    pub(in crate::db::queries) user_id: Option<i64>,
    pub(in crate::db::queries) hid: i64,
    pub(in crate::db::queries) name: &'a str,
    pub(in crate::db::queries) state: DatasetState,
    pub(in crate::db::queries) extension: &'a str,
    pub(in crate::db::queries) file_size: i64,
    pub(in crate::db::queries) creating_job_id: Option<i64>,
    pub(in crate::db::queries) deleted: bool,
    pub(in crate::db::queries) visible: bool,
    pub(in crate::db::queries) create_time: NaiveDateTime,
    pub(in crate::db::queries) update_time: NaiveDateTime,
}

/// One job of a mapped-over (or batched) run: its spec; its outputs are the spec's.
/// Output collections name their leaves as (job index, output index).
pub struct MappedRun<'a> {
    pub history_id: i64,
    pub user_id: Option<i64>,
    pub jobs: Vec<JobSpec<'a>>,
    pub collections: Vec<OutputCollection>,
}

/// An output collection of a mapped run: (name, tool output name, structure with
/// (job index, output index) leaves). The output name is the hdca's `implicit_output_name`;
/// `None` for a collection a job creates as such (an upload into a new collection).
pub type OutputCollection = (String, Option<String>, NewCollection<(usize, usize)>);

/// What [`create_mapped_run`] created.
pub struct MappedCreated {
    pub jobs: Vec<Job>,
    /// Per job, its outputs by name.
    pub outputs: Vec<Vec<(String, Dataset)>>,
    /// The output collections, one per tool output.
    pub hdcas: Vec<(Hdca, CollectionRow)>,
}

/// Creates every job of a run over many inputs, their output datasets, the links, the first
/// state-history rows and the output collections, in one transaction of multi-row inserts.
/// A job whose input has failed is created paused, as `create_job` does. When there are
/// output collections, the output datasets are hidden (`visible` false).
pub fn create_mapped_run(conn: &mut DbConn, run: &MappedRun<'_>) -> DbResult<MappedCreated> {
    let t = now();
    let input_ids: Vec<i64> = run
        .jobs
        .iter()
        .flat_map(|s| s.inputs.iter().map(|(_, id)| *id))
        .collect();
    let n_outputs: usize = run.jobs.iter().map(|s| s.outputs.len()).sum();
    let n_hids = (n_outputs + run.collections.len()) as i64;
    db_tx!(conn, |c| {
        let mut states: HashMap<i64, (DatasetState, bool)> = HashMap::new();
        for chunk in input_ids.chunks(CHUNK) {
            let rows: Vec<(i64, DatasetState, bool)> = dataset::table
                .filter(dataset::id.eq_any(chunk))
                .select((dataset::id, dataset::state, dataset::deleted))
                .load(c)?;
            for (id, s, d) in rows {
                states.insert(id, (s, d));
            }
        }
        let mut job_rows = Vec::with_capacity(run.jobs.len());
        let mut output_states = Vec::with_capacity(run.jobs.len());
        for spec in &run.jobs {
            let ins: Vec<(DatasetState, bool)> = spec
                .inputs
                .iter()
                .filter_map(|(_, id)| states.get(id).copied())
                .collect();
            let failed = spec.state == JobState::New
                && ins.iter().any(|(s, deleted)| *deleted || s.is_failed());
            let ready = ins
                .iter()
                .all(|(s, deleted)| !deleted && *s == DatasetState::Ok);
            let (job_state, out_state) = if failed {
                (JobState::Paused, DatasetState::Paused)
            } else {
                (spec.state, DatasetState::Queued)
            };
            output_states.push(out_state);
            job_rows.push(BatchJob {
                user_id: spec.user_id,
                history_id: spec.history_id,
                tool_id: spec.tool_id,
                tool_version: spec.tool_version,
                state: job_state,
                handler: spec.handler,
                claim_token: 0,
                params: spec.params,
                destination_id: spec.destination_id,
                client_address: spec.client_address,
                create_time: t,
                update_time: t,
                handler_tag: spec.handler_tag,
                inputs_ready: ready,
            });
        }
        let mut jobs: Vec<Job> = Vec::with_capacity(job_rows.len());
        for chunk in job_rows.chunks(CHUNK / 2) {
            let mut made: Vec<Job> = diesel::insert_into(job::table)
                .values(chunk)
                .returning(Job::as_returning())
                .get_results(c)?;
            made.sort_unstable_by_key(|j| j.id);
            jobs.extend(made);
        }
        let counter: i64 = diesel::update(history::table.find(run.history_id))
            .set((
                history::hid_counter.eq(history::hid_counter + n_hids),
                history::update_time.eq(t),
            ))
            .returning(history::hid_counter)
            .get_result(c)?;
        let first_hid = counter - n_hids;
        // Datasets gathered into an output collection are hidden, as Galaxy hides them; the
        // collection is what the history shows.
        let hidden_outputs = &run.collections;
        let mut ds_rows = Vec::with_capacity(n_outputs);
        let mut owners = Vec::with_capacity(n_outputs);
        for (j, spec) in run.jobs.iter().enumerate() {
            for (o, (_, name, ext)) in spec.outputs.iter().enumerate() {
                ds_rows.push(BatchDataset {
                    history_id: run.history_id,
                    user_id: run.user_id,
                    hid: first_hid + ds_rows.len() as i64,
                    name,
                    state: output_states[j],
                    extension: ext,
                    file_size: 0,
                    creating_job_id: Some(jobs[j].id),
                    deleted: false,
                    visible: hidden_outputs.is_empty(),
                    create_time: t,
                    update_time: t,
                });
                owners.push((j, o));
            }
        }
        let mut datasets: Vec<Dataset> = Vec::with_capacity(n_outputs);
        for chunk in ds_rows.chunks(CHUNK / 2) {
            let mut made: Vec<Dataset> = diesel::insert_into(dataset::table)
                .values(chunk)
                .returning(Dataset::as_returning())
                .get_results(c)?;
            made.sort_unstable_by_key(|d| d.id);
            datasets.extend(made);
        }
        let mut outputs: Vec<Vec<(String, Dataset)>> = vec![Vec::new(); jobs.len()];
        let mut by_owner: HashMap<(usize, usize), i64> = HashMap::new();
        let mut out_links = Vec::with_capacity(n_outputs);
        for ((j, o), ds) in owners.iter().zip(datasets) {
            let name = run.jobs[*j].outputs[*o].0.clone();
            by_owner.insert((*j, *o), ds.id);
            out_links.push(JobOutput {
                id: 0,
                job_id: jobs[*j].id,
                dataset_id: ds.id,
                name: name.clone(),
            });
            outputs[*j].push((name, ds));
        }
        for chunk in out_links.chunks(CHUNK) {
            diesel::insert_into(job_to_output_dataset::table)
                .values(chunk)
                .execute(c)?;
        }
        let in_links: Vec<JobInput> = run
            .jobs
            .iter()
            .zip(&jobs)
            .flat_map(|(spec, job)| {
                spec.inputs.iter().map(|(name, id)| JobInput {
                    id: 0,
                    job_id: job.id,
                    dataset_id: *id,
                    name: name.clone(),
                })
            })
            .collect();
        for chunk in in_links.chunks(CHUNK) {
            diesel::insert_into(job_to_input_dataset::table)
                .values(chunk)
                .execute(c)?;
        }
        let hist: Vec<NewJobStateHistory<'_>> = run
            .jobs
            .iter()
            .zip(&jobs)
            .map(|(spec, job)| NewJobStateHistory {
                job_id: job.id,
                state: job.state,
                handler: spec.handler,
                create_time: t,
            })
            .collect();
        for chunk in hist.chunks(CHUNK) {
            diesel::insert_into(job_state_history::table)
                .values(chunk)
                .execute(c)?;
        }
        let new_hdcas: Vec<NewHdca> = run
            .collections
            .iter()
            .map(|(name, output, tree)| NewHdca {
                name: name.clone(),
                implicit_output_name: output.clone(),
                collection: tree.map_leaves(&mut |k| by_owner.get(k).copied().unwrap_or(0)),
            })
            .collect();
        let hdcas = insert_hdcas!(
            c,
            run.history_id,
            run.user_id,
            first_hid + n_outputs as i64,
            &new_hdcas,
            t
        );
        let hdcas = hdcas
            .into_iter()
            .zip(&new_hdcas)
            .map(|(h, new)| {
                let row = CollectionRow {
                    id: h.collection_id,
                    collection_type: new.collection.collection_type.clone(),
                    populated_state: "ok".into(),
                    element_count: new.collection.elements.len() as i64,
                    create_time: t,
                    update_time: t,
                };
                (h, row)
            })
            .collect();
        Ok(MappedCreated {
            jobs,
            outputs,
            hdcas,
        })
    })
}
