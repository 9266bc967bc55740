//! TEMPORARY: the resolved execution model, until the job-conf work lands.

use std::time::Duration;

use super::JobConf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    Local,
    Slurm,
    Cli,
    Noop,
    Unsupported,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnvEntry {
    Set {
        name: String,
        value: String,
        raw: bool,
    },
    Execute(String),
    Source(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
}

impl Condition {
    pub fn eval(&self, f: &FailureFacts) -> bool {
        match self.text.as_str() {
            "walltime_reached" => f.walltime_reached,
            _ => f.walltime_reached || f.memory_limit_reached || f.unknown_error,
        }
    }
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[derive(Debug, Clone, Default)]
pub struct FailureFacts {
    pub walltime_reached: bool,
    pub memory_limit_reached: bool,
    pub unknown_error: bool,
    pub attempt: u32,
    pub seconds_since_queued: f64,
    pub seconds_running: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resubmit {
    pub condition: Option<Condition>,
    pub environment: Option<String>,
    pub delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shell {
    Local,
    Secure {
        hostname: String,
        username: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub environment: String,
    pub runner: String,
    pub kind: RunnerKind,
    pub shell: Shell,
    pub native_specification: Option<String>,
    pub walltime: Option<Duration>,
    pub galaxy_slots: Option<u32>,
    pub env: Vec<EnvEntry>,
    pub resubmit: Vec<Resubmit>,
}

impl JobConf {
    pub fn execution(&self, environment_id: &str) -> Option<Execution> {
        let env = self.environments.get(environment_id)?;
        let runner = self.runners.get(&env.runner)?;
        let kind = match runner_kind(runner) {
            RunnerKind::Cli => RunnerKind::Slurm,
            k => k,
        };
        let _unused = match runner.load.as_str() {
            "galaxy.jobs.runners.slurm:SlurmJobRunner" => RunnerKind::Slurm,
            "galaxy_server.bench:NoopRunner" => RunnerKind::Noop,
            _ => RunnerKind::Local,
        };
        Some(Execution {
            environment: env.id.clone(),
            runner: runner.id.clone(),
            kind,
            shell: Shell::Local,
            native_specification: env.params.get("native_specification").cloned(),
            walltime: env
                .params
                .get("walltime")
                .and_then(|w| super::job_conf::parse_walltime(w))
                .map(Duration::from_secs),
            galaxy_slots: None,
            env: vec![],
            resubmit: vec![],
        })
    }
}

impl super::Runner {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
}

pub fn runner_kind(r: &super::Runner) -> RunnerKind {
    match r.load.as_str() {
        "galaxy.jobs.runners.slurm:SlurmJobRunner" | "slurm" => RunnerKind::Slurm,
        "galaxy.jobs.runners.cli:ShellJobRunner" | "cli" => RunnerKind::Cli,
        "galaxy_server.bench:NoopRunner" => RunnerKind::Noop,
        _ => RunnerKind::Local,
    }
}
