//! A handler's state transitions of many jobs in one transaction (group commit): `queued` →
//! `running`, the running process's id, and the end (`ok`, `error`, `deleted`). Each job is
//! still fenced by its own claim token: a job whose token moved on is left alone and reported
//! as not changed, whatever the others in the batch do.
//!
//! The per-job values travel as one JSON array, read as rows by the database
//! (`json_to_recordset` on PostgreSQL, `json_each` on SQLite), so a batch costs the same few
//! statements whatever its size.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde::Serialize;

use crate::db::models::NewJobStateHistory;
use crate::db::schema::{dataset, job_state_history};
use crate::db::{DbConn, DbError, DbResult, RelaxedCommit, now};

mod pg;

/// A claimed job about to be started: `queued` → `running`.
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    pub id: i64,
    pub tok: i64,
    pub cmd: String,
    pub runner: String,
}

/// The running process of a started job (its process-group id).
#[derive(Debug, Clone, Serialize)]
pub struct ExternalId {
    pub id: i64,
    pub tok: i64,
    pub ext: String,
}

/// The end of a job: `running`/`queued` → `ok` or `error`, `deleting` → `deleted`.
#[derive(Debug, Clone, Serialize)]
pub struct End {
    pub id: i64,
    pub tok: i64,
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub info: Option<String>,
    /// (dataset id, size in bytes) of its outputs; `None`: all of them, empty (nothing was
    /// written: a job that failed before it ran, or the benchmark's no-op runner).
    #[serde(skip)]
    pub outputs: Option<Vec<(i64, i64)>>,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Jobs that went `queued` → `running` (sorted).
    pub started: Vec<i64>,
    /// Jobs whose process id was recorded (sorted).
    pub recorded: Vec<i64>,
    /// Jobs that ended, with their final state.
    pub ended: HashMap<i64, String>,
    /// Jobs waiting on the outputs of jobs that ended `ok` that are now ready to be claimed.
    pub now_ready: usize,
}

#[derive(QueryableByName)]
struct IdState {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    state: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(Serialize)]
struct OutputRow<'a> {
    id: i64,
    size: i64,
    state: &'a str,
    deleted: bool,
}

// The state conditions below are written `(…) IS TRUE` so that they cannot be index
// conditions: each job is found by its primary key. As an index condition on `ix_job_state`
// (which the planner picks when its statistics say few jobs are `queued`) the scan walks every
// entry the busy states have left in that index since the last vacuum, and a batch costs time
// proportional to the jobs handled recently instead of to its own size.

/// The rows of a bound JSON array (`$1` / `?1`) as a table `t` with these typed columns.
fn records(conn: &DbConn, cols: &[(&str, &str)]) -> String {
    match conn {
        DbConn::Pg(_) => {
            let typed: Vec<String> = cols.iter().map(|(n, ty)| format!("{n} {ty}")).collect();
            format!("json_to_recordset($1::json) AS t({})", typed.join(", "))
        }
        DbConn::Sqlite(_) => {
            let picked: Vec<String> = cols
                .iter()
                .map(|(n, _)| format!("value ->> '{n}' AS {n}"))
                .collect();
            format!("(SELECT {} FROM json_each(?1)) AS t", picked.join(", "))
        }
    }
}

/// The second bound value's placeholder.
fn second(conn: &DbConn) -> &'static str {
    match conn {
        DbConn::Pg(_) => "$2",
        DbConn::Sqlite(_) => "?2",
    }
}

fn json<T: Serialize>(rows: &T) -> DbResult<String> {
    serde_json::to_string(rows).map_err(|e| DbError::Migration(format!("batch rows: {e}")))
}

/// Inserts one state-history row per job, `$state` naming each one's state (in chunks: a
/// statement binds at most 65,535 values). `$c` is the backend's concrete connection.
macro_rules! history {
    ($c:expr, $jobs:expr, $state:expr, $t:expr) => {{
        let rows: Vec<NewJobStateHistory<'_>> = $jobs
            .iter()
            .map(|&job_id| NewJobStateHistory {
                job_id,
                state: $state(job_id),
                handler: None,
                create_time: $t,
            })
            .collect();
        for chunk in rows.chunks(1000) {
            diesel::insert_into(job_state_history::table)
                .values(chunk)
                .execute($c)?;
        }
    }};
}

