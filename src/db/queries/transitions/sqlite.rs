//! The batched transitions on SQLite: a few statements in one write transaction (one writer;
//! the statements run in-process). The per-job values are one JSON array read with
//! `json_each`.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use super::{Applied, End, ExternalId, Id, IdState, Start, json};
use crate::db::DbResult;
use crate::db::models::NewJobStateHistory;
use crate::db::prepared::{Prepared, Value};
use crate::db::schema::{dataset, job_state_history};

const START: &str = "UPDATE job SET state = 'running', command_line = t.cmd, job_runner_name = t.runner, update_time = ?2 \
    FROM (SELECT value ->> 'id' AS id, value ->> 'tok' AS tok, value ->> 'cmd' AS cmd, value ->> 'runner' AS runner \
      FROM json_each(?1)) AS t \
    WHERE job.id = t.id AND job.claim_token = t.tok AND (job.state = 'queued') IS TRUE RETURNING job.id";

const PID: &str = "UPDATE job SET job_runner_external_id = t.ext \
    FROM (SELECT value ->> 'id' AS id, value ->> 'tok' AS tok, value ->> 'ext' AS ext FROM json_each(?1)) AS t \
    WHERE job.id = t.id AND job.claim_token = t.tok RETURNING job.id";

const END: &str = "UPDATE job SET state = CASE WHEN job.state = 'deleting' THEN 'deleted' WHEN t.ok THEN 'ok' ELSE 'error' END, \
    exit_code = t.exit_code, stdout = t.stdout, stderr = t.stderr, info = t.info, update_time = ?2 \
    FROM (SELECT value ->> 'id' AS id, value ->> 'tok' AS tok, value ->> 'ok' AS ok, value ->> 'exit_code' AS exit_code, \
      value ->> 'stdout' AS stdout, value ->> 'stderr' AS stderr, value ->> 'info' AS info FROM json_each(?1)) AS t \
    WHERE job.id = t.id AND job.claim_token = t.tok \
    AND (job.state IN ('running', 'queued', 'deleting')) IS TRUE RETURNING job.id, job.state";

const OUTPUTS: &str = "UPDATE dataset SET state = t.state, file_size = t.size, deleted = t.deleted, update_time = ?2 \
    FROM (SELECT value ->> 'id' AS id, value ->> 'size' AS size, value ->> 'state' AS state, value ->> 'deleted' AS deleted \
      FROM json_each(?1)) AS t \
    WHERE dataset.id = t.id";

#[derive(Serialize)]
struct OutputRow<'a> {
    id: i64,
    size: i64,
    state: &'a str,
    deleted: bool,
}

/// The state of the outputs of a job that ended in `job_state`.
fn dataset_state(job_state: &str) -> &'static str {
    match job_state {
        "ok" => "ok",
        "deleted" => "discarded",
        _ => "error",
    }
}

/// Inserts one state-history row per job (in chunks: a statement binds a bounded number of
/// values).
fn history<'a>(
    c: &mut SqliteConnection,
    jobs: &[i64],
    state: impl Fn(i64) -> &'a str,
    t: chrono::NaiveDateTime,
) -> QueryResult<()> {
    let rows: Vec<NewJobStateHistory<'a>> = jobs
        .iter()
        .map(|&job_id| NewJobStateHistory {
            job_id,
            state: state(job_id),
            handler: None,
            create_time: t,
        })
        .collect();
    for chunk in rows.chunks(1000) {
        diesel::insert_into(job_state_history::table)
            .values(chunk)
            .execute(c)?;
    }
    Ok(())
}

pub(super) fn apply(
    c: &mut SqliteConnection,
    starts: &[Start],
    ids: &[ExternalId],
    ends: &[End],
    t: chrono::NaiveDateTime,
) -> DbResult<Applied> {
    let starts_json = json(&starts)?;
    let ids_json = json(&ids)?;
    let ends_json = json(&ends)?;
    c.immediate_transaction(|c| -> DbResult<Applied> {
        let mut applied = Applied::default();
        if !starts.is_empty() {
            let started: Vec<Id> =
                Prepared::new(START, vec![Value::Text(starts_json), Value::Timestamp(t)])
                    .load(c)?;
            applied.started = started.into_iter().map(|r| r.id).collect();
            applied.started.sort_unstable();
            history(c, &applied.started, |_| "running", t)?;
            for chunk in applied.started.chunks(1000) {
                diesel::update(
                    dataset::table
                        .filter(dataset::creating_job_id.eq_any(chunk))
                        .filter(dataset::state.eq("queued")),
                )
                .set((dataset::state.eq("running"), dataset::update_time.eq(t)))
                .execute(c)?;
            }
        }
        if !ids.is_empty() {
            let recorded: Vec<Id> = Prepared::new(PID, vec![Value::Text(ids_json)]).load(c)?;
            applied.recorded = recorded.into_iter().map(|r| r.id).collect();
            applied.recorded.sort_unstable();
        }
        if !ends.is_empty() {
            let ended: Vec<IdState> =
                Prepared::new(END, vec![Value::Text(ends_json), Value::Timestamp(t)]).load(c)?;
            applied.ended = ended.into_iter().map(|r| (r.id, r.state)).collect();
            let mut ended: Vec<i64> = applied.ended.keys().copied().collect();
            ended.sort_unstable();
            history(c, &ended, |id| applied.ended[&id].as_str(), t)?;
            // Outputs: listed ones with their sizes; unlisted ones all of the job's, empty.
            let mut listed = Vec::new();
            let mut whole: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for end in ends {
                let Some(state) = applied.ended.get(&end.id) else {
                    continue;
                };
                let ds_state = dataset_state(state);
                match &end.outputs {
                    Some(outputs) => listed.extend(outputs.iter().map(|&(id, size)| OutputRow {
                        id,
                        size,
                        state: ds_state,
                        deleted: state == "deleted",
                    })),
                    None => whole.entry(state.as_str()).or_default().push(end.id),
                }
            }
            if !listed.is_empty() {
                listed.sort_unstable_by_key(|r| r.id);
                Prepared::new(
                    OUTPUTS,
                    vec![Value::Text(json(&listed)?), Value::Timestamp(t)],
                )
                .execute(c)?;
            }
            for (state, jobs) in whole {
                for chunk in jobs.chunks(1000) {
                    diesel::update(dataset::table.filter(dataset::creating_job_id.eq_any(chunk)))
                        .set((
                            dataset::state.eq(dataset_state(state)),
                            dataset::file_size.eq(0),
                            dataset::deleted.eq(state == "deleted"),
                            dataset::update_time.eq(t),
                        ))
                        .execute(c)?;
                }
            }
        }
        Ok(applied)
    })
}
