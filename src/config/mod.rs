//! Configuration: `galaxy.yml` (the `gravity` and `galaxy` sections) and the job configuration
//! (`job_conf.yml` or the legacy `job_conf.xml`, read into one model).

mod condition;
mod execution;
mod extra_args;
pub mod galaxy;
pub mod gravity;
pub mod ip_allowlist;
pub mod job_conf;
mod job_conf_xml;
mod job_conf_yml;
mod size;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_execution;

pub use condition::{Condition, FailureFacts};
pub use execution::{EnvEntry, Execution, Resubmit, RunnerKind, Shell};
pub use galaxy::{BeatEntry, CleanupJob, GalaxySettings, Settings};
pub use gravity::{GravitySettings, GunicornSettings, HandlerGroup};
pub use ip_allowlist::IpAllowlist;
pub use job_conf::{
    AssignMethod, Environment, Handling, JobConf, Limit, Runner, StaticHandler, ToolMapping,
};
pub use size::ByteSize;

use std::path::PathBuf;

/// A configuration error. Every variant names the file and, where the format has them, the
/// key and line, and says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax error in YAML or XML; `line` is 1-based when known.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A key holds a value of the wrong kind or an unknown choice.
    #[error("{file}{}: key `{key}`: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        key: String,
        line: Option<usize>,
        message: String,
    },
}
