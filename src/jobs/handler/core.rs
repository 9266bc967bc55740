//! What a handler does with its jobs: the monitor loop, claims (pool and assigned jobs),
//! inputs checks under limits, and cancels; running a claimed job is in `run`, jobs it did
//! not start itself (takeover, recovery, draining) in `recovery`. Every step after a claim is
//! fenced by the claim token.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use tokio::sync::Notify;

use crate::db::queries::claim::{self, ClaimMethod};
use crate::db::queries::jobs as q;
use crate::db::queries::limits::ClaimLimits;
use crate::jobs::assign::DRAIN_TAG;
use crate::jobs::runners::spare::SpareDirs;
use crate::jobs::runners::{LocalRunner, Runners, instance_tag};
use crate::jobs::states::JobState;
use crate::jobs::{JobError, JobsEnv};

use super::batch::Transitions;

mod claims;
mod command;
mod end;
mod recovery;
mod resubmit;
mod run;

use claims::Wanted;

/// Most `new` jobs looked at per monitor pass.
const SCAN_LIMIT: i64 = 1000;
/// Most pool jobs claimed per pass when the job conf sets no `max_grab`.
const DEFAULT_MAX_GRAB: i64 = 100;

/// A monitor pass panicked: the loop ended, for the actor's supervisor to start a new one.
#[derive(Debug)]
pub struct MonitorPanicked;

pub struct HandlerCore {
    env: JobsEnv,
    /// The local runner (it also keeps the spare job directories every runner's jobs use).
    local: LocalRunner,
    /// The job conf's runners, by id, each with its workers.
    runners: Runners,
    /// This installation's name on a shared cluster (see `runners::instance_tag`).
    instance: String,
    wake: Notify,
    /// Jobs this handler is working on right now (so one job is never handled twice here).
    busy: Mutex<HashSet<i64>>,
    /// Started jobs watched here: their runner and external id (to cancel them).
    running: Mutex<HashMap<i64, run::Watched>>,
    /// Whether this handler's jobs were recovered (once, when its first monitor loop began).
    recovered: AtomicBool,
    stopping: AtomicBool,
    /// Pool tags this handler claims unclaimed jobs from (empty: none).
    tags: Vec<String>,
    claim: ClaimMethod,
    max_grab: i64,
    draining: AtomicBool,
    last_takeover: Mutex<Instant>,
    last_reconcile: Mutex<Instant>,
    /// Handlers seen holding jobs with no process row, since when (see `take_over_dead`).
    absent_since: Mutex<HashMap<String, Instant>>,
    /// Jobs the database says this handler holds that it was not working on at the last
    /// reconciliation, with their tokens (acted on when seen so twice in a row).
    unaccounted: Mutex<HashSet<(i64, i64)>>,
    limits: ClaimLimits,
    walltime: Option<Duration>,
    /// Most `new` jobs of this handler looked at per pass (`ready_window_size`).
    ready_window: i64,
    /// Where the jobs' `running` marks, process ids and ends are applied, many per transaction.
    transitions: Transitions,
}

impl HandlerCore {
    pub fn new(env: JobsEnv, tags: Vec<String>, claim: ClaimMethod) -> Result<Arc<Self>, JobError> {
        let runner = env
            .job_conf
            .environments
            .get(&env.job_conf.default_environment)
            .and_then(|e| env.job_conf.runners.get(&e.runner));
        let workers = runner.map_or(4, |r| r.workers.max(1));
        let noop = crate::config::RunnerKind::Noop;
        if env.job_conf.runners.values().any(|r| r.kind == noop) {
            log::warn!(
                "the no-op runner is configured: jobs are marked ok without running (benchmarks only)"
            );
        }
        let (limits, walltime) = crate::jobs::limits::resolve(&env.job_conf);
        let transitions = Transitions::spawn(env.pool.clone(), &env.server_name)?;
        let local = LocalRunner {
            workers,
            spares: Arc::new(SpareDirs::new(
                &env.settings.galaxy.job_working_directory,
                (2 * workers).max(16),
            )),
        };
        let runners = Runners::new(env.job_conf.clone(), local.clone());
        Ok(Arc::new(HandlerCore {
            instance: instance_tag(&env.settings.galaxy.id_secret),
            local,
            runners,
            transitions,
            limits,
            walltime,
            ready_window: env
                .job_conf
                .handling
                .ready_window_size
                .map_or(SCAN_LIMIT, i64::from)
                .max(1),
            wake: Notify::new(),
            busy: Mutex::new(HashSet::new()),
            running: Mutex::new(HashMap::new()),
            recovered: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            last_takeover: Mutex::new(Instant::now()),
            last_reconcile: Mutex::new(Instant::now()),
            absent_since: Mutex::new(HashMap::new()),
            unaccounted: Mutex::new(HashSet::new()),
            max_grab: env
                .job_conf
                .handling
                .max_grab
                .map_or(DEFAULT_MAX_GRAB, i64::from)
                .max(1),
            tags: if tags.iter().any(|t| t == DRAIN_TAG) {
                Vec::new()
            } else {
                tags
            },
            claim,
            env,
        }))
    }

