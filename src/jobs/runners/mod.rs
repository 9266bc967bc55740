//! Runners: how a job's command is executed. Each is a plugin behind [`JobRunner`]: the local
//! runner (a process group on the handler's host) and the Slurm runner (a batch job through
//! Slurm's command-line tools). The job conf's `runners` name them; an environment picks one.
//! Every runner runs the same job script (`script`), which writes the job's exit code into its
//! directory: that file is the final word on how a job ended, whoever watches it.

pub mod local;
pub mod metrics;
pub mod noop;
pub mod script;
pub mod slurm;
pub mod space;
pub mod spare;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc};

use crate::config::{Execution, JobConf, RunnerKind};

pub use local::{JobDir, LocalRunner};

/// What a runner reports about a job it watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Its process runs (Slurm: `RUNNING`); a local job runs from its submission on.
    Running,
    /// It ended; `None`: its process ended by itself (the exit-code file says how).
    Ended(Option<Failure>),
}

/// Why a runner ended a job, beyond what its exit code says.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Over its walltime (Slurm `TIMEOUT`, the local runner's limit).
    Walltime,
    /// Over its memory (Slurm `OUT_OF_MEMORY`).
    Memory,
    /// Cancelled (by this server, or by someone on the cluster).
    Cancelled,
    /// Anything else the runner saw: a node failure, a launch failure, a job the cluster
    /// no longer knows that wrote no exit code.
    Unknown,
}

/// A job as a runner sees it.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub job_id: i64,
    pub attempt: i32,
    pub dir: JobDir,
    pub execution: Execution,
    /// The name the job has on the cluster: encodes this instance, the job and its attempt,
    /// so that a submission whose answer was lost can be found again.
    pub name: String,
}

/// A runner's failure to submit, cancel or look up a job.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The cluster refused the job (its message, e.g. a bad option): the job fails.
    #[error("{0}")]
    Refused(String),
    /// The cluster could not be asked (tried a few times).
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Io(String),
}

/// Progress of one job, as the runner reports it.
pub type ProgressRx = mpsc::UnboundedReceiver<Progress>;

/// One runner plugin.
pub trait JobRunner: Send + Sync {
    fn kind(&self) -> RunnerKind;
    /// Recorded as the job's `job_runner_name`, e.g. `local:///`, `slurm://`.
    fn url(&self) -> String;
    /// Writes the job script for `command` (blocking: called on a blocking thread).
    fn prepare(&self, spec: &JobSpec, command: &str) -> std::io::Result<()>;
    /// Starts the job: its external id (a process group, a Slurm job id) and its progress.
    fn submit(&self, spec: JobSpec) -> BoxFuture<'_, Result<(String, ProgressRx), RunnerError>>;
    /// Watches a job started earlier (by this or another handler): its progress from now on.
    /// `same_host`: whether a local job's process can be seen from here.
    fn watch(&self, spec: JobSpec, external_id: String, same_host: bool) -> ProgressRx;
    /// Cancels a started job (its progress then ends).
    fn cancel(&self, execution: &Execution, external_id: &str) -> BoxFuture<'_, ()>;
    /// Finds a job whose submission's answer was lost (its handler stopped in between):
    /// its external id, or `None` if it was never started.
    fn find(&self, spec: JobSpec) -> BoxFuture<'_, Result<Option<String>, RunnerError>>;
}

/// A runner and its workers: a local job holds one while it runs; a cluster job while it is
/// prepared and submitted.
#[derive(Clone)]
pub struct Plugin {
    pub runner: Arc<dyn JobRunner>,
    pub slots: Arc<Semaphore>,
}

/// The runners of a handler, by the job conf's runner id.
#[derive(Clone)]
pub struct Runners {
    by_id: HashMap<String, Plugin>,
    /// The runner every environment uses, when they all use one.
    single: Option<Plugin>,
    conf: Arc<JobConf>,
    /// The runner of a job whose environment is not (or no longer) configured.
    fallback: String,
}

