//! Every process upserts its worker-process row each `heartbeat_interval`.

use std::time::Duration;

use crate::db::models::NewWorkerProcess;
use crate::db::queries::workers;
use crate::db::{DbPool, now};
use crate::jobs::runners::local::hostname;

pub struct Heartbeat {
    pub pool: DbPool,
    pub server_name: String,
    pub mode: &'static str,
    pub pools: Vec<String>,
    pub interval: Duration,
    /// Told this process's `draining` flag after each beat.
    pub on_draining: Option<Box<dyn Fn(bool) + Send + Sync>>,
}

impl Heartbeat {
    fn beat(&self, start: chrono::NaiveDateTime) -> Result<(), crate::db::DbError> {
        let host = hostname();
        let pools = serde_json::to_string(&self.pools).unwrap_or_else(|_| "[]".into());
        let row = NewWorkerProcess {
            server_name: &self.server_name,
            hostname: &host,
            pid: std::process::id() as i32,
            mode: self.mode,
            pools: &pools,
            start_time: start,
            update_time: now(),
        };
        let mut conn = self.pool.get()?;
        workers::heartbeat(&mut conn, &row)?;
        if let Some(on_draining) = &self.on_draining
            && let Some(me) = workers::find_worker(&mut conn, &self.server_name)?
        {
            on_draining(me.draining);
        }
        Ok(())
    }

    /// Refuses a server name another live process holds (same host: its pid is alive; other
    /// host: its heartbeat is fresh).
    pub fn check_name_free(
        pool: &DbPool,
        server_name: &str,
        interval: Duration,
    ) -> Result<(), String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let Some(other) =
            workers::find_worker(&mut conn, server_name).map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let host = hostname();
        let fresh = (now() - other.update_time).num_milliseconds() as f64 / 1000.0
            < 3.0 * interval.as_secs_f64();
        let alive = if other.hostname == host {
            other.pid != std::process::id() as i32
                && crate::jobs::runners::LocalRunner::is_alive(other.pid)
        } else {
            fresh
        };
        // A process started to take over from another (graceful reload of the web process)
        // shares its name while the old one drains.
        let replaced = std::env::var("GALAXY_SERVER_REPLACES_PID")
            .is_ok_and(|p| p.trim() == other.pid.to_string() && other.hostname == host);
        if alive && fresh && !replaced {
            return Err(format!(
                "server name `{}` is already used by a live process (pid {} on {}): give this process another --server-name",
                server_name, other.pid, other.hostname
            ));
        }
        Ok(())
    }

    /// Beats forever (until the task is dropped).
    pub async fn run(self) {
        let start = now();
        let me = std::sync::Arc::new(self);
        loop {
            let m = me.clone();
            match tokio::task::spawn_blocking(move || m.beat(start)).await {
                Ok(Ok(())) => {}
                // An outage is logged once, by `db::health`.
                Ok(Err(e)) if e.is_unavailable() => log::debug!("heartbeat: {e}"),
                Ok(Err(e)) => log::warn!("heartbeat: {e}"),
                Err(e) => log::warn!("heartbeat task: {e}"),
            }
            tokio::time::sleep(me.interval).await;
        }
    }

    pub fn remove(pool: &DbPool, server_name: &str) {
        if let Ok(mut c) = pool.get() {
            let _ = workers::remove_worker(&mut c, server_name, std::process::id() as i32);
        }
    }
}
