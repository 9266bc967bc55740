//! How an environment's jobs run: the runner kinds this server has, an environment's `env`
//! entries and `resubmit` rules, and [`Execution`], one environment resolved for the runners
//! (its runner, shell, native specification, walltime, slots). The same resolution checks the
//! job conf at load, so an environment that cannot run stops the server with the file and the
//! key instead of running its jobs somewhere else.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::ConfigError;
use super::condition::Condition;
use super::job_conf::{Environment, JobConf, Limit, NOOP_RUNNER, Runner, parse_walltime};
use super::yaml::find_key_line;

/// What a runner plugin (`load`) is to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerKind {
    /// `galaxy.jobs.runners.local:LocalJobRunner`: jobs run on the handler's host.
    Local,
    /// `galaxy.jobs.runners.slurm:SlurmJobRunner`: Slurm through its command-line tools.
    Slurm,
    /// `galaxy.jobs.runners.cli:ShellJobRunner`: a scheduler's command-line tools, chosen by the
    /// environment's `job_plugin` (only `Slurm` is supported).
    Cli,
    /// `galaxy_server.bench:NoopRunner`: the benchmark's runner, nothing runs.
    Noop,
    /// Any other plugin (PBS, DRMAA, Pulsar, Kubernetes, …).
    Unsupported,
}

impl RunnerKind {
    /// The kind of a `load` value: `module:Class`, the module alone, or Galaxy's short name.
    pub fn from_load(load: &str) -> RunnerKind {
        match load.trim() {
            "local" | "galaxy.jobs.runners.local" | "galaxy.jobs.runners.local:LocalJobRunner" => {
                RunnerKind::Local
            }
            "slurm" | "galaxy.jobs.runners.slurm" | "galaxy.jobs.runners.slurm:SlurmJobRunner" => {
                RunnerKind::Slurm
            }
            "cli" | "galaxy.jobs.runners.cli" | "galaxy.jobs.runners.cli:ShellJobRunner" => {
                RunnerKind::Cli
            }
            NOOP_RUNNER => RunnerKind::Noop,
            _ => RunnerKind::Unsupported,
        }
    }
}

/// One `env` entry of an environment, applied in order in the job script before the tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvEntry {
    /// `export NAME=VALUE`; the value is shell-quoted unless `raw` (then it is written as is, so
    /// `$OTHER` and `$(cmd)` expand).
    Set {
        name: String,
        value: String,
        raw: bool,
    },
    /// A shell command (`module load x`), run in the job script.
    Execute(String),
    /// A file sourced by the job script (`. /path/setup.sh`); it needs to exist where the job
    /// runs, not on the server.
    Source(String),
}

/// One `resubmit` rule of an environment: when a failed attempt matches `condition` (or always,
/// without one), the job is queued again in `environment` (an environment id or tag; `None` =
/// the same environment) after `delay`. The first matching rule applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resubmit {
    pub condition: Option<Condition>,
    pub environment: Option<String>,
    #[serde(serialize_with = "seconds")]
    pub delay: Option<Duration>,
}

/// A duration as a number of seconds, for `check-config`'s output.
fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Where a runner's commands (`sbatch`, `squeue`, `scancel`, …) run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shell {
    /// On the handler's host (Galaxy's `LocalShell`, the default).
    Local,
    /// Over ssh on a submit host (Galaxy's `SecureShell`: `shell_hostname`, `shell_username`).
    Secure {
        hostname: String,
        username: Option<String>,
    },
}

/// One environment, resolved: what a runner needs to run a job there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub environment: String,
    /// The runner's id in the job conf.
    pub runner: String,
    /// `Local`, `Slurm` or `Noop` (a `cli` runner with `job_plugin: Slurm` is `Slurm`).
    pub kind: RunnerKind,
    pub shell: Shell,
    /// `native_specification` (or DRMAA's `nativeSpecification`); for a `cli` runner, its
    /// `job_*` parameters as Slurm options first (`job_time` → `--time=…`, `job_ncpus` →
    /// `--cpus-per-task=…`, `job_partition` → `--partition=…`, `job_-X`/`job_--long` as given).
    pub native_specification: Option<String>,
    /// `walltime`, capped by the job conf's `walltime` limit.
    #[serde(serialize_with = "seconds")]
    pub walltime: Option<Duration>,
    /// `galaxy_slots`, or Galaxy's `local_slots`.
    pub galaxy_slots: Option<u32>,
    pub env: Vec<EnvEntry>,
    pub resubmit: Vec<Resubmit>,
}

