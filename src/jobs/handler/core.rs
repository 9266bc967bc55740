//! What a handler does with its jobs: check inputs, claim, start in the runner, watch, finish
//! (every step fenced by the claim token), recover its own jobs after a restart, and cancel.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use tokio::sync::{Notify, Semaphore};

use crate::config::CleanupJob;
use crate::db::models::Job;
use crate::db::queries::claim::{self, ClaimMethod};
use crate::db::queries::jobs as q;
use crate::db::queries::limits::{self, ClaimLimits, Scope};
use crate::db::queries::transitions::{End, ExternalId, Start};
use crate::jobs::assign::DRAIN_TAG;
use crate::jobs::runners::local::{JobDir, LocalRunner, RUNNER_NAME};
use crate::jobs::runners::spare::SpareDirs;
use crate::jobs::states::{self, InputsReadiness};
use crate::jobs::{JobError, JobsEnv};
use crate::tools::{DataRef, ParamValue};

use super::batch::Transitions;

mod recovery;

/// Most `new` jobs looked at per monitor pass.
const SCAN_LIMIT: i64 = 1000;
/// Most pool jobs claimed per pass when the job conf sets no `max_grab`.
const DEFAULT_MAX_GRAB: i64 = 100;

pub struct HandlerCore {
    env: JobsEnv,
    runner: LocalRunner,
    slots: Arc<Semaphore>,
    wake: Notify,
    /// Jobs this handler is working on right now (so one job is never handled twice here).
    busy: Mutex<HashSet<i64>>,
    /// Running job → process group id.
    running: Mutex<HashMap<i64, i32>>,
    monitor_started: AtomicBool,
    stopping: AtomicBool,
    /// Pool tags this handler claims unclaimed jobs from (empty: none).
    tags: Vec<String>,
    claim: ClaimMethod,
    max_grab: i64,
    draining: AtomicBool,
    last_takeover: Mutex<Instant>,
    /// The benchmark-only no-op runner: claimed jobs finish at once, nothing runs (so they take
    /// no runner worker: a claimed job goes straight to its fenced `running` mark and end).
    noop: bool,
    limits: ClaimLimits,
    walltime: Option<Duration>,
    /// Most `new` jobs of this handler looked at per pass (`ready_window_size`).
    ready_window: i64,
    /// Where the jobs' `running` marks, process ids and ends are applied, many per transaction.
    transitions: Transitions,
}

/// `load` of the no-op runner, used by the dispatch benchmark to measure the claim and state
/// path alone.
pub const NOOP_RUNNER: &str = "galaxy_server.bench:NoopRunner";

