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
        let seconds = [
            (
                "galaxy.failed_jobs_working_directory_cleanup_interval",
                g.failed_jobs_working_directory_cleanup_interval,
            ),
            (
                "galaxy.purge_deleted_datasets_interval",
                g.purge_deleted_datasets_interval,
            ),
            (
                "galaxy.prune_worker_processes_interval",
                g.prune_worker_processes_interval,
            ),
            (
                "galaxy.database_upkeep_interval",
                g.database_upkeep_interval,
            ),
        ];
        for (key, v) in seconds {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(
                    key,
                    "expected a number of seconds (0: the task does not run on its own)",
                ));
            }
        }
        let days = [
            (
                "galaxy.failed_jobs_working_directory_cleanup_days",
                Some(g.failed_jobs_working_directory_cleanup_days),
            ),
            (
                "galaxy.purge_deleted_datasets_after_days",
                g.purge_deleted_datasets_after_days,
            ),
            (
                "galaxy.prune_worker_processes_after_days",
                Some(g.prune_worker_processes_after_days),
            ),
        ];
        for (key, v) in days {
            if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                return Err(bad(key, "expected a number of days, 0 or more"));
            }
        }
        for (name, e) in &g.celery_conf.beat_schedule {
            let key = format!("galaxy.celery_conf.beat_schedule.{name}");
            if !(e.schedule.is_finite() && e.schedule >= 0.0) {
                return Err(bad(
                    &format!("{key}.schedule"),
                    "expected a number of seconds (0: the task does not run on its own)",
                ));
            }
            if e.kwargs.days.is_some_and(|d| !(d.is_finite() && d >= 0.0)) {
                return Err(bad(
                    &format!("{key}.kwargs.days"),
                    "expected a number of days, 0 or more",
                ));
            }
        }
        if let Err(e) = super::IpAllowlist::parse(&g.fetch_url_allowlist) {
            return Err(bad("galaxy.fetch_url_allowlist", &e));
        }
        let gravity = &self.gravity;
        let mut umasks = vec![
            ("gravity.umask".to_string(), Some(&gravity.umask)),
            (
                "gravity.gunicorn.umask".to_string(),
                Some(&gravity.gunicorn.umask),
            ),
        ];
        let mut limits = vec![
            ("gravity.memory_limit".to_string(), gravity.memory_limit),
            (
                "gravity.gunicorn.memory_limit".to_string(),
                gravity.gunicorn.memory_limit,
            ),
        ];
        for (name, h) in &gravity.handlers {
            umasks.push((format!("gravity.handlers.{name}.umask"), h.umask.as_ref()));
            limits.push((
                format!("gravity.handlers.{name}.memory_limit"),
                h.memory_limit,
            ));
        }
        for (key, umask) in umasks {
            if let Some(u) = umask
                && super::gravity::parse_umask(u).is_none()
            {
                return Err(bad(
                    &key,
                    &format!("expected an octal umask such as \"007\", got `{u}`"),
                ));
            }
        }
        for (key, limit) in limits {
            if let Some(gb) = limit
                && !(gb.is_finite() && gb > 0.0)
            {
                return Err(bad(&key, "expected a number of GB greater than 0"));
            }
        }
        if !matches!(gravity.app_server.as_str(), "gunicorn" | "unicornherder") {
            return Err(bad(
                "gravity.app_server",
                &format!(
                    "expected `gunicorn` (the web process), got `{}`",
                    gravity.app_server
                ),
            ));
        }
        Ok(())
    }
}
