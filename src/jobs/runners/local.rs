//! The local runner: a job's script runs in its own process group under the job
//! working directory and writes its own exit-code file, so a job that outlives its handler can
//! still be finished from that file.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::spare::{SpareDirs, truncate_existing};

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

fn quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"))
}

impl LocalRunner {
    /// Writes the job script; it runs `command` in `working/`, captures its output and writes
    /// `exit_code` itself (atomically, through a rename).
    pub fn prepare(&self, dir: &JobDir, command: &str) -> std::io::Result<()> {
        self.spares.take_into(dir);
        std::fs::create_dir_all(dir.working())?;
        std::fs::create_dir_all(dir.root.join("outputs"))?;
        // Emptied rather than removed: a reused directory keeps its files (no inode churn);
        // an empty exit-code or pid file reads as absent.
        truncate_existing(&dir.exit_code())?;
        truncate_existing(&dir.pid())?;
        let script = format!(
            // No subshell and no helper processes: the EXIT trap records the status however the
            // command ends (including its own `exit N`).
            "#!/bin/bash\necho \"$$\" > {pid}\n__galaxy_exit_file={exit}\ntrap 'echo \"$?\" > \"$__galaxy_exit_file\"' EXIT\ncd {work} || exit 1\n{{\n{command}\n}} > {out} 2> {err}\n",
            pid = quote(&dir.pid()),
            work = quote(&dir.working()),
            out = quote(&dir.stdout()),
            err = quote(&dir.stderr()),
            exit = quote(&dir.exit_code()),
        );
        std::fs::write(dir.script(), script)
    }

    /// Starts the script in a new process group; returns the child (its pid is the group id).
    pub fn spawn(&self, dir: &JobDir) -> std::io::Result<tokio::process::Child> {
        let mut cmd = std::process::Command::new("/bin/bash");
        cmd.arg(dir.script())
            .current_dir(&dir.root)
            .env("GALAXY_SLOTS", "1")
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
