//! Running a claimed job: prepare its directory and command, mark it `running`, start and
//! watch its process (or nothing, for the benchmark's no-op runner), then end it from its
//! exit-code file. Every step is fenced by the claim token.

use std::sync::Arc;

use super::HandlerCore;
use super::command::build_command;
use crate::config::CleanupJob;
use crate::db::models::Job;
use crate::db::queries::jobs as q;
use crate::db::queries::transitions::{End, ExternalId, Start};
use crate::jobs::runners::local::{JobDir, LocalRunner, RUNNER_NAME};
use crate::jobs::states::JobState;
use crate::jobs::{JobError, JobsEnv};

impl HandlerCore {
    /// Waits for a runner slot, then runs the claimed job.
    /// `job` is the job's row when the caller has just read it.
    pub(super) async fn run_with_slot(
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
        let dir = JobDir {
            root: self.env.job_directory(job_id),
        };
        let prepare = || {
            let (env, runner, dir, job) = (
                self.env.clone(),
                self.runner.clone(),
                dir.clone(),
                job.clone(),
            );
            self.env.blocking(move |c| {
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
        };
        let prepared = match self.persist(prepare).await {
            Ok(Some((command, outputs))) => {
                let start = Start {
                    id: job_id,
                    tok: token,
                    cmd: command,
                    runner: RUNNER_NAME.to_string(),
                };
                self.persist(|| self.transitions.start(start.clone()))
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
        let pid_row = ExternalId {
            id: job_id,
            tok: token,
            ext: pid.to_string(),
        };
        let recorded = self
            .persist(|| self.transitions.record_pid(pid_row.clone()))
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
        started: Option<(JobDir, Vec<i64>)>,
    ) {
        let collect = || {
            let (env, started) = (self.env.clone(), started.clone());
            self.env.blocking(move |c| {
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
            Err(e) => super::log_unless_outage(&format!("(job {job_id}) finishing"), &e),
        }
        // A finished job frees room under the concurrency limits, and may have made waiting
        // jobs ready; otherwise there is nothing new to look at (the fallback poll remains).
        if dependents || !self.limits.is_empty() {
            self.wake();
        }
    }
}

/// The end of a job whose process has ended: its exit code and output from its directory,
/// the sizes of its outputs (an output the job did not write is created empty). A job that
/// failed for lack of disk space says so, naming the full place, and is logged at WARN.
fn collect_end(env: &JobsEnv, dir: &JobDir, job_id: i64, token: i64, outputs: Vec<i64>) -> End {
    let mut outcome = LocalRunner::collect(dir);
    let paths: Vec<_> = outputs.iter().map(|ds| env.dataset_path(*ds)).collect();
    let no_space = match outcome.exit_code {
        Some(0) => None,
        _ => crate::jobs::runners::space::diagnose(dir, &paths, &outcome.stderr),
    };
    let outputs = outputs
        .into_iter()
        .zip(&paths)
        .map(|(ds, path)| {
            let size = match std::fs::metadata(path) {
                Ok(m) => m.len() as i64,
                Err(_) => {
                    let _ = std::fs::write(path, b"");
                    0
                }
            };
            (ds, size)
        })
        .collect();
    let ended = match outcome.exit_code {
        None => Some("the job's process ended without writing its exit code".to_string()),
        Some(0) => None,
        Some(code) => Some(format!("exit code {code}")),
    };
    let info = match (no_space, ended) {
        (Some(no_space), ended) => {
            log::warn!(
                "(job {job_id}) {no_space}{}",
                ended
                    .as_deref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            );
            if !outcome.stderr.is_empty() && !outcome.stderr.ends_with('\n') {
                outcome.stderr.push('\n');
            }
            outcome.stderr.push_str(&no_space);
            Some(match ended {
                Some(e) => format!("{no_space}; {e}"),
                None => no_space,
            })
        }
        (None, ended) => ended,
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
