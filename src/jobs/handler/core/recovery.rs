//! What a handler does about jobs it did not start itself: a dead handler's jobs (unstarted
//! ones back to the pool, started ones adopted), its own jobs after a restart, and draining.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::HandlerCore;
use super::run::Watched;
use crate::db::models::Job;
use crate::db::queries::jobs as q;
use crate::db::queries::transitions::ExternalId;
use crate::db::queries::{notify, workers};
use crate::jobs::JobError;
use crate::jobs::assign::{DEFAULT_TAG, tags_of_pools};
use crate::jobs::states::JobState;

impl HandlerCore {
    /// Follows a started job this handler now owns (taken over, or its own after a restart)
    /// until it ends, then finishes it from its exit-code file — never submitted again.
    /// `external_id` is its recorded process id or cluster job id, if any; without one the
    /// job's runner looks for it (a local job's pid file, a Slurm job by its name), and a job
    /// never started goes back to its pool. `same_host`: a local job's process can be seen.
    pub(super) fn adopt(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        external_id: Option<&str>,
        same_host: bool,
    ) {
        if !self.lock_busy().insert(job_id) {
            return;
        }
        let external_id = external_id
            .filter(|e| !e.is_empty() && *e != "0")
            .map(str::to_string);
        log::info!(
            "(job {job_id}) adopting started job ({})",
            external_id.as_deref().unwrap_or("no external id yet")
        );
        let core = self.clone();
        actix::spawn(async move {
            let watching = core.follow_adopted(job_id, token, external_id, same_host);
            core.while_busy(job_id, watching).await
        });
    }

    /// The watch of an adopted job (see `adopt`), while it is busy here.
    async fn follow_adopted(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        external_id: Option<String>,
        same_host: bool,
    ) -> Result<(), JobError> {
        let job = self
            .persist(|| self.env.blocking(move |c| Ok(q::find_job(c, job_id)?)))
            .await?;
        let Some(job) = job.filter(|j| j.claim_token == token) else {
            return Ok(());
        };
        let (execution, plugin) = self.runners.for_environment(job.destination_id.as_deref());
        let spec = self.spec(&job, execution);
        let runner = plugin.runner.clone();
        let external_id = match external_id {
            Some(e) => e,
            None => match runner.find(spec.clone()).await {
                Ok(Some(found)) => {
                    if !found.is_empty() {
                        let row = ExternalId {
                            id: job_id,
                            tok: token,
                            ext: found.clone(),
                        };
                        let _ = self
                            .persist(|| self.transitions.record_pid(row.clone()))
                            .await;
                    }
                    found
                }
                Ok(None) => {
                    let requeue = || {
                        self.env
                            .blocking(move |c| Ok(q::requeue_unstarted(c, job_id, token)?))
                    };
                    if self.persist(requeue).await? {
                        log::warn!(
                            "(job {job_id}) never started before its handler stopped: back to its pool"
                        );
                    }
                    self.wake();
                    return Ok(());
                }
                Err(e) => {
                    // Left as it is: the reconciliation looks again.
                    return Err(JobError::Io(format!("looking the job up: {e}")));
                }
            },
        };
        self.lock_running().insert(
            job_id,
            Watched {
                runner: runner.clone(),
                execution: spec.execution.clone(),
                external_id: external_id.clone(),
            },
        );
        let progress = runner.watch(spec.clone(), external_id, same_host);
        let url = job.job_runner_name.clone().unwrap_or_else(|| runner.url());
        let command = job.command_line.clone().unwrap_or_default();
        let running = job.state == JobState::Running;
        let again = self
            .follow(token, &spec, progress, running, (&url, &command), None)
            .await;
        if let Some(again) = again {
            if let Some(delay) = again.delay {
                tokio::time::sleep(delay).await;
            }
            self.run_with_slot(job_id, again.token, None).await?;
        }
        Ok(())
    }

