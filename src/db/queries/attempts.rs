//! A job's attempts on a runner: marked as handed to a cluster before it is submitted (so that
//! nothing returns it to a pool and submits it twice), and resubmitted — to the same or
//! another environment — when its runner reported a failure its environment resubmits on.
//! Both fenced by the claim token, both committed durably.

use diesel::prelude::*;

use crate::db::schema::{dataset, job, job_state_history};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

/// A claimed (`queued`) job is about to be submitted to a cluster: its runner and command are
/// recorded and it stays `queued` (the cluster's queue) until the cluster runs it. From now
/// on it is never handed back to a pool: a handler that takes it over looks it up on the
/// cluster. `false` when the job is no longer this claim's.
pub fn mark_submitted(
    conn: &mut DbConn,
    job_id: i64,
    token: i64,
    runner: &str,
    command: &str,
) -> DbResult<bool> {
    let t = now();
    db_run!(conn, |c| {
        let n = diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::claim_token.eq(token))
                .filter(job::state.eq(JobState::Queued)),
        )
        .set((
            job::job_runner_name.eq(runner),
            job::command_line.eq(command),
            job::update_time.eq(t),
        ))
        .execute(c)?;
        Ok(n == 1)
    })
}

/// Sends a job that its runner failed back to `queued` for another attempt in `environment`:
/// attempt + 1, runner and external id cleared, outputs `queued` again, a new token (the
/// one returned), and a `queued` state-history row saying why. It stays this handler's.
/// `None` when the job is no longer this claim's.
pub fn resubmit(
    conn: &mut DbConn,
    job_id: i64,
    token: i64,
    handler: &str,
    environment: &str,
    info: &str,
) -> DbResult<Option<i64>> {
    let t = now();
    db_tx!(conn, |c| {
        let new_token: Option<i64> = diesel::update(
            job::table
                .filter(job::id.eq(job_id))
                .filter(job::claim_token.eq(token))
                .filter(job::state.eq_any([JobState::Queued, JobState::Running])),
        )
        .set((
            job::state.eq(JobState::Queued),
            job::destination_id.eq(environment),
            job::attempt.eq(job::attempt + 1),
            job::job_runner_name.eq(None::<String>),
            job::job_runner_external_id.eq(None::<String>),
            job::claim_token.eq(job::claim_token + 1),
            job::info.eq(info),
            job::update_time.eq(t),
        ))
        .returning(job::claim_token)
        .get_result(c)
        .optional()?;
        if new_token.is_some() {
            diesel::update(
                dataset::table
                    .filter(dataset::creating_job_id.eq(job_id))
                    .filter(dataset::state.eq(DatasetState::Running)),
            )
            .set((
                dataset::state.eq(DatasetState::Queued),
                dataset::update_time.eq(t),
            ))
            .execute(c)?;
            diesel::insert_into(job_state_history::table)
                .values((
                    job_state_history::job_id.eq(job_id),
                    job_state_history::state.eq(JobState::Queued),
                    job_state_history::handler.eq(handler),
                    job_state_history::create_time.eq(t),
                    job_state_history::info.eq(info),
                ))
                .execute(c)?;
        }
        Ok(new_token)
    })
}

/// When a job was first queued and last marked running (for resubmission conditions).
pub fn times(
    conn: &mut DbConn,
    job_id: i64,
) -> DbResult<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)> {
    db_run!(conn, |c| {
        let queued: Option<chrono::NaiveDateTime> = job_state_history::table
            .filter(job_state_history::job_id.eq(job_id))
            .filter(job_state_history::state.eq(JobState::Queued))
            .select(diesel::dsl::min(job_state_history::create_time))
            .first(c)?;
        let running: Option<chrono::NaiveDateTime> = job_state_history::table
            .filter(job_state_history::job_id.eq(job_id))
            .filter(job_state_history::state.eq(JobState::Running))
            .select(diesel::dsl::max(job_state_history::create_time))
            .first(c)?;
        Ok((queued, running))
    })
}
