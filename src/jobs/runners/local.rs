//! The local runner: a job's script runs in its own process group under the job
//! working directory and writes its own exit-code file, so a job that outlives its handler can
//! still be finished from that file.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::spare::SpareDirs;

/// The runner name recorded on jobs.
pub const RUNNER_NAME: &str = "local:///";
/// Most of stdout/stderr kept in the job row.
const MAX_CAPTURE: u64 = 64 * 1024;

/// Paths of one job's working directory.
#[derive(Debug, Clone)]
pub struct JobDir {
    pub root: PathBuf,
}

impl JobDir {
    pub fn script(&self) -> PathBuf {
        self.root.join("galaxy_job.sh")
    }
    pub fn working(&self) -> PathBuf {
        self.root.join("working")
    }
    pub fn stdout(&self) -> PathBuf {
        self.root.join("outputs").join("tool_stdout")
    }
    pub fn stderr(&self) -> PathBuf {
        self.root.join("outputs").join("tool_stderr")
    }
    pub fn exit_code(&self) -> PathBuf {
        self.root.join("exit_code")
    }
    /// Written by the script as its first act: its pid, which is its process group.
    pub fn pid(&self) -> PathBuf {
        self.root.join("pid")
    }
    /// The exit code, once the script has written it whole.
    pub fn read_exit_code(&self) -> Option<i32> {
        std::fs::read_to_string(self.exit_code())
            .ok()?
            .trim()
            .parse()
            .ok()
    }
    pub fn read_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pid())
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Starts and watches job processes.
#[derive(Debug, Clone)]
pub struct LocalRunner {
    pub workers: usize,
    /// Emptied job directories for reuse (see `spare`).
    pub spares: Arc<SpareDirs>,
}

/// The outcome read back from a job directory.
#[derive(Debug)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl LocalRunner {
    /// A local runner of its own (4 workers, no spare directories kept).
    pub fn standalone() -> LocalRunner {
        LocalRunner {
            workers: super::super::super::config::job_conf::DEFAULT_WORKERS,
            spares: Arc::new(SpareDirs::new(Path::new("/nonexistent"), 0)),
        }
    }

    /// Starts the script in a new process group; returns the child (its pid is the group id).
    pub fn spawn(&self, dir: &JobDir) -> std::io::Result<tokio::process::Child> {
        let mut cmd = std::process::Command::new("/bin/bash");
        cmd.arg(dir.script())
            .current_dir(&dir.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0);
        tokio::process::Command::from(cmd)
            .kill_on_drop(false)
            .spawn()
    }

    /// Kills a job's whole process group.
    pub fn kill_group(pgid: i32) {
        if pgid > 1 {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }

    /// Whether a process (group leader) still exists; used for jobs adopted after a restart.
    pub fn is_alive(pid: i32) -> bool {
        pid > 1 && kill(Pid::from_raw(pid), None).is_ok()
    }

    /// Reads the exit code and captured output of a finished job.
    pub fn collect(dir: &JobDir) -> Outcome {
        let exit_code = dir.read_exit_code();
        Outcome {
            exit_code,
            stdout: read_capped(&dir.stdout()),
            stderr: read_capped(&dir.stderr()),
        }
    }
}

fn read_capped(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_CAPTURE).read_to_end(&mut buf);
    }
    // PostgreSQL text cannot hold NUL: a job printing one must still be recorded.
    String::from_utf8_lossy(&buf).replace('\0', "\u{FFFD}")
}

/// This host's name, as recorded with worker processes.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// How often an adopted local job's process and exit-code file are looked at.
const ADOPTED_POLL: std::time::Duration = std::time::Duration::from_millis(200);

impl super::JobRunner for LocalRunner {
    fn kind(&self) -> crate::config::RunnerKind {
        crate::config::RunnerKind::Local
    }

    fn url(&self) -> String {
        RUNNER_NAME.to_string()
    }

    fn prepare(&self, spec: &super::JobSpec, command: &str) -> std::io::Result<()> {
        self.spares.take_into(&spec.dir);
        let slots = super::script::Slots::Fixed(spec.execution.galaxy_slots.unwrap_or(1));
        super::script::write(&spec.dir, command, "", &spec.execution, slots)
    }

    /// Starts the script in its own process group and waits for it (killing it at the
    /// environment's walltime).
    fn submit(
        &self,
        spec: super::JobSpec,
    ) -> futures_util::future::BoxFuture<'_, Result<(String, super::ProgressRx), super::RunnerError>>
    {
        Box::pin(async move {
            let mut child = self.spawn(&spec.dir).map_err(|e| {
                super::RunnerError::Io(format!("could not start the job script: {e}"))
            })?;
            let pid = child.id().map_or(0, |p| p as i32);
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let _ = tx.send(super::Progress::Running);
            let walltime = spec.execution.walltime;
            tokio::spawn(async move {
                let over = match walltime {
                    Some(limit) => tokio::time::timeout(limit, child.wait()).await.is_err(),
                    None => {
                        let _ = child.wait().await;
                        false
                    }
                };
                let failure = match (over, walltime) {
                    (true, Some(limit)) => {
                        LocalRunner::kill_group(pid);
                        let _ = child.wait().await;
                        Some(super::Failure {
                            kind: super::FailureKind::Walltime,
                            message: format!(
                                "job exceeded the walltime limit of {} s and was killed",
                                limit.as_secs()
                            ),
                        })
                    }
                    _ => None,
                };
                let _ = tx.send(super::Progress::Ended(failure));
            });
            Ok((pid.to_string(), rx))
        })
    }

    /// Until the exit-code file is written (the script's last act) or, on this host, the
    /// process is gone. On another host's job the exit-code file (on shared storage) is the
    /// only sign of the end.
    fn watch(
        &self,
        spec: super::JobSpec,
        external_id: String,
        same_host: bool,
    ) -> super::ProgressRx {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let pid: i32 = external_id.parse().unwrap_or(0);
        tokio::spawn(async move {
            let _ = tx.send(super::Progress::Running);
            while spec.dir.read_exit_code().is_none() && (!same_host || LocalRunner::is_alive(pid))
            {
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(ADOPTED_POLL).await;
            }
            let _ = tx.send(super::Progress::Ended(None));
        });
        rx
    }

    fn cancel(
        &self,
        _execution: &crate::config::Execution,
        external_id: &str,
    ) -> futures_util::future::BoxFuture<'_, ()> {
        if let Ok(pgid) = external_id.parse() {
            LocalRunner::kill_group(pgid);
        }
        Box::pin(async {})
    }

    /// The script writes its pid first: a job whose handler stopped before recording it is
    /// found by that file (or, if it already ended, by its exit code) within 2 s; neither
    /// means it never started.
    fn find(
        &self,
        spec: super::JobSpec,
    ) -> futures_util::future::BoxFuture<'_, Result<Option<String>, super::RunnerError>> {
        Box::pin(async move {
            for _ in 0..20 {
                if let Some(p) = spec.dir.read_pid() {
                    return Ok(Some(p.to_string()));
                }
                if spec.dir.read_exit_code().is_some() {
                    return Ok(Some("0".into()));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Ok(None)
        })
    }
}
