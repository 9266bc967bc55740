//! Competing for the maintenance role and, while holding it, running the tasks that are due.
//!
//! One loop per candidate process. Every `heartbeat_interval` (half of it while holding) it
//! renews or tries to take the lease (`queries::maintenance::acquire`, lease time 3 heartbeat
//! intervals, as a process is dead after 3 missed heartbeats). While it holds the lease it
//! reads the task rows when something may be due and claims one due run at a time
//! (`claim_run`, fenced by the lease token); the task runs on the blocking pool while the loop
//! keeps renewing. A failed renewal (database unreachable) or a lease not renewed for its
//! whole lease time ends the role at once: no run is claimed until the lease is held again.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::{MaintenanceError, ProcessStatus, Task, tasks};
use crate::config::Settings;
use crate::db::queries::maintenance::{self as q, Holder};
use crate::db::{DbPool, DbResult, now};

/// A candidate for the role, before it starts.
pub struct Leader {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub server_name: String,
}

/// The running loop; `stop` gives the role up.
pub struct LeaderHandle {
    shared: Arc<Shared>,
    join: JoinHandle<()>,
}

struct Shared {
    pool: DbPool,
    me: Holder,
    token: Mutex<Option<i64>>,
    status_file: Option<PathBuf>,
}

impl Shared {
    fn token(&self) -> Option<i64> {
        *self.token.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_token(&self, t: Option<i64>) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// What `ctl status` shows: whether this process holds the role (see `STATUS_DIR_ENV`).
    fn write_status(&self, lease: Duration) {
        let Some(path) = &self.status_file else {
            return;
        };
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let token = self.token();
        let doc = ProcessStatus {
            server_name: self.me.server_name.clone(),
            pid: std::process::id(),
            maintenance: token.is_some(),
            lease_token: token,
            lease_expires: token.map(|_| unix + lease.as_secs_f64()),
            updated: unix,
        };
        let tmp = path.with_extension("tmp");
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| serde_json::to_vec(&doc).map_err(std::io::Error::other))
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            log::debug!("{}: {e}", path.display());
        }
    }
}

impl Leader {
    pub fn start(self) -> LeaderHandle {
        let shared = Arc::new(Shared {
            pool: self.pool,
            me: Holder {
                server_name: self.server_name,
                hostname: crate::jobs::runners::local::hostname(),
                pid: std::process::id() as i32,
            },
            token: Mutex::new(None),
            status_file: std::env::var_os(super::STATUS_DIR_ENV)
                .map(|d| ProcessStatus::path(&PathBuf::from(d), std::process::id())),
        });
        let join = actix_rt::spawn(run(self.settings, shared.clone()));
        LeaderHandle { shared, join }
    }
}

impl LeaderHandle {
    /// Stops competing and gives the lease up, so another process takes the role at its next
    /// try instead of after the lease time. A task already running finishes.
    pub async fn stop(self) {
        self.join.abort();
        let shared = self.shared;
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(t) = shared.token()
                && let Ok(mut c) = shared.pool.get()
                && q::release(&mut c, &shared.me, t).unwrap_or(false)
            {
                log::info!("maintenance: gave the maintenance role up (lease token {t})");
            }
            shared.set_token(None);
            if let Some(p) = &shared.status_file {
                let _ = std::fs::remove_file(p);
            }
        })
        .await;
    }
}

/// A task running on the blocking pool; it answers with its outcome and how long it took.
type Running = (
    Task,
    JoinHandle<(Result<String, MaintenanceError>, Duration)>,
);

