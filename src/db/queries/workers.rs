//! Worker-process rows: every process upserts its own row each heartbeat.

use diesel::prelude::*;

use crate::db::models::{NewWorkerProcess, WorkerProcess};
use crate::db::schema::worker_process;
use crate::db::{DbConn, DbResult};
use crate::{db_run, db_tx};

pub fn heartbeat(conn: &mut DbConn, row: &NewWorkerProcess<'_>) -> DbResult<()> {
    db_tx!(conn, |c| {
        diesel::insert_into(worker_process::table)
            .values(row)
            .on_conflict(worker_process::server_name)
            .do_update()
            .set((
                worker_process::hostname.eq(row.hostname),
                worker_process::pid.eq(row.pid),
                worker_process::mode.eq(row.mode),
                worker_process::pools.eq(row.pools),
                worker_process::update_time.eq(row.update_time),
            ))
            .execute(c)?;
        Ok(())
    })
}

pub fn find_worker(conn: &mut DbConn, server_name: &str) -> DbResult<Option<WorkerProcess>> {
    db_run!(conn, |c| {
        Ok(worker_process::table
            .filter(worker_process::server_name.eq(server_name))
            .select(WorkerProcess::as_select())
            .first(c)
            .optional()?)
    })
}

pub fn list_workers(conn: &mut DbConn) -> DbResult<Vec<WorkerProcess>> {
    db_run!(conn, |c| {
        Ok(worker_process::table
            .order(worker_process::server_name)
            .select(WorkerProcess::as_select())
            .load(c)?)
    })
}

/// Removes this process's row on a clean stop.
pub fn remove_worker(conn: &mut DbConn, server_name: &str, pid: i32) -> DbResult<()> {
    db_run!(conn, |c| {
        diesel::delete(
            worker_process::table
                .filter(worker_process::server_name.eq(server_name))
                .filter(worker_process::pid.eq(pid)),
        )
        .execute(c)?;
        Ok(())
    })
}

/// Names of live (heartbeat younger than `max_age_secs`), non-draining processes that handle
/// the pool tag `tag`.
pub fn live_handlers_of_tag(
    conn: &mut DbConn,
    tag: &str,
    max_age_secs: f64,
) -> DbResult<Vec<String>> {
    let cutoff = crate::db::now() - chrono::Duration::milliseconds((max_age_secs * 1000.0) as i64);
    let rows = db_run!(conn, |c| {
        worker_process::table
            .filter(worker_process::update_time.gt(cutoff))
            .filter(worker_process::draining.eq(false))
            .filter(worker_process::mode.ne("web"))
            .select(WorkerProcess::as_select())
            .load(c)?
    });
    Ok(rows
        .into_iter()
        .filter(|w| {
            tags_of_pools(&serde_json::from_str::<Vec<String>>(&w.pools).unwrap_or_default())
                .iter()
                .any(|t| t == tag)
        })
        .map(|w| w.server_name)
        .collect())
}

/// The tag of untagged (default) handlers.
pub const DEFAULT_TAG: &str = "_default_";

/// Pool names → handler tags: `job-handlers` → `_default_`, `job-handlers.TAG` → `TAG`.
pub fn tags_of_pools(pools: &[String]) -> Vec<String> {
    let mut tags = Vec::new();
    for p in pools {
        let tag = if p == "job-handlers" {
            DEFAULT_TAG.to_string()
        } else if let Some(t) = p.strip_prefix("job-handlers.") {
            t.to_string()
        } else {
            continue;
        };
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// Processes whose last heartbeat is older than `max_age_secs` and that handle jobs.
pub fn dead_handlers(conn: &mut DbConn, max_age_secs: f64) -> DbResult<Vec<WorkerProcess>> {
    let cutoff = crate::db::now() - chrono::Duration::milliseconds((max_age_secs * 1000.0) as i64);
    db_run!(conn, |c| {
        Ok(worker_process::table
            .filter(worker_process::update_time.lt(cutoff))
            .filter(worker_process::mode.ne("web"))
            .select(WorkerProcess::as_select())
            .load(c)?)
    })
}

/// Live processes (heartbeat younger than `max_age_secs`).
pub fn live_workers(conn: &mut DbConn, max_age_secs: f64) -> DbResult<Vec<WorkerProcess>> {
    let cutoff = crate::db::now() - chrono::Duration::milliseconds((max_age_secs * 1000.0) as i64);
    db_run!(conn, |c| {
        Ok(worker_process::table
            .filter(worker_process::update_time.gt(cutoff))
            .order(worker_process::server_name)
            .select(WorkerProcess::as_select())
            .load(c)?)
    })
}

/// Marks a process as draining (it then takes no new jobs). False when no such process.
pub fn set_draining(conn: &mut DbConn, server_name: &str, draining: bool) -> DbResult<bool> {
    db_run!(conn, |c| {
        let n = diesel::update(
            worker_process::table.filter(worker_process::server_name.eq(server_name)),
        )
        .set(worker_process::draining.eq(draining))
        .execute(c)?;
        Ok(n == 1)
    })
}

/// Removes a dead process's row, only if it has not beaten since `seen` (it may be back).
pub fn remove_dead_worker(
    conn: &mut DbConn,
    server_name: &str,
    seen: chrono::NaiveDateTime,
) -> DbResult<bool> {
    db_run!(conn, |c| {
        let n = diesel::delete(
            worker_process::table
                .filter(worker_process::server_name.eq(server_name))
                .filter(worker_process::update_time.le(seen)),
        )
        .execute(c)?;
        Ok(n == 1)
    })
}