/// A place in the job conf, named in errors found after parsing (see [`Origin`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Place {
    /// A runner's `load`.
    Runner(String),
    /// A runner's parameter.
    RunnerParam(String, String),
    /// An environment's `runner`.
    EnvRunner(String),
    /// An environment's parameter.
    EnvParam(String, String),
    /// An environment's n-th `resubmit`.
    Resubmit(String, usize),
}

/// The file a job conf was read from, as far as errors found after parsing need it: the YAML
/// text (lines are found from the key), or the lines the XML reader recorded for each place.
pub(super) enum Origin {
    Yaml(String),
    Xml(HashMap<Place, usize>),
}

impl Origin {
    /// The key to name for `place` in this format, and its line when known.
    pub(super) fn describe(&self, place: &Place) -> (String, Option<usize>) {
        match self {
            Origin::Yaml(text) => {
                let key = match place {
                    Place::Runner(r) => format!("runners.{r}.load"),
                    Place::RunnerParam(r, p) => format!("runners.{r}.{p}"),
                    Place::EnvRunner(e) => format!("execution.environments.{e}.runner"),
                    Place::EnvParam(e, p) => format!("execution.environments.{e}.{p}"),
                    Place::Resubmit(e, i) => {
                        format!("execution.environments.{e}.resubmit[{i}].environment")
                    }
                };
                let line = find_key_line(text, &key);
                (key, line)
            }
            Origin::Xml(lines) => {
                let key = match place {
                    Place::Runner(r) => format!("<plugin id=\"{r}\" load>"),
                    Place::RunnerParam(r, p) => format!("<plugin id=\"{r}\"> <param id=\"{p}\">"),
                    Place::EnvRunner(e) => format!("<destination id=\"{e}\" runner>"),
                    Place::EnvParam(e, p) => {
                        format!("<destination id=\"{e}\"> <param id=\"{p}\">")
                    }
                    Place::Resubmit(e, _) => {
                        format!("<destination id=\"{e}\"> <resubmit destination>")
                    }
                };
                let line = lines.get(place).copied().or_else(|| match place {
                    Place::EnvParam(e, _) | Place::Resubmit(e, _) => {
                        lines.get(&Place::EnvRunner(e.clone())).copied()
                    }
                    Place::RunnerParam(r, _) => lines.get(&Place::Runner(r.clone())).copied(),
                    _ => None,
                });
                (key, line)
            }
        }
    }

    fn error(&self, file: &Path, problem: Problem) -> ConfigError {
        let (key, line) = self.describe(&problem.place);
        ConfigError::Invalid {
            file: file.to_path_buf(),
            key,
            line,
            message: problem.message,
        }
    }
}

/// Why an environment cannot run, and where.
#[derive(Debug)]
pub(super) struct Problem {
    place: Place,
    message: String,
}

fn problem(place: Place, message: impl Into<String>) -> Problem {
    Problem {
        place,
        message: message.into(),
    }
}

const SUPPORTED: &str = "supported: local, slurm, cli with job_plugin Slurm";
const SHELL_KEYS: [&str; 3] = ["shell_plugin", "shell_hostname", "shell_username"];

impl JobConf {
    /// The environment `environment_id`, resolved for a runner; `None` when there is no such
    /// environment (or it cannot run, which `JobConf::load` has already refused).
    pub fn execution(&self, environment_id: &str) -> Option<Execution> {
        let env = self.environments.get(environment_id)?;
        self.resolve(env).ok()
    }

