//! The workflow scheduler: in every process that schedules (a handler in the
//! `workflow-schedulers` pool, a job handler in `job-handlers`, an all-in-one process), a task
//! that claims invocations (fenced, like jobs), schedules each in one transaction
//! (`db::queries::invocations::schedule`) and takes over the invocations of schedulers whose
//! heartbeat stopped. Woken at once by a new invocation (in-process, or NOTIFY with the pool's
//! name); `workflow_monitor_sleep` is the fallback poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Workflow, WorkflowError};
use crate::db::queries::invocations::{self as q, Schedule};
use crate::db::queries::{notify, workers, workflows};
use crate::db::{DbConn, DbError};
use crate::jobs::{HandlerSet, JobError, JobsEnv};

/// Galaxy's pool of workflow schedulers.
pub const WORKFLOW_SCHEDULERS: &str = "workflow-schedulers";
/// The default job handlers' pool: schedules invocations when no workflow scheduler is live.
pub const JOB_HANDLERS: &str = "job-handlers";

/// Invocations claimed per pass.
const CLAIM_BATCH: i64 = 32;
/// Invocations scheduled at once by one process.
const PARALLEL: usize = 4;

/// The pools whose invocations a process schedules: a member of `workflow-schedulers`
/// schedules those and the ones left to `job-handlers`; a default job handler only the
/// latter; a web process none.
pub fn scheduler_pools(handles_jobs: bool, pools: &[String]) -> Vec<String> {
    if !handles_jobs {
        return Vec::new();
    }
    let has = |p: &str| pools.iter().any(|x| x == p);
    if has(WORKFLOW_SCHEDULERS) {
        vec![WORKFLOW_SCHEDULERS.to_string(), JOB_HANDLERS.to_string()]
    } else if has(JOB_HANDLERS) {
        vec![JOB_HANDLERS.to_string()]
    } else {
        Vec::new()
    }
}

pub(super) struct Shared {
    pub(super) name: String,
    pools: Vec<String>,
    /// All-in-one: new invocations are given to this process directly.
    assign_self: bool,
    wake: tokio::sync::Notify,
    stopping: AtomicBool,
    /// A scheduling step failed on the database: its invocation, still `ready` and held by
    /// this process, is made claimable again at the next pass.
    retry: AtomicBool,
}

/// What the web workers and the root supervisor hold of this process's scheduler (nothing
/// when it does not schedule).
#[derive(Clone, Default)]
pub struct SchedulerHandle {
    shared: Option<Arc<Shared>>,
}

impl SchedulerHandle {
    pub fn schedules(&self) -> bool {
        self.shared.is_some()
    }

    /// Wakes the scheduler now.
    pub fn wake(&self) {
        if let Some(s) = &self.shared {
            s.wake.notify_one();
        }
    }

    /// Whether a NOTIFY payload (a pool name, this process's name or `*`) is for it.
    pub fn wants(&self, payload: &str) -> bool {
        self.shared.as_ref().is_some_and(|s| {
            payload == "*" || payload == s.name || s.pools.iter().any(|p| p == payload)
        })
    }

    /// Where a new invocation goes: (scheduler name, pool). All-in-one: to itself; else to
    /// `workflow-schedulers` when a live process is in it, else to `job-handlers`.
    pub fn assign(
        &self,
        conn: &mut DbConn,
        heartbeat_interval: f64,
    ) -> Result<(Option<String>, &'static str), DbError> {
        if let Some(s) = &self.shared
            && s.assign_self
        {
            return Ok((Some(s.name.clone()), JOB_HANDLERS));
        }
        Ok((None, live_pool(conn, heartbeat_interval)?))
    }

    /// Stops scheduling and hands back the invocations this process holds unscheduled.
    pub async fn shutdown(&self, env: &JobsEnv) {
        let Some(s) = self.shared.clone() else {
            return;
        };
        s.stopping.store(true, Ordering::SeqCst);
        s.wake.notify_one();
        let interval = env.settings.galaxy.heartbeat_interval;
        let result = env
            .blocking(move |c| {
                let pool = live_pool(c, interval)?;
                Ok(q::return_to_pool(c, &s.name, pool, None)?)
            })
            .await;
        match result {
            Ok(0) => {}
            Ok(n) => log::info!("handed {n} unscheduled invocation(s) back to their pool"),
            Err(e) => log::warn!("could not hand back unscheduled invocations: {e}"),
        }
    }
}

/// `workflow-schedulers` when a live, non-draining process is in it, else `job-handlers`.
fn live_pool(conn: &mut DbConn, heartbeat_interval: f64) -> Result<&'static str, DbError> {
    let live = workers::live_workers(conn, 3.0 * heartbeat_interval)?;
    let any = live.iter().any(|w| {
        w.mode != "web"
            && !w.draining
            && serde_json::from_str::<Vec<String>>(&w.pools)
                .unwrap_or_default()
                .iter()
                .any(|p| p == WORKFLOW_SCHEDULERS)
    });
    Ok(if any {
        WORKFLOW_SCHEDULERS
    } else {
        JOB_HANDLERS
    })
}

