//! Workflow invocations: creation, the scheduler's fenced claims and takeover, and what the
//! API shows. An invocation is claimed like a job: `handler` is its scheduler, every change of
//! holder bumps `claim_token`, and scheduling (`schedule.rs`) is conditioned on the token, in
//! the one transaction that creates every step's job.

mod schedule;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use schedule::{PlannedJob, PlannedOutput, Schedule, Source, schedule};

use crate::db::schema::{
    dataset, job, job_to_output_dataset, workflow_invocation, workflow_invocation_step,
};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

/// Galaxy's invocation states.
pub const NEW: &str = "new";
pub const READY: &str = "ready";
pub const SCHEDULED: &str = "scheduled";
pub const CANCELLING: &str = "cancelling";
pub const CANCELLED: &str = "cancelled";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workflow_invocation)]
pub struct InvocationRow {
    pub id: i64,
    pub workflow_id: i64,
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub uuid: String,
    pub state: String,
    pub handler: Option<String>,
    pub pool: String,
    pub claim_token: i64,
    /// JSON: step order index → dataset id.
    pub inputs: String,
    /// JSON: step order index → parameter overrides.
    pub parameters: String,
    pub info: Option<String>,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workflow_invocation)]
pub struct NewInvocation<'a> {
    pub workflow_id: i64,
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub uuid: &'a str,
    pub state: &'a str,
    /// Set when the invocation goes straight to a named scheduler (all-in-one: itself).
    pub handler: Option<&'a str>,
    pub pool: &'a str,
    pub claim_token: i64,
    pub inputs: &'a str,
    pub parameters: &'a str,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

/// One scheduled step: its job (tool steps) or its dataset (input steps).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workflow_invocation_step)]
pub struct StepRow {
    pub id: i64,
    pub invocation_id: i64,
    pub order_index: i32,
    pub job_id: Option<i64>,
    pub dataset_id: Option<i64>,
    pub create_time: NaiveDateTime,
}

pub fn create_invocation(conn: &mut DbConn, new: &NewInvocation<'_>) -> DbResult<InvocationRow> {
    db_tx!(conn, |c| {
        Ok(diesel::insert_into(workflow_invocation::table)
            .values(new)
            .returning(InvocationRow::as_returning())
            .get_result(c)?)
    })
}

pub fn find_invocation(conn: &mut DbConn, id: i64) -> DbResult<Option<InvocationRow>> {
    db_run!(conn, |c| {
        Ok(workflow_invocation::table
            .find(id)
            .select(InvocationRow::as_select())
            .first(c)
            .optional()?)
    })
}

/// Filters of `GET /api/invocations`.
#[derive(Debug, Default, Clone)]
pub struct InvocationFilter {
    pub user_id: Option<i64>,
    pub workflow_id: Option<i64>,
    pub history_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Invocations, newest first.
pub fn list_invocations(conn: &mut DbConn, f: &InvocationFilter) -> DbResult<Vec<InvocationRow>> {
    db_run!(conn, |c| {
        let mut q = workflow_invocation::table
            .select(InvocationRow::as_select())
            .into_boxed();
        if let Some(u) = f.user_id {
            q = q.filter(workflow_invocation::user_id.eq(u));
        }
        if let Some(w) = f.workflow_id {
            q = q.filter(workflow_invocation::workflow_id.eq(w));
        }
        if let Some(h) = f.history_id {
            q = q.filter(workflow_invocation::history_id.eq(h));
        }
        Ok(q.order(workflow_invocation::id.desc())
            .limit(f.limit)
            .offset(f.offset)
            .load(c)?)
    })
}

/// A step as the API shows it: the row, and its job's state and update time.
pub type StepView = (StepRow, Option<(JobState, NaiveDateTime)>);

pub fn invocation_steps(conn: &mut DbConn, invocation_id: i64) -> DbResult<Vec<StepView>> {
    db_run!(conn, |c| {
        Ok(workflow_invocation_step::table
            .left_join(job::table.on(job::id.nullable().eq(workflow_invocation_step::job_id)))
            .filter(workflow_invocation_step::invocation_id.eq(invocation_id))
            .order(workflow_invocation_step::order_index)
            .select((
                StepRow::as_select(),
                (job::state, job::update_time).nullable(),
            ))
            .load(c)?)
    })
}

/// The outputs of an invocation's jobs: (step order index, output name, dataset id, state).
pub fn invocation_outputs(
    conn: &mut DbConn,
    invocation_id: i64,
) -> DbResult<Vec<(i32, String, i64, DatasetState)>> {
    db_run!(conn, |c| {
        Ok(workflow_invocation_step::table
            .inner_join(
                job_to_output_dataset::table
                    .on(workflow_invocation_step::job_id
                        .eq(job_to_output_dataset::job_id.nullable())),
            )
            .inner_join(dataset::table.on(dataset::id.eq(job_to_output_dataset::dataset_id)))
            .filter(workflow_invocation_step::invocation_id.eq(invocation_id))
            .order((
                workflow_invocation_step::order_index,
                job_to_output_dataset::id,
            ))
            .select((
                workflow_invocation_step::order_index,
                job_to_output_dataset::name,
                dataset::id,
                dataset::state,
            ))
            .load(c)?)
    })
}

macro_rules! claim_ids_body {
    ($c:ident, $ids:ident, $me:ident, $t:ident) => {{
        if $ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::id.eq_any($ids))
                .filter(workflow_invocation::state.eq(NEW)),
        )
        .set((
            workflow_invocation::state.eq(READY),
            workflow_invocation::handler.eq($me),
            workflow_invocation::claim_token.eq(workflow_invocation::claim_token + 1),
            workflow_invocation::update_time.eq($t),
        ))
        .returning((workflow_invocation::id, workflow_invocation::claim_token))
        .get_results($c)?)
    }};
}