impl HandlerCore {
    pub fn new(env: JobsEnv, tags: Vec<String>, claim: ClaimMethod) -> Result<Arc<Self>, JobError> {
        let runner = env
            .job_conf
            .environments
            .get(&env.job_conf.default_environment)
            .and_then(|e| env.job_conf.runners.get(&e.runner));
        let workers = runner.map_or(4, |r| r.workers.max(1));
        let noop = runner.is_some_and(|r| r.load == NOOP_RUNNER);
        if noop {
            log::warn!(
                "the no-op runner is configured: jobs are marked ok without running (benchmarks only)"
            );
        }
        let (limits, walltime) = crate::jobs::limits::resolve(&env.job_conf);
        let transitions = Transitions::spawn(env.pool.clone(), &env.server_name)?;
        Ok(Arc::new(HandlerCore {
            transitions,
            noop,
            limits,
            walltime,
            ready_window: env
                .job_conf
                .handling
                .ready_window_size
                .map_or(SCAN_LIMIT, i64::from)
                .max(1),
            runner: LocalRunner {
                workers,
                spares: Arc::new(SpareDirs::new(
                    &env.settings.galaxy.job_working_directory,
                    (2 * workers).max(16),
                )),
            },
            slots: Arc::new(Semaphore::new(workers)),
            wake: Notify::new(),
            busy: Mutex::new(HashSet::new()),
            running: Mutex::new(HashMap::new()),
            monitor_started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            last_takeover: Mutex::new(Instant::now()),
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

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i32>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fallback poll: recovers this handler's jobs once, then looks at its `new` and
    /// `deleting` jobs whenever woken or every `job_handler_monitor_sleep`.
    pub async fn run_monitor(self: Arc<Self>) {
        if self.monitor_started.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.clone().recover().await {
            log::error!("recovering jobs of handler {}: {e}", self.name());
        }
        let sleep =
            Duration::from_secs_f64(self.env.settings.galaxy.job_handler_monitor_sleep.max(0.01));
        while !self.stopping.load(Ordering::SeqCst) {
            if let Err(e) = self.clone().monitor_pass().await {
                log::error!("job handler monitor: {e}");
            }
            let _ = tokio::time::timeout(sleep, self.wake.notified()).await;
        }
    }

    async fn monitor_pass(self: Arc<Self>) -> Result<(), JobError> {
        let takeover_due = {
            let mut last = self.last_takeover.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.elapsed().as_secs_f64() >= self.env.settings.galaxy.heartbeat_interval;
            if due {
                *last = Instant::now();
            }
            due
        };
        if takeover_due
            && !self.tags.is_empty()
            && let Err(e) = self.take_over_dead().await
        {
            log::error!("taking over dead handlers' jobs: {e}");
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
                    log::error!("sweeping waiting jobs: {e}");
                }
            });
        }
        if !self.tags.is_empty()
            && !self.stopping.load(Ordering::SeqCst)
            && !self.draining.load(Ordering::SeqCst)
        {
            let limits = self.limits.clone();
            let (name, tags, claim, limit) = (
                self.env.server_name.clone(),
                self.tags.clone(),
                self.claim,
                self.max_grab,
            );
            let started = std::time::Instant::now();
            let claimed = self
                .env
                .blocking(move |c| {
                    if !claim::has_unclaimed(c, &tags)? {
                        return Ok(Vec::new());
                    }
                    if limits.is_empty() {
                        Ok(claim::claim_pool_jobs(c, claim, &name, &tags, limit)?)
                    } else {
                        Ok(limits::claim_limited(
                            c,
                            &name,
                            Scope::Pool(&tags),
                            limit,
                            &limits,
                        )?)
                    }
                })
                .await?;
            if claimed.len() as i64 == limit {
                self.wake();
            }
            if let Some(m) = crate::metrics::get().filter(|_| !claimed.is_empty()) {
                m.claim_latency
                    .with_label_values(&[self.env.server_name.as_str()])
                    .observe(started.elapsed().as_secs_f64());
            }
            self.record_claimed(&claimed);
            for job in claimed {
                let core = self.clone();
                actix::spawn(async move { core.run_claimed(job.id, job.claim_token).await });
            }
        }
        if self.limits.is_empty() && !self.stopping.load(Ordering::SeqCst) {
            // Jobs assigned to this handler at creation that are ready: claimed together.
            // (Under concurrency limits each is claimed within them, one by one, below.)
            let (name, limit) = (self.env.server_name.clone(), self.max_grab);
            let claimed = self
                .env
                .blocking(move |c| Ok(claim::claim_own_jobs(c, &name, limit)?))
                .await?;
            if claimed.len() as i64 == limit {
                self.wake();
            }
            self.record_claimed(&claimed);
            for job in claimed {
                let core = self.clone();
                actix::spawn(async move { core.run_claimed(job.id, job.claim_token).await });
            }
        }
        // Jobs being cancelled; and, under concurrency limits, the `new` jobs assigned here,
        // each claimed within the limits (without limits they were claimed together above,
        // and the waiting ones need nothing until their inputs change).
        let look_at: &'static [&'static str] = if self.limits.is_empty() {
            &[states::DELETING]
        } else {
            &[states::NEW, states::DELETING]
        };
        let (name, window) = (self.env.server_name.clone(), self.ready_window);
        let jobs = self
            .env
            .blocking(move |c| Ok(q::handler_jobs(c, &name, look_at, window)?))
            .await?;
        for job in jobs {
            if job.state == states::DELETING {
                self.kill(job.id);
                if !self.lock_running().contains_key(&job.id) && !self.lock_busy().contains(&job.id)
                {
                    // Not watched here: kill what may be left of its process, finish the cancel.
                    if let Some(pgid) = job
                        .job_runner_external_id
                        .as_deref()
                        .and_then(|p| p.parse().ok())
                    {
                        LocalRunner::kill_group(pgid);
                    }
                    let core = self.clone();
                    actix::spawn(async move { core.finish(job.id, job.claim_token, None).await });
                }
            } else {
                let core = self.clone();
                actix::spawn(async move { core.consider(job.id).await });
            }
        }
        Ok(())
    }

    /// Counts claimed jobs and their pickup latency (creation → claim) in the metrics.
    fn record_claimed(&self, claimed: &[claim::Claimed]) {
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

    /// Looks at one `new` job: waits, pauses, or claims and runs it.
    pub async fn consider(self: Arc<Self>, job_id: i64) {
        if self.stopping.load(Ordering::SeqCst) || !self.lock_busy().insert(job_id) {
            return;
        }
        let result = AssertUnwindSafe(self.clone().consider_inner(job_id))
            .catch_unwind()
            .await;
        self.lock_busy().remove(&job_id);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::error!("(job {job_id}) {e}"),
            Err(_) => {
                log::error!("(job {job_id}) panicked while being handled; it stays recoverable")
            }
        }
    }

