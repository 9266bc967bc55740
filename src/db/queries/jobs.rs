//! Jobs: creation with their output datasets, and the fenced state changes. Every change a
//! handler makes after claiming a job is conditional on the job's `claim_token`, so a handler
//! that lost a job can never start or finish it.

use diesel::prelude::*;

use crate::db::models::{Dataset, Job, JobInput, JobOutput, NewJobStateHistory};
use crate::db::schema::{
    dataset, job, job_state_history, job_to_input_dataset, job_to_output_dataset,
};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbError, DbResult, RelaxedCommit, now};
use crate::{db_run, db_tx};

/// The states of the jobs in `ix_job_handler_active` (the jobs being worked on,
/// [`JobState::ACTIVE`]); its predicate, word for word.
const ACTIVE: &str = "job.state IN ('new', 'queued', 'running', 'deleting')";

/// `job.state IN (…)` with the states written out as literals, and, when they are all active
/// states, the index's own predicate beside them: SQLite uses a partial index only for a query
/// that repeats its predicate, and a bound value hides the implication from PostgreSQL's
/// generic plans.
fn state_in(
    states: &[JobState],
) -> DbResult<diesel::expression::SqlLiteral<diesel::sql_types::Bool>> {
    if states.is_empty() {
        return Err(DbError::Migration("an empty list of job states".into()));
    }
    let own = in_list("job.state", states);
    Ok(diesel::dsl::sql(
        &if states.iter().all(|s| JobState::ACTIVE.contains(s)) {
            format!("{ACTIVE} AND {own}")
        } else {
            own
        },
    ))
}

/// `column IN ('a', 'b')`, the states written out as literals.
fn in_list(column: &str, states: &[JobState]) -> String {
    let list: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
    format!("{column} IN ({})", list.join(", "))
}

/// What a new job needs.
#[derive(Clone)]
pub struct JobSpec<'a> {
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub tool_id: &'a str,
    pub tool_version: &'a str,
    /// Initial state (`new`, or `queued` for server-side uploads).
    pub state: JobState,
    pub handler: Option<&'a str>,
    /// The pool tag an unclaimed job waits in.
    pub handler_tag: Option<&'a str>,
    pub params: &'a str,
    pub destination_id: Option<&'a str>,
    pub client_address: Option<&'a str>,
    /// (input name, dataset id)
    pub inputs: Vec<(String, i64)>,
    /// (output name, dataset name, extension)
    pub outputs: Vec<(String, String, String)>,
}

/// Inserts the job, its output datasets (state `queued`, hids allocated in the history), the
/// links and the first state-history row, in one transaction (multi-row inserts).
///
/// On PostgreSQL the hids are reserved first, in a statement of their own that does not wait
/// for the WAL flush: the history row is then locked for that one statement only, not across
/// the job's durable commit, so concurrent submissions to one history commit together (group
/// commit) instead of one fsync after the other. It stays safe: the job's commit flushes the
/// WAL past the reservation, so a durable job never has hids that a crash could hand out
/// again; a crash between the two only leaves a gap in the hids. On SQLite (one writer at a
/// time anyway) the reservation stays inside the transaction.
pub fn create_job(
    conn: &mut DbConn,
    spec: &JobSpec<'_>,
) -> DbResult<(Job, Vec<(String, Dataset)>)> {
    create_job_notify(conn, spec, None)
}

/// [`create_job`], and on PostgreSQL a NOTIFY with `notify` as payload sent by the same
/// transaction (delivered at its commit). On PostgreSQL the job and everything with it is one
/// statement (`create_pg`).
pub fn create_job_notify(
    conn: &mut DbConn,
    spec: &JobSpec<'_>,
    notify: Option<&str>,
) -> DbResult<(Job, Vec<(String, Dataset)>)> {
    let t = now();
    let n = spec.outputs.len() as i64;
    if let DbConn::Pg(c) = conn {
        let counter = if n > 0 {
            reserve_hids_pg(c, spec.history_id, n, t)?
        } else {
            0
        };
        return super::create_pg::create_job(c, spec, counter, t, notify);
    }
    // SQLite: the mapped-run path with one job and no collection (one transaction, the hids
    // reserved inside it: there is one writer at a time anyway).
    let run = super::collections::MappedRun {
        history_id: spec.history_id,
        user_id: spec.user_id,
        jobs: vec![spec.clone()],
        collections: Vec::new(),
    };
    let created = super::collections::create_mapped_run(conn, &run)?;
    match (
        created.jobs.into_iter().next(),
        created.outputs.into_iter().next(),
    ) {
        (Some(job), outputs) => Ok((job, outputs.unwrap_or_default())),
        (None, _) => Err(DbError::Query(diesel::result::Error::NotFound)),
    }
}

