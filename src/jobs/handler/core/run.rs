//! Running a claimed job: prepare its directory, command and script, hand it to the runner of
//! its environment, follow its progress (`queued` on a cluster until it runs, `running`), then
//! end it from its exit-code file — or send it back for another attempt when its runner
//! failed it and its environment says so (`resubmit`). Nothing runs for the benchmark's
//! no-op runner. Every step is fenced by the claim token.

use std::sync::Arc;
use std::time::Duration;

use super::HandlerCore;
use super::command::build_command;
use super::end::{OutputFile, ToolEnd, collect_end};
use crate::config::{CleanupJob, Execution, RunnerKind};
use crate::db::models::Job;
use crate::db::queries::transitions::{End, ExternalId, Start};
use crate::db::queries::{attempts, jobs as q};
use crate::jobs::JobError;
use crate::jobs::runners::{
    Failure, FailureKind, JobDir, JobRunner, JobSpec, Progress, ProgressRx, RunnerError,
    cluster_job_name,
};
use crate::jobs::states::JobState;

/// A job sent back for another attempt: run it again with this token, after this delay.
pub(super) struct Again {
    pub token: i64,
    pub delay: Option<Duration>,
}

/// A job being watched here: its runner, where it runs, and its external id.
pub(super) struct Watched {
    pub runner: Arc<dyn JobRunner>,
    pub execution: Execution,
    pub external_id: String,
}

impl HandlerCore {
    /// Runs a claimed job, and again on each resubmission. `job` is the job's row when the
    /// caller has just read it.
    pub(super) async fn run_with_slot(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        job: Option<Job>,
    ) -> Result<(), JobError> {
        if self.runners.all_noop() {
            // Nothing runs: no runner worker is taken, the job's row is not even read.
            return self.run_noop(job_id, token).await;
        }
        let (mut token, mut job) = (token, job);
        loop {
            match self.run(job_id, token, job.take()).await? {
                Some(again) => {
                    if let Some(delay) = again.delay {
                        tokio::time::sleep(delay).await;
                    }
                    token = again.token;
                }
                None => return Ok(()),
            }
        }
    }

    /// The job as a runner sees it, in `execution` (the global walltime limit applies where
    /// the environment sets none).
    pub(super) fn spec(&self, job: &Job, mut execution: Execution) -> JobSpec {
        if execution.walltime.is_none() {
            execution.walltime = self.walltime;
        }
        JobSpec {
            job_id: job.id,
            attempt: job.attempt,
            dir: JobDir {
                root: self.env.job_directory(job.id),
            },
            name: cluster_job_name(&self.instance, job.id, job.attempt),
            execution,
        }
    }

