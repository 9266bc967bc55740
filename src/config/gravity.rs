//! The `gravity` section of `galaxy.yml`: what Gravity (`galaxyctl`) reads, with its names —
//! the web process (`gunicorn`), the dynamic handlers (`handlers`), and per-service process
//! settings (`umask`, `memory_limit`, `start_timeout`, `stop_timeout`, `environment`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::galaxy::string_or_list;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GravitySettings {
    pub state_dir: PathBuf,
    /// Where the process logs go (Gravity's `log_dir`); `<state_dir>/log` when unset.
    pub log_dir: Option<PathBuf>,
    /// `gunicorn` (or `unicornherder`, Gravity's other choice): both mean the web process
    /// here; anything else is refused.
    pub app_server: String,
    /// The process umask of every service that does not set its own (Gravity's default 022).
    pub umask: String,
    /// Memory limit in GB of every service that does not set its own.
    pub memory_limit: Option<f64>,
    /// The user (and group) every process runs as when `ctl` is started as root.
    pub galaxy_user: Option<String>,
    pub galaxy_group: Option<String>,
    pub gunicorn: GunicornSettings,
    pub handlers: BTreeMap<String, HandlerGroup>,
}

impl Default for GravitySettings {
    fn default() -> Self {
        GravitySettings {
            state_dir: "database/gravity".into(),
            log_dir: None,
            app_server: "gunicorn".into(),
            umask: "022".into(),
            memory_limit: None,
            galaxy_user: None,
            galaxy_group: None,
            gunicorn: GunicornSettings::default(),
            handlers: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GunicornSettings {
    /// Whether `ctl` runs a web process at all.
    pub enable: bool,
    /// `HOST:PORT` or `unix:/path`; a single string or a list in the file.
    #[serde(deserialize_with = "string_or_list")]
    pub bind: Vec<String>,
    pub workers: usize,
    pub keyfile: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub forwarded_allow_ips: String,
    /// The umask the unix socket is created with.
    pub umask: String,
    /// gunicorn's command-line options; those with a meaning here are read into the other
    /// keys when the file is loaded (`--bind`, `--forwarded-allow-ips`, `--workers`,
    /// `--timeout`, `--graceful-timeout`, `--keep-alive`, `--umask`). Empty when left blank.
    #[serde(deserialize_with = "string_or_null")]
    pub extra_args: String,
    /// gunicorn kills a worker silent this long; here no worker blocks on a request, so
    /// nothing is killed (accepted for compatibility).
    pub timeout: u64,
    /// Seconds a stopping web process gives in-flight requests (gunicorn's
    /// `--graceful-timeout`).
    pub graceful_timeout: u64,
    /// Seconds an idle keep-alive connection is kept (gunicorn's `--keep-alive`); actix-web's
    /// default when unset.
    pub keep_alive: Option<u64>,
    /// gunicorn forks workers after loading the application; here the workers are threads
    /// of one loaded process, so it always holds (accepted for compatibility).
    pub preload: Option<bool>,
    /// Seconds a new process must stay up to count as started.
    pub start_timeout: u64,
    /// Seconds a stopping process is given before it is killed.
    pub stop_timeout: u64,
    /// Seconds a graceful reload waits for the new web process to serve.
    pub restart_timeout: u64,
    pub memory_limit: Option<f64>,
    pub environment: BTreeMap<String, String>,
}

impl Default for GunicornSettings {
    fn default() -> Self {
        GunicornSettings {
            enable: true,
            bind: vec!["127.0.0.1:8080".into()],
            workers: 2,
            keyfile: None,
            certfile: None,
            forwarded_allow_ips: "127.0.0.1".into(),
            umask: "007".into(),
            extra_args: String::new(),
            timeout: 300,
            graceful_timeout: 30,
            keep_alive: None,
            preload: None,
            start_timeout: 15,
            stop_timeout: 65,
            restart_timeout: 300,
            memory_limit: None,
            environment: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HandlerGroup {
    pub processes: usize,
    #[serde(deserialize_with = "string_or_list")]
    pub pools: Vec<String>,
    pub name_template: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub umask: Option<String>,
    pub memory_limit: Option<f64>,
    pub start_timeout: u64,
    pub stop_timeout: u64,
}

impl Default for HandlerGroup {
    fn default() -> Self {
        HandlerGroup {
            processes: 1,
            // Gravity's default: job handlers that also schedule workflows.
            pools: vec!["job-handlers".into(), "workflow-schedulers".into()],
            name_template: None,
            environment: BTreeMap::new(),
            umask: None,
            memory_limit: None,
            start_timeout: 10,
            stop_timeout: 30,
        }
    }
}

/// A string, or nothing (`extra_args:` with no value, as the scaling page writes it).
fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A pool name as Galaxy means it: the scaling page's singular spellings (`job-handler`,
/// `job-handler.TAG`, `workflow-scheduler`) name the plural pools.
pub fn normalize_pool(pool: &str) -> String {
    if pool == "job-handler" {
        "job-handlers".into()
    } else if let Some(tag) = pool.strip_prefix("job-handler.") {
        format!("job-handlers.{tag}")
    } else if pool == "workflow-scheduler" {
        "workflow-schedulers".into()
    } else {
        pool.to_string()
    }
}

/// An octal umask (`"007"`, `"0o027"`, `"0027"`).
pub fn parse_umask(text: &str) -> Option<u32> {
    let t = text.trim();
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    u32::from_str_radix(t, 8).ok().filter(|m| *m <= 0o777)
}

/// Bytes of a memory limit given in GB (Gravity's unit).
pub fn memory_limit_bytes(gb: f64) -> u64 {
    (gb * 1024.0 * 1024.0 * 1024.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_singular_pools_name_the_plural_ones() {
        assert_eq!(normalize_pool("job-handler"), "job-handlers");
        assert_eq!(
            normalize_pool("job-handler.special"),
            "job-handlers.special"
        );
        assert_eq!(normalize_pool("workflow-scheduler"), "workflow-schedulers");
        assert_eq!(normalize_pool("job-handlers.x"), "job-handlers.x");
        assert_eq!(normalize_pool("maintenance"), "maintenance");
    }

    #[test]
    fn umasks_in_their_usual_spellings() {
        assert_eq!(parse_umask("007"), Some(0o007));
        assert_eq!(parse_umask("0o027"), Some(0o027));
        assert_eq!(parse_umask("0022"), Some(0o022));
        assert_eq!(parse_umask("9"), None);
        assert_eq!(parse_umask("7777"), None);
    }
}