/// Reserves `n` hids in a history (PostgreSQL): one statement, its own transaction, committed
/// without waiting for the WAL flush (see [`create_job`]). Returns the new counter: the
/// reserved hids are `counter - n .. counter`.
fn reserve_hids_pg(
    c: &mut diesel::PgConnection,
    history_id: i64,
    n: i64,
    t: chrono::NaiveDateTime,
) -> DbResult<i64> {
    use diesel::sql_types::{BigInt, Timestamp};
    #[derive(QueryableByName)]
    struct Counter {
        #[diesel(sql_type = BigInt)]
        hid_counter: i64,
    }
    let row: Counter = diesel::sql_query(
        "WITH cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v) \
         UPDATE history SET hid_counter = hid_counter + $1, update_time = $2 \
         FROM cfg WHERE history.id = $3 RETURNING hid_counter",
    )
    .bind::<BigInt, _>(n)
    .bind::<Timestamp, _>(t)
    .bind::<BigInt, _>(history_id)
    .get_result(c)?;
    Ok(row.hid_counter)
}

pub fn find_job(conn: &mut DbConn, id: i64) -> DbResult<Option<Job>> {
    db_run!(conn, |c| {
        Ok(job::table
            .find(id)
            .select(Job::as_select())
            .first(c)
            .optional()?)
    })
}

/// Filters for listing jobs.
#[derive(Debug, Default, Clone)]
pub struct JobFilter {
    pub user_id: Option<i64>,
    pub states: Vec<JobState>,
    pub tool_id: Option<String>,
    pub history_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
    /// Order by `update_time` (default) or `create_time`, newest first.
    pub order_by_create: bool,
}

pub fn list_jobs(conn: &mut DbConn, f: &JobFilter) -> DbResult<Vec<Job>> {
    db_run!(conn, |c| {
        let mut q = job::table.select(Job::as_select()).into_boxed();
        if let Some(u) = f.user_id {
            q = q.filter(job::user_id.eq(u));
        }
        if !f.states.is_empty() {
            // Literals, not a bound list: the planner then knows how few rows the states
            // select and uses ix_job_history_state, whatever the history holds.
            q = q.filter(state_in(&f.states)?);
        }
        if let Some(t) = &f.tool_id {
            q = q.filter(job::tool_id.eq(t));
        }
        if let Some(h) = f.history_id {
            q = q.filter(job::history_id.eq(h));
        }
        q = if f.order_by_create {
            q.order((job::create_time.desc(), job::id.desc()))
        } else {
            q.order((job::update_time.desc(), job::id.desc()))
        };
        Ok(q.limit(f.limit).offset(f.offset).load(c)?)
    })
}

pub fn job_inputs(conn: &mut DbConn, job_id: i64) -> DbResult<Vec<(JobInput, Dataset)>> {
    db_run!(conn, |c| {
        Ok(job_to_input_dataset::table
            .inner_join(dataset::table)
            .filter(job_to_input_dataset::job_id.eq(job_id))
            .order(job_to_input_dataset::id)
            .select((JobInput::as_select(), Dataset::as_select()))
            .load(c)?)
    })
}

pub fn job_outputs(conn: &mut DbConn, job_id: i64) -> DbResult<Vec<(JobOutput, Dataset)>> {
    db_run!(conn, |c| {
        Ok(job_to_output_dataset::table
            .inner_join(dataset::table)
            .filter(job_to_output_dataset::job_id.eq(job_id))
            .order(job_to_output_dataset::id)
            .select((JobOutput::as_select(), Dataset::as_select()))
            .load(c)?)
    })
}

/// Jobs held by `handler` in one of `states`, oldest first.
///
/// One query per state, each an exact range of `ix_job_handler_active`: with the states as a
/// list the scan may take only `handler` from the index and filter the states.
pub fn handler_jobs(
    conn: &mut DbConn,
    handler: &str,
    states: &[JobState],
    limit: i64,
) -> DbResult<Vec<Job>> {
    let mut jobs = Vec::new();
    for state in states {
        let state = state_in(&[*state])?;
        let some: Vec<Job> = db_run!(conn, |c| {
            job::table
                .filter(job::handler.eq(handler))
                .filter(state.clone())
                .order(job::id)
                .limit(limit)
                .select(Job::as_select())
                .load(c)
        })?;
        jobs.extend(some);
    }
    jobs.sort_unstable_by_key(|j| j.id);
    jobs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(jobs)
}

