//! The maintenance role: celery-beat's job without a broker. Periodic tasks run in exactly one
//! live process at a time across all hosts: the holder of the `maintenance_lease` row
//! (`db::queries::maintenance`). Web and all-in-one processes, and handlers started with
//! `--pool maintenance`, compete for it (`leader.rs`); `galaxy-server maintenance run TASK`
//! runs one task by hand (`run_by_hand`).

mod leader;
mod tasks;

use std::time::Duration;

use crate::config::{BeatEntry, GalaxySettings};
use crate::db::{Backend, DbError};

pub use leader::{Leader, LeaderHandle};

/// The pool a handler joins to compete for the maintenance role.
pub const POOL: &str = "maintenance";

/// The environment variable naming the directory where a process managed by `ctl` reports
/// whether it holds the role, in `<pid>.json` (`ctl status` reads it; `ctl` never touches the
/// database).
pub const STATUS_DIR_ENV: &str = "GALAXY_SERVER_STATUS_DIR";

/// What a process writes to `<STATUS_DIR_ENV>/<pid>.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ProcessStatus {
    pub server_name: String,
    pub pid: u32,
    /// Whether it holds the maintenance role.
    pub maintenance: bool,
    pub lease_token: Option<i64>,
    /// Unix time until which the lease is held unless renewed.
    pub lease_expires: Option<f64>,
    /// Unix time of the last write.
    pub updated: f64,
}

impl ProcessStatus {
    pub fn path(dir: &std::path::Path, pid: u32) -> std::path::PathBuf {
        dir.join(format!("{pid}.json"))
    }

    /// Reads the status of process `pid` named `name`, when it holds the role right now.
    pub fn holder(dir: &std::path::Path, name: &str, pid: u32) -> Option<ProcessStatus> {
        let text = std::fs::read_to_string(Self::path(dir, pid)).ok()?;
        let s: ProcessStatus = serde_json::from_str(&text).ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (s.server_name == name && s.maintenance && s.lease_expires.is_some_and(|e| e > now))
            .then_some(s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Io(String),
    /// The task cannot run as configured (the message names the key).
    #[error("{0}")]
    NotConfigured(String),
    #[error("unknown maintenance task `{0}`: expected one of {list}", list = Task::names())]
    UnknownTask(String),
}

/// The periodic tasks, by Galaxy's names where Galaxy has the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Galaxy's `cleanup_jwds`: working directories of failed jobs, and spare directories.
    CleanupJwds,
    /// Files of datasets deleted long enough ago.
    PurgeDeletedDatasets,
    /// Rows of processes long dead.
    PruneWorkerProcesses,
    /// `PRAGMA optimize` and a WAL checkpoint on SQLite.
    DatabaseUpkeep,
}

impl Task {
    pub const ALL: [Task; 4] = [
        Task::CleanupJwds,
        Task::PurgeDeletedDatasets,
        Task::PruneWorkerProcesses,
        Task::DatabaseUpkeep,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::CleanupJwds => "cleanup_jwds",
            Task::PurgeDeletedDatasets => "purge_deleted_datasets",
            Task::PruneWorkerProcesses => "prune_worker_processes",
            Task::DatabaseUpkeep => "database_upkeep",
        }
    }