    async fn consider_inner(self: Arc<Self>, job_id: i64) -> Result<(), JobError> {
        let name = self.env.server_name.clone();
        let limits = self.limits.clone();
        let token = self
            .env
            .blocking(move |c| {
                let Some(job) = q::find_job(c, job_id)? else {
                    return Ok(None);
                };
                if job.state != states::NEW || job.handler.as_deref() != Some(name.as_str()) {
                    return Ok(None);
                }
                let inputs = q::job_inputs(c, job_id)?;
                match states::inputs_readiness(
                    inputs.iter().map(|(_, d)| (d.state.as_str(), d.deleted)),
                ) {
                    InputsReadiness::Wait => Ok(None),
                    InputsReadiness::Failed => {
                        q::stop_unstarted_or_mark(c, job_id, states::PAUSED)?;
                        Ok(None)
                    }
                    InputsReadiness::Ready if limits.is_empty() => {
                        Ok(q::claim_job(c, job_id, &name)?.map(|t| (t, job)))
                    }
                    InputsReadiness::Ready => {
                        let claimed =
                            limits::claim_limited(c, &name, Scope::Own(job_id), 1, &limits)?;
                        Ok(claimed.first().map(|j| (j.claim_token, job)))
                    }
                }
            })
            .await?;
        let Some((token, job)) = token else {
            return Ok(());
        };
        let created = job.create_time;
        if let Some(m) = crate::metrics::get() {
            let name = self.env.server_name.as_str();
            m.jobs_claimed.with_label_values(&[name]).inc();
            let age = (crate::db::now() - created).num_microseconds().unwrap_or(0) as f64 / 1e6;
            m.pickup_latency
                .with_label_values(&[name])
                .observe(age.max(0.0));
        }
        self.run_with_slot(job_id, token, Some(job)).await
    }

