//! `galaxy.yml`: the `gravity` and `galaxy` sections, layered as defaults → file →
//! `GALAXY_CONFIG_*` environment → command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The whole effective configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub gravity: GravitySettings,
    pub galaxy: GalaxySettings,
    /// The file it was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GravitySettings {
    pub state_dir: PathBuf,
    pub gunicorn: GunicornSettings,
    pub handlers: BTreeMap<String, HandlerGroup>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GunicornSettings {
    /// `HOST:PORT` or `unix:/path`; a single string or a list in the file.
    pub bind: Vec<String>,
    pub workers: usize,
    pub keyfile: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub forwarded_allow_ips: String,
    pub umask: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HandlerGroup {
    pub processes: usize,
    pub pools: Vec<String>,
    pub name_template: Option<String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupJob {
    #[default]
    Always,
    Onsuccess,
    Never,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GalaxySettings {
    pub database_connection: String,
    pub database_engine_option_pool_size: u32,
    pub job_config_file: Option<PathBuf>,
    pub tool_config_file: PathBuf,
    pub file_path: PathBuf,
    pub job_working_directory: PathBuf,
    pub id_secret: String,
    pub bootstrap_admin_api_key: Option<String>,
    pub admin_users: Vec<String>,
    pub allow_user_creation: bool,
    pub job_handler_monitor_sleep: f64,
    pub heartbeat_interval: f64,
    pub cleanup_job: CleanupJob,
}

impl Settings {
    /// Reads `path` (or `config/galaxy.yml` when it exists, or built-in defaults), applies
    /// `GALAXY_CONFIG_*` overrides, validates, and warns (log) about unknown keys.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let Some(path) = path else {
            let mut s = Settings::default();
            s.galaxy.database_connection = "sqlite:///database/universe.sqlite".into();
            s.galaxy.tool_config_file = "config/tool_conf.xml".into();
            s.galaxy.file_path = "database/objects".into();
            s.galaxy.job_working_directory = "database/jobs_directory".into();
            s.galaxy.job_handler_monitor_sleep = 1.0;
            s.galaxy.heartbeat_interval = 10.0;
            s.gravity.gunicorn.bind = vec!["127.0.0.1:8080".into()];
            s.gravity.gunicorn.workers = 2;
            return Ok(s);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.into(),
            source,
        })?;
        serde_yaml::from_str(&text).map_err(|e| ConfigError::Syntax {
            file: path.into(),
            line: None,
            message: e.to_string(),
        })
    }
}

impl GalaxySettings {
    pub fn job_config_path(&self) -> Option<PathBuf> {
        self.job_config_file.clone()
    }
}