    /// Compares the jobs the database says this handler holds (`queued`, `running`) with those
    /// it is working on, and resumes any it lost track of (a step that failed for good, a
    /// claim whose answer never arrived): a claimed job is run, a started one adopted —
    /// finished from its exit-code file, or put back if it never started. A job is acted on
    /// only when it was unaccounted for at the previous reconciliation too, so one just being
    /// picked up or put down is left alone. Its token fences every step, as usual.
    pub(super) async fn reconcile(self: &Arc<Self>) -> Result<(), JobError> {
        const MOST: i64 = 10_000;
        if self.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let name = self.env.server_name.clone();
        let held = self
            .env
            .blocking(move |c| Ok(q::held_jobs(c, &name, MOST)?))
            .await?;
        let mut unaccounted = HashSet::new();
        let mut lost = Vec::new();
        {
            let previous = self.unaccounted.lock().unwrap_or_else(|p| p.into_inner());
            let busy = self.lock_busy();
            for job in held {
                if busy.contains(&job.id) {
                    continue;
                }
                let key = (job.id, job.claim_token);
                if previous.contains(&key) {
                    lost.push(job);
                } else {
                    unaccounted.insert(key);
                }
            }
        }
        *self.unaccounted.lock().unwrap_or_else(|p| p.into_inner()) = unaccounted;
        for job in lost {
            if job.state == JobState::Queued && job.runner.is_none() {
                log::warn!(
                    "(job {}) claimed here but not being run: running it",
                    job.id
                );
                self.launch(vec![crate::db::queries::claim::Claimed {
                    id: job.id,
                    claim_token: job.claim_token,
                    create_time: job.create_time,
                }]);
            } else {
                log::warn!("(job {}) running here but not watched: adopting it", job.id);
                let pid = job.external_id.as_deref();
                self.adopt(job.id, job.claim_token, pid, true);
            }
        }
        Ok(())
    }

    /// Takes over the jobs of handlers of this handler's tags that missed 3 heartbeats:
    /// unstarted ones go back to the pool (and are claimed as usual), started ones are
    /// adopted — never re-run, never failed because their handler died.
    pub(super) async fn take_over_dead(self: &Arc<Self>) -> Result<(), JobError> {
        let (me, tags) = (self.env.server_name.clone(), self.tags.clone());
        let max_age = 3.0 * self.env.settings.galaxy.heartbeat_interval;
        // After a database outage every handler's heartbeat is old: give them 3 intervals to
        // beat again before calling any of them dead.
        if crate::db::health::is_down()
            || crate::db::health::since_recovery().is_some_and(|d| d.as_secs_f64() < max_age)
        {
            return Ok(());
        }
        let host = crate::jobs::runners::local::hostname();
        let mut adopted = self
            .env
            .blocking(move |c| {
                let mut adopted = Vec::new();
                for dead in workers::dead_handlers(c, max_age)? {
                    let their_tags = tags_of_pools(
                        &serde_json::from_str::<Vec<String>>(&dead.pools).unwrap_or_default(),
                    );
                    let Some(shared) = their_tags.iter().find(|t| tags.contains(t)) else {
                        continue;
                    };
                    if dead.server_name == me {
                        continue;
                    }
                    let started = hand_over(
                        c,
                        &dead.server_name,
                        shared,
                        shared,
                        &me,
                        "missed 3 heartbeats",
                    )?;
                    workers::remove_dead_worker(c, &dead.server_name, dead.update_time)?;
                    adopted.extend(started.into_iter().map(|a| (a, dead.hostname == host)));
                }
                Ok(adopted)
            })
            .await?;
        adopted.extend(self.take_over_absent(max_age).await?);
        for (job, same_host) in adopted {
            let pid = job.external_id.as_deref();
            self.adopt(job.id, job.claim_token, pid, same_host);
        }
        Ok(())
    }