    pub fn from_name(name: &str) -> Result<Task, MaintenanceError> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| MaintenanceError::UnknownTask(name.to_string()))
    }

    fn names() -> String {
        Task::ALL.map(Task::name).join(", ")
    }

    /// The `celery_conf.beat_schedule` entry that names this task (`task: galaxy.<name>`).
    fn beat(self, g: &GalaxySettings) -> Option<&BeatEntry> {
        g.celery_conf
            .beat_schedule
            .values()
            .find(|e| e.task_name() == self.name())
    }

    /// The age in days past which the task removes things: a `beat_schedule` entry's
    /// `kwargs.days`, else the task's `galaxy.yml` key (`None`: purging is off).
    pub fn days(self, g: &GalaxySettings) -> Option<f64> {
        let key = match self {
            Task::CleanupJwds => Some(g.failed_jobs_working_directory_cleanup_days),
            Task::PurgeDeletedDatasets => g.purge_deleted_datasets_after_days,
            Task::PruneWorkerProcesses => Some(g.prune_worker_processes_after_days),
            Task::DatabaseUpkeep => None,
        };
        self.beat(g).and_then(|e| e.kwargs.days).or(key)
    }

    /// The task's period when it runs on its own with this configuration and backend, as
    /// Galaxy schedules a task only when its interval is above 0 (and `cleanup_jwds` only when
    /// enabled, or named by a `beat_schedule` entry, whose `schedule` is then the period).
    pub fn period(self, g: &GalaxySettings, backend: Backend) -> Option<Duration> {
        let secs = match (self, self.beat(g)) {
            (Task::DatabaseUpkeep, _) if backend == Backend::Postgres => return None,
            (Task::PurgeDeletedDatasets, _) if self.days(g).is_none() => return None,
            (_, Some(e)) => e.schedule,
            (Task::CleanupJwds, None) if !g.enable_failed_jobs_working_directory_cleanup => {
                return None;
            }
            (Task::CleanupJwds, None) => g.failed_jobs_working_directory_cleanup_interval,
            (Task::PurgeDeletedDatasets, None) => g.purge_deleted_datasets_interval,
            (Task::PruneWorkerProcesses, None) => g.prune_worker_processes_interval,
            (Task::DatabaseUpkeep, None) => g.database_upkeep_interval,
        };
        (secs > 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs))
    }

    /// The tasks that run on their own, with their periods.
    pub fn schedule(g: &GalaxySettings, backend: Backend) -> Vec<(Task, Duration)> {
        Task::ALL
            .into_iter()
            .filter_map(|t| t.period(g, backend).map(|p| (t, p)))
            .collect()
    }
}

/// Warns about `celery_conf.beat_schedule` entries naming a Galaxy task this server does not
/// have (they are not run).
pub fn warn_unknown_beat_entries(g: &GalaxySettings) {
    for (name, e) in &g.celery_conf.beat_schedule {
        if Task::from_name(e.task_name()).is_err() {
            log::warn!(
                "galaxy.celery_conf.beat_schedule.{name}: task `{}` is not one galaxy-server runs ({}); ignored",
                e.task,
                Task::names()
            );
        }
    }
}

/// Whether a process of this mode and these pools competes for the role.
pub fn candidate(mode: super::Mode, pools: &[String]) -> bool {
    mode.serves_http() || pools.iter().any(|p| p == POOL)
}

/// `galaxy-server maintenance run TASK`: runs one task now, in this process, whoever holds
/// the role (every task is idempotent), and records the run so the next period counts from it.
pub fn run_by_hand(loaded: &super::Loaded, name: &str) -> Result<String, MaintenanceError> {
    let task = Task::from_name(name)?;
    let pool = loaded.open_pool()?;
    pool.migrate()?;
    let summary = tasks::run(task, &pool, &loaded.settings.galaxy)?;
    let who = format!(
        "{} (by hand, pid {} on {})",
        loaded.server_name,
        std::process::id(),
        crate::jobs::runners::local::hostname()
    );
    let mut conn = pool.get()?;
    crate::db::queries::maintenance::record_manual_run(
        &mut conn,
        task.name(),
        &who,
        crate::db::now(),
    )?;
    Ok(summary)
}