    /// A parameter of the environment, else of its runner (Galaxy's CLI runner reads
    /// `shell_*`/`job_*` from the destination; a runner-wide default is kept for convenience).
    fn param<'a>(env: &'a Environment, runner: &'a Runner, name: &str) -> Option<(&'a str, Place)> {
        if let Some(v) = env.params.get(name) {
            return Some((v, Place::EnvParam(env.id.clone(), name.to_string())));
        }
        runner.params.get(name).map(|v| {
            (
                v.as_str(),
                Place::RunnerParam(runner.id.clone(), name.to_string()),
            )
        })
    }

    fn resolve(&self, env: &Environment) -> Result<Execution, Problem> {
        let Some(runner) = self.runners.get(&env.runner) else {
            let known = self.runners.keys().cloned().collect::<Vec<_>>().join(", ");
            let mut message = format!("runner `{}` is not defined (runners: {known})", env.runner);
            if env.runner == "dynamic" {
                message.push_str("; dynamic destinations are not supported by this server");
            }
            return Err(problem(Place::EnvRunner(env.id.clone()), message));
        };
        let param = |name: &str| Self::param(env, runner, name);
        let kind = match runner.kind {
            RunnerKind::Local | RunnerKind::Slurm | RunnerKind::Noop => runner.kind,
            RunnerKind::Cli => match param("job_plugin") {
                Some(("Slurm", _)) => RunnerKind::Slurm,
                Some((other, place)) => {
                    return Err(problem(
                        place,
                        format!(
                            "job plugin `{other}` of the cli runner `{}` is not supported by this server; supported: Slurm",
                            runner.id
                        ),
                    ));
                }
                None => {
                    return Err(problem(
                        Place::EnvRunner(env.id.clone()),
                        format!(
                            "the cli runner `{}` needs `job_plugin: Slurm` (the one job plugin this server supports)",
                            runner.id
                        ),
                    ));
                }
            },
            RunnerKind::Unsupported => {
                return Err(problem(
                    Place::EnvRunner(env.id.clone()),
                    format!(
                        "runner `{}` (load `{}`) is not supported by this server; {SUPPORTED}",
                        runner.id, runner.load
                    ),
                ));
            }
        };

        for (k, place) in env
            .params
            .keys()
            .map(|k| (k, Place::EnvParam(env.id.clone(), k.clone())))
            .chain(
                runner
                    .params
                    .keys()
                    .map(|k| (k, Place::RunnerParam(runner.id.clone(), k.clone()))),
            )
        {
            if k.starts_with("shell_") && !SHELL_KEYS.contains(&k.as_str()) {
                return Err(problem(
                    place,
                    format!(
                        "`{k}` is not supported by this server (it takes shell_plugin, shell_hostname and shell_username; set other ssh options in the ssh client's configuration)"
                    ),
                ));
            }
        }
        let shell = match param("shell_plugin") {
            None | Some(("LocalShell", _)) => Shell::Local,
            Some(("SecureShell", place)) => {
                if matches!(kind, RunnerKind::Local | RunnerKind::Noop) {
                    return Err(problem(
                        place,
                        format!(
                            "`SecureShell` runs a scheduler's commands on a submit host; runner `{}` runs jobs on this host",
                            runner.id
                        ),
                    ));
                }
                let hostname = match param("shell_hostname") {
                    Some((h, _)) if !h.trim().is_empty() => h.trim().to_string(),
                    _ => return Err(problem(place, "`SecureShell` needs `shell_hostname`")),
                };
                let username = param("shell_username")
                    .map(|(u, _)| u.trim().to_string())
                    .filter(|u| !u.is_empty());
                Shell::Secure { hostname, username }
            }
            Some((other, place)) => {
                return Err(problem(
                    place,
                    format!(
                        "shell plugin `{other}` is not supported by this server; supported: LocalShell, SecureShell"
                    ),
                ));
            }
        };

        let mut spec = Vec::new();
        if runner.kind == RunnerKind::Cli {
            spec = slurm_job_args(env, runner)?;
        }
        if let Some((v, _)) = param("native_specification").or_else(|| param("nativeSpecification"))
            && !v.trim().is_empty()
        {
            spec.push(v.trim().to_string());
        }
        let native_specification = (!spec.is_empty()).then(|| spec.join(" "));

        let mut walltime = match param("walltime") {
            None => None,
            Some((v, place)) => match parse_walltime(v) {
                Some(s) if s > 0 => Some(Duration::from_secs(s)),
                _ => {
                    return Err(problem(
                        place,
                        format!(
                            "expected a walltime as HH:MM:SS or seconds (more than 0), got `{v}`"
                        ),
                    ));
                }
            },
        };
        for limit in &self.limits {
            if let Limit::Walltime(s) = limit {
                let cap = Duration::from_secs(*s);
                walltime = Some(walltime.map_or(cap, |w| w.min(cap)));
            }
        }

        let galaxy_slots = match param("galaxy_slots").or_else(|| param("local_slots")) {
            None => None,
            Some((v, place)) => match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(problem(
                        place,
                        format!("expected a whole number of at least 1, got `{v}`"),
                    ));
                }
            },
        };

        for (i, r) in env.resubmit.iter().enumerate() {
            if let Some(target) = &r.environment {
                let tagged = self.environments.values().any(|e| e.tags.contains(target));
                if !self.environments.contains_key(target) && !tagged {
                    return Err(problem(
                        Place::Resubmit(env.id.clone(), i),
                        format!("environment `{target}` to resubmit to is not defined"),
                    ));
                }
            }
        }

        Ok(Execution {
            environment: env.id.clone(),
            runner: runner.id.clone(),
            kind,
            shell,
            native_specification,
            walltime,
            galaxy_slots,
            env: env.env.clone(),
            resubmit: env.resubmit.clone(),
        })
    }

    /// The execution checks of [`JobConf::load`]: every environment resolves, every runner's
    /// `poll_interval` is a positive number; a runner this server does not support that no
    /// environment uses is only warned about.
    pub(super) fn check_execution(&self, file: &Path, origin: &Origin) -> Result<(), ConfigError> {
        for runner in self.runners.values() {
            if let Some(v) = runner.params.get("poll_interval")
                && parse_seconds(v).is_none_or(|d| d.is_zero())
            {
                return Err(origin.error(
                    file,
                    problem(
                        Place::RunnerParam(runner.id.clone(), "poll_interval".into()),
                        format!("expected a number of seconds greater than 0, got `{v}`"),
                    ),
                ));
            }
        }
        for env in self.environments.values() {
            self.resolve(env).map_err(|p| origin.error(file, p))?;
            for (i, r) in env.resubmit.iter().enumerate() {
                let to_itself = r.environment.as_ref().is_none_or(|t| *t == env.id);
                if to_itself && !r.condition.as_ref().is_some_and(Condition::uses_attempt) {
                    let (key, line) = origin.describe(&Place::Resubmit(env.id.clone(), i));
                    log::warn!(
                        "{}{}: key `{key}`: environment `{}` resubmits to itself with no `attempt` in its condition: a job that keeps failing so is resubmitted without end",
                        file.display(),
                        line.map(|l| format!(":{l}")).unwrap_or_default(),
                        env.id
                    );
                }
            }
        }
        for runner in self.runners.values() {
            let used = self.environments.values().any(|e| e.runner == runner.id);
            if runner.kind == RunnerKind::Unsupported && !used {
                let (key, line) = origin.describe(&Place::Runner(runner.id.clone()));
                log::warn!(
                    "{}{}: key `{key}`: runner `{}` (load `{}`) is not supported by this server ({SUPPORTED}); no environment uses it, so it is ignored",
                    file.display(),
                    line.map(|l| format!(":{l}")).unwrap_or_default(),
                    runner.id,
                    runner.load
                );
            }
        }
        Ok(())
    }
}

