//! A handler's state transitions of many jobs in one transaction (group commit): `queued` →
//! `running`, the running process's id, and the end (`ok`, `error`, `deleted`). Each job is
//! still fenced by its own claim token: a job whose token moved on is left alone and reported
//! as not changed, whatever the others in the batch do.
//!
//! The per-job values travel as one JSON array, read as rows by the database
//! (`json_to_recordset` on PostgreSQL, `json_each` on SQLite), so a batch costs the same few
//! statements whatever its size.
//!
//! The statements write the states as literals, the names of [`JobState`] and
//! [`DatasetState`](crate::db::states::DatasetState): each is one cached prepared statement.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use crate::db::states::JobState;
use crate::db::{DbConn, DbError, DbResult, now};

mod pg;
mod sqlite;

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
    /// Its outputs with their sizes and metadata; `None`: all of them, empty (nothing was
    /// written: a job that failed before it ran, or the benchmark's no-op runner).
    #[serde(skip)]
    pub outputs: Option<Vec<Output>>,
    /// (name, value) of the job's metrics, recorded under [`METRICS_PLUGIN`] when, and only
    /// when, this end is applied.
    #[serde(skip)]
    pub metrics: Vec<(String, f64)>,
}

/// One output of an ending job, as its file says: written with the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// The dataset.
    pub id: i64,
    /// Its size in bytes.
    pub size: i64,
    /// A new extension (an upload sent as `auto`, sniffed); `None`: kept.
    pub ext: Option<String>,
    /// Its metadata as JSON text; `None`: none.
    pub metadata: Option<String>,
}

impl Output {
    /// An output of `size` bytes, its extension kept, without metadata.
    pub fn sized(id: i64, size: i64) -> Self {
        Self {
            id,
            size,
            ..Self::default()
        }
    }
}

/// The plugin the metrics of an [`End`] are recorded under: Galaxy's `core`.
pub const METRICS_PLUGIN: &str = "core";

/// One metric row of the jobs of a batch (`job_metric_numeric`).
#[derive(Serialize)]
struct MetricRow<'a> {
    job: i64,
    plugin: &'a str,
    name: &'a str,
    value: f64,
}

/// The metric rows of `ends` whose job is in `ended` (all of them: `None`).
fn metric_rows<'a>(ends: &'a [End], ended: Option<&HashMap<i64, JobState>>) -> Vec<MetricRow<'a>> {
    ends.iter()
        .filter(|e| ended.is_none_or(|ended| ended.contains_key(&e.id)))
        .flat_map(|e| {
            e.metrics
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(name, value)| MetricRow {
                    job: e.id,
                    plugin: METRICS_PLUGIN,
                    name,
                    value: *value,
                })
        })
        .collect()
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Jobs that went `queued` → `running` (sorted).
    pub started: Vec<i64>,
    /// Jobs whose process id was recorded (sorted).
    pub recorded: Vec<i64>,
    /// Jobs that ended, with their final state.
    pub ended: HashMap<i64, JobState>,
    /// Jobs waiting on the outputs of jobs that ended `ok` that are now ready to be claimed.
    pub now_ready: usize,
}

#[derive(QueryableByName)]
struct IdState {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    state: JobState,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn json<T: Serialize>(rows: &T) -> DbResult<String> {
    serde_json::to_string(rows).map_err(|e| DbError::Migration(format!("batch rows: {e}")))
}

/// Applies a batch of transitions (`pg`: one statement per kind; `sqlite`: one write
/// transaction). The ends are made durable; starts and process ids commit without waiting for
/// PostgreSQL's WAL flush, as a claim does. Jobs waiting on the outputs of those that ended are
/// made ready or paused afterwards.
pub fn apply(
    conn: &mut DbConn,
    starts: &[Start],
    ids: &[ExternalId],
    ends: &[End],
) -> DbResult<Applied> {
    let t = now();
    let mut applied = match conn {
        DbConn::Pg(c) => pg::apply(c, starts, ids, ends, t)?,
        DbConn::Sqlite(c) => sqlite::apply(c, starts, ids, ends, t)?,
    };
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (&id, &state) in &applied.ended {
        if state == JobState::Ok {
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
