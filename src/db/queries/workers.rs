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