/// `galaxy-server maintenance status`: the holder of the role and each task's last run.
pub fn status(loaded: &super::Loaded) -> Result<String, MaintenanceError> {
    use crate::db::queries::maintenance as q;
    let pool = loaded.open_pool()?;
    pool.migrate()?;
    let mut conn = pool.get()?;
    let now = crate::db::now();
    let mut out = String::new();
    match q::lease(&mut conn)? {
        Some(l) if l.live_holder(now).is_some() => out.push_str(&format!(
            "maintenance role: held by {} (pid {} on {}), lease token {}, expires in {:.1} s\n",
            l.holder.as_deref().unwrap_or("?"),
            l.pid.unwrap_or_default(),
            l.hostname.as_deref().unwrap_or("?"),
            l.token,
            (l.expires_at - now).num_milliseconds() as f64 / 1000.0
        )),
        _ => out.push_str("maintenance role: not held by any live process\n"),
    }
    let runs = q::task_runs(&mut conn)?;
    let schedule = Task::schedule(&loaded.settings.galaxy, pool.backend());
    for t in Task::ALL {
        let period = schedule
            .iter()
            .find(|(s, _)| *s == t)
            .map_or("off".to_string(), |(_, p)| {
                format!("every {} s", p.as_secs_f64())
            });
        let run = runs.iter().find(|r| r.name == t.name());
        let last = run.and_then(|r| r.last_run_at.map(|at| (at, r))).map_or(
            "never run".to_string(),
            |(at, r)| {
                format!(
                    "last run {} UTC by {} ({} run(s))",
                    at.format("%Y-%m-%d %H:%M:%S"),
                    r.last_holder.as_deref().unwrap_or("?"),
                    r.runs
                )
            },
        );
        out.push_str(&format!("{:<24} {:<16} {last}\n", t.name(), period));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, Settings};

    fn load(yaml: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("galaxy.yml");
        std::fs::write(&p, yaml).unwrap();
        Settings::load_with_env(Some(&p), Vec::new())
    }

    #[test]
    fn periods_follow_galaxy_and_zero_turns_a_task_off() {
        let s = load("galaxy:\n  heartbeat_interval: 1\n").unwrap();
        let names = |b| {
            Task::schedule(&s.galaxy, b)
                .into_iter()
                .map(|(t, _)| t.name())
                .collect::<Vec<_>>()
        };
        // cleanup_jwds is off unless enabled, purging unless its age is set, as in Galaxy.
        assert_eq!(
            names(Backend::Sqlite),
            ["prune_worker_processes", "database_upkeep"]
        );
        assert_eq!(names(Backend::Postgres), ["prune_worker_processes"]);
        let s = load(
            "galaxy:\n  enable_failed_jobs_working_directory_cleanup: true\n  \
             failed_jobs_working_directory_cleanup_interval: 1.5\n  \
             purge_deleted_datasets_after_days: 30\n  prune_worker_processes_interval: 0\n",
        )
        .unwrap();
        assert_eq!(
            Task::schedule(&s.galaxy, Backend::Postgres),
            [
                (Task::CleanupJwds, Duration::from_millis(1500)),
                (Task::PurgeDeletedDatasets, Duration::from_secs(3600)),
            ]
        );
    }

    #[test]
    fn galaxys_beat_schedule_sets_a_tasks_period_and_days() {
        let s = load(
            "galaxy:\n  celery_conf:\n    broker_url: null\n    beat_schedule:\n      \
             cleanup-jwds:\n        task: galaxy.cleanup_jwds\n        schedule: 86400\n        \
             kwargs:\n          days: 2\n      audit:\n        task: galaxy.prune_history_audit_table\n        \
             schedule: 60\n",
        )
        .unwrap();
        let g = &s.galaxy;
        assert_eq!(
            Task::CleanupJwds.period(g, Backend::Postgres),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(Task::CleanupJwds.days(g), Some(2.0));
        assert_eq!(Task::PruneWorkerProcesses.days(g), Some(1.0));
        // No broker: Celery's own settings are warned about, the schedule's entries are not.
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("galaxy.celery_conf.broker_url")),
            "{:?}",
            s.warnings
        );
        assert!(!s.warnings.iter().any(|w| w.contains("beat_schedule")));
        let e = load(
            "galaxy:\n  celery_conf:\n    beat_schedule:\n      x:\n        \
             task: galaxy.cleanup_jwds\n        schedule: -5\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("galaxy.celery_conf.beat_schedule.x.schedule"),
            "{e}"
        );
    }

    #[test]
    fn bad_periods_and_ages_are_rejected_naming_the_key() {
        for (yaml, key) in [
            (
                "galaxy:\n  database_upkeep_interval: -1\n",
                "galaxy.database_upkeep_interval",
            ),
            (
                "galaxy:\n  purge_deleted_datasets_after_days: -2\n",
                "galaxy.purge_deleted_datasets_after_days",
            ),
            (
                "galaxy:\n  failed_jobs_working_directory_cleanup_days: soon\n",
                "galaxy.failed_jobs_working_directory_cleanup_days",
            ),
        ] {
            let e = load(yaml).unwrap_err().to_string();
            assert!(e.contains(key), "{yaml}: {e}");
        }
        let s = load("galaxy:\n  prune_worker_process_interval: 5\n").unwrap();
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("galaxy.prune_worker_process_interval")),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn task_names_are_checked() {
        assert_eq!(Task::from_name("cleanup_jwds").unwrap(), Task::CleanupJwds);
        let e = Task::from_name("cleanup").unwrap_err().to_string();
        assert!(e.contains("cleanup_jwds, purge_deleted_datasets"), "{e}");
        assert!(candidate(super::super::Mode::Web, &[]));
        assert!(!candidate(
            super::super::Mode::Handler,
            &["job-handlers".into()]
        ));
        assert!(candidate(super::super::Mode::Handler, &[POOL.into()]));
    }
}
