//! The batched transitions on SQLite: a few statements in one write transaction (one writer;
//! the statements run in-process). The per-job values are one JSON array read with
//! `json_each`.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use super::{Applied, End, ExternalId, Id, IdState, Start, json, metric_rows};
use crate::db::DbResult;
use crate::db::models::{JobMetric, NewJobStateHistory};
use crate::db::prepared::{Prepared, Value};
use crate::db::schema::{dataset, job_metric_numeric, job_state_history};
use crate::db::states::{DatasetState, JobState};

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

const OUTPUTS: &str = "UPDATE dataset SET state = t.state, file_size = t.size, deleted = t.deleted, update_time = ?2, \
    extension = COALESCE(t.ext, dataset.extension), metadata = t.metadata \
    FROM (SELECT value ->> 'id' AS id, value ->> 'size' AS size, value ->> 'state' AS state, value ->> 'deleted' AS deleted, \
      value ->> 'ext' AS ext, value ->> 'metadata' AS metadata FROM json_each(?1)) AS t \
    WHERE dataset.id = t.id";

#[derive(Serialize)]
struct OutputRow<'a> {
    id: i64,
    size: i64,
    state: DatasetState,
    deleted: bool,
    ext: Option<&'a str>,
    metadata: Option<&'a str>,
}

/// The state of the outputs of a job that ended in `job_state`.
fn dataset_state(job_state: JobState) -> DatasetState {
    match job_state {
        JobState::Ok => DatasetState::Ok,
        JobState::Deleted => DatasetState::Discarded,
        _ => DatasetState::Error,
    }
}

/// Inserts one state-history row per job (in chunks: a statement binds a bounded number of
/// values).
fn history(
    c: &mut SqliteConnection,
    jobs: &[i64],
    state: impl Fn(i64) -> JobState,
    t: chrono::NaiveDateTime,
) -> QueryResult<()> {
    let rows: Vec<NewJobStateHistory<'_>> = jobs
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
            history(c, &applied.started, |_| JobState::Running, t)?;
            for chunk in applied.started.chunks(1000) {
                diesel::update(
                    dataset::table
                        .filter(dataset::creating_job_id.eq_any(chunk))
                        .filter(dataset::state.eq(DatasetState::Queued)),
                )
                .set((
                    dataset::state.eq(DatasetState::Running),
                    dataset::update_time.eq(t),
                ))
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
            history(c, &ended, |id| applied.ended[&id], t)?;
            // Metrics of the jobs that ended.
            let metrics: Vec<JobMetric> = metric_rows(ends, Some(&applied.ended))
                .into_iter()
                .map(|m| JobMetric {
                    id: 0,
                    job_id: m.job,
                    plugin: m.plugin.to_string(),
                    metric_name: m.name.to_string(),
                    metric_value: m.value,
                })
                .collect();
            for chunk in metrics.chunks(1000) {
                diesel::insert_into(job_metric_numeric::table)
                    .values(chunk)
                    .execute(c)?;
            }
            // Outputs: listed ones with their sizes; unlisted ones all of the job's, empty.
            let mut listed = Vec::new();
            let mut whole: BTreeMap<JobState, Vec<i64>> = BTreeMap::new();
            for end in ends {
                let Some(&state) = applied.ended.get(&end.id) else {
                    continue;
                };
                let ds_state = dataset_state(state);
                match &end.outputs {
                    Some(outputs) => listed.extend(outputs.iter().map(|o| OutputRow {
                        id: o.id,
                        size: o.size,
                        state: ds_state,
                        deleted: state == JobState::Deleted,
                        ext: o.ext.as_deref(),
                        metadata: o.metadata.as_deref(),
                    })),
                    None => whole.entry(state).or_default().push(end.id),
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
                            dataset::deleted.eq(state == JobState::Deleted),
                            dataset::update_time.eq(t),
                        ))
                        .execute(c)?;
                }
            }
        }
        Ok(applied)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::states::unknown_state_literals;

    #[test]
    fn state_literals_are_state_names() {
        for sql in [START, PID, END, OUTPUTS] {
            // The other quoted words are the keys of the JSON rows.
            let keys = [
                "id",
                "tok",
                "cmd",
                "runner",
                "ext",
                "exit_code",
                "stdout",
                "stderr",
                "info",
                "size",
                "state",
                "metadata",
            ];
            assert_eq!(unknown_state_literals(sql, &keys), [""; 0], "{sql}");
        }
    }
}
