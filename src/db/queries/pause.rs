//! What a job's end means for the jobs waiting on its outputs: when it ends without `ok`
//! outputs they are paused at once (and the jobs waiting on theirs, and so on); when it ends
//! `ok`, those whose inputs are now all ok become ready to be claimed. No handler has to scan
//! its waiting jobs for either.

use diesel::prelude::*;

use crate::db::models::NewJobStateHistory;
use crate::db::schema::{dataset, job, job_state_history, job_to_input_dataset};
use crate::db::states::{DatasetState, JobState};
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

/// Pauses the `new` jobs that wait on outputs of `jobs` (which ended without `ok` outputs),
/// with their outputs, transitively. Returns how many jobs were paused.
pub fn pause_dependents(conn: &mut DbConn, jobs: &[i64]) -> DbResult<usize> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let t = now();
    db_tx!(conn, |c| {
        let mut frontier: Vec<i64> = dataset::table
            .filter(dataset::creating_job_id.eq_any(jobs))
            .select(dataset::id)
            .load(c)?;
        let mut total = 0;
        while !frontier.is_empty() {
            let waiting: Vec<i64> = job_to_input_dataset::table
                .filter(job_to_input_dataset::dataset_id.eq_any(&frontier))
                .select(job_to_input_dataset::job_id)
                .load(c)?;
            if waiting.is_empty() {
                break;
            }
            let paused: Vec<i64> = diesel::update(
                job::table
                    .filter(job::id.eq_any(&waiting))
                    .filter(job::state.eq(JobState::New)),
            )
            .set((job::state.eq(JobState::Paused), job::update_time.eq(t)))
            .returning(job::id)
            .get_results(c)?;
            if paused.is_empty() {
                break;
            }
            total += paused.len();
            let rows: Vec<NewJobStateHistory<'_>> = paused
                .iter()
                .map(|&job_id| NewJobStateHistory {
                    job_id,
                    state: JobState::Paused,
                    handler: None,
                    create_time: t,
                })
                .collect();
            diesel::insert_into(job_state_history::table)
                .values(&rows)
                .execute(c)?;
            frontier = diesel::update(
                dataset::table
                    .filter(dataset::creating_job_id.eq_any(&paused))
                    .filter(dataset::state.eq_any([DatasetState::New, DatasetState::Queued])),
            )
            .set((
                dataset::state.eq(DatasetState::Paused),
                dataset::update_time.eq(t),
            ))
            .returning(dataset::id)
            .get_results(c)?;
        }
        Ok(total)
    })
}

/// Marks ready the `new` jobs waiting on outputs of `jobs` (which ended `ok`) whose inputs are
/// now all ok, and wakes the handlers of their pools. Returns how many became ready.
pub fn mark_dependents_ready(conn: &mut DbConn, jobs: &[i64]) -> DbResult<usize> {
    if jobs.is_empty() {
        return Ok(0);
    }
    // The readiness test of the claims, on `job` itself.
    let all_inputs_ok = super::claim::READY.replace("j.id", "job.id");
    let tags: Vec<Option<String>> = db_run!(conn, |c| {
        let outputs = dataset::table
            .filter(dataset::creating_job_id.eq_any(jobs))
            .select(dataset::id);
        let waiting = job_to_input_dataset::table
            .filter(job_to_input_dataset::dataset_id.eq_any(outputs))
            .select(job_to_input_dataset::job_id);
        diesel::update(
            job::table
                .filter(job::id.eq_any(waiting))
                .filter(job::state.eq(JobState::New))
                .filter(job::inputs_ready.eq(false))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&all_inputs_ok)),
        )
        .set(job::inputs_ready.eq(true))
        .returning(job::handler_tag)
        .get_results(c)
    })?;
    let mut woken = std::collections::BTreeSet::new();
    for tag in tags.iter().flatten() {
        if woken.insert(tag.clone()) {
            super::notify::new_job(conn, tag)?;
        }
    }
    Ok(tags.len())
}