/// A parsed workflow with its steps in scheduling order.
type Prepared = Arc<(Workflow, Vec<usize>)>;

/// The scheduling task of one process.
pub struct Scheduler {
    pub(super) env: JobsEnv,
    handlers: HandlerSet,
    pub(super) shared: Arc<Shared>,
    /// Parsed workflows with their step order, by id (a stored workflow never changes).
    cache: Mutex<HashMap<i64, Prepared>>,
}

impl Scheduler {
    /// A scheduler for `pools` (from [`scheduler_pools`]); `None` when there are none.
    pub fn new(
        env: JobsEnv,
        handlers: HandlerSet,
        pools: Vec<String>,
        assign_self: bool,
    ) -> Option<(Arc<Scheduler>, SchedulerHandle)> {
        if pools.is_empty() {
            return None;
        }
        let shared = Arc::new(Shared {
            name: env.server_name.clone(),
            pools,
            assign_self,
            wake: tokio::sync::Notify::new(),
            stopping: AtomicBool::new(false),
            // At start: any `ready` invocation this name holds is a previous life's.
            retry: AtomicBool::new(true),
        });
        let handle = SchedulerHandle {
            shared: Some(shared.clone()),
        };
        let s = Arc::new(Scheduler {
            env,
            handlers,
            shared,
            cache: Mutex::new(HashMap::new()),
        });
        Some((s, handle))
    }

