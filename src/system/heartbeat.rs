//! Every process upserts its worker-process row each `heartbeat_interval`.

use std::time::Duration;

use crate::db::models::NewWorkerProcess;
use crate::db::queries::workers;
use crate::db::{DbPool, now};

pub struct Heartbeat {
    pub pool: DbPool,
    pub server_name: String,
    pub mode: &'static str,
    pub pools: Vec<String>,
    pub interval: Duration,
}

impl Heartbeat {
    fn beat(&self, start: chrono::NaiveDateTime) -> Result<(), crate::db::DbError> {
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
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
        workers::heartbeat(&mut self.pool.get()?, &row)
    }

    /// Beats forever (until the task is dropped).
    pub async fn run(self) {
        let start = now();
        let me = std::sync::Arc::new(self);
        loop {
            let m = me.clone();
            match tokio::task::spawn_blocking(move || m.beat(start)).await {
                Ok(Ok(())) => {}
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
