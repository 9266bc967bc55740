//! Checks of the loaded `galaxy.yml` that its types alone do not make.

use std::path::Path;

use super::ConfigError;
use super::galaxy::Settings;
use super::yaml::find_key_line;

impl Settings {
    pub(super) fn validate(&self, file: &Path, text: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.to_string(),
            line: find_key_line(text, key),
            message: message.to_string(),
        };
        let g = &self.galaxy;
        if self.gravity.gunicorn.workers == 0 {
            return Err(bad(
                "gravity.gunicorn.workers",
                "expected a whole number of at least 1",
            ));
        }
        if self.gravity.gunicorn.bind.is_empty() {
            return Err(bad(
                "gravity.gunicorn.bind",
                "expected HOST:PORT or unix:/path (or a list of them)",
            ));
        }
        if !(g.heartbeat_interval.is_finite() && g.heartbeat_interval > 0.0) {
            return Err(bad(
                "galaxy.heartbeat_interval",
                "expected a number of seconds greater than 0",
            ));
        }
        if !(g.job_handler_monitor_sleep.is_finite() && g.job_handler_monitor_sleep > 0.0) {
            return Err(bad(
                "galaxy.job_handler_monitor_sleep",
                "expected a number of seconds greater than 0",
            ));
        }
        if !(g.workflow_monitor_sleep.is_finite() && g.workflow_monitor_sleep > 0.0) {
            return Err(bad(
                "galaxy.workflow_monitor_sleep",
                "expected a number of seconds greater than 0",
            ));
        }
        if g.database_engine_option_pool_size == 0 {
            return Err(bad(
                "galaxy.database_engine_option_pool_size",
                "expected a whole number of at least 1",
            ));
        }
        let url = g.database_connection.as_str();
        if !(url.starts_with("sqlite:///")
            || url.starts_with("postgresql://")
            || url.starts_with("postgres://"))
        {
            return Err(bad(
                "galaxy.database_connection",
                &format!("expected sqlite:///PATH or postgresql://USER@HOST/DB, got `{url}`"),
            ));
        }
        if let Err(e) = super::IpAllowlist::parse(&g.fetch_url_allowlist) {
            return Err(bad("galaxy.fetch_url_allowlist", &e));
        }
        if u32::from_str_radix(&self.gravity.gunicorn.umask, 8).is_err() {
            return Err(bad(
                "gravity.gunicorn.umask",
                &format!(
                    "expected an octal umask such as \"007\", got `{}`",
                    self.gravity.gunicorn.umask
                ),
            ));
        }
        Ok(())
    }
}