async fn run(settings: Arc<Settings>, shared: Arc<Shared>) {
    let g = &settings.galaxy;
    let beat = Duration::from_secs_f64(g.heartbeat_interval.max(0.1));
    let lease = 3 * beat;
    let schedule = Task::schedule(g, shared.pool.backend());
    let tick = schedule
        .iter()
        .map(|(_, p)| *p / 4)
        .min()
        .unwrap_or(beat)
        .min(beat / 2)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut next_try = Instant::now();
    let mut renewed: Option<Instant> = None;
    let mut running: Option<Running> = None;
    // When to read the task rows again (None: at the next tick).
    let mut next_look: Option<Instant> = None;
    loop {
        if Instant::now() >= next_try {
            let held = shared.token();
            // The lease runs from before the statement, as the database counts it.
            let asked = Instant::now();
            let got = try_lease(&shared, held, lease).await;
            if got != held {
                next_look = None;
                match (held, got) {
                    (_, Some(t)) => log::info!(
                        "maintenance: this process holds the maintenance role (lease token {t})"
                    ),
                    (Some(t), None) => log::warn!(
                        "maintenance: lost the maintenance role (lease token {t}); no task runs here until it is held again"
                    ),
                    (None, None) => {}
                }
            }
            shared.set_token(got);
            renewed = got.map(|_| asked);
            shared.write_status(lease);
            next_try = Instant::now() + if got.is_some() { beat / 2 } else { beat };
        }
        // A lease not renewed for its whole time (a paused process) is no longer this one's.
        if renewed.is_some_and(|r| r.elapsed() >= lease) {
            log::warn!("maintenance: the lease was not renewed in time; giving up the role");
            shared.set_token(None);
            renewed = None;
            shared.write_status(lease);
        }
        if running.is_none()
            && let Some(token) = shared.token()
            && next_look.is_none_or(|t| Instant::now() >= t)
        {
            let (s, sched) = (shared.clone(), schedule.clone());
            let claimed =
                tokio::task::spawn_blocking(move || claim_due(&s.pool, &s.me, token, &sched)).await;
            match claimed {
                Ok(Ok((Some(task), _))) => {
                    log::info!(
                        "maintenance: running `{}` (lease token {token})",
                        task.name()
                    );
                    let (pool, settings) = (shared.pool.clone(), settings.clone());
                    let h = tokio::task::spawn_blocking(move || {
                        let started = Instant::now();
                        (tasks::run(task, &pool, &settings.galaxy), started.elapsed())
                    });
                    running = Some((task, h));
                    next_look = None;
                }
                Ok(Ok((None, wait))) => next_look = Some(Instant::now() + wait.max(tick)),
                Ok(Err(e)) if e.is_unavailable() => log::debug!("maintenance: {e}"),
                Ok(Err(e)) => log::warn!("maintenance: {e}"),
                Err(e) => log::error!("maintenance: {e}"),
            }
        }
        // Wait a tick, or less when the running task finishes (the next one may be due).
        let finished = match running.as_mut() {
            Some((_, h)) => tokio::select! {
                r = h => Some(r),
                () = tokio::time::sleep(tick) => None,
            },
            None => {
                tokio::time::sleep(tick).await;
                None
            }
        };
        if let (Some(r), Some((task, _))) = (finished, running.as_ref()) {
            match r {
                Ok((Ok(summary), took)) => log::info!(
                    "maintenance: `{}` done in {:.3} s: {summary}",
                    task.name(),
                    took.as_secs_f64()
                ),
                Ok((Err(e), _)) => log::warn!("maintenance: `{}` failed: {e}", task.name()),
                Err(e) => log::error!("maintenance: `{}` panicked: {e}", task.name()),
            }
            running = None;
        }
    }
}

/// Renews or takes the lease; `None` on any failure (an unreachable database ends the role).
async fn try_lease(shared: &Arc<Shared>, held: Option<i64>, lease: Duration) -> Option<i64> {
    let s = shared.clone();
    let names: Vec<&'static str> = Task::ALL.iter().map(|t| t.name()).collect();
    let res = tokio::task::spawn_blocking(move || -> DbResult<Option<i64>> {
        let mut c = s.pool.get()?;
        let t = q::acquire(&mut c, &s.me, held, lease.as_secs_f64(), now())?;
        if t.is_some() && held.is_none() {
            q::ensure_tasks(&mut c, &names)?;
        }
        Ok(t)
    })
    .await;
    match res {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            if e.is_unavailable() {
                log::debug!("maintenance: {e}");
            } else {
                log::warn!("maintenance: {e}");
            }
            None
        }
        Err(e) => {
            log::error!("maintenance: {e}");
            None
        }
    }
}

/// Claims the run of the first due task; else says how long until one is due.
fn claim_due(
    pool: &DbPool,
    me: &Holder,
    token: i64,
    schedule: &[(Task, Duration)],
) -> DbResult<(Option<Task>, Duration)> {
    let mut c = pool.get()?;
    let rows = q::task_runs(&mut c)?;
    let now = now();
    let mut wait = Duration::from_secs(3600);
    for (task, period) in schedule {
        let last = rows
            .iter()
            .find(|r| r.name == task.name())
            .and_then(|r| r.last_run_at);
        let due_in = last
            .map(|l| (l - now).num_milliseconds() as f64 / 1000.0 + period.as_secs_f64())
            .unwrap_or(0.0);
        if due_in <= 0.0 {
            if q::claim_run(
                &mut c,
                task.name(),
                token,
                &me.server_name,
                period.as_secs_f64(),
                now,
            )? {
                return Ok((Some(*task), Duration::ZERO));
            }
            // Not claimed: the lease is no longer ours, or the row changed; look again soon.
            wait = Duration::ZERO;
        } else {
            wait = wait.min(Duration::from_secs_f64(due_in));
        }
    }
    Ok((None, wait))
}
