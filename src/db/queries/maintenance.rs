//! The maintenance role: its lease (which process runs the periodic tasks), the record of
//! each task's last run, and the queries of the tasks themselves.
//!
//! The lease is one row. Whoever holds it renews it (`expires_at` pushed forward) under the
//! token it got when it took it; a lease that expired may be taken by anyone, and taking it
//! bumps the token. A task run is claimed by one conditional `UPDATE` of the task's row that
//! also requires the lease to be unexpired under the claimer's token, so a leader that lost
//! the lease (paused, cut off from the database, taken over) cannot start a run, and a period
//! runs once even across a change of leader.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{dataset, job, maintenance_lease, maintenance_task, worker_process};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult};
use crate::{db_run, db_tx};

/// The one lease row's name.
pub const LEASE: &str = "maintenance";

/// Who holds (or wants) the lease: a server name and the process behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub server_name: String,
    pub hostname: String,
    pub pid: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = maintenance_lease)]
pub struct Lease {
    pub name: String,
    pub holder: Option<String>,
    pub hostname: Option<String>,
    pub pid: Option<i32>,
    pub token: i64,
    pub acquired_at: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
}

impl Lease {
    /// The holder's server name, when the lease has not expired at `now`.
    pub fn live_holder(&self, now: NaiveDateTime) -> Option<&str> {
        self.holder.as_deref().filter(|_| self.expires_at > now)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = maintenance_task)]
pub struct TaskRun {
    pub name: String,
    pub last_run_at: Option<NaiveDateTime>,
    pub last_token: Option<i64>,
    pub last_holder: Option<String>,
    pub runs: i64,
}