/// Claims up to `limit` unscheduled invocations for `me`: those waiting in one of `pools`
/// and those assigned to `me`. Each becomes `ready`, held by `me`, with a new claim token;
/// returns (id, token).
pub fn claim_invocations(
    conn: &mut DbConn,
    me: &str,
    pools: &[String],
    limit: i64,
) -> DbResult<Vec<(i64, i64)>> {
    let t = now();
    // The partial index's own predicate, as literals: SQLite uses `ix_wfi_unscheduled` only
    // for a query that repeats it, and PostgreSQL's generic plans cannot see through binds.
    let unscheduled = || {
        diesel::dsl::sql::<diesel::sql_types::Bool>("workflow_invocation.state IN ('new', 'ready')")
    };
    let unclaimed = workflow_invocation::handler
        .is_null()
        .and(workflow_invocation::pool.eq_any(pools))
        .or(workflow_invocation::handler.eq(me));
    match conn {
        DbConn::Pg(pooled) => {
            let c: &mut diesel::PgConnection = pooled;
            c.transaction(|c| {
                crate::db::RelaxedCommit::relax_commit(c)?;
                let ids: Vec<i64> = workflow_invocation::table
                    .filter(unscheduled())
                    .filter(workflow_invocation::state.eq(NEW))
                    .filter(unclaimed)
                    .order(workflow_invocation::id)
                    .limit(limit)
                    .select(workflow_invocation::id)
                    .for_update()
                    .skip_locked()
                    .load(c)?;
                claim_ids_body!(c, ids, me, t)
            })
        }
        DbConn::Sqlite(pooled) => {
            let c: &mut diesel::SqliteConnection = pooled;
            c.immediate_transaction(|c| {
                let ids: Vec<i64> = workflow_invocation::table
                    .filter(unscheduled())
                    .filter(workflow_invocation::state.eq(NEW))
                    .filter(unclaimed)
                    .order(workflow_invocation::id)
                    .limit(limit)
                    .select(workflow_invocation::id)
                    .load(c)?;
                claim_ids_body!(c, ids, me, t)
            })
        }
    }
}

/// Hands every unscheduled invocation `holder` holds back to `pool` (new token): a scheduler
/// that stops cleanly, or one found dead. Only rows untouched since `before` (when given)
/// move, so an invocation just given to a process that is starting is left to it.
pub fn return_to_pool(
    conn: &mut DbConn,
    holder: &str,
    pool: &str,
    before: Option<NaiveDateTime>,
) -> DbResult<usize> {
    let t = now();
    let before = before.unwrap_or(t);
    db_run!(conn, |c| {
        Ok(diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::handler.eq(holder))
                .filter(workflow_invocation::state.eq_any([NEW, READY]))
                .filter(workflow_invocation::update_time.le(before)),
        )
        .set((
            workflow_invocation::state.eq(NEW),
            workflow_invocation::handler.eq(None::<String>),
            workflow_invocation::pool.eq(pool),
            workflow_invocation::claim_token.eq(workflow_invocation::claim_token + 1),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?)
    })
}

