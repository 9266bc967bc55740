//! Watching many Slurm jobs with one call: every poll interval, one
//! `squeue -h -t all -j id1,id2,… -o %i|%T|%r` for every job this handler watches on one
//! cluster, whatever their number. A job's end is explained with `scontrol show job -o`
//! only when its exit-code file does not say it; the exit-code file is the final word.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::shell;
use crate::config::Shell;
use crate::jobs::runners::{Failure, FailureKind, JobDir, Progress, ProgressRx};

/// Polls in a row a job may be missing from `squeue` (and have no exit code) before it is
/// called lost: one miss may be a job whose exit-code file is not visible yet.
const MISSES: u32 = 2;

struct Watched {
    tx: mpsc::UnboundedSender<Progress>,
    dir: JobDir,
    running: bool,
    misses: u32,
}

/// The jobs of one cluster (one shell) watched by this handler.
pub struct Watcher {
    shell: Shell,
    interval: Duration,
    jobs: Mutex<HashMap<String, Watched>>,
    started: AtomicBool,
    wake: Notify,
}

/// What `squeue` said of one job.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    state: String,
    reason: String,
}

impl Watcher {
    pub fn new(shell: Shell, interval: Duration) -> Arc<Watcher> {
        Arc::new(Watcher {
            shell,
            interval,
            jobs: Mutex::new(HashMap::new()),
            started: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches Slurm job `id` (whose job directory is `dir`) from the next poll on.
    pub fn add(self: &Arc<Self>, id: String, dir: JobDir) -> ProgressRx {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(
            id,
            Watched {
                tx,
                dir,
                running: false,
                misses: 0,
            },
        );
        if !self.started.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            tokio::spawn(async move { me.run().await });
        }
        rx
    }

    /// Asks for a poll now (e.g. after a cancel).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    async fn run(self: Arc<Self>) {
        loop {
            let _ = tokio::time::timeout(self.interval, self.wake.notified()).await;
            // Jobs whose watcher went away (their task ended) are dropped.
            let ids: Vec<String> = {
                let mut jobs = self.lock();
                jobs.retain(|_, w| !w.tx.is_closed());
                jobs.keys().cloned().collect()
            };
            if ids.is_empty() {
                continue;
            }
            self.poll(ids).await;
        }
    }

    /// One `squeue` for `ids`; each job's progress sent on.
    async fn poll(&self, mut ids: Vec<String>) {
        ids.sort_unstable();
        let args = vec![
            "-h".to_string(),
            "-t".into(),
            "all".into(),
            "-j".into(),
            ids.join(","),
            "-o".into(),
            "%i|%T|%r".into(),
        ];
        let seen = match shell::run(&self.shell, "squeue", &args).await {
            Ok(ran) if ran.success => parse_squeue(&ran.stdout),
            // Every listed job is unknown to Slurm (all aged out): nothing seen.
            Ok(ran) if ran.message().contains("Invalid job id") => HashMap::new(),
            Ok(ran) => {
                log::warn!("squeue failed: {}", ran.message());
                return;
            }
            Err(e) => {
                log::warn!("{e}");
                return;
            }
        };
        let mut ended = Vec::new();
        {
            let mut jobs = self.lock();
            for id in &ids {
                let Some(w) = jobs.get_mut(id) else { continue };
                match seen.get(id) {
                    Some(s) if is_running(&s.state) => {
                        w.misses = 0;
                        if !w.running {
                            w.running = true;
                            let _ = w.tx.send(Progress::Running);
                        }
                    }
                    Some(s) if is_final(&s.state) => ended.push((id.clone(), Some(s.clone()))),
                    Some(_) => w.misses = 0,
                    None => {
                        w.misses += 1;
                        if w.dir.read_exit_code().is_some() || w.misses >= MISSES {
                            ended.push((id.clone(), None));
                        }
                    }
                }
            }
        }
        for (id, seen) in ended {
            let Some(w) = self.lock().remove(&id) else {
                continue;
            };
            let failure = self.explain(&id, &w.dir, seen.as_ref()).await;
            let _ = w.tx.send(Progress::Ended(failure));
        }
    }

    /// Why an ended job ended, when its exit-code file does not say it all.
    async fn explain(&self, id: &str, dir: &JobDir, seen: Option<&Seen>) -> Option<Failure> {
        let state = seen.map(|s| s.state.as_str());
        let kind = failure_kind(state, dir.read_exit_code().is_some())?;
        let details = match (kind, state) {
            (FailureKind::Unknown, Some("FAILED") | None) => self.scontrol(id).await,
            _ => None,
        };
        let message = match (state, details) {
            (_, Some(d)) => format!("Slurm job {id} ended without an exit code: {d}"),
            (Some(s), None) => {
                let reason = seen
                    .map(|s| s.reason.as_str())
                    .filter(|r| !r.is_empty() && *r != "None");
                match (kind, reason) {
                    (FailureKind::Walltime, _) => {
                        format!("Slurm job {id} reached its walltime ({s})")
                    }
                    (FailureKind::Memory, _) => {
                        format!("Slurm job {id} reached its memory limit ({s})")
                    }
                    (FailureKind::Cancelled, _) => format!("Slurm job {id} was cancelled ({s})"),
                    (_, Some(r)) => format!("Slurm job {id} ended {s} (reason: {r})"),
                    (_, None) => format!("Slurm job {id} ended {s}"),
                }
            }
            (None, None) => format!(
                "Slurm no longer knows job {id} and it wrote no exit code (lost with its node?)"
            ),
        };
        Some(Failure { kind, message })
    }

    /// `scontrol show job -o ID`'s `JobState`, `Reason` and `ExitCode`, while Slurm still
    /// remembers the job (`MinJobAge`).
    async fn scontrol(&self, id: &str) -> Option<String> {
        let args = ["show", "job", "-o", id].map(String::from);
        let ran = shell::run(&self.shell, "scontrol", &args).await.ok()?;
        if !ran.success {
            return None;
        }
        let fields: Vec<&str> = ran
            .stdout
            .split_whitespace()
            .filter(|f| {
                f.starts_with("JobState=") || f.starts_with("Reason=") || f.starts_with("ExitCode=")
            })
            .collect();
        (!fields.is_empty()).then(|| fields.join(" "))
    }
}

/// How a job Slurm reports in `state` (`None`: Slurm no longer knows it) failed, beyond its
/// exit code; `None` when its exit-code file (`has_exit`) says how it ended.
fn failure_kind(state: Option<&str>, has_exit: bool) -> Option<FailureKind> {
    Some(match state {
        Some("TIMEOUT" | "DEADLINE") => FailureKind::Walltime,
        Some("OUT_OF_MEMORY") => FailureKind::Memory,
        Some("CANCELLED") => FailureKind::Cancelled,
        Some("NODE_FAIL" | "BOOT_FAIL" | "PREEMPTED" | "REVOKED") => FailureKind::Unknown,
        // Ended by itself: its exit-code file says how.
        _ if has_exit => return None,
        _ => FailureKind::Unknown,
    })
}

fn parse_squeue(out: &str) -> HashMap<String, Seen> {
    out.lines()
        .filter_map(|l| {
            let mut parts = l.trim().splitn(3, '|');
            let id = parts.next()?.trim();
            let state = parts.next()?.trim();
            let reason = parts.next().unwrap_or("").trim();
            (!id.is_empty()).then(|| {
                (
                    id.to_string(),
                    Seen {
                        state: state.to_string(),
                        reason: reason.to_string(),
                    },
                )
            })
        })
        .collect()
}

/// Slurm states Galaxy maps to `running`.
fn is_running(state: &str) -> bool {
    matches!(
        state,
        "RUNNING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" | "RESIZING"
    )
}

/// Slurm states a job does not leave.
fn is_final(state: &str) -> bool {
    matches!(
        state,
        "COMPLETED"
            | "FAILED"
            | "CANCELLED"
            | "TIMEOUT"
            | "OUT_OF_MEMORY"
            | "NODE_FAIL"
            | "BOOT_FAIL"
            | "DEADLINE"
            | "PREEMPTED"
            | "REVOKED"
            | "SPECIAL_EXIT"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_ends_map_to_galaxys_failures() {
        use FailureKind as F;
        assert_eq!(failure_kind(Some("TIMEOUT"), true), Some(F::Walltime));
        assert_eq!(failure_kind(Some("OUT_OF_MEMORY"), false), Some(F::Memory));
        assert_eq!(failure_kind(Some("NODE_FAIL"), false), Some(F::Unknown));
        assert_eq!(failure_kind(Some("CANCELLED"), true), Some(F::Cancelled));
        // The tool's own exit code, failed or not, is the exit-code file's to say.
        assert_eq!(failure_kind(Some("FAILED"), true), None);
        assert_eq!(failure_kind(Some("COMPLETED"), true), None);
        // Launch failures, and jobs Slurm forgot, without an exit code.
        assert_eq!(failure_kind(Some("FAILED"), false), Some(F::Unknown));
        assert_eq!(failure_kind(None, false), Some(F::Unknown));
        assert_eq!(failure_kind(None, true), None);
    }

    #[test]
    fn squeue_lines_are_read() {
        let seen = parse_squeue("12|PENDING|Priority\n13|RUNNING|None\n14|TIMEOUT|TimeLimit\n");
        assert_eq!(seen.len(), 3);
        assert_eq!(seen["14"].state, "TIMEOUT");
        assert_eq!(seen["12"].reason, "Priority");
        assert!(is_running(&seen["13"].state));
        assert!(is_final(&seen["14"].state));
        assert!(!is_final(&seen["12"].state) && !is_running(&seen["12"].state));
    }
}