fn millis(secs: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

/// Renews the lease under `token`, or else takes it if it expired (or is this very process's);
/// returns the token it is held under, or `None` when another process holds it.
pub fn acquire(
    conn: &mut DbConn,
    me: &Holder,
    token: Option<i64>,
    ttl_secs: f64,
    now: NaiveDateTime,
) -> DbResult<Option<i64>> {
    let expires = now + millis(ttl_secs);
    let mine = maintenance_lease::holder
        .eq(&me.server_name)
        .and(maintenance_lease::hostname.eq(&me.hostname))
        .and(maintenance_lease::pid.eq(me.pid));
    db_tx!(conn, |c| {
        if let Some(t) = token {
            let renewed = diesel::update(
                maintenance_lease::table
                    .filter(maintenance_lease::name.eq(LEASE))
                    .filter(maintenance_lease::token.eq(t))
                    .filter(mine),
            )
            .set(maintenance_lease::expires_at.eq(expires))
            .execute(c)?;
            if renewed == 1 {
                return Ok(Some(t));
            }
        }
        let taken = diesel::update(
            maintenance_lease::table
                .filter(maintenance_lease::name.eq(LEASE))
                .filter(maintenance_lease::expires_at.lt(now).or(mine)),
        )
        .set((
            maintenance_lease::holder.eq(&me.server_name),
            maintenance_lease::hostname.eq(&me.hostname),
            maintenance_lease::pid.eq(me.pid),
            maintenance_lease::token.eq(maintenance_lease::token + 1),
            maintenance_lease::acquired_at.eq(now),
            maintenance_lease::expires_at.eq(expires),
        ))
        .execute(c)?;
        if taken == 0 {
            return Ok(None);
        }
        Ok(Some(
            maintenance_lease::table
                .filter(maintenance_lease::name.eq(LEASE))
                .select(maintenance_lease::token)
                .first(c)?,
        ))
    })
}

/// Gives the lease up (a clean stop): it expires at once, so another process takes it at its
/// next try.
pub fn release(conn: &mut DbConn, me: &Holder, token: i64) -> DbResult<bool> {
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    db_run!(conn, |c| {
        let n = diesel::update(
            maintenance_lease::table
                .filter(maintenance_lease::name.eq(LEASE))
                .filter(maintenance_lease::token.eq(token))
                .filter(maintenance_lease::holder.eq(&me.server_name))
                .filter(maintenance_lease::pid.eq(me.pid)),
        )
        .set(maintenance_lease::expires_at.eq(epoch))
        .execute(c)?;
        Ok(n == 1)
    })
}

pub fn lease(conn: &mut DbConn) -> DbResult<Option<Lease>> {
    db_run!(conn, |c| {
        Ok(maintenance_lease::table
            .filter(maintenance_lease::name.eq(LEASE))
            .select(Lease::as_select())
            .first(c)
            .optional()?)
    })
}

/// Makes sure every task has its row (a task added in a later version gets one too).
pub fn ensure_tasks(conn: &mut DbConn, names: &[&str]) -> DbResult<()> {
    let rows: Vec<_> = names
        .iter()
        .map(|n| maintenance_task::name.eq(*n))
        .collect();
    db_run!(conn, |c| {
        diesel::insert_into(maintenance_task::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c)?;
        Ok(())
    })
}

pub fn task_runs(conn: &mut DbConn) -> DbResult<Vec<TaskRun>> {
    db_run!(conn, |c| {
        Ok(maintenance_task::table
            .order(maintenance_task::name)
            .select(TaskRun::as_select())
            .load(c)?)
    })
}

/// Claims this period's run of `task`: true when its last run is at least `interval_secs`
/// old and the lease is held, unexpired, under `token`.
pub fn claim_run(
    conn: &mut DbConn,
    task: &str,
    token: i64,
    holder: &str,
    interval_secs: f64,
    now: NaiveDateTime,
) -> DbResult<bool> {
    let due_before = now - millis(interval_secs);
    let leased = maintenance_lease::table
        .filter(maintenance_lease::name.eq(LEASE))
        .filter(maintenance_lease::token.eq(token))
        .filter(maintenance_lease::expires_at.gt(now));
    db_run!(conn, |c| {
        let n = diesel::update(
            maintenance_task::table
                .filter(maintenance_task::name.eq(task))
                .filter(
                    maintenance_task::last_run_at
                        .is_null()
                        .or(maintenance_task::last_run_at.le(due_before)),
                )
                .filter(diesel::dsl::exists(leased)),
        )
        .set((
            maintenance_task::last_run_at.eq(now),
            maintenance_task::last_token.eq(token),
            maintenance_task::last_holder.eq(holder),
            maintenance_task::runs.eq(maintenance_task::runs + 1),
        ))
        .execute(c)?;
        Ok(n == 1)
    })
}

/// Records a run made by hand (`galaxy-server maintenance run`): the next period counts from it.
pub fn record_manual_run(
    conn: &mut DbConn,
    task: &str,
    who: &str,
    now: NaiveDateTime,
) -> DbResult<()> {
    ensure_tasks(conn, &[task])?;
    db_run!(conn, |c| {
        diesel::update(maintenance_task::table.filter(maintenance_task::name.eq(task)))
            .set((
                maintenance_task::last_run_at.eq(now),
                maintenance_task::last_token.eq(None::<i64>),
                maintenance_task::last_holder.eq(who),
                maintenance_task::runs.eq(maintenance_task::runs + 1),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// Jobs that ended in `error` or were `deleted` before `before` (their working directories
/// may go).
pub fn failed_jobs_before(conn: &mut DbConn, before: NaiveDateTime) -> DbResult<Vec<i64>> {
    db_run!(conn, |c| {
        Ok(job::table
            .filter(job::state.eq_any([JobState::Error, JobState::Deleted]))
            .filter(job::update_time.lt(before))
            .order(job::id)
            .select(job::id)
            .load(c)?)
    })
}

/// Deleted, not yet purged datasets last changed (deleted) before `before`, in no state a job
/// may still write.
pub fn deleted_datasets_before(conn: &mut DbConn, before: NaiveDateTime) -> DbResult<Vec<i64>> {
    let writable: Vec<DatasetState> = super::datasets::WRITABLE_STATES.to_vec();
    db_run!(conn, |c| {
        Ok(dataset::table
            .filter(dataset::deleted.eq(true))
            .filter(dataset::purged.eq(false))
            .filter(dataset::update_time.lt(before))
            .filter(dataset::state.ne_all(writable))
            .order(dataset::id)
            .select(dataset::id)
            .load(c)?)
    })
}

/// Removes the rows of processes whose last heartbeat is older than `before`; returns their
/// names. Jobs such a process still held are taken over as those of an absent handler.
pub fn prune_worker_processes(conn: &mut DbConn, before: NaiveDateTime) -> DbResult<Vec<String>> {
    db_tx!(conn, |c| {
        let names: Vec<String> = worker_process::table
            .filter(worker_process::update_time.lt(before))
            .order(worker_process::server_name)
            .select(worker_process::server_name)
            .load(c)?;
        diesel::delete(worker_process::table.filter(worker_process::update_time.lt(before)))
            .execute(c)?;
        Ok(names)
    })
}

/// The database's own upkeep, where the backend needs it: on SQLite `PRAGMA optimize` and a
/// WAL checkpoint that truncates the log; on PostgreSQL nothing (autovacuum does it).
/// Returns what was done, or `None` when the backend needs nothing.
pub fn database_upkeep(conn: &mut DbConn) -> DbResult<Option<String>> {
    use diesel::connection::SimpleConnection;
    #[derive(QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        checkpointed: i32,
    }
    match conn {
        DbConn::Pg(_) => Ok(None),
        DbConn::Sqlite(c) => {
            let c: &mut diesel::SqliteConnection = &mut *c;
            c.batch_execute("PRAGMA optimize")
                .map_err(crate::db::DbError::from)?;
            let cp: Checkpoint = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                .get_result(c)
                .map_err(crate::db::DbError::from)?;
            Ok(Some(format!(
                "PRAGMA optimize; wal_checkpoint(TRUNCATE): busy {}, {} WAL frame(s), {} checkpointed",
                cp.busy, cp.log, cp.checkpointed
            )))
        }
    }
}