/// Makes the `ready` invocations `me` holds claimable again (`new`, still assigned to `me`,
/// the next claim bumps the token): called by a scheduler when none of its scheduling steps
/// is running, after one failed on the database or at start.
pub fn release_own_ready(conn: &mut DbConn, me: &str) -> DbResult<usize> {
    let t = now();
    db_run!(conn, |c| {
        Ok(diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::handler.eq(me))
                .filter(workflow_invocation::state.eq(READY)),
        )
        .set((
            workflow_invocation::state.eq(NEW),
            workflow_invocation::claim_token.eq(workflow_invocation::claim_token + 1),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?)
    })
}

/// The processes holding unscheduled invocations, with how many each holds.
pub fn holders(conn: &mut DbConn) -> DbResult<Vec<(String, i64)>> {
    db_run!(conn, |c| {
        let rows: Vec<(Option<String>, i64)> = workflow_invocation::table
            .filter(workflow_invocation::state.eq_any([NEW, READY]))
            .filter(workflow_invocation::handler.is_not_null())
            .group_by(workflow_invocation::handler)
            .select((
                workflow_invocation::handler,
                diesel::dsl::count(workflow_invocation::id),
            ))
            .load(c)?;
        Ok(rows
            .into_iter()
            .filter_map(|(h, n)| Some((h?, n)))
            .collect())
    })
}

/// Moves invocations that waited unclaimed in `from` since before `before` to `to` (no live
/// process is in `from` to schedule them).
pub fn repool(conn: &mut DbConn, from: &str, to: &str, before: NaiveDateTime) -> DbResult<usize> {
    let t = now();
    db_run!(conn, |c| {
        Ok(diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::pool.eq(from))
                .filter(workflow_invocation::handler.is_null())
                .filter(workflow_invocation::state.eq(NEW))
                .filter(workflow_invocation::update_time.lt(before)),
        )
        .set((
            workflow_invocation::pool.eq(to),
            workflow_invocation::claim_token.eq(workflow_invocation::claim_token + 1),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?)
    })
}

/// Ends a held invocation `failed` with `info`, if `me` still holds it with `token`.
pub fn fail_invocation(
    conn: &mut DbConn,
    id: i64,
    me: &str,
    token: i64,
    info: &str,
) -> DbResult<bool> {
    let t = now();
    db_run!(conn, |c| {
        let n = diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::id.eq(id))
                .filter(workflow_invocation::handler.eq(me))
                .filter(workflow_invocation::claim_token.eq(token))
                .filter(workflow_invocation::state.eq(READY)),
        )
        .set((
            workflow_invocation::state.eq(FAILED),
            workflow_invocation::info.eq(info),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?;
        Ok(n == 1)
    })
}

/// Cancels an invocation that has not ended: it becomes `cancelled` and loses its scheduler
/// (new token, so a scheduler working on it cannot schedule it any more). Returns the job ids
/// of its steps, whose unfinished jobs the caller cancels; `None` when it had already ended
/// (`cancelled` or `failed`).
pub fn cancel_invocation(conn: &mut DbConn, id: i64) -> DbResult<Option<Vec<i64>>> {
    let t = now();
    db_tx!(conn, |c| {
        let n = diesel::update(
            workflow_invocation::table
                .filter(workflow_invocation::id.eq(id))
                .filter(workflow_invocation::state.eq_any([NEW, READY, SCHEDULED, CANCELLING])),
        )
        .set((
            workflow_invocation::state.eq(CANCELLED),
            workflow_invocation::handler.eq(None::<String>),
            workflow_invocation::claim_token.eq(workflow_invocation::claim_token + 1),
            workflow_invocation::update_time.eq(t),
        ))
        .execute(c)?;
        if n == 0 {
            return Ok(None);
        }
        let jobs: Vec<Option<i64>> = workflow_invocation_step::table
            .filter(workflow_invocation_step::invocation_id.eq(id))
            .select(workflow_invocation_step::job_id)
            .load(c)?;
        Ok(Some(jobs.into_iter().flatten().collect()))
    })
}

/// How many invocations are in each state (for tests and the benchmark's checks).
pub fn count_by_state(conn: &mut DbConn) -> DbResult<Vec<(String, i64)>> {
    db_run!(conn, |c| {
        Ok(workflow_invocation::table
            .group_by(workflow_invocation::state)
            .select((
                workflow_invocation::state,
                diesel::dsl::count(workflow_invocation::id),
            ))
            .load(c)?)
    })
}
