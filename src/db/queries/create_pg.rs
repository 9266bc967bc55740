//! Job creation on PostgreSQL in one statement (its own durable transaction): the inputs'
//! states read, the job, its output datasets (multi-row), both link tables, the first
//! state-history row and the NOTIFY that wakes the handlers (delivered at commit, so a woken
//! handler always finds the job). One round trip instead of ten; the hids were reserved just
//! before (`jobs::create_job`).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};

use super::jobs::JobSpec;
use super::notify::CHANNEL;
use crate::db::DbResult;
use crate::db::models::{Dataset, Job};
use crate::db::states::{DatasetState, JobState};

/// Dataset states that never become `ok` (an input in one pauses the job); the SQL twin of
/// `DatasetState::is_failed`.
const FAILED: &str = "'error', 'paused', 'discarded', 'failed_metadata'";

#[derive(QueryableByName)]
struct Created {
    #[diesel(embed)]
    job: Job,
    #[diesel(sql_type = Array<BigInt>)]
    output_ids: Vec<i64>,
}

fn sql() -> String {
    format!(
        "WITH ins AS MATERIALIZED ( \
           SELECT COALESCE(bool_or(deleted OR state IN ({FAILED})), false) AS failed, \
                  COALESCE(bool_and(NOT deleted AND state = 'ok'), true) AS ready \
           FROM dataset WHERE id = ANY($1::bigint[])), \
         j AS ( \
           INSERT INTO job (user_id, history_id, tool_id, tool_version, state, handler, \
                            claim_token, params, destination_id, client_address, create_time, \
                            update_time, handler_tag, inputs_ready) \
           SELECT $2, $3, $4, $5, \
                  CASE WHEN $6 = 'new' AND ins.failed THEN 'paused' ELSE $6 END, \
                  $7, 0, $8, $9, $10, $11, $11, $12, ins.ready \
           FROM ins RETURNING *), \
         o AS (SELECT * FROM unnest($13::bigint[], $14::text[], $15::text[], $16::text[]) \
               AS o(hid, name, ext, oname)), \
         d AS ( \
           INSERT INTO dataset (history_id, user_id, hid, name, state, extension, file_size, \
                                creating_job_id, deleted, create_time, update_time) \
           SELECT $3, $2, o.hid, o.name, \
                  CASE WHEN j.state = 'paused' THEN 'paused' ELSE 'queued' END, \
                  o.ext, 0, j.id, false, $11, $11 \
           FROM j, o RETURNING id, hid), \
         lo AS ( \
           INSERT INTO job_to_output_dataset (job_id, dataset_id, name) \
           SELECT j.id, d.id, o.oname FROM j, d JOIN o ON o.hid = d.hid), \
         li AS ( \
           INSERT INTO job_to_input_dataset (job_id, dataset_id, name) \
           SELECT j.id, i.id, i.name FROM j, unnest($1::bigint[], $17::text[]) AS i(id, name)), \
         sh AS ( \
           INSERT INTO job_state_history (job_id, state, handler, create_time) \
           SELECT j.id, j.state, j.handler, $11 FROM j), \
         nt AS (SELECT pg_notify('{CHANNEL}', $18) FROM j WHERE $18 IS NOT NULL) \
         SELECT j.*, \
                (SELECT COALESCE(array_agg(d.id ORDER BY d.hid), '{{}}') FROM d) AS output_ids, \
                (SELECT count(*) FROM nt) AS notified \
         FROM j"
    )
}

/// Creates the job of `spec` with the hids `counter - n .. counter`; `notify` is the
/// NOTIFY payload (pool tag or handler name), if any handler must be woken.
pub fn create_job(
    c: &mut PgConnection,
    spec: &JobSpec<'_>,
    counter: i64,
    t: chrono::NaiveDateTime,
    notify: Option<&str>,
) -> DbResult<(Job, Vec<(String, Dataset)>)> {
    let n = spec.outputs.len() as i64;
    let hids: Vec<i64> = (0..n).map(|i| counter - n + i).collect();
    let names: Vec<&str> = spec.outputs.iter().map(|o| o.1.as_str()).collect();
    let exts: Vec<&str> = spec.outputs.iter().map(|o| o.2.as_str()).collect();
    let onames: Vec<&str> = spec.outputs.iter().map(|o| o.0.as_str()).collect();
    let in_ids: Vec<i64> = spec.inputs.iter().map(|i| i.1).collect();
    let in_names: Vec<&str> = spec.inputs.iter().map(|i| i.0.as_str()).collect();
    let created: Created = diesel::sql_query(sql())
        .bind::<Array<BigInt>, _>(&in_ids)
        .bind::<Nullable<BigInt>, _>(spec.user_id)
        .bind::<BigInt, _>(spec.history_id)
        .bind::<Text, _>(spec.tool_id)
        .bind::<Text, _>(spec.tool_version)
        .bind::<Text, _>(spec.state.as_str())
        .bind::<Nullable<Text>, _>(spec.handler)
        .bind::<Text, _>(spec.params)
        .bind::<Nullable<Text>, _>(spec.destination_id)
        .bind::<Nullable<Text>, _>(spec.client_address)
        .bind::<Timestamp, _>(t)
        .bind::<Nullable<Text>, _>(spec.handler_tag)
        .bind::<Array<BigInt>, _>(&hids)
        .bind::<Array<Text>, _>(&names)
        .bind::<Array<Text>, _>(&exts)
        .bind::<Array<Text>, _>(&onames)
        .bind::<Array<Text>, _>(&in_names)
        .bind::<Nullable<Text>, _>(notify)
        .get_result(c)?;
    let state = if created.job.state == JobState::Paused {
        DatasetState::Paused
    } else {
        DatasetState::Queued
    };
    // The rows as inserted: the values above and the columns' defaults.
    let outputs = spec
        .outputs
        .iter()
        .zip(hids)
        .zip(created.output_ids)
        .map(|(((oname, name, ext), hid), id)| {
            let ds = Dataset {
                id,
                history_id: spec.history_id,
                user_id: spec.user_id,
                hid,
                name: name.clone(),
                state,
                extension: ext.clone(),
                file_size: 0,
                creating_job_id: Some(created.job.id),
                info: None,
                deleted: false,
                create_time: t,
                update_time: t,
                annotation: None,
                visible: true,
                purged: false,
                metadata: None,
            };
            (oname.clone(), ds)
        })
        .collect();
    Ok((created.job, outputs))
}