/// Applies a batch of transitions in one transaction. The ends are made durable (a plain
/// commit); a batch of starts and process ids alone commits without waiting for the WAL flush,
/// as a single claim or start does. Jobs waiting on the outputs of those that ended are made
/// ready or paused after the commit.
pub fn apply(
    conn: &mut DbConn,
    starts: &[Start],
    ids: &[ExternalId],
    ends: &[End],
) -> DbResult<Applied> {
    let t = now();
    let mut applied = match conn {
        DbConn::Pg(c) => pg::apply(c, starts, ids, ends, t)?,
        DbConn::Sqlite(_) => apply_in_one_transaction(conn, starts, ids, ends, t)?,
    };
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (&id, state) in &applied.ended {
        if state == "ok" {
            ok.push(id);
        } else {
            failed.push(id);
        }
    }
    ok.sort_unstable();
    failed.sort_unstable();
    applied.now_ready = super::pause::mark_dependents_ready(conn, &ok)?;
    super::pause::pause_dependents(conn, &failed)?;
    Ok(applied)
}

/// The batch as a few statements in one write transaction (SQLite: one writer, statements
/// in-process).
fn apply_in_one_transaction(
    conn: &mut DbConn,
    starts: &[Start],
    ids: &[ExternalId],
    ends: &[End],
    t: chrono::NaiveDateTime,
) -> DbResult<Applied> {
    let start_sql = format!(
        "UPDATE job SET state = 'running', command_line = t.cmd, job_runner_name = t.runner, update_time = {p2} \
         FROM {rec} WHERE job.id = t.id AND job.claim_token = t.tok AND (job.state = 'queued') IS TRUE RETURNING job.id",
        p2 = second(conn),
        rec = records(
            conn,
            &[
                ("id", "bigint"),
                ("tok", "bigint"),
                ("cmd", "text"),
                ("runner", "text")
            ]
        ),
    );
    let ext_sql = format!(
        "UPDATE job SET job_runner_external_id = t.ext \
         FROM {rec} WHERE job.id = t.id AND job.claim_token = t.tok RETURNING job.id",
        rec = records(
            conn,
            &[("id", "bigint"), ("tok", "bigint"), ("ext", "text")]
        ),
    );
    let end_sql = format!(
        "UPDATE job SET state = CASE WHEN job.state = 'deleting' THEN 'deleted' WHEN t.ok THEN 'ok' ELSE 'error' END, \
         exit_code = t.exit_code, stdout = t.stdout, stderr = t.stderr, info = t.info, update_time = {p2} \
         FROM {rec} WHERE job.id = t.id AND job.claim_token = t.tok \
         AND (job.state IN ('running', 'queued', 'deleting')) IS TRUE RETURNING job.id, job.state",
        p2 = second(conn),
        rec = records(
            conn,
            &[
                ("id", "bigint"),
                ("tok", "bigint"),
                ("ok", "boolean"),
                ("exit_code", "integer"),
                ("stdout", "text"),
                ("stderr", "text"),
                ("info", "text"),
            ]
        ),
    );
    let outputs_sql = format!(
        "UPDATE dataset SET state = t.state, file_size = t.size, deleted = t.deleted, update_time = {p2} \
         FROM {rec} WHERE dataset.id = t.id",
        p2 = second(conn),
        rec = records(
            conn,
            &[
                ("id", "bigint"),
                ("size", "bigint"),
                ("state", "text"),
                ("deleted", "boolean")
            ]
        ),
    );
    let starts_json = json(&starts)?;
    let ids_json = json(&ids)?;
    let ends_json = json(&ends)?;
    let durable = !ends.is_empty();
    crate::db_tx!(conn, |c| {
        if !durable {
            c.relax_commit()?;
        }
        let mut applied = Applied::default();
        if !starts.is_empty() {
            let started: Vec<Id> = diesel::sql_query(&start_sql)
                .bind::<Text, _>(&starts_json)
                .bind::<Timestamp, _>(t)
                .load(c)?;
            applied.started = started.into_iter().map(|r| r.id).collect();
            applied.started.sort_unstable();
            history!(c, applied.started, |_| "running", t);
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
            let recorded: Vec<Id> = diesel::sql_query(&ext_sql)
                .bind::<Text, _>(&ids_json)
                .load(c)?;
            applied.recorded = recorded.into_iter().map(|r| r.id).collect();
            applied.recorded.sort_unstable();
        }
        if !ends.is_empty() {
            let ended: Vec<IdState> = diesel::sql_query(&end_sql)
                .bind::<Text, _>(&ends_json)
                .bind::<Timestamp, _>(t)
                .load(c)?;
            applied.ended = ended.into_iter().map(|r| (r.id, r.state)).collect();
            let mut ended: Vec<i64> = applied.ended.keys().copied().collect();
            ended.sort_unstable();
            history!(c, ended, |id: i64| applied.ended[&id].as_str(), t);
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
                diesel::sql_query(&outputs_sql)
                    .bind::<Text, _>(json(&listed)?)
                    .bind::<Timestamp, _>(t)
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

/// The state of the outputs of a job that ended in `job_state`.
fn dataset_state(job_state: &str) -> &'static str {
    match job_state {
        "ok" => "ok",
        "deleted" => "discarded",
        _ => "error",
    }
}