/// What a handler's reconciliation needs of a job it holds.
#[derive(Debug, Clone)]
pub struct Held {
    pub id: i64,
    pub claim_token: i64,
    pub state: JobState,
    pub external_id: Option<String>,
    pub create_time: chrono::NaiveDateTime,
    /// Set once a runner took the job (a cluster job may be `queued` and submitted).
    pub runner: Option<String>,
    pub destination_id: Option<String>,
}

/// The `queued` and `running` jobs `handler` holds (at most `limit`, oldest first), without
/// their parameters and output: read every half heartbeat interval.
pub fn held_jobs(conn: &mut DbConn, handler: &str, limit: i64) -> DbResult<Vec<Held>> {
    let mut held = Vec::new();
    for state in [JobState::Queued, JobState::Running] {
        let in_state = state_in(&[state])?;
        type Row = (
            i64,
            i64,
            JobState,
            Option<String>,
            chrono::NaiveDateTime,
            Option<String>,
            Option<String>,
        );
        let some: Vec<Row> = db_run!(conn, |c| {
            job::table
                .filter(job::handler.eq(handler))
                .filter(in_state.clone())
                .order(job::id)
                .limit(limit)
                .select((
                    job::id,
                    job::claim_token,
                    job::state,
                    job::job_runner_external_id,
                    job::create_time,
                    job::job_runner_name,
                    job::destination_id,
                ))
                .load(c)
        })?;
        held.extend(some.into_iter().map(
            |(id, claim_token, state, external_id, create_time, runner, destination_id)| Held {
                id,
                claim_token,
                state,
                external_id,
                create_time,
                runner,
                destination_id,
            },
        ));
    }
    held.sort_unstable_by_key(|j| j.id);
    held.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(held)
}

/// Claims a `new` job held by `handler`: `new` → `queued` and a new fencing token, in one
/// statement. `None` when the job is no longer this handler's or no longer new.
pub fn claim_job(conn: &mut DbConn, job_id: i64, handler: &str) -> DbResult<Option<i64>> {
    let t = now();
    db_tx!(conn, |c| {
        c.relax_commit()?;
        let token: Option<i64> = diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::handler.eq(handler))
                .filter(job::state.eq(JobState::New)),
        )
        .set((
            job::state.eq(JobState::Queued),
            job::claim_token.eq(job::claim_token + 1),
            job::update_time.eq(t),
        ))
        .returning(job::claim_token)
        .get_result(c)
        .optional()?;
        if token.is_some() {
            let hist = NewJobStateHistory {
                job_id,
                state: JobState::Queued,
                handler: Some(handler),
                create_time: t,
            };
            diesel::insert_into(job_state_history::table)
                .values(&hist)
                .execute(c)?;
        }
        Ok(token)
    })
}

/// Moves a job that has not started (`new`, `queued`, `paused`) straight to `state` (`paused`
/// or `deleted`) with its outputs; a `running` job asked to be deleted becomes `deleting` so
/// its handler kills it. Returns the job's state afterwards.
pub fn stop_unstarted_or_mark(
    conn: &mut DbConn,
    job_id: i64,
    state: JobState,
) -> DbResult<Option<JobState>> {
    let t = now();
    let (result, outputs_failed) = db_tx!(conn, |c| {
        let current: Option<(JobState, Option<String>)> = job::table
            .find(job_id)
            .select((job::state, job::job_runner_name))
            .first(c)
            .optional()?;
        let Some((current, runner)) = current else {
            return Ok((None, false));
        };
        use JobState as J;
        let (job_state, ds_state) = match (current, state) {
            // Submitted to a cluster and waiting there: its handler cancels it.
            (J::Queued, J::Deleted) if runner.is_some() => (J::Deleting, None),
            (J::New | J::Queued | J::Paused, J::Deleted) => {
                (J::Deleted, Some(DatasetState::Discarded))
            }
            (J::New, J::Paused) => (J::Paused, Some(DatasetState::Paused)),
            (J::Running, J::Deleted) => (J::Deleting, None),
            _ => return Ok((Some(current), false)),
        };
        diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::state.eq(current)),
        )
        .set((job::state.eq(job_state), job::update_time.eq(t)))
        .execute(c)?;
        if let Some(ds_state) = ds_state {
            diesel::update(dataset::table.filter(dataset::creating_job_id.eq(job_id)))
                .set((
                    dataset::state.eq(ds_state),
                    dataset::deleted.eq(job_state == JobState::Deleted),
                    dataset::update_time.eq(t),
                ))
                .execute(c)?;
        }
        let hist = NewJobStateHistory {
            job_id,
            state: job_state,
            handler: None,
            create_time: t,
        };
        diesel::insert_into(job_state_history::table)
            .values(&hist)
            .execute(c)?;
        Ok((Some(job_state), ds_state.is_some()))
    })?;
    if outputs_failed {
        super::pause::pause_dependents(conn, &[job_id])?;
    }
    Ok(result)
}