impl Runners {
    /// One instance of each configured runner the job conf's environments use. `local` is
    /// the local runner this handler already built (it owns the spare job directories).
    pub fn new(conf: Arc<JobConf>, local: LocalRunner) -> Runners {
        let mut by_id = HashMap::new();
        for (id, r) in &conf.runners {
            let runner: Arc<dyn JobRunner> = match r.kind {
                RunnerKind::Slurm | RunnerKind::Cli => {
                    Arc::new(slurm::SlurmRunner::new(id, r.poll_interval()))
                }
                RunnerKind::Noop => Arc::new(noop::NoopRunner),
                _ => Arc::new(local.clone()),
            };
            by_id.insert(
                id.clone(),
                Plugin {
                    runner,
                    slots: Arc::new(Semaphore::new(r.workers.max(1))),
                },
            );
        }
        let fallback = conf
            .environments
            .get(&conf.default_environment)
            .map(|e| e.runner.clone())
            .unwrap_or_else(|| "local".into());
        if !by_id.contains_key(&fallback) {
            by_id.insert(
                fallback.clone(),
                Plugin {
                    runner: Arc::new(local.clone()),
                    slots: Arc::new(Semaphore::new(local.workers.max(1))),
                },
            );
        }
        let single = {
            let mut ids = conf.environments.values().map(|e| e.runner.as_str());
            let first = ids.next().unwrap_or(fallback.as_str());
            if ids.all(|id| id == first) {
                by_id.get(first).cloned()
            } else {
                None
            }
        };
        Runners {
            by_id,
            single,
            conf,
            fallback,
        }
    }

    /// The runner every environment uses, when they all use one.
    pub fn single(&self) -> Option<Plugin> {
        self.single.clone()
    }

    /// Whether every environment uses the no-op runner.
    pub fn all_noop(&self) -> bool {
        self.single
            .as_ref()
            .is_some_and(|p| p.runner.kind() == RunnerKind::Noop)
    }

    /// The execution of environment `id` (the default environment when `id` is unknown, e.g.
    /// removed from the job conf since the job was created) and its runner.
    pub fn for_environment(&self, id: Option<&str>) -> (Execution, Plugin) {
        let exec = id
            .and_then(|id| {
                let e = self.conf.execution(id);
                if e.is_none() {
                    log::warn!("environment `{id}` is not configured: using the default");
                }
                e
            })
            .or_else(|| self.conf.execution(&self.conf.default_environment));
        let exec =
            exec.unwrap_or_else(|| local_execution(&self.conf.default_environment, &self.fallback));
        let plugin = self
            .by_id
            .get(&exec.runner)
            .or_else(|| self.by_id.get(&self.fallback))
            .cloned();
        match plugin {
            Some(p) => (exec, p),
            // `new` always adds the fallback runner.
            None => unreachable_plugin(exec),
        }
    }
}

/// A local environment with nothing set.
pub fn local_execution(environment: &str, runner: &str) -> Execution {
    Execution {
        environment: environment.to_string(),
        runner: runner.to_string(),
        kind: RunnerKind::Local,
        shell: crate::config::Shell::Local,
        native_specification: None,
        walltime: None,
        galaxy_slots: None,
        env: Vec::new(),
        resubmit: Vec::new(),
    }
}

#[cold]
fn unreachable_plugin(exec: Execution) -> (Execution, Plugin) {
    let local = LocalRunner::standalone();
    (
        exec,
        Plugin {
            slots: Arc::new(Semaphore::new(local.workers)),
            runner: Arc::new(local),
        },
    )
}

/// This installation's short name on a shared cluster: a stable hash of its `id_secret`
/// (the same in all of its processes, on every host), 8 hex digits.
pub fn instance_tag(id_secret: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id_secret.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// A job's name on a cluster: `galaxy_<instance>_<job id>_<attempt>`.
pub fn cluster_job_name(instance: &str, job_id: i64, attempt: i32) -> String {
    format!("galaxy_{instance}_{job_id}_{attempt}")
}

/// How long to wait between tries of a cluster command.
pub(crate) fn backoff(try_no: u32) -> Duration {
    Duration::from_millis(250 * (1 << try_no.min(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_tags_are_stable_and_short() {
        let a = instance_tag("USING THE DEFAULT IS NOT SECURE!");
        assert_eq!(a.len(), 8);
        assert_eq!(a, instance_tag("USING THE DEFAULT IS NOT SECURE!"));
        assert_ne!(a, instance_tag("another secret"));
        assert_eq!(
            cluster_job_name(&a, 12, 1),
            format!("galaxy_{a}_12_1"),
            "the job name encodes the instance, the job and its attempt"
        );
    }
}
