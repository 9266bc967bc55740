//! The periodic tasks themselves. Each is idempotent (it removes what is old enough and
//! already gone from the database's point of view), so a run that overlaps a change of leader
//! harms nothing; each returns a one-line summary.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::GalaxySettings;
use crate::db::queries::{datasets, maintenance as q};
use crate::db::{DbPool, now};

use super::{MaintenanceError, Task};

const DAY: f64 = 86_400.0;

/// How many datasets one purge transaction marks.
const PURGE_CHUNK: usize = 500;

fn before(days: f64) -> chrono::NaiveDateTime {
    now() - chrono::Duration::milliseconds((days * DAY * 1000.0) as i64)
}

/// Runs `task` once, now.
pub fn run(task: Task, pool: &DbPool, g: &GalaxySettings) -> Result<String, MaintenanceError> {
    match task {
        Task::CleanupJwds => cleanup_jwds(pool, g),
        Task::PurgeDeletedDatasets => purge_deleted_datasets(pool, g),
        Task::PruneWorkerProcesses => prune_worker_processes(pool, g),
        Task::DatabaseUpkeep => {
            let mut conn = pool.get()?;
            Ok(q::database_upkeep(&mut conn)?
                .unwrap_or_else(|| "nothing to do on PostgreSQL (autovacuum keeps it)".into()))
        }
    }
}

/// Galaxy's `cleanup_jwds`: removes the working directories of jobs that ended in `error`
/// (or were `deleted`) more than `failed_jobs_working_directory_cleanup_days` ago, and the
/// spare job directories (`_spare/`) unused for as long.
fn cleanup_jwds(pool: &DbPool, g: &GalaxySettings) -> Result<String, MaintenanceError> {
    let days = Task::CleanupJwds
        .days(g)
        .unwrap_or(g.failed_jobs_working_directory_cleanup_days);
    let cutoff = before(days);
    let ids = {
        let mut conn = pool.get()?;
        q::failed_jobs_before(&mut conn, cutoff)?
    };
    let root = &g.job_working_directory;
    let mut removed = 0;
    for id in &ids {
        let dir = crate::jobs::job_directory_in(root, *id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::error!("cleanup_jwds: cannot remove {}: {e}", dir.display()),
        }
    }
    let spares = remove_old_entries(&root.join("_spare"), days);
    Ok(format!(
        "removed {removed} working directory(ies) of {} failed or deleted job(s) older than \
         {days} day(s), and {spares} spare directory(ies)",
        ids.len()
    ))
}

/// Removes the entries of `dir` last modified more than `days` ago; returns how many.
fn remove_old_entries(dir: &Path, days: f64) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let max_age = Duration::from_secs_f64(days * DAY);
    let mut n = 0;
    for e in entries.filter_map(Result::ok) {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= max_age);
        // A handler may be renaming this spare into place right now: losing that race is fine.
        if old && std::fs::remove_dir_all(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// Purges the datasets deleted more than `purge_deleted_datasets_after_days` ago (as a purge
/// through the API does: marked purged, file removed).
fn purge_deleted_datasets(pool: &DbPool, g: &GalaxySettings) -> Result<String, MaintenanceError> {
    let Some(days) = Task::PurgeDeletedDatasets.days(g) else {
        return Err(MaintenanceError::NotConfigured(
            "galaxy.purge_deleted_datasets_after_days is not set: deleted datasets are kept".into(),
        ));
    };
    let mut conn = pool.get()?;
    let ids = q::deleted_datasets_before(&mut conn, before(days))?;
    let mut purged = 0;
    for chunk in ids.chunks(PURGE_CHUNK) {
        match datasets::purge_datasets(&mut conn, chunk)? {
            datasets::Purge::Done(done) => {
                crate::jobs::remove_dataset_files(&g.file_path, &done)
                    .map_err(MaintenanceError::Io)?;
                purged += done.len();
            }
            // A job started writing one of them since the query: the next period sees them.
            datasets::Purge::Busy(_) => {}
        }
    }
    Ok(format!(
        "purged {purged} dataset(s) deleted more than {days} day(s) ago"
    ))
}

/// Removes the rows of processes whose heartbeat stopped more than
/// `prune_worker_processes_after_days` ago (never less than 3 heartbeat intervals).
fn prune_worker_processes(pool: &DbPool, g: &GalaxySettings) -> Result<String, MaintenanceError> {
    let days = Task::PruneWorkerProcesses
        .days(g)
        .unwrap_or(g.prune_worker_processes_after_days)
        .max(3.0 * g.heartbeat_interval / DAY);
    let mut conn = pool.get()?;
    let names = q::prune_worker_processes(&mut conn, before(days))?;
    Ok(if names.is_empty() {
        "no process row long dead".to_string()
    } else {
        format!(
            "removed the rows of {} long-dead process(es): {}",
            names.len(),
            names.join(", ")
        )
    })
}
