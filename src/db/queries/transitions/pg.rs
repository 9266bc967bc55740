//! The batched transitions on PostgreSQL: each kind is one statement (data-modifying CTEs
//! write the state-history rows and the outputs beside the jobs), run as a cached prepared
//! statement in its own implicit transaction. Starts and process ids commit without waiting
//! for the WAL flush (`set_config('synchronous_commit', 'off', true)` inside the statement,
//! as a claim does); ends are durable.
//!
//! The state conditions are written `(…) IS TRUE` so that they cannot be index conditions:
//! each job is found by its primary key. As an index condition on a state index (which the
//! planner picks when its statistics say few jobs are `queued`) the scan walks every entry the
//! busy states have left in that index since the last vacuum, and a batch costs time in
//! proportion to the jobs handled recently instead of to its own size.

use diesel::prelude::*;
use serde::Serialize;

use super::{Applied, End, ExternalId, Id, IdState, Start, json, metric_rows};
use crate::db::DbResult;
use crate::db::prepared::{Prepared, Value};

/// Evaluated by a statement's WHERE clause: the transaction it commits is not waited for.
const RELAXED: &str =
    "cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v)";

const START: &str = "WITH {RELAXED}, \
    started AS (UPDATE job SET state = 'running', command_line = t.cmd, job_runner_name = t.runner, update_time = $2 \
      FROM json_to_recordset($1::json) AS t(id bigint, tok bigint, cmd text, runner text) \
      WHERE job.id = t.id AND job.claim_token = t.tok AND (job.state = 'queued') IS TRUE \
      AND EXISTS (SELECT 1 FROM cfg) RETURNING job.id), \
    hist AS (INSERT INTO job_state_history (job_id, state, handler, create_time) \
      SELECT id, 'running', NULL, $2 FROM started), \
    outs AS (UPDATE dataset SET state = 'running', update_time = $2 \
      WHERE creating_job_id IN (SELECT id FROM started) AND state = 'queued') \
    SELECT id FROM started";

const PID: &str = "WITH {RELAXED} \
    UPDATE job SET job_runner_external_id = t.ext \
    FROM json_to_recordset($1::json) AS t(id bigint, tok bigint, ext text) \
    WHERE job.id = t.id AND job.claim_token = t.tok AND EXISTS (SELECT 1 FROM cfg) RETURNING job.id";

/// The outputs' state follows the job's: ok → ok, error → error, deleted → discarded. The
/// metrics are written for the jobs that ended, with them.
const END: &str = "WITH t AS MATERIALIZED (SELECT * FROM json_to_recordset($1::json) AS t(\
      id bigint, tok bigint, ok boolean, exit_code integer, stdout text, stderr text, info text, whole boolean)), \
    ended AS (UPDATE job SET state = CASE WHEN job.state = 'deleting' THEN 'deleted' WHEN t.ok THEN 'ok' ELSE 'error' END, \
      exit_code = t.exit_code, stdout = t.stdout, stderr = t.stderr, info = t.info, update_time = $2 \
      FROM t WHERE job.id = t.id AND job.claim_token = t.tok \
      AND (job.state IN ('running', 'queued', 'deleting')) IS TRUE RETURNING job.id, job.state), \
    hist AS (INSERT INTO job_state_history (job_id, state, handler, create_time) \
      SELECT id, state, NULL, $2 FROM ended), \
    listed AS (UPDATE dataset SET \
      state = CASE e.state WHEN 'ok' THEN 'ok' WHEN 'deleted' THEN 'discarded' ELSE 'error' END, \
      file_size = o.size, deleted = (e.state = 'deleted'), update_time = $2, \
      extension = COALESCE(o.ext, dataset.extension), metadata = o.metadata \
      FROM json_to_recordset($3::json) AS o(job bigint, id bigint, size bigint, ext text, metadata text) \
      JOIN ended e ON e.id = o.job \
      WHERE dataset.id = o.id), \
    whole AS (UPDATE dataset SET \
      state = CASE e.state WHEN 'ok' THEN 'ok' WHEN 'deleted' THEN 'discarded' ELSE 'error' END, \
      file_size = 0, deleted = (e.state = 'deleted'), update_time = $2 \
      FROM ended e JOIN t ON t.id = e.id WHERE t.whole AND dataset.creating_job_id = e.id), \
    metrics AS (INSERT INTO job_metric_numeric (job_id, plugin, metric_name, metric_value) \
      SELECT m.job, m.plugin, m.name, m.value \
      FROM json_to_recordset($4::json) AS m(job bigint, plugin text, name text, value double precision) \
      JOIN ended e ON e.id = m.job) \
    SELECT id, state FROM ended";

#[derive(Serialize)]
struct EndRow<'a> {
    id: i64,
    tok: i64,
    ok: bool,
    exit_code: Option<i32>,
    stdout: &'a str,
    stderr: &'a str,
    info: Option<&'a str>,
    whole: bool,
}

#[derive(Serialize)]
struct OutputRow<'a> {
    job: i64,
    id: i64,
    size: i64,
    ext: Option<&'a str>,
    metadata: Option<&'a str>,
}

fn sql(template: &str) -> String {
    template.replace("{RELAXED}", RELAXED)
}

pub(super) fn apply(
    c: &mut PgConnection,
    starts: &[Start],
    ids: &[ExternalId],
    ends: &[End],
    t: chrono::NaiveDateTime,
) -> DbResult<Applied> {
    let mut applied = Applied::default();
    if !starts.is_empty() {
        let rows: Vec<Id> = Prepared::new(
            sql(START),
            vec![Value::Text(json(&starts)?), Value::Timestamp(t)],
        )
        .load(c)?;
        applied.started = rows.into_iter().map(|r| r.id).collect();
        applied.started.sort_unstable();
    }
    if !ids.is_empty() {
        let rows: Vec<Id> = Prepared::new(sql(PID), vec![Value::Text(json(&ids)?)]).load(c)?;
        applied.recorded = rows.into_iter().map(|r| r.id).collect();
        applied.recorded.sort_unstable();
    }
    if !ends.is_empty() {
        let rows: Vec<EndRow<'_>> = ends
            .iter()
            .map(|e| EndRow {
                id: e.id,
                tok: e.tok,
                ok: e.ok,
                exit_code: e.exit_code,
                stdout: &e.stdout,
                stderr: &e.stderr,
                info: e.info.as_deref(),
                whole: e.outputs.is_none(),
            })
            .collect();
        let mut outputs: Vec<OutputRow> = ends
            .iter()
            .flat_map(|e| {
                e.outputs.iter().flatten().map(|o| OutputRow {
                    job: e.id,
                    id: o.id,
                    size: o.size,
                    ext: o.ext.as_deref(),
                    metadata: o.metadata.as_deref(),
                })
            })
            .collect();
        outputs.sort_unstable_by_key(|o| o.id);
        let metrics = metric_rows(ends, None);
        let ended: Vec<IdState> = Prepared::new(
            END,
            vec![
                Value::Text(json(&rows)?),
                Value::Timestamp(t),
                Value::Text(json(&outputs)?),
                Value::Text(json(&metrics)?),
            ],
        )
        .load(c)?;
        applied.ended = ended.into_iter().map(|r| (r.id, r.state)).collect();
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::states::unknown_state_literals;

    #[test]
    fn state_literals_are_state_names() {
        for sql in [START, PID, END] {
            let sql = super::sql(sql);
            assert_eq!(
                unknown_state_literals(&sql, &["synchronous_commit", "off"]),
                [""; 0],
                "{sql}"
            );
        }
    }
}