    /// Takes over the jobs of handlers that stopped cleanly (their process row is gone) and
    /// have not come back for 3 heartbeat intervals — a handler retired or scaled down:
    /// unstarted jobs go back to their pool (untagged ones to the default pool), started ones
    /// are adopted and finished from their exit-code file. A handler restarted under its old
    /// name within that time picks its jobs up itself.
    async fn take_over_absent(
        self: &Arc<Self>,
        max_age: f64,
    ) -> Result<Vec<(q::Adopted, bool)>, JobError> {
        let absent = self
            .env
            .blocking(|c| Ok(q::absent_holders(c, crate::tools::UPLOAD_TOOL_ID)?))
            .await?;
        let gone: Vec<String> = {
            let mut since = self.absent_since.lock().unwrap_or_else(|p| p.into_inner());
            since.retain(|name, _| absent.contains(name));
            let now = std::time::Instant::now();
            absent
                .into_iter()
                .filter(|name| name != self.name())
                .filter(|name| {
                    let first = *since.entry(name.clone()).or_insert(now);
                    now.duration_since(first).as_secs_f64() >= max_age
                })
                .collect()
        };
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let me = self.env.server_name.clone();
        self.env
            .blocking(move |c| {
                let mut adopted = Vec::new();
                for name in gone {
                    let why = "stopped and has not come back";
                    let started = hand_over(c, &name, DEFAULT_TAG, "*", &me, why)?;
                    // Its host is not known any more: the exit-code file tells the end.
                    adopted.extend(started.into_iter().map(|a| (a, false)));
                }
                Ok(adopted)
            })
            .await
    }

    /// Reads this process's `draining` flag (set by the admin API); a draining handler hands
    /// back its unstarted jobs once and claims nothing more.
    pub fn set_draining(&self, draining: bool) {
        if draining && !self.draining.swap(true, Ordering::SeqCst) {
            let (name, tag) = (
                self.env.server_name.clone(),
                self.tags
                    .first()
                    .cloned()
                    .unwrap_or_else(|| DEFAULT_TAG.to_string()),
            );
            match self
                .env
                .pool
                .get()
                .map_err(JobError::from)
                .and_then(|mut c| {
                    let n = q::return_to_pool(&mut c, &name, &tag, None)?;
                    let _ = notify::new_job(&mut c, &tag);
                    Ok(n)
                }) {
                Ok(n) => log::info!("draining: handed back {n} unstarted job(s)"),
                Err(e) => log::error!("draining: {e}"),
            }
        } else if !draining {
            self.draining.store(false, Ordering::SeqCst);
        }
    }

    /// On start: hands back claimed-but-unstarted jobs, and adopts started ones (running, or
    /// submitted to a cluster): finished from their exit-code file, or watched until they
    /// end. Never re-run.
    pub(super) async fn recover(self: Arc<Self>) -> Result<(), JobError> {
        let name = self.env.server_name.clone();
        let jobs: Vec<Job> = self
            .env
            .blocking(move |c| {
                q::release_unstarted(c, &name)?;
                // Left after that: started jobs, and jobs submitted to a cluster.
                let started = [JobState::Queued, JobState::Running];
                Ok(q::handler_jobs(c, &name, &started, i64::MAX)?)
            })
            .await?;
        for job in jobs {
            let pid = job.job_runner_external_id.as_deref();
            self.adopt(job.id, job.claim_token, pid, true);
        }
        Ok(())
    }
}

/// Takes `from`'s jobs: unstarted ones back to their pools (`fallback_tag` for untagged ones,
/// the handlers of `wake` woken), started ones to `me`, to be adopted; says so, and `why`.
fn hand_over(
    c: &mut crate::db::DbConn,
    from: &str,
    fallback_tag: &str,
    wake: &str,
    me: &str,
    why: &str,
) -> Result<Vec<q::Adopted>, JobError> {
    let returned = q::return_to_pool(c, from, fallback_tag, None)?;
    let started = q::adopt_started(c, from, me)?;
    log::warn!(
        "handler {from} {why}: {returned} unstarted job(s) back to their pools, {} running job(s) adopted",
        started.len()
    );
    if returned > 0 {
        let _ = notify::new_job(c, wake);
    }
    Ok(started)
}