    /// Claims and schedules until the process stops.
    pub async fn run(self: Arc<Self>) {
        let sleep = Duration::from_secs_f64(self.env.settings.galaxy.workflow_monitor_sleep);
        let interval =
            Duration::from_secs_f64(self.env.settings.galaxy.heartbeat_interval.max(0.1));
        let mut last_takeover: Option<Instant> = None;
        log::info!(
            "workflow scheduler started for pools {}",
            self.shared.pools.join(", ")
        );
        while !self.shared.stopping.load(Ordering::SeqCst) {
            if last_takeover.is_none_or(|t| t.elapsed() >= interval) {
                last_takeover = Some(Instant::now());
                let me = self.clone();
                if let Err(e) = self.env.blocking(move |c| me.take_over(c)).await {
                    log_db("invocation takeover", &e);
                }
            }
            // No scheduling task is running here: any `ready` invocation this process holds
            // is one whose scheduling failed (or a previous life's), to be claimed again.
            if self.shared.retry.swap(false, Ordering::SeqCst) {
                let me = self.clone();
                let released = self
                    .env
                    .blocking(move |c| Ok(q::release_own_ready(c, &me.shared.name)?))
                    .await;
                match released {
                    Ok(0) => {}
                    Ok(n) => log::info!("{n} invocation(s) to schedule again"),
                    Err(e) => {
                        self.shared.retry.store(true, Ordering::SeqCst);
                        log_db("releasing invocations", &e);
                    }
                }
            }
            let me = self.clone();
            let claimed = match self
                .env
                .blocking(move |c| {
                    Ok(q::claim_invocations(
                        c,
                        &me.shared.name,
                        &me.shared.pools,
                        CLAIM_BATCH,
                    )?)
                })
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    log_db("claiming invocations", &e);
                    Vec::new()
                }
            };
            let full = claimed.len() as i64 == CLAIM_BATCH;
            for chunk in claimed.chunks(PARALLEL) {
                let tasks: Vec<_> = chunk
                    .iter()
                    .map(|&(id, token)| {
                        let me = self.clone();
                        tokio::task::spawn_blocking(move || me.schedule_one(id, token))
                    })
                    .collect();
                for t in tasks {
                    if let Err(e) = t.await {
                        log::error!("scheduling task failed: {e}");
                    }
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = self.shared.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Gives back to a pool the unscheduled invocations of processes that are not live (3
    /// missed heartbeats, or stopped and gone), and, when no workflow scheduler is live,
    /// moves the invocations waiting for one to `job-handlers`.
    fn take_over(&self, c: &mut DbConn) -> Result<(), JobError> {
        let interval = self.env.settings.galaxy.heartbeat_interval;
        let max_age = 3.0 * interval;
        let live: Vec<String> = workers::live_workers(c, max_age)?
            .into_iter()
            .map(|w| w.server_name)
            .collect();
        let cutoff = crate::db::now() - chrono::Duration::milliseconds((max_age * 1000.0) as i64);
        let pool = live_pool(c, interval)?;
        for (holder, n) in q::holders(c)? {
            if holder == self.shared.name || live.contains(&holder) {
                continue;
            }
            let moved = q::return_to_pool(c, &holder, pool, Some(cutoff))?;
            if moved > 0 {
                log::warn!(
                    "took over {moved} of {n} unscheduled invocation(s) of `{holder}` (no heartbeat): back to the {pool} pool"
                );
                self.shared.wake.notify_one();
            }
        }
        if pool == JOB_HANDLERS && self.shared.pools.iter().any(|p| p == JOB_HANDLERS) {
            let moved = q::repool(c, WORKFLOW_SCHEDULERS, JOB_HANDLERS, cutoff)?;
            if moved > 0 {
                log::warn!(
                    "no workflow scheduler is live: {moved} invocation(s) moved to the job-handlers pool"
                );
                self.shared.wake.notify_one();
            }
        }
        Ok(())
    }

    pub(super) fn workflow(&self, c: &mut DbConn, id: i64) -> Result<Prepared, JobError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(w) = cache.get(&id)
        {
            return Ok(w.clone());
        }
        let row = workflows::find_workflow(c, id)?
            .ok_or_else(|| JobError::Internal(format!("workflow {id} not found")))?;
        let doc: Value = serde_json::from_str(&row.definition)
            .map_err(|e| JobError::Internal(format!("workflow {id}: {e}")))?;
        let wf = super::ga::parse(&doc).map_err(|e| JobError::Internal(e.to_string()))?;
        let order = super::validate(&wf, &self.env.toolbox)
            .map_err(|e| JobError::Internal(e.to_string()))?;
        let w = Arc::new((wf, order));
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(id, w.clone());
        }
        Ok(w)
    }

    /// Schedules one claimed invocation; a plan that cannot be made fails it, naming the step.
    fn schedule_one(&self, id: i64, token: i64) {
        let started = Instant::now();
        let result = self
            .env
            .pool
            .get()
            .map_err(JobError::from)
            .and_then(|mut c| {
                let plan = self.plan(&mut c, id, token);
                let outcome = match plan {
                    Ok(Ok(mut s)) => {
                        if crate::faults::due("scheduler-stall-in-transaction") {
                            log::warn!("(invocation {id}) fault: stalling before the commit");
                            s.stall_before_commit = true;
                        }
                        Outcome::Scheduled(q::schedule(&mut c, &s)?, s)
                    }
                    Ok(Err(e)) => {
                        let failed = q::fail_invocation(
                            &mut c,
                            id,
                            &self.shared.name,
                            token,
                            &e.to_string(),
                        )?;
                        Outcome::Failed(e, failed)
                    }
                    // The database failed: retried at the next pass (`release_own_ready`).
                    Err(e @ JobError::Db(_)) => return Err(e),
                    // Anything else will not get better: the invocation fails, saying why.
                    Err(e) => {
                        let e = WorkflowError::general(e.to_string());
                        let failed = q::fail_invocation(
                            &mut c,
                            id,
                            &self.shared.name,
                            token,
                            &e.to_string(),
                        )?;
                        Outcome::Failed(e, failed)
                    }
                };
                Ok((outcome, c))
            });
        match result {
            Ok((Outcome::Scheduled(Some(jobs), s), mut c)) => {
                log::debug!(
                    "(invocation {id}) scheduled {} step job(s) in {:.1} ms",
                    jobs.len(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
                self.dispatch(&mut c, &s, &jobs);
            }
            Ok((Outcome::Scheduled(None, _), _)) => {
                log::info!("(invocation {id}) no longer this scheduler's: not scheduled");
            }
            Ok((Outcome::Failed(e, true), _)) => log::warn!("(invocation {id}) failed: {e}"),
            Ok((Outcome::Failed(_, false), _)) => {}
            Err(e) => {
                self.shared.retry.store(true, Ordering::SeqCst);
                log_db(&format!("(invocation {id}) scheduling"), &e);
            }
        }
    }

    /// Wakes the job handlers of the new jobs: this process's own (mailbox or pool) and the
    /// others' (NOTIFY with the tag or handler name).
    fn dispatch(&self, c: &mut DbConn, s: &Schedule, jobs: &[crate::db::models::Job]) {
        let mut payloads: Vec<&str> = Vec::new();
        let mut wake_own = false;
        for (planned, job) in s.jobs.iter().zip(jobs) {
            match (&planned.handler, &planned.handler_tag) {
                (Some(h), _) if *h == self.shared.name => self.handlers.job_created(job.id),
                (Some(h), _) => payloads.push(h),
                (None, Some(tag)) => {
                    payloads.push(tag);
                    wake_own = true;
                }
                (None, None) => {}
            }
        }
        if wake_own {
            self.handlers.wake_all();
        }
        payloads.sort_unstable();
        payloads.dedup();
        for p in payloads {
            if let Err(e) = notify::new_job(c, p) {
                log::warn!("could not notify handlers `{p}`: {e}");
            }
        }
    }
}

enum Outcome {
    Scheduled(Option<Vec<crate::db::models::Job>>, Schedule),
    Failed(WorkflowError, bool),
}

fn log_db(what: &str, e: &JobError) {
    match e {
        JobError::Db(d) if d.is_unavailable() => log::debug!("{what}: {e}"),
        _ => log::warn!("{what}: {e}"),
    }
}
