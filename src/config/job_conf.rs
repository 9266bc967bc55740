//! The job configuration: `job_conf.yml` (Galaxy >= 21) and `job_conf.xml` (legacy) into one model.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::ConfigError;

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
        let conf = match ext.as_str() {
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
        conf.check(path)?;
        Ok(conf)
    }

    /// Cross-checks: environments name known runners, the default environment exists, tool
    /// mappings name known environments.
    fn check(&self, file: &Path) -> Result<(), ConfigError> {
        let bad = |key: String, message: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            key,
            line: None,
            message,
        };
        for env in self.environments.values() {
            if !self.runners.contains_key(&env.runner) {
                return Err(bad(
                    format!("environment `{}`", env.id),
                    format!(
                        "runner `{}` is not defined (runners: {})",
                        env.runner,
                        self.runners.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
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
            Runner {
                id: "local".into(),
                load: LOCAL_RUNNER.into(),
                workers: DEFAULT_WORKERS,
            },
        );
        let mut environments = BTreeMap::new();
        environments.insert(
            "local".to_string(),
            Environment {
                id: "local".into(),
                runner: "local".into(),
                tags: vec![],
                params: BTreeMap::new(),
            },
        );
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