    /// Runs a job this handler claimed (from its pool, or among the jobs assigned to it).
    async fn run_claimed(self: Arc<Self>, job_id: i64, token: i64) {
        // The claim made this handler the job's only runner. A job assigned to this handler
        // may be being looked at by `consider` right now (which will find it claimed and let
        // go): wait for that rather than leave the claimed job unrun.
        while !self.lock_busy().insert(job_id) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let result = AssertUnwindSafe(self.run_with_slot(job_id, token, None))
            .catch_unwind()
            .await;
        self.lock_busy().remove(&job_id);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::error!("(job {job_id}) {e}"),
            Err(_) => {
                log::error!("(job {job_id}) panicked while being handled; it stays recoverable")
            }
        }
    }

    /// Waits for a runner slot, then runs the claimed job.
    /// `job` is the job's row when the caller has just read it.
    async fn run_with_slot(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        job: Option<Job>,
    ) -> Result<(), JobError> {
        if self.noop {
            // Nothing runs: no runner worker is taken.
            return self.run_noop(job_id, token).await;
        }
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| JobError::Internal(e.to_string()))?;
        self.run(job_id, token, job).await?;
        drop(permit);
        Ok(())
    }

    /// Prepares, starts and watches a claimed job, then finishes it.
    async fn run(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        job: Option<Job>,
    ) -> Result<(), JobError> {
        let env = self.env.clone();
        let runner = self.runner.clone();
        let dir = JobDir {
            root: env.job_directory(job_id),
        };
        let prepared = {
            let dir = dir.clone();
            self.env
                .blocking(move |c| {
                    let job = match job {
                        Some(job) => job,
                        None => match q::find_job(c, job_id)? {
                            Some(job) => job,
                            None => return Ok(None),
                        },
                    };
                    let (command, outputs) = build_command(&env, c, &job)?;
                    runner
                        .prepare(&dir, &command)
                        .map_err(|e| JobError::Io(format!("{}: {e}", dir.root.display())))?;
                    for ds in &outputs {
                        let path = env.dataset_path(*ds);
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent)
                                .map_err(|e| JobError::Io(format!("{}: {e}", parent.display())))?;
                        }
                    }
                    Ok(Some((command, outputs)))
                })
                .await
        };
        let prepared = match prepared {
            Ok(Some((command, outputs))) => {
                let start = Start {
                    id: job_id,
                    tok: token,
                    cmd: command,
                    runner: RUNNER_NAME.to_string(),
                };
                self.transitions
                    .start(start)
                    .await
                    .map(|started| started.then_some(outputs))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let outputs = match prepared {
            Ok(Some(outputs)) => outputs,
            Ok(None) => return Ok(()),
            Err(e) => {
                let info = e.to_string();
                self.finish_with_error(job_id, token, &info).await;
                return Err(e);
            }
        };
        let mut child = match self.runner.spawn(&dir) {
            Ok(child) => child,
            Err(e) => {
                let info = format!("could not start the job script: {e}");
                self.finish_with_error(job_id, token, &info).await;
                return Err(JobError::Io(info));
            }
        };
        let pid = child.id().map_or(0, |p| p as i32);
        self.lock_running().insert(job_id, pid);
        let recorded = self
            .transitions
            .record_pid(ExternalId {
                id: job_id,
                tok: token,
                ext: pid.to_string(),
            })
            .await;
        if let Err(e) = recorded {
            log::error!("(job {job_id}) recording pid: {e}");
        }
        let over_walltime = match self.walltime {
            Some(limit) => tokio::time::timeout(limit, child.wait()).await.is_err(),
            None => {
                let _ = child.wait().await;
                false
            }
        };
        if let (true, Some(limit)) = (over_walltime, self.walltime) {
            LocalRunner::kill_group(pid);
            let _ = child.wait().await;
            self.lock_running().remove(&job_id);
            let info = format!(
                "job exceeded the walltime limit of {} s and was killed",
                limit.as_secs()
            );
            log::warn!("(job {job_id}) {info}");
            self.finish_with_error(job_id, token, &info).await;
            return Ok(());
        }
        self.lock_running().remove(&job_id);
        self.finish(job_id, token, Some((dir, outputs))).await;
        Ok(())
    }

    /// The no-op runner: `queued` → `running` → `ok`, fenced as usual, nothing executed.
    async fn run_noop(&self, job_id: i64, token: i64) -> Result<(), JobError> {
        let start = Start {
            id: job_id,
            tok: token,
            cmd: "true".into(),
            runner: "noop:///".into(),
        };
        if self.transitions.start(start).await? {
            let end = End {
                id: job_id,
                tok: token,
                ok: true,
                exit_code: Some(0),
                stdout: String::new(),
                stderr: String::new(),
                info: None,
                outputs: None,
            };
            let ended = self.transitions.end(end).await?;
            if ended.made_ready || !self.limits.is_empty() {
                self.wake();
            }
        }
        Ok(())
    }

    /// Ends a job that could not run as `error`, its outputs empty.
    async fn finish_with_error(&self, job_id: i64, token: i64, info: &str) {
        let end = End {
            id: job_id,
            tok: token,
            ok: false,
            exit_code: None,
            stdout: String::new(),
            stderr: info.to_string(),
            info: Some(info.to_string()),
            outputs: None,
        };
        if let Err(e) = self.transitions.end(end).await {
            log::error!("(job {job_id}) marking failed: {e}");
        }
    }

    /// Finishes a job whose process has ended, from its exit-code file (fenced).
    /// `started` is the job's directory and output datasets when this handler started it.
    async fn finish(&self, job_id: i64, token: i64, started: Option<(JobDir, Vec<i64>)>) {
        let env = self.env.clone();
        let collected = self
            .env
            .blocking(move |c| {
                let (dir, output_ids) = match started {
                    Some(started) => started,
                    None => {
                        let dir = JobDir {
                            root: env.job_directory(job_id),
                        };
                        let ids = q::job_outputs(c, job_id)?.into_iter().map(|(_, d)| d.id);
                        (dir, ids.collect())
                    }
                };
                Ok((collect_end(&env, &dir, job_id, token, output_ids), dir))
            })
            .await;
        let result = match collected {
            Ok((end, dir)) => self.transitions.end(end).await.map(|ended| (ended, dir)),
            Err(e) => Err(e),
        };
        let dependents = match &result {
            Ok((ended, _)) => ended.made_ready,
            Err(_) => true,
        };
        let result = match result {
            Ok((ended, dir)) => {
                let cleanup = match self.env.settings.galaxy.cleanup_job {
                    CleanupJob::Always => ended.state.is_some(),
                    CleanupJob::Onsuccess => ended.state.as_deref() == Some(states::OK),
                    CleanupJob::Never => false,
                };
                if cleanup {
                    let spares = self.runner.spares.clone();
                    let _ = tokio::task::spawn_blocking(move || spares.recycle(&dir)).await;
                }
                Ok(ended.state)
            }
            Err(e) => Err(e),
        };
        if let (Ok(Some(state)), Some(m)) = (&result, crate::metrics::get()) {
            m.jobs_finished
                .with_label_values(&[self.env.server_name.as_str(), state.as_str()])
                .inc();
        }
        match result {
            Ok(Some(state)) => log::info!("(job {job_id}) finished: {state}"),
            Ok(None) => {
                log::warn!("(job {job_id}) not finished here: it is no longer this handler's")
            }
            Err(e) => log::error!("(job {job_id}) finishing: {e}"),
        }
        // A finished job frees room under the concurrency limits, and may have made waiting
        // jobs ready; otherwise there is nothing new to look at (the fallback poll remains).
        if dependents || !self.limits.is_empty() {
            self.wake();
        }
    }

    /// Kills a running job's process group (the job then finishes as `deleted`).
    pub fn kill(&self, job_id: i64) {
        if let Some(&pgid) = self.lock_running().get(&job_id) {
            LocalRunner::kill_group(pgid);
        }
    }
}

