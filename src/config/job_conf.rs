//! The job configuration: `job_conf.yml` (Galaxy >= 21) and `job_conf.xml` (legacy) into one model.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::ConfigError;
use super::execution::{EnvEntry, Origin, Resubmit, RunnerKind, parse_seconds};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobConf {
    /// Runner plugins by id (`local` always present).
    pub runners: BTreeMap<String, Runner>,
    pub handling: Handling,
    /// Execution environments (XML: destinations) by id.
    pub environments: BTreeMap<String, Environment>,
    /// Id of the default environment.
    pub default_environment: String,
    /// Tool id → mapping.
    pub tools: BTreeMap<String, ToolMapping>,
    pub limits: Vec<Limit>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Runner {
    pub id: String,
    /// `galaxy.jobs.runners.local:LocalJobRunner` or a short name.
    pub load: String,
    /// Concurrent jobs per handler (default 4).
    pub workers: usize,
    /// What `load` is to this server.
    pub kind: RunnerKind,
    /// Other keys (YAML) / `<param>`s (XML), as strings: `poll_interval`, and defaults for the
    /// parameters of the environments that use this runner.
    pub params: BTreeMap<String, String>,
}

impl Runner {
    /// A runner; its kind follows from `load`.
    pub fn new(id: String, load: String, workers: usize, params: BTreeMap<String, String>) -> Self {
        let kind = RunnerKind::from_load(&load);
        Runner {
            id,
            load,
            workers,
            kind,
            params,
        }
    }

    /// How often the runner asks its scheduler about its jobs: `poll_interval` seconds
    /// (checked at load), 1 s by default.
    pub fn poll_interval(&self) -> Duration {
        self.params
            .get("poll_interval")
            .and_then(|v| parse_seconds(v))
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(1))
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AssignMethod {
    MemSelf,
    DbSelf,
    DbPreassign,
    DbTransactionIsolation,
    DbSkipLocked,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Handling {
    /// Empty = the default for the database in use.
    pub assign: Vec<AssignMethod>,
    pub max_grab: Option<u32>,
    pub ready_window_size: Option<u32>,
    /// A handler id or tag.
    pub default: Option<String>,
    pub handlers: Vec<StaticHandler>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StaticHandler {
    pub id: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Environment {
    pub id: String,
    pub runner: String,
    pub tags: Vec<String>,
    /// Other keys / `<param>`s, as strings.
    pub params: BTreeMap<String, String>,
    /// `env` entries (XML: `<env>`), in order.
    pub env: Vec<EnvEntry>,
    /// `resubmit` rules (XML: `<resubmit>`), in order; the first that matches applies.
    pub resubmit: Vec<Resubmit>,
}

impl Environment {
    /// An environment with no parameters, `env` entries or resubmit rules.
    pub fn new(id: impl Into<String>, runner: impl Into<String>) -> Self {
        Environment {
            id: id.into(),
            runner: runner.into(),
            tags: vec![],
            params: BTreeMap::new(),
            env: vec![],
            resubmit: vec![],
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolMapping {
    pub id: String,
    /// Handler id or tag.
    pub handler: Option<String>,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Limit {
    RegisteredUserConcurrentJobs(u32),
    AnonymousUserConcurrentJobs(u32),
    /// (environment id or tag, or None for every environment, limit)
    DestinationUserConcurrentJobs(Option<String>, u32),
    DestinationTotalConcurrentJobs(Option<String>, u32),
    /// Seconds.
    Walltime(u64),
}

impl JobConf {
    /// Loads `.yml`/`.yaml` or `.xml` by extension; `None` = the built-in default (one `local`
    /// runner with 4 workers, one `local` environment, no handlers).
    pub fn load(path: Option<&Path>) -> Result<JobConf, ConfigError> {
        let Some(path) = path else {
            return Ok(JobConf::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        // `job_conf.xml.sample` reads as XML: look past a `.sample` suffix.
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let name = name.strip_suffix(".sample").unwrap_or(&name);
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e).to_string();
        let (conf, origin) = match ext.as_str() {
            "yml" | "yaml" => super::job_conf_yml::parse(&text, path)?,
            "xml" => super::job_conf_xml::parse(&text, path)?,
            other => {
                return Err(ConfigError::Invalid {
                    file: path.to_path_buf(),
                    key: "job_config_file".into(),
                    line: None,
                    message: format!("expected a .yml, .yaml or .xml file, not `.{other}`"),
                });
            }
        };
        conf.check(path, &origin)?;
        Ok(conf)
    }

    /// Cross-checks: every environment can run here (a known and supported runner, valid
    /// parameters, resubmit targets that exist: see `check_execution`), the default environment
    /// exists, tool mappings name known environments.
    fn check(&self, file: &Path, origin: &Origin) -> Result<(), ConfigError> {
        let bad = |key: String, message: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key,
            line: None,
            message,
        };
        self.check_execution(file, origin)?;
        if !self.environments.contains_key(&self.default_environment) {
            return Err(bad(
                "default environment".into(),
                format!(
                    "`{}` is not a defined environment/destination",
                    self.default_environment
                ),
            ));
        }
        for t in self.tools.values() {
            if let Some(e) = &t.environment {
                let tagged = self.environments.values().any(|env| env.tags.contains(e));
                if !self.environments.contains_key(e) && !tagged {
                    return Err(bad(
                        format!("tool `{}`", t.id),
                        format!("environment `{e}` is not defined"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The number of concurrent jobs of the default environment's runner.
    pub fn default_workers(&self) -> usize {
        self.environments
            .get(&self.default_environment)
            .and_then(|e| self.runners.get(&e.runner))
            .map_or(4, |r| r.workers.max(1))
    }
}

impl Default for JobConf {
    fn default() -> Self {
        let mut runners = BTreeMap::new();
        runners.insert(
            "local".to_string(),
            Runner::new(
                "local".into(),
                LOCAL_RUNNER.into(),
                DEFAULT_WORKERS,
                BTreeMap::new(),
            ),
        );
        let mut environments = BTreeMap::new();
        environments.insert("local".to_string(), Environment::new("local", "local"));
        JobConf {
            runners,
            handling: Handling::default(),
            environments,
            default_environment: "local".into(),
            tools: BTreeMap::new(),
            limits: vec![],
        }
    }
}

pub const LOCAL_RUNNER: &str = "galaxy.jobs.runners.local:LocalJobRunner";
/// `load` of the no-op runner, used by the dispatch benchmark to measure the claim and state
/// path alone: claimed jobs are marked ok without running.
pub const NOOP_RUNNER: &str = "galaxy_server.bench:NoopRunner";
pub const DEFAULT_WORKERS: usize = 4;

/// Parses one assign method name as Galaxy spells it.
pub fn parse_assign(name: &str) -> Option<AssignMethod> {
    Some(match name.trim() {
        "mem-self" => AssignMethod::MemSelf,
        "db-self" => AssignMethod::DbSelf,
        "db-preassign" => AssignMethod::DbPreassign,
        "db-transaction-isolation" => AssignMethod::DbTransactionIsolation,
        "db-skip-locked" => AssignMethod::DbSkipLocked,
        _ => return None,
    })
}

/// `HH:MM:SS` (or plain seconds) → seconds.
pub fn parse_walltime(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.trim().split(':').collect();
    let nums: Option<Vec<u64>> = parts.iter().map(|p| p.parse::<u64>().ok()).collect();
    let nums = nums?;
    match nums.as_slice() {
        [s] => Some(*s),
        [m, s] => Some(m * 60 + s),
        [h, m, s] => Some(h * 3600 + m * 60 + s),
        _ => None,
    }
}

/// A limit from Galaxy's `type`, optional id/tag and value; `Ok(None)` for types this server
/// does not enforce (warned by the caller).
pub fn make_limit(
    kind: &str,
    target: Option<String>,
    value: &str,
) -> Result<Option<Limit>, String> {
    let num = || {
        value
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("limit `{kind}`: expected a whole number, got `{value}`"))
    };
    Ok(Some(match kind {
        "registered_user_concurrent_jobs" => Limit::RegisteredUserConcurrentJobs(num()?),
        "anonymous_user_concurrent_jobs" => Limit::AnonymousUserConcurrentJobs(num()?),
        "destination_user_concurrent_jobs" | "environment_user_concurrent_jobs" => {
            Limit::DestinationUserConcurrentJobs(target, num()?)
        }
        "destination_total_concurrent_jobs" | "environment_total_concurrent_jobs" => {
            Limit::DestinationTotalConcurrentJobs(target, num()?)
        }
        "walltime" => Limit::Walltime(
            parse_walltime(value)
                .ok_or_else(|| format!("limit `walltime`: expected HH:MM:SS, got `{value}`"))?,
        ),
        _ => return Ok(None),
    }))
}
