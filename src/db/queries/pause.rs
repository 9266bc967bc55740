//! Pausing the jobs that can never run: when a job ends without `ok` outputs, the `new` jobs
//! waiting on those outputs are paused at once (and the jobs waiting on theirs, and so on),
//! so no handler has to scan its waiting jobs for failed inputs.

use diesel::prelude::*;

use crate::db::models::NewJobStateHistory;
use crate::db::schema::{dataset, job, job_state_history, job_to_input_dataset};
use crate::db::{DbConn, DbResult, now};
use crate::db_tx;

/// Dataset states that will never become `ok` (a job waiting on one can never run).
pub const FAILED_DATASET_STATES: [&str; 5] =
    ["error", "paused", "discarded", "failed_metadata", "deleted"];

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
                    .filter(job::state.eq("new")),
            )
            .set((job::state.eq("paused"), job::update_time.eq(t)))
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
                    state: "paused",
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
                    .filter(dataset::state.eq_any(["new", "queued"])),
            )
            .set((dataset::state.eq("paused"), dataset::update_time.eq(t)))
            .returning(dataset::id)
            .get_results(c)?;
        }
        Ok(total)
    })
}