/// The end of a job whose process has ended: its exit code and output from its directory,
/// the sizes of its outputs (an output the job did not write is created empty).
fn collect_end(env: &JobsEnv, dir: &JobDir, job_id: i64, token: i64, outputs: Vec<i64>) -> End {
    let outcome = LocalRunner::collect(dir);
    let outputs = outputs
        .into_iter()
        .map(|ds| {
            let path = env.dataset_path(ds);
            let size = match std::fs::metadata(&path) {
                Ok(m) => m.len() as i64,
                Err(_) => {
                    let _ = std::fs::write(&path, b"");
                    0
                }
            };
            (ds, size)
        })
        .collect();
    let info = match outcome.exit_code {
        None => Some("the job's process ended without writing its exit code".to_string()),
        Some(0) => None,
        Some(code) => Some(format!("exit code {code}")),
    };
    End {
        id: job_id,
        tok: token,
        ok: outcome.exit_code == Some(0),
        exit_code: outcome.exit_code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        info,
        outputs: Some(outputs),
    }
}

/// Renders the tool's command with the job's input and output paths; returns it with the ids
/// of the job's output datasets.
fn build_command(
    env: &JobsEnv,
    c: &mut crate::db::DbConn,
    job: &Job,
) -> Result<(String, Vec<i64>), JobError> {
    let tool = env
        .toolbox
        .get(&job.tool_id)
        .ok_or_else(|| JobError::Internal(format!("tool '{}' is not loaded", job.tool_id)))?;
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&job.params)
        .map_err(|e| JobError::Internal(format!("job params: {e}")))?;
    let values: Vec<(String, ParamValue)> = tool
        .inputs
        .iter()
        .map(|p| {
            let v = params
                .get(&p.name)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            (p.name.clone(), stored_value(&p.kind, v))
        })
        .collect();
    let data_paths: BTreeMap<String, String> = q::job_inputs(c, job.id)?
        .into_iter()
        .map(|(link, ds)| {
            (
                link.name,
                env.dataset_path(ds.id).to_string_lossy().into_owned(),
            )
        })
        .collect();
    let outputs = q::job_outputs(c, job.id)?;
    let output_ids = outputs.iter().map(|(_, ds)| ds.id).collect();
    let output_paths: BTreeMap<String, String> = outputs
        .into_iter()
        .map(|(link, ds)| {
            (
                link.name,
                env.dataset_path(ds.id).to_string_lossy().into_owned(),
            )
        })
        .collect();
    Ok((
        tool.render_command(&values, &data_paths, &output_paths),
        output_ids,
    ))
}

/// Reads back a parameter value stored by `submit::params_json`.
fn stored_value(kind: &crate::tools::ParamKind, v: serde_json::Value) -> ParamValue {
    use crate::tools::ParamKind as K;
    match kind {
        K::Integer { .. } => ParamValue::Integer(v.as_i64().unwrap_or_default()),
        K::Float { .. } => ParamValue::Float(v.as_f64().unwrap_or_default()),
        K::Boolean { .. } => ParamValue::Boolean(v.as_bool().unwrap_or_default()),
        K::Select { .. } => ParamValue::Select(v.as_str().unwrap_or_default().to_string()),
        K::Text => ParamValue::Text(v.as_str().unwrap_or_default().to_string()),
        K::Data { .. } => ParamValue::Data(v.as_object().map(|o| {
            DataRef {
                src: o
                    .get("src")
                    .and_then(|s| s.as_str())
                    .unwrap_or("hda")
                    .to_string(),
                id: o
                    .get("id")
                    .and_then(|s| s.as_str())
                    .unwrap_or_default()
                    .to_string(),
            }
        })),
    }
}