    pub fn name(&self) -> &str {
        &self.env.server_name
    }

    /// Asks the monitor loop for a pass now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let name = self.env.server_name.clone();
        match self
            .env
            .pool
            .get()
            .map_err(JobError::from)
            .and_then(|mut c| Ok(q::release_unstarted(&mut c, &name)?))
        {
            Ok(n) if n > 0 => log::info!("handed back {n} claimed but unstarted job(s)"),
            Ok(_) => {}
            Err(e) => log::error!("could not hand back unstarted jobs: {e}"),
        }
    }

    fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, run::Watched>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The monitor loop, run by the handler actor: recovers this handler's jobs the first time,
    /// then claims and looks at its jobs whenever woken or every `job_handler_monitor_sleep`.
    /// Returns when the handler stops, or with [`MonitorPanicked`] when a pass panicked: the
    /// actor then stops and its supervisor restarts it, with a new loop.
    pub async fn run_monitor(self: Arc<Self>) -> Result<(), MonitorPanicked> {
        if !self.recovered.swap(true, Ordering::SeqCst)
            && let Err(e) = self.persist(|| self.clone().recover()).await
        {
            log::error!("recovering jobs of handler {}: {e}", self.name());
        }
        let sleep =
            Duration::from_secs_f64(self.env.settings.galaxy.job_handler_monitor_sleep.max(0.01));
        while !self.stopping.load(Ordering::SeqCst) {
            match AssertUnwindSafe(self.clone().monitor_pass())
                .catch_unwind()
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log_unless_outage("job handler monitor", &e),
                Err(_) => {
                    log::error!("a monitor pass of handler {} panicked", self.name());
                    return Err(MonitorPanicked);
                }
            }
            let _ = tokio::time::timeout(sleep, self.wake.notified()).await;
        }
        Ok(())
    }

    async fn monitor_pass(self: Arc<Self>) -> Result<(), JobError> {
        if crate::faults::due("monitor-pass-panic") {
            panic!("injected fault: monitor-pass-panic");
        }
        let interval = self.env.settings.galaxy.heartbeat_interval;
        let takeover_due = every(&self.last_takeover, interval);
        if takeover_due
            && !self.tags.is_empty()
            && let Err(e) = self.take_over_dead().await
        {
            log_unless_outage("taking over dead handlers' jobs", &e);
        }
        if every(&self.last_reconcile, interval / 2.0)
            && let Err(e) = self.reconcile().await
        {
            log_unless_outage("reconciling this handler's jobs", &e);
        }
        if takeover_due {
            // A safety net, off the claim path: jobs are paused when an input fails and made
            // ready when their last input turns ok (see `pause`); this catches a job created
            // while its input was changing state.
            let (core, tags, name) = (
                self.clone(),
                self.tags.clone(),
                self.env.server_name.clone(),
            );
            actix::spawn(async move {
                let swept = core
                    .env
                    .blocking(move |c| {
                        if !tags.is_empty() {
                            claim::sweep_waiting_jobs(c, claim::Waiting::Pool(&tags))?;
                        }
                        Ok(claim::sweep_waiting_jobs(
                            c,
                            claim::Waiting::Assigned(&name),
                        )?)
                    })
                    .await;
                if let Err(e) = swept {
                    log_unless_outage("sweeping waiting jobs", &e);
                }
            });
        }
        if !self.tags.is_empty()
            && !self.stopping.load(Ordering::SeqCst)
            && !self.draining.load(Ordering::SeqCst)
        {
            let claimed = self.claim(Wanted::Pool).await?;
            self.launch(claimed);
        }
        if self.limits.is_empty() && !self.stopping.load(Ordering::SeqCst) {
            // Jobs assigned to this handler at creation that are ready: claimed together.
            // (Under concurrency limits each is looked at and claimed on its own, below.)
            let claimed = self.claim(Wanted::Assigned).await?;
            self.launch(claimed);
        }
        // Jobs being cancelled; and, under concurrency limits, the `new` jobs assigned here,
        // each claimed within the limits (without limits they were claimed together above,
        // and the waiting ones need nothing until their inputs change).
        let look_at: &'static [JobState] = if self.limits.is_empty() {
            &[JobState::Deleting]
        } else {
            &[JobState::New, JobState::Deleting]
        };
        let (name, window) = (self.env.server_name.clone(), self.ready_window);
        let jobs = self
            .env
            .blocking(move |c| Ok(q::handler_jobs(c, &name, look_at, window)?))
            .await?;
        for job in jobs {
            if job.state == JobState::Deleting {
                self.kill(job.id);
                if !self.lock_running().contains_key(&job.id) && self.lock_busy().insert(job.id) {
                    // Not watched here: cancel what may be left of it, finish the cancel.
                    let (execution, plugin) =
                        self.runners.for_environment(job.destination_id.as_deref());
                    let core = self.clone();
                    actix::spawn(async move {
                        let finishing = async {
                            if let Some(ext) = job.job_runner_external_id.as_deref() {
                                plugin.runner.cancel(&execution, ext).await;
                            }
                            core.finish(job.id, job.claim_token, None, None).await;
                            Ok(())
                        };
                        core.while_busy(job.id, finishing).await
                    });
                }
            } else {
                let core = self.clone();
                actix::spawn(async move { core.consider(job.id).await });
            }
        }
        Ok(())
    }

    /// Runs a database step of a job until the database answers: while it is unreachable the
    /// step is tried again with a growing pause (0.1 s up to 2 s), the job still this
    /// handler's; any other error is returned. A stopping handler gives up (the job stays
    /// recoverable: its token and its exit-code file are in place).
    pub(super) async fn persist<T, F, Fut>(&self, mut step: F) -> Result<T, JobError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, JobError>>,
    {
        let mut pause = Duration::from_millis(100);
        loop {
            match step().await {
                Err(e) if e.is_unavailable() && !self.stopping.load(Ordering::SeqCst) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// Runs `work` for a job this handler has marked busy, then unmarks it; an error or a
    /// panic is logged (the job stays recoverable).
    async fn while_busy(
        &self,
        job_id: i64,
        work: impl std::future::Future<Output = Result<(), JobError>>,
    ) {
        let result = AssertUnwindSafe(work).catch_unwind().await;
        self.lock_busy().remove(&job_id);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log_unless_outage(&format!("(job {job_id})"), &e),
            Err(_) => {
                log::error!("(job {job_id}) panicked while being handled; it stays recoverable")
            }
        }
    }

    /// Cancels a job watched here through its runner (a local job's process group is
    /// killed, a Slurm job `scancel`led); its watch then ends it as `deleted`.
    pub fn kill(&self, job_id: i64) {
        let watched = self
            .lock_running()
            .get(&job_id)
            .map(|w| (w.runner.clone(), w.execution.clone(), w.external_id.clone()));
        if let Some((runner, execution, ext)) = watched {
            actix::spawn(async move { runner.cancel(&execution, &ext).await });
        }
    }
}

/// Logs a failed step at ERROR, unless it failed because the database is unreachable: the
/// outage itself is logged once (`db::health`), not by every step it fails.
pub(super) fn log_unless_outage(what: &str, e: &JobError) {
    if e.is_unavailable() {
        log::debug!("{what}: {e}");
    } else {
        log::error!("{what}: {e}");
    }
}

/// Whether `period` seconds have passed since `last`; if so, `last` becomes now.
fn every(last: &Mutex<Instant>, period: f64) -> bool {
    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
    let due = last.elapsed().as_secs_f64() >= period;
    if due {
        *last = Instant::now();
    }
    due
}
