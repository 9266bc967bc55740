//! Cancelling a job (`DELETE /api/jobs/{id}`): one that has not started is deleted at once
//! with its outputs; a running one becomes `deleting`, and its handler kills its process
//! group and ends it `deleted` (told at once when it lives in this process, otherwise at its
//! next monitor pass).

use crate::db::DbConn;
use crate::db::models::Job;
use crate::db::queries::jobs as q;

use super::states::JobState;
use super::{HandlerSet, JobError};

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// It had not started: it is `deleted` now.
    Deleted,
    /// It is running: `deleting` until its handler has killed it.
    Deleting,
    /// It had already ended (or changed state meanwhile): nothing was done.
    Unchanged,
}

impl Cancelled {
    /// Whether the job is being, or has been, cancelled.
    pub fn took_effect(self) -> bool {
        !matches!(self, Cancelled::Unchanged)
    }
}

/// Asks for `job` to be cancelled and tells this process's handlers when it must be killed.
pub fn cancel(conn: &mut DbConn, handlers: &HandlerSet, job: &Job) -> Result<Cancelled, JobError> {
    if job.state.is_terminal() {
        return Ok(Cancelled::Unchanged);
    }
    let outcome = match q::stop_unstarted_or_mark(conn, job.id, JobState::Deleted)? {
        Some(JobState::Deleted) => Cancelled::Deleted,
        Some(JobState::Deleting) => Cancelled::Deleting,
        _ => Cancelled::Unchanged,
    };
    if outcome == Cancelled::Deleting {
        handlers.cancel(job.id);
    }
    Ok(outcome)
}