    /// Prepares the job (its row read if needed, its command, its script), takes one of its
    /// runner's workers, marks it (`running` for a local job; submitted for a cluster job,
    /// which stays `queued` until the cluster runs it), submits it and follows it to its end.
    async fn run(
        self: &Arc<Self>,
        job_id: i64,
        token: i64,
        job: Option<Job>,
    ) -> Result<Option<Again>, JobError> {
        // A worker of the job's runner first, so that jobs waiting for one are not prepared
        // ahead of those that have one. The runner comes from the job's environment: its row
        // is read first unless every environment uses the same runner.
        let job = match (job, self.runners.single()) {
            (Some(job), _) => Some(job),
            (None, Some(_)) => None,
            (None, None) => {
                let read = || self.env.blocking(move |c| Ok(q::find_job(c, job_id)?));
                match self.persist(read).await? {
                    Some(job) => Some(job),
                    None => return Ok(None),
                }
            }
        };
        let plugin = match (&job, self.runners.single()) {
            (Some(job), _) => {
                self.runners
                    .for_environment(job.destination_id.as_deref())
                    .1
            }
            (None, Some(plugin)) => plugin,
            (None, None) => return Ok(None),
        };
        if plugin.runner.kind() == RunnerKind::Noop {
            self.run_noop(job_id, token).await?;
            return Ok(None);
        }
        let permit = plugin
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| JobError::Internal(e.to_string()))?;
        let prepare = || {
            let (env, runners, job) = (self.env.clone(), self.runners.clone(), job.clone());
            let core = self.clone();
            self.env.blocking(move |c| {
                let job = match job {
                    Some(job) => job,
                    None => match q::find_job(c, job_id)? {
                        Some(job) => job,
                        None => return Ok(None),
                    },
                };
                let (execution, plugin) = runners.for_environment(job.destination_id.as_deref());
                let spec = core.spec(&job, execution);
                let built = build_command(&env, c, &job, &spec.dir.root)?;
                let (command, outputs) = (built.command, built.outputs);
                plugin
                    .runner
                    .prepare(&spec, &command)
                    .map_err(|e| JobError::Io(format!("{}: {e}", spec.dir.root.display())))?;
                for (path, text) in &built.configfiles {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| JobError::Io(format!("{}: {e}", parent.display())))?;
                    }
                    std::fs::write(path, text)
                        .map_err(|e| JobError::Io(format!("{}: {e}", path.display())))?;
                }
                for (ds, _) in &outputs {
                    let path = env.dataset_path(*ds);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| JobError::Io(format!("{}: {e}", parent.display())))?;
                    }
                }
                Ok(Some((spec, command, outputs)))
            })
        };
        let (spec, command, outputs) = match self.persist(prepare).await {
            Ok(Some(prepared)) => prepared,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.finish_with_error(job_id, token, &e.to_string()).await;
                return Err(e);
            }
        };
        let runner = plugin.runner.clone();
        let local = runner.kind() == RunnerKind::Local;
        let url = runner.url();
        let marked = if local {
            let start = Start {
                id: job_id,
                tok: token,
                cmd: command.clone(),
                runner: url.clone(),
            };
            self.persist(|| self.transitions.start(start.clone())).await
        } else {
            let (url, command) = (url.clone(), command.clone());
            self.persist(|| {
                let (url, command) = (url.clone(), command.clone());
                self.env.blocking(move |c| {
                    Ok(attempts::mark_submitted(c, job_id, token, &url, &command)?)
                })
            })
            .await
        };
        match marked {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                self.finish_with_error(job_id, token, &e.to_string()).await;
                return Err(e);
            }
        }
        let (external_id, progress) = match runner.submit(spec.clone()).await {
            Ok(submitted) => submitted,
            Err(e) => {
                let info = match e {
                    RunnerError::Refused(m) => format!("the cluster refused the job: {m}"),
                    other => other.to_string(),
                };
                log::warn!("(job {job_id}) {info}");
                self.finish_with_error(job_id, token, &info).await;
                return Ok(None);
            }
        };
        self.lock_running().insert(
            job_id,
            Watched {
                runner: runner.clone(),
                execution: spec.execution.clone(),
                external_id: external_id.clone(),
            },
        );
        let ext_row = ExternalId {
            id: job_id,
            tok: token,
            ext: external_id,
        };
        if let Err(e) = self
            .persist(|| self.transitions.record_pid(ext_row.clone()))
            .await
        {
            log::error!("(job {job_id}) recording its external id: {e}");
        }
        if !local {
            // A cluster job takes a worker only while it is prepared and submitted.
            drop(permit);
            let again = self
                .follow(
                    token,
                    &spec,
                    progress,
                    false,
                    (&url, &command),
                    Some(outputs),
                )
                .await;
            return Ok(again);
        }
        let again = self
            .follow(
                token,
                &spec,
                progress,
                true,
                (&url, &command),
                Some(outputs),
            )
            .await;
        drop(permit);
        Ok(again)
    }

    /// Follows a started job's progress until it ends: marks it `running` when its runner
    /// says so (`running` already: a local job, or an adopted running one), then finishes
    /// it — or sends it back for another attempt. `marks` are the runner name and command
    /// line of its `running` mark; `outputs` its output datasets when known.
    pub(super) async fn follow(
        self: &Arc<Self>,
        token: i64,
        spec: &JobSpec,
        mut progress: ProgressRx,
        mut running: bool,
        marks: (&str, &str),
        outputs: Option<Vec<OutputFile>>,
    ) -> Option<Again> {
        let job_id = spec.job_id;
        let failure = loop {
            match progress.recv().await {
                Some(Progress::Running) if !running => {
                    running = self.mark_running(job_id, token, marks).await;
                }
                Some(Progress::Running) => {}
                Some(Progress::Ended(failure)) => break failure,
                None => {
                    break Some(Failure {
                        kind: FailureKind::Unknown,
                        message: "the runner stopped watching the job".into(),
                    });
                }
            }
        };
        self.lock_running().remove(&job_id);
        let cancelled = matches!(&failure, Some(f) if f.kind == FailureKind::Cancelled);
        if !running && !cancelled {
            // It ran between two looks: its history still shows it running.
            self.mark_running(job_id, token, marks).await;
        }
        if let Some(f) = failure.as_ref().filter(|_| !cancelled)
            && let Some(again) = self.resubmit_after(job_id, token, spec, f).await
        {
            return Some(again);
        }
        let started = outputs.map(|o| (spec.dir.clone(), o));
        self.finish(job_id, token, started, failure).await;
        None
    }

    /// `queued` → `running` (fenced); whether the job is now marked running.
    async fn mark_running(&self, job_id: i64, token: i64, (url, command): (&str, &str)) -> bool {
        let start = Start {
            id: job_id,
            tok: token,
            cmd: command.to_string(),
            runner: url.to_string(),
        };
        match self.persist(|| self.transitions.start(start.clone())).await {
            Ok(started) => started,
            Err(e) => {
                log::error!("(job {job_id}) marking running: {e}");
                false
            }
        }
    }

    /// The no-op runner: `queued` → `running` → `ok`, fenced as usual, nothing executed.
    async fn run_noop(&self, job_id: i64, token: i64) -> Result<(), JobError> {
        let start = Start {
            id: job_id,
            tok: token,
            cmd: "true".into(),
            runner: crate::jobs::runners::noop::NOOP_URL.into(),
        };
        if self
            .persist(|| self.transitions.start(start.clone()))
            .await?
        {
            let end = End {
                id: job_id,
                tok: token,
                ok: true,
                exit_code: Some(0),
                stdout: String::new(),
                stderr: String::new(),
                info: None,
                outputs: None,
                metrics: Vec::new(),
            };
            let ended = self.persist(|| self.transitions.end(end.clone())).await?;
            if ended.made_ready || !self.limits.is_empty() {
                self.wake();
            }
        }
        Ok(())
    }

    /// Ends a job that could not run as `error`, its outputs empty.
    async fn finish_with_error(&self, job_id: i64, token: i64, info: &str) {
        if crate::jobs::runners::space::mentions_no_space(info) {
            log::warn!("(job {job_id}) out of disk space: {info}");
        }
        let end = End {
            id: job_id,
            tok: token,
            ok: false,
            exit_code: None,
            stdout: String::new(),
            stderr: info.to_string(),
            info: Some(info.to_string()),
            outputs: None,
            metrics: Vec::new(),
        };
        if let Err(e) = self.persist(|| self.transitions.end(end.clone())).await {
            log::error!("(job {job_id}) marking failed: {e}");
        }
    }

    /// Finishes a job whose process has ended, from its exit-code file (fenced).
    /// `started` is the job's directory and output datasets when this handler started it.
    pub(super) async fn finish(
        &self,
        job_id: i64,
        token: i64,
        started: Option<(JobDir, Vec<OutputFile>)>,
        failure: Option<Failure>,
    ) {
        // The outputs from the database when not known; then the end read from the files
        // (sizes, metadata) without holding a connection.
        let collect = || {
            let (env, started, failure) = (self.env.clone(), started.clone(), failure.clone());
            async move {
                // The job's tool, whose `<stdio>` judges it, and its outputs by name (for
                // `from_work_dir`).
                // The links are read only when needed: the outputs by name when the tool
                // moves, copies or sets metadata onto them (or this handler did not start
                // the job), the
                // inputs when an output takes its metadata from one.
                let known = started.is_some();
                let toolbox = env.toolbox.clone();
                let (tool, named, inputs) = env
                    .blocking(move |c| {
                        let tool =
                            q::find_job(c, job_id)?.and_then(|j| toolbox.get(&j.tool_id).cloned());
                        let outputs = tool.as_ref().map(|t| t.outputs.as_slice());
                        let needs = |f: &dyn Fn(&crate::tools::OutputDef) -> bool| {
                            outputs.is_none_or(|o| o.iter().any(f))
                        };
                        let by_source = needs(&|o| o.metadata_source.is_some());
                        let by_name = !known
                            || by_source
                            || needs(&|o| {
                                o.from_work_dir.is_some() || !o.metadata_actions.is_empty()
                            });
                        let named = if by_name {
                            q::job_outputs(c, job_id)?
                        } else {
                            Vec::new()
                        };
                        let inputs = if by_source {
                            q::job_inputs(c, job_id)?
                        } else {
                            Vec::new()
                        };
                        Ok((tool, named, inputs))
                    })
                    .await?;
                let (from_work_dir, copied, actions) = tool
                    .as_ref()
                    .map(|t| {
                        let copied = super::end::metadata_from(t, &named, &inputs);
                        let actions = super::end::metadata_actions(t, &named);
                        (super::end::from_work_dir(t, &named), copied, actions)
                    })
                    .unwrap_or_default();
                let (dir, outputs) = match started {
                    Some(started) => started,
                    None => {
                        let root = env.job_directory(job_id);
                        let outputs: Vec<OutputFile> = named
                            .into_iter()
                            .map(|(_, d)| (d.id, d.extension))
                            .collect();
                        (JobDir { root }, outputs)
                    }
                };
                tokio::task::spawn_blocking(move || {
                    let stdio = tool.as_ref().map(|t| &t.stdio);
                    let judged = ToolEnd {
                        stdio,
                        from_work_dir,
                        copied,
                        actions,
                        missing_requirements: tool
                            .as_ref()
                            .map(|t| t.missing_requirements.as_slice())
                            .unwrap_or_default(),
                    };
                    let end = collect_end(&env, &dir, job_id, token, outputs, failure, judged);
                    (end, dir)
                })
                .await
                .map_err(|e| JobError::Internal(format!("collecting the job's end: {e}")))
            }
        };
        let result = match self.persist(collect).await {
            Ok((end, dir)) => self
                .persist(|| self.transitions.end(end.clone()))
                .await
                .map(|ended| (ended, dir)),
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
                    CleanupJob::Onsuccess => ended.state == Some(JobState::Ok),
                    CleanupJob::Never => false,
                };
                if cleanup {
                    let spares = self.local.spares.clone();
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
            Err(e) => super::log_unless_outage(&format!("(job {job_id}) finishing"), &e),
        }
        // A finished job frees room under the concurrency limits, and may have made waiting
        // jobs ready; otherwise there is nothing new to look at (the fallback poll remains).
        if dependents || !self.limits.is_empty() {
            self.wake();
        }
    }
}
