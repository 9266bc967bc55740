//! `--daemonize` (Galaxy's `galaxy-main --daemonize`): the process forks, the child leaves the
//! terminal's session and writes its output to the log file, and the parent waits until the
//! child serves (its `READY=1` on a private `NOTIFY_SOCKET`) or has failed, so the command's
//! exit code says whether the server started. `--pid-file` is written by the serving process
//! and removed when it stops.

use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};

/// How long the parent waits for the child to serve.
const START_WAIT: Duration = Duration::from_secs(300);

/// Removes the pid file when the serving process ends.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's pid to `path`; refused while another live process holds it.
    pub fn create(path: &Path) -> Result<PidFile, String> {
        if let Some(pid) = live_pid(path) {
            return Err(format!(
                "{}: galaxy-server already runs as pid {pid}",
                path.display()
            ));
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.path)
            .is_ok_and(|t| t.trim() == std::process::id().to_string())
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The pid in `path` when that process is alive.
fn live_pid(path: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (pid > 0 && nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()).then_some(pid)
}

/// Forks. In the parent this does not return: it exits 0 once the child serves, 1 if the
/// child failed first. In the child it returns the pid file guard. Must be called before
/// the process starts any thread.
pub fn daemonize(pid_file: &Path, log_file: &Path) -> Result<PidFile, String> {
    if let Some(pid) = live_pid(pid_file) {
        return Err(format!(
            "{}: galaxy-server already runs as pid {pid}",
            pid_file.display()
        ));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .map_err(|e| format!("{}: {e}", log_file.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("galaxy-server-start")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    let sock_path = dir.path().join("notify.sock");
    let sock =
        UnixDatagram::bind(&sock_path).map_err(|e| format!("{}: {e}", sock_path.display()))?;
    // SAFETY: no other thread runs yet (the caller's contract).
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(format!("fork: {e}")),
        Ok(ForkResult::Parent { child }) => {
            drop(log);
            let code = wait_ready(&sock, child, pid_file, log_file);
            drop(dir);
            std::process::exit(code);
        }
        Ok(ForkResult::Child) => {
            drop(sock);
            // The directory is the parent's to remove.
            std::mem::forget(dir);
            nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
            let null = std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
            // SAFETY: dup2 onto the standard descriptors of this single-threaded process.
            unsafe {
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(log.as_raw_fd(), 1);
                libc::dup2(log.as_raw_fd(), 2);
                std::env::set_var("NOTIFY_SOCKET", &sock_path);
            }
            PidFile::create(pid_file)
        }
    }
}

/// The parent's side: the exit code of the start.
fn wait_ready(sock: &UnixDatagram, child: Pid, pid_file: &Path, log_file: &Path) -> i32 {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
    let deadline = Instant::now() + START_WAIT;
    let mut buf = [0u8; 512];
    loop {
        if let Ok(n) = sock.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
        {
            let mut out = std::io::stdout();
            let _ = writeln!(
                out,
                "galaxy-server started in the background: pid {child}, pid file {}, log {}",
                pid_file.display(),
                log_file.display()
            );
            return 0;
        }
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => {
                eprintln!(
                    "galaxy-server: the server stopped while starting ({status:?}); see {}",
                    log_file.display()
                );
                return 1;
            }
            Err(e) => {
                eprintln!("galaxy-server: waiting for pid {child}: {e}");
                return 1;
            }
        }
        if Instant::now() >= deadline {
            eprintln!(
                "galaxy-server: pid {child} did not start serving within {START_WAIT:?}; see {}",
                log_file.display()
            );
            return 1;
        }
    }
}
