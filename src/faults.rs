//! Faults injected on purpose, for tests of what survives them: `GALAXY_SERVER_FAULTS` holds
//! comma-separated `name@N` entries (`N`: on the N-th time the named point is reached, once;
//! `name` alone: the first time). Unset, which is the only way a server is ever run outside
//! such tests, each point costs one load of an empty list.
//!
//! Points: `monitor-pass-panic` (a job handler's monitor pass panics),
//! `scheduler-stall-in-transaction` (a workflow scheduler's transaction that creates an
//! invocation's jobs never commits: the process is then killed by the test).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Fault {
    name: String,
    at: u64,
    reached: AtomicU64,
}

fn faults() -> &'static [Fault] {
    static FAULTS: OnceLock<Vec<Fault>> = OnceLock::new();
    FAULTS.get_or_init(|| {
        std::env::var("GALAXY_SERVER_FAULTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let (name, at) = entry.split_once('@').unwrap_or((entry, "1"));
                Fault {
                    name: name.to_string(),
                    at: at.parse().unwrap_or(1).max(1),
                    reached: AtomicU64::new(0),
                }
            })
            .collect()
    })
}

/// Whether the fault `name` is due now (counts one reach of the point).
pub fn due(name: &str) -> bool {
    faults()
        .iter()
        .any(|f| f.name == name && f.reached.fetch_add(1, Ordering::SeqCst) + 1 == f.at)
}