/// A `cli` runner's `job_*` parameters (the runner's, overridden by the environment's) as Slurm
/// options, as Galaxy's Slurm job plugin maps them.
fn slurm_job_args(env: &Environment, runner: &Runner) -> Result<Vec<String>, Problem> {
    let mut merged: BTreeMap<&str, (&str, Place)> = BTreeMap::new();
    for (k, v) in &runner.params {
        if let Some(name) = k.strip_prefix("job_") {
            merged.insert(name, (v, Place::RunnerParam(runner.id.clone(), k.clone())));
        }
    }
    for (k, v) in &env.params {
        if let Some(name) = k.strip_prefix("job_") {
            merged.insert(name, (v, Place::EnvParam(env.id.clone(), k.clone())));
        }
    }
    let mut out = Vec::new();
    for (name, (value, place)) in merged {
        let value = value.trim();
        let arg = match name {
            "plugin" => continue,
            "time" => format!("--time={value}"),
            "ncpus" => format!("--cpus-per-task={value}"),
            "partition" => format!("--partition={value}"),
            long if long.starts_with("--") && long.len() > 2 => {
                if value.is_empty() {
                    long.to_string()
                } else {
                    format!("{long}={value}")
                }
            }
            short if short.starts_with('-') && short.len() > 1 => {
                if value.is_empty() {
                    short.to_string()
                } else {
                    format!("{short} {value}")
                }
            }
            _ => {
                return Err(problem(
                    place,
                    format!(
                        "`job_{name}` is not an option of the Slurm job plugin; use job_time, job_ncpus, job_partition, or an sbatch option as job_-X / job_--long-option"
                    ),
                ));
            }
        };
        out.push(arg);
    }
    Ok(out)
}