/// Hands back this handler's claimed-but-unstarted jobs (`queued` → `new`, token bumped) so
/// a later claim starts them; used on graceful stop. A job already submitted to a cluster
/// (`queued` there, its runner set) stays: it is adopted, never submitted again.
pub fn release_unstarted(conn: &mut DbConn, handler: &str) -> DbResult<usize> {
    let t = now();
    let queued = state_in(&[JobState::Queued])?;
    db_tx!(conn, |c| {
        Ok(diesel::update(
            job::table
                .filter(job::handler.eq(handler))
                .filter(queued.clone())
                .filter(job::job_runner_name.is_null()),
        )
        .set((
            job::state.eq(JobState::New),
            job::claim_token.eq(job::claim_token + 1),
            job::update_time.eq(t),
        ))
        .execute(c)?)
    })
}

/// Counts of jobs by state (for the dashboard and metrics), of one user or of everyone.
pub fn count_by_state(conn: &mut DbConn, user_id: Option<i64>) -> DbResult<Vec<(JobState, i64)>> {
    db_run!(conn, |c| {
        let mut q = job::table
            .group_by(job::state)
            .select((job::state, diesel::dsl::count_star()))
            .into_boxed();
        if let Some(u) = user_id {
            q = q.filter(job::user_id.eq(u));
        }
        Ok(q.load(c)?)
    })
}

/// The server-side upload's own `queued` → `running` step; returns the token to finish with.
pub fn claim_queued_upload(conn: &mut DbConn, job_id: i64) -> DbResult<i64> {
    db_run!(conn, |c| {
        Ok(diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::state.eq(JobState::Queued)),
        )
        .set((
            job::state.eq(JobState::Running),
            job::claim_token.eq(job::claim_token + 1),
            job::job_runner_name.eq("upload"),
        ))
        .returning(job::claim_token)
        .get_result(c)?)
    })
}

/// A running job taken over from another handler.
#[derive(Debug, Clone)]
pub struct Adopted {
    pub id: i64,
    pub claim_token: i64,
    pub external_id: Option<String>,
    pub destination_id: Option<String>,
}

/// Hands a handler's unstarted jobs (`new`, `queued` and not submitted to a cluster) back to a
/// pool: unclaimed, token bumped, in tag `fallback_tag` when they had none. Returns how many.
pub fn return_to_pool(
    conn: &mut DbConn,
    from: &str,
    fallback_tag: &str,
    force_tag: Option<&str>,
) -> DbResult<usize> {
    let t = now();
    let unstarted = state_in(&[JobState::New, JobState::Queued])?;
    db_tx!(conn, |c| {
        let rows: Vec<(i64, Option<String>)> = job::table
            .filter(job::handler.eq(from))
            .filter(unstarted.clone())
            .filter(job::job_runner_name.is_null())
            .select((job::id, job::handler_tag))
            .load(c)?;
        for (id, tag) in &rows {
            let tag = force_tag
                .map(str::to_string)
                .or_else(|| tag.clone())
                .unwrap_or_else(|| fallback_tag.to_string());
            diesel::update(
                job::table
                    .filter(job::id.eq(id))
                    .filter(job::handler.eq(from))
                    .filter(job::state.eq_any([JobState::New, JobState::Queued]))
                    .filter(job::job_runner_name.is_null()),
            )
            .set((
                job::handler.eq(None::<String>),
                job::handler_tag.eq(tag),
                job::state.eq(JobState::New),
                job::claim_token.eq(job::claim_token + 1),
                job::update_time.eq(t),
            ))
            .execute(c)?;
        }
        Ok(rows.len())
    })
}

