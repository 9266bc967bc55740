//! A process's `memory_limit` (from the `gravity` section; its umask is set by
//! `ProcSpec::command_umask`), enforced as systemd's `MemoryMax` is: a process whose resident memory
//! passes the limit is killed (and restarted like any crashed process).

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::Manager;

/// How often resident memory is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Resident bytes of `pid`, from `/proc/PID/statm`.
fn resident_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

impl Manager {
    /// Kills every process past its `memory_limit`; true when one was.
    pub(super) fn over_memory_limit(&mut self) -> bool {
        if self.memory_checked.elapsed() < CHECK_EVERY {
            return false;
        }
        self.memory_checked = Instant::now();
        let mut killed = false;
        for m in self.procs.values() {
            let (Some(limit), Some(child)) = (m.spec.memory_limit, m.child.as_ref()) else {
                continue;
            };
            let Some(rss) = resident_bytes(child.id()) else {
                continue;
            };
            if rss > limit {
                log::error!(
                    "{} (pid {}) uses {} MiB, over its memory_limit of {} MiB: killing it",
                    m.spec.name,
                    child.id(),
                    rss >> 20,
                    limit >> 20
                );
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                killed = true;
            }
        }
        killed
    }
}
