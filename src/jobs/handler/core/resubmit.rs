//! Resubmission, as Galaxy's `resubmit` on environments: when a runner fails a job (walltime,
//! memory, anything else it saw — not the tool's own non-zero exit), the first of its
//! environment's `resubmit` rules whose condition holds sends it back to `queued` for another
//! attempt, in the rule's environment (or the same one), after the rule's delay.

use std::sync::Arc;

use super::HandlerCore;
use super::run::Again;
use crate::config::FailureFacts;
use crate::db::queries::attempts;
use crate::jobs::runners::{Failure, FailureKind, JobSpec};

/// Attempts a job may have in all, whatever the rules say: a rule that always holds must
/// not resubmit a job for ever.
const MOST_ATTEMPTS: i32 = 10;

impl HandlerCore {
    /// Sends the job back for another attempt if a rule of its environment says so; `None`:
    /// it ends as it is.
    pub(super) async fn resubmit_after(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        spec: &JobSpec,
        failure: &Failure,
    ) -> Option<Again> {
        let rules = &spec.execution.resubmit;
        if rules.is_empty() || failure.kind == FailureKind::Cancelled {
            return None;
        }
        if spec.attempt >= MOST_ATTEMPTS {
            log::warn!("(job {job_id}) not resubmitted: {MOST_ATTEMPTS} attempts already");
            return None;
        }
        let times = self
            .persist(|| self.env.blocking(move |c| Ok(attempts::times(c, job_id)?)))
            .await
            .unwrap_or((None, None));
        let now = crate::db::now();
        let secs = |t: Option<chrono::NaiveDateTime>| {
            t.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        };
        let facts = FailureFacts {
            walltime_reached: failure.kind == FailureKind::Walltime,
            memory_limit_reached: failure.kind == FailureKind::Memory,
            unknown_error: failure.kind == FailureKind::Unknown,
            attempt: u32::try_from(spec.attempt).unwrap_or(1),
            seconds_since_queued: secs(times.0),
            seconds_running: secs(times.1),
        };
        let rule = rules
            .iter()
            .find(|r| r.condition.as_ref().is_none_or(|c| c.eval(&facts)))?;
        // An environment id, or a tag: the first environment carrying it.
        let conf = &self.env.job_conf;
        let target = match rule.environment.as_deref() {
            None => spec.execution.environment.clone(),
            Some(id) if conf.environments.contains_key(id) => id.to_string(),
            Some(tag) => conf
                .environments
                .values()
                .find(|e| e.tags.iter().any(|t| t == tag))
                .map_or_else(|| spec.execution.environment.clone(), |e| e.id.clone()),
        };
        let info = format!(
            "{}; resubmitted as attempt {} to environment `{target}`",
            failure.message,
            spec.attempt + 1
        );
        let handler = self.env.server_name.clone();
        let resubmitted = self
            .persist(|| {
                let (handler, target, info) = (handler.clone(), target.clone(), info.clone());
                self.env.blocking(move |c| {
                    Ok(attempts::resubmit(
                        c, job_id, token, &handler, &target, &info,
                    )?)
                })
            })
            .await;
        match resubmitted {
            Ok(Some(token)) => {
                log::warn!("(job {job_id}) {info}");
                Some(Again {
                    token,
                    delay: rule.delay,
                })
            }
            Ok(None) => None,
            Err(e) => {
                log::error!("(job {job_id}) resubmitting: {e}");
                None
            }
        }
    }
}
