//! `processes.json`: what `ctl status` reads, written by the manager on every change.

use std::process::Child;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Manager;

/// What `status` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateFile {
    pub manager_pid: u32,
    pub generation: u64,
    pub processes: Vec<ProcState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcState {
    pub name: String,
    pub mode: String,
    pub pools: Vec<String>,
    pub pid: Option<u32>,
    /// `running`, `backoff` while waiting to be restarted, or `stopped` by `ctl stop NAME`.
    pub state: String,
    /// Unix time the current process started.
    pub started: f64,
    pub restarts: u32,
}

fn unix_now(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Manager {
    pub(super) fn write_state(&self) {
        let file = StateFile {
            manager_pid: std::process::id(),
            generation: self.generation,
            processes: self
                .order
                .iter()
                .filter_map(|n| self.procs.get(n))
                .map(|m| ProcState {
                    name: m.spec.name.clone(),
                    mode: m.spec.mode.clone(),
                    pools: m.spec.pools.clone(),
                    pid: m.child.as_ref().map(Child::id),
                    state: if m.child.is_some() {
                        "running"
                    } else if m.stopped {
                        "stopped"
                    } else {
                        "backoff"
                    }
                    .into(),
                    started: unix_now(m.started),
                    restarts: m.restarts,
                })
                .collect(),
        };
        let path = self.state.state_file();
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(&file)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            log::error!("{}: {e}", path.display());
        }
    }
}
