//! The Slurm runner, through Slurm's command-line tools (as Galaxy's CLI runner with its Slurm
//! job plugin): a batch script per job (`#SBATCH` lines, then the common job script), submitted
//! with `sbatch --parsable`; watched in batches (`watch`); cancelled with `scancel`. A job's
//! Slurm name encodes this instance, the job and its attempt, so a submission whose answer
//! was lost (its handler died in between) is found again instead of submitted twice.

mod shell;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::script::{self, Slots};
use super::{JobRunner, JobSpec, Progress, ProgressRx, RunnerError, backoff};
use crate::config::{Execution, RunnerKind, Shell};
use watch::Watcher;

/// Tries of `sbatch` when the controller cannot be reached.
const SUBMIT_TRIES: u32 = 4;

pub struct SlurmRunner {
    id: String,
    poll_interval: Duration,
    /// One watcher per cluster (per shell) this handler submits to.
    watchers: Mutex<HashMap<String, Arc<Watcher>>>,
}

impl SlurmRunner {
    pub fn new(id: &str, poll_interval: Duration) -> SlurmRunner {
        SlurmRunner {
            id: id.to_string(),
            poll_interval,
            watchers: Mutex::new(HashMap::new()),
        }
    }

    fn watcher(&self, shell: &Shell) -> Arc<Watcher> {
        let key = format!("{shell:?}");
        self.watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert_with(|| Watcher::new(shell.clone(), self.poll_interval))
            .clone()
    }

    /// The newest Slurm job named `name`, in any state Slurm still remembers.
    async fn lookup(&self, shell: &Shell, name: &str) -> Result<Option<String>, RunnerError> {
        let args = ["-h", "-t", "all", "-n", name, "-o", "%i"].map(String::from);
        let ran = shell::run(shell, "squeue", &args)
            .await
            .map_err(RunnerError::Unreachable)?;
        if !ran.success {
            return Err(RunnerError::Unreachable(ran.message()));
        }
        Ok(ran
            .stdout
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .max()
            .map(|id| id.to_string()))
    }

    /// `sbatch --parsable`, tried again while the controller cannot be reached — after
    /// looking the job up by name, so a submission that did arrive is not made twice.
    async fn sbatch(&self, spec: &JobSpec) -> Result<String, RunnerError> {
        let shell = &spec.execution.shell;
        let args = vec![
            "--parsable".to_string(),
            spec.dir.script().to_string_lossy().into_owned(),
        ];
        let mut last = String::new();
        for try_no in 0..SUBMIT_TRIES {
            if try_no > 0 {
                tokio::time::sleep(backoff(try_no)).await;
                if let Ok(Some(id)) = self.lookup(shell, &spec.name).await {
                    return Ok(id);
                }
            }
            match shell::run(shell, "sbatch", &args).await {
                Ok(ran) if ran.success => {
                    let id = ran.stdout.trim().split(';').next().unwrap_or("").trim();
                    if id.parse::<u64>().is_ok() {
                        return Ok(id.to_string());
                    }
                    last = format!("sbatch answered `{}`", ran.stdout.trim());
                }
                Ok(ran) => {
                    let message = ran.message();
                    if !shell::is_transient(&message) {
                        return Err(RunnerError::Refused(message));
                    }
                    last = message;
                }
                Err(e) => last = e,
            }
            log::warn!(
                "(job {}) sbatch try {} failed: {last}",
                spec.job_id,
                try_no + 1
            );
        }
        Err(RunnerError::Unreachable(format!(
            "Slurm could not be reached after {SUBMIT_TRIES} tries: {last}"
        )))
    }
}

/// Slurm's `--time` for a walltime: minutes, rounded up (Slurm's resolution).
fn slurm_time(walltime: Duration) -> String {
    let secs = walltime.as_secs().max(1);
    let minutes = secs.div_ceil(60);
    format!("{}:{:02}:00", minutes / 60, minutes % 60)
}

/// The `#SBATCH` lines of a job.
fn header(spec: &JobSpec) -> String {
    let dir = spec.dir.root.to_string_lossy();
    let mut h = format!(
        "#SBATCH --job-name={}\n#SBATCH --output={dir}/slurm.out\n#SBATCH --error={dir}/slurm.err\n",
        spec.name
    );
    if let Some(w) = spec.execution.walltime {
        h.push_str(&format!("#SBATCH --time={}\n", slurm_time(w)));
    }
    if let Some(native) = spec
        .execution
        .native_specification
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        for line in native.lines() {
            h.push_str(&format!("#SBATCH {}\n", line.trim()));
        }
    }
    h
}

impl JobRunner for SlurmRunner {
    fn kind(&self) -> RunnerKind {
        RunnerKind::Slurm
    }

    fn url(&self) -> String {
        format!("{}://", self.id)
    }

    fn prepare(&self, spec: &JobSpec, command: &str) -> std::io::Result<()> {
        let slots = Slots::FromCluster(spec.execution.galaxy_slots);
        script::write(&spec.dir, command, &header(spec), &spec.execution, slots)
    }

    fn submit(&self, spec: JobSpec) -> BoxFuture<'_, Result<(String, ProgressRx), RunnerError>> {
        Box::pin(async move {
            let id = self.sbatch(&spec).await?;
            log::info!("(job {}) submitted to Slurm as {id}", spec.job_id);
            let rx = self
                .watcher(&spec.execution.shell)
                .add(id.clone(), spec.dir.clone());
            Ok((id, rx))
        })
    }

    fn watch(&self, spec: JobSpec, external_id: String, _same_host: bool) -> ProgressRx {
        if external_id.parse::<u64>().is_ok() {
            return self
                .watcher(&spec.execution.shell)
                .add(external_id, spec.dir.clone());
        }
        // Slurm forgot it (see `find`): the files in its directory tell the end.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = tx.send(Progress::Ended(None));
        rx
    }

    fn cancel(&self, execution: &Execution, external_id: &str) -> BoxFuture<'_, ()> {
        let (id, shell) = (external_id.to_string(), execution.shell.clone());
        Box::pin(async move {
            if id.parse::<u64>().is_err() {
                return;
            }
            match shell::run(&shell, "scancel", std::slice::from_ref(&id)).await {
                Ok(ran) if ran.success => {}
                Ok(ran) => log::warn!("scancel {id}: {}", ran.message()),
                Err(e) => log::warn!("scancel {id}: {e}"),
            }
            self.watcher(&shell).poke();
        })
    }

    /// Looks the job up by its Slurm name; a job Slurm no longer remembers (`MinJobAge`) but
    /// whose script ran is found by its files.
    fn find(&self, spec: JobSpec) -> BoxFuture<'_, Result<Option<String>, RunnerError>> {
        Box::pin(async move {
            if let Some(id) = self.lookup(&spec.execution.shell, &spec.name).await? {
                return Ok(Some(id));
            }
            let ran = spec.dir.read_pid().is_some() || spec.dir.read_exit_code().is_some();
            Ok(ran.then(String::new))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walltimes_round_up_to_slurm_minutes() {
        assert_eq!(slurm_time(Duration::from_secs(2)), "0:01:00");
        assert_eq!(slurm_time(Duration::from_secs(3600)), "1:00:00");
        assert_eq!(slurm_time(Duration::from_secs(3601)), "1:01:00");
    }
}
