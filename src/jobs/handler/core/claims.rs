//! How a handler takes jobs: one claim function for every scope (its pools' unclaimed jobs,
//! the jobs assigned to it, one assigned job), with or without concurrency limits, and one
//! path from a claim to a running job (`launch`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::FutureExt as _;

use super::{HandlerCore, log_unless_outage};
use crate::db::DbConn;
use crate::db::queries::claim::{self, ClaimMethod, Claimed};
use crate::db::queries::jobs as q;
use crate::db::queries::limits::{self, ClaimLimits, Scope};
use crate::jobs::JobError;
use crate::jobs::states::{InputsReadiness, JobState};

/// What a claim takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wanted {
    /// Ready, unclaimed jobs of this handler's pool tags (up to `max_grab`).
    Pool,
    /// Ready `new` jobs assigned to this handler (up to `max_grab`). Under concurrency limits
    /// none: each is looked at and claimed on its own (`AssignedJob`), within the limits.
    Assigned,
    /// One `new` job assigned to this handler, whose inputs were just found ready.
    AssignedJob {
        id: i64,
        created: chrono::NaiveDateTime,
    },
}

/// Everything a claim needs, copied out of the handler for a blocking thread.
struct ClaimSpec {
    handler: String,
    tags: Vec<String>,
    method: ClaimMethod,
    max_grab: i64,
    limits: ClaimLimits,
}

/// Claims what `wanted` names, in one statement (one serialized transaction under limits):
/// each claimed job goes `new` → `queued` with this handler as owner and a new token.
fn claim_on(c: &mut DbConn, spec: &ClaimSpec, wanted: Wanted) -> Result<Vec<Claimed>, JobError> {
    let limited = !spec.limits.is_empty();
    let (handler, tags) = (spec.handler.as_str(), spec.tags.as_slice());
    Ok(match wanted {
        Wanted::Pool if !claim::has_unclaimed(c, tags)? => Vec::new(),
        Wanted::Pool if limited => {
            limits::claim_limited(c, handler, Scope::Pool(tags), spec.max_grab, &spec.limits)?
        }
        Wanted::Pool => claim::claim_pool_jobs(c, spec.method, handler, tags, spec.max_grab)?,
        Wanted::Assigned if limited => Vec::new(),
        Wanted::Assigned => claim::claim_own_jobs(c, handler, spec.max_grab)?,
        Wanted::AssignedJob { id, .. } if limited => {
            limits::claim_limited(c, handler, Scope::Own(id), 1, &spec.limits)?
        }
        Wanted::AssignedJob { id, created } => q::claim_job(c, id, handler)?
            .map(|claim_token| Claimed {
                id,
                claim_token,
                create_time: created,
            })
            .into_iter()
            .collect(),
    })
}

impl HandlerCore {
    fn claim_spec(&self) -> ClaimSpec {
        ClaimSpec {
            handler: self.env.server_name.clone(),
            tags: self.tags.clone(),
            method: self.claim,
            max_grab: self.max_grab,
            limits: self.limits.clone(),
        }
    }

    /// Claims what `wanted` names; when a claim takes as many as it may, another pass follows.
    pub(super) async fn claim(&self, wanted: Wanted) -> Result<Vec<Claimed>, JobError> {
        let spec = self.claim_spec();
        let started = std::time::Instant::now();
        let claimed = self
            .env
            .blocking(move |c| claim_on(c, &spec, wanted))
            .await?;
        if claimed.len() as i64 == self.max_grab {
            self.wake();
        }
        if let Some(m) = crate::metrics::get().filter(|_| !claimed.is_empty()) {
            m.claim_latency
                .with_label_values(&[self.env.server_name.as_str()])
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(claimed)
    }

    /// Runs jobs this handler has just claimed: each is marked busy here before anything else
    /// can look at it, then run in its own task.
    pub(super) fn launch(self: &Arc<Self>, claimed: Vec<Claimed>) {
        self.record_claimed(&claimed);
        for job in claimed {
            if !self.lock_busy().insert(job.id) {
                // Something here is already working on it; if that ends without running it,
                // the reconciliation finds the claimed job and runs it.
                log::warn!("(job {}) claimed while already busy here", job.id);
                continue;
            }
            let core = self.clone();
            actix::spawn(async move {
                let running = core.run_with_slot(job.id, job.claim_token, None);
                core.while_busy(job.id, running).await
            });
        }
    }

    /// Counts claimed jobs and their pickup latency (creation → claim) in the metrics.
    fn record_claimed(&self, claimed: &[Claimed]) {
        let Some(m) = crate::metrics::get().filter(|_| !claimed.is_empty()) else {
            return;
        };
        let name = self.env.server_name.as_str();
        m.jobs_claimed
            .with_label_values(&[name])
            .inc_by(claimed.len() as u64);
        let now = crate::db::now();
        for j in claimed {
            let age = (now - j.create_time).num_microseconds().unwrap_or(0) as f64 / 1e6;
            m.pickup_latency
                .with_label_values(&[name])
                .observe(age.max(0.0));
        }
    }

    /// A job was just assigned to this handler (mem-self). Without concurrency limits the
    /// next pass claims it with the other ready jobs assigned here; under limits it is looked
    /// at on its own, within them.
    pub fn job_created(self: &Arc<Self>, job_id: i64) {
        if self.limits.is_empty() {
            self.wake();
        } else {
            let core = self.clone();
            actix::spawn(async move { core.consider(job_id).await });
        }
    }

    /// Looks at one `new` job assigned here: it waits for its inputs, pauses (an input
    /// failed), or is claimed and launched.
    pub(super) async fn consider(self: Arc<Self>, job_id: i64) {
        if self.stopping.load(Ordering::SeqCst) || !self.lock_busy().insert(job_id) {
            return;
        }
        let looked = AssertUnwindSafe(self.persist(|| self.look_at(job_id)))
            .catch_unwind()
            .await;
        // Not busy any more: `launch` marks it again, with no await in between.
        self.lock_busy().remove(&job_id);
        match looked {
            Ok(Ok(claimed)) => self.launch(claimed),
            Ok(Err(e)) => log_unless_outage(&format!("(job {job_id})"), &e),
            Err(_) => log::error!("(job {job_id}) panicked while looked at; it stays recoverable"),
        }
    }

    async fn look_at(&self, job_id: i64) -> Result<Vec<Claimed>, JobError> {
        let spec = self.claim_spec();
        self.env
            .blocking(move |c| {
                let Some(job) = q::find_job(c, job_id)? else {
                    return Ok(Vec::new());
                };
                if job.state != JobState::New || job.handler.as_deref() != Some(&spec.handler) {
                    return Ok(Vec::new());
                }
                let inputs = q::job_inputs(c, job_id)?;
                match InputsReadiness::of(inputs.iter().map(|(_, d)| (d.state, d.deleted))) {
                    InputsReadiness::Wait => Ok(Vec::new()),
                    InputsReadiness::Failed => {
                        q::stop_unstarted_or_mark(c, job_id, JobState::Paused)?;
                        Ok(Vec::new())
                    }
                    InputsReadiness::Ready => {
                        let wanted = Wanted::AssignedJob {
                            id: job_id,
                            created: job.create_time,
                        };
                        claim_on(c, &spec, wanted)
                    }
                }
            })
            .await
    }
}