/// A non-negative, finite number of seconds.
pub(super) fn parse_seconds(v: &str) -> Option<Duration> {
    let s = v.trim().parse::<f64>().ok()?;
    if !(s.is_finite() && s >= 0.0) {
        return None;
    }
    Duration::try_from_secs_f64(s).ok()
}

/// Galaxy's truth values (`asbool`).
pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// One `env` entry from its parts (YAML keys or XML attributes); the error says what is wrong.
pub(super) fn make_env_entry(
    name: Option<String>,
    value: Option<String>,
    raw: bool,
    execute: Option<String>,
    file: Option<String>,
) -> Result<EnvEntry, String> {
    match (name, execute, file) {
        (Some(name), None, None) => {
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`{name}` is not a valid environment variable name (letters, digits and _, not starting with a digit)"
                ));
            }
            let value = value.ok_or_else(|| format!("variable `{name}` needs a value"))?;
            Ok(EnvEntry::Set { name, value, raw })
        }
        (None, Some(cmd), None) if value.is_none() => {
            if cmd.trim().is_empty() {
                return Err("expected a command to execute, got an empty one".into());
            }
            Ok(EnvEntry::Execute(cmd))
        }
        (None, None, Some(path)) if value.is_none() => {
            if path.trim().is_empty() {
                return Err("expected a file to source, got an empty path".into());
            }
            Ok(EnvEntry::Source(path))
        }
        (None, None, None) => Err(
            "expected a variable (name and value), a command to execute or a file to source".into(),
        ),
        _ => Err(
            "give one of: a variable (name and value), a command to execute, a file to source"
                .into(),
        ),
    }
}

/// The part of a `resubmit` rule that was wrong: `condition` or `delay`.
pub(super) type ResubmitError = (&'static str, String);

/// One `resubmit` rule from its parts; a blank condition means none (always).
pub(super) fn make_resubmit(
    condition: Option<&str>,
    environment: Option<String>,
    delay: Option<&str>,
) -> Result<Resubmit, ResubmitError> {
    let condition = match condition.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            Condition::parse(text)
                .map_err(|e| ("condition", format!("cannot read `{text}`: {e}")))?,
        ),
    };
    let delay = match delay.map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => Some(parse_seconds(text).ok_or_else(|| {
            let mut m = format!("expected a number of seconds (0 or more), got `{text}`");
            if text.chars().any(|c| c.is_alphabetic()) {
                m.push_str("; expressions are not supported here");
            }
            ("delay", m)
        })?),
    };
    let environment = environment
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    Ok(Resubmit {
        condition,
        environment,
        delay,
    })
}