/// Takes over a dead handler's started jobs (`running`, `deleting`, and `queued` ones already
/// submitted to a cluster): owner changed and token bumped in one statement, so the old
/// handler can no longer finish them.
pub fn adopt_started(conn: &mut DbConn, from: &str, to: &str) -> DbResult<Vec<Adopted>> {
    let t = now();
    let started = state_in(&[JobState::Queued, JobState::Running, JobState::Deleting])?;
    db_tx!(conn, |c| {
        let rows: Vec<(i64, i64, Option<String>, Option<String>)> = diesel::update(
            job::table
                .filter(job::handler.eq(from))
                .filter(started.clone())
                .filter(
                    job::state
                        .ne(JobState::Queued)
                        .or(job::job_runner_name.is_not_null()),
                ),
        )
        .set((
            job::handler.eq(to),
            job::claim_token.eq(job::claim_token + 1),
            job::update_time.eq(t),
        ))
        .returning((
            job::id,
            job::claim_token,
            job::job_runner_external_id,
            job::destination_id,
        ))
        .get_results(c)?;
        Ok(rows
            .into_iter()
            .map(|(id, claim_token, external_id, destination_id)| Adopted {
                id,
                claim_token,
                external_id,
                destination_id,
            })
            .collect())
    })
}

/// Jobs held per handler, for `/api/handlers`.
pub fn held_by_handler(conn: &mut DbConn) -> DbResult<Vec<(Option<String>, JobState, i64)>> {
    let active = state_in(&JobState::ACTIVE)?;
    db_run!(conn, |c| {
        Ok(job::table
            .filter(active.clone())
            .group_by((job::handler, job::state))
            .select((job::handler, job::state, diesel::dsl::count_star()))
            .load(c)?)
    })
}

/// Handlers that hold jobs being worked on but have no process row: stopped cleanly (their
/// row is removed) and not back. Jobs of `except_tool` (uploads, which the web process writes
/// itself) are not counted.
pub fn absent_holders(conn: &mut DbConn, except_tool: &str) -> DbResult<Vec<String>> {
    use crate::db::schema::worker_process;
    let active = state_in(&JobState::ACTIVE)?;
    db_run!(conn, |c| {
        let names: Vec<Option<String>> = job::table
            .filter(active.clone())
            .filter(job::handler.is_not_null())
            .filter(job::tool_id.ne(except_tool))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                worker_process::table
                    .filter(worker_process::server_name.nullable().eq(job::handler)),
            )))
            .select(job::handler)
            .distinct()
            .load(c)?;
        Ok(names.into_iter().flatten().collect())
    })
}

/// A job whose process never started (its handler stopped between marking it `running`, or
/// submitting it to a cluster, and starting it) goes back to its pool, unclaimed, token
/// bumped, its runner forgotten.
pub fn requeue_unstarted(conn: &mut DbConn, job_id: i64, token: i64) -> DbResult<bool> {
    let t = now();
    db_tx!(conn, |c| {
        let n = diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::claim_token.eq(token))
                .filter(job::state.eq_any([JobState::Running, JobState::Queued])),
        )
        .set((
            job::state.eq(JobState::New),
            job::job_runner_name.eq(None::<String>),
            job::job_runner_external_id.eq(None::<String>),
            job::handler.eq(None::<String>),
            job::handler_tag.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >("COALESCE(handler_tag, '_default_')")),
            job::claim_token.eq(job::claim_token + 1),
            job::update_time.eq(t),
        ))
        .execute(c)?;
        if n == 1 {
            diesel::update(
                dataset::table
                    .filter(dataset::creating_job_id.eq(job_id))
                    .filter(dataset::state.eq(DatasetState::Running)),
            )
            .set(dataset::state.eq(DatasetState::Queued))
            .execute(c)?;
        }
        Ok(n == 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_active_predicate_names_the_active_states() {
        assert_eq!(ACTIVE, in_list("job.state", &JobState::ACTIVE));
    }

    #[test]
    fn state_lists_are_literals() {
        let sql = |s: &[JobState]| {
            let q = job::table.select(job::id).filter(state_in(s).unwrap());
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&q).to_string()
        };
        assert!(
            sql(&[JobState::Queued]).contains(&format!("{ACTIVE} AND job.state IN ('queued')"))
        );
        let done = sql(&[JobState::Ok, JobState::Error]);
        assert!(done.contains("job.state IN ('ok', 'error')"), "{done}");
        assert!(!done.contains(ACTIVE), "{done}");
        assert!(state_in(&[]).is_err());
    }
}
