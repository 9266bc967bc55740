//! The listening sockets of `gravity.gunicorn.bind`, opened and held by the manager and passed
//! to each web process (`LISTEN_FDS`, descriptors 3…), so a new web process takes over the
//! same sockets while the old one drains: no connection is refused during `graceful`.
//! A web process reports that it serves through `NOTIFY_SOCKET` (`READY=1`).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::CtlError;
use crate::system::socket::{apply_umask, clear_stale};

pub struct Listeners {
    fds: Vec<OwnedFd>,
    unix_paths: Vec<PathBuf>,
    notify: UnixDatagram,
    notify_path: PathBuf,
}

impl Listeners {
    /// Binds every address (`HOST:PORT` or `unix:/path`); `notify_path` is the readiness
    /// socket's file.
    pub fn bind(binds: &[String], umask: u32, notify_path: PathBuf) -> Result<Listeners, CtlError> {
        let mut fds = Vec::new();
        let mut unix_paths = Vec::new();
        for addr in binds {
            let err = |e: std::io::Error| CtlError::Io(format!("cannot bind {addr}: {e}"));
            if let Some(path) = addr.strip_prefix("unix:") {
                let path = Path::new(path);
                clear_stale(path).map_err(err)?;
                let l = std::os::unix::net::UnixListener::bind(path).map_err(err)?;
                apply_umask(path, umask).map_err(err)?;
                unix_paths.push(path.to_path_buf());
                fds.push(OwnedFd::from(l));
            } else {
                let l = std::net::TcpListener::bind(addr.as_str()).map_err(err)?;
                fds.push(OwnedFd::from(l));
            }
        }
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path)
            .map_err(|e| CtlError::Io(format!("{}: {e}", notify_path.display())))?;
        Ok(Listeners {
            fds,
            unix_paths,
            notify,
            notify_path,
        })
    }

    /// The files of the unix sockets, the readiness socket's included.
    pub fn socket_files(&self) -> Vec<PathBuf> {
        let mut out = self.unix_paths.clone();
        out.push(self.notify_path.clone());
        out
    }

    /// Hands the sockets to the process `cmd` starts, at descriptors 3, 4, ….
    pub fn pass_to(&self, cmd: &mut Command) {
        let raw: Vec<RawFd> = self.fds.iter().map(AsRawFd::as_raw_fd).collect();
        cmd.env("LISTEN_FDS", raw.len().to_string())
            .env_remove("LISTEN_PID")
            .env("NOTIFY_SOCKET", &self.notify_path);
        // SAFETY: only fcntl and dup2 (async-signal-safe) run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Out of the way first (a listener may already sit at 3, 4, …), then into
                // place; dup2 clears close-on-exec on the copies.
                let mut high = Vec::with_capacity(raw.len());
                for fd in &raw {
                    let h = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 64);
                    if h < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    high.push(h);
                }
                for (i, h) in high.iter().enumerate() {
                    if libc::dup2(*h, 3 + i as RawFd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }

    /// Waits until the process `pid` reports `READY=1`; false on timeout.
    pub fn wait_ready(&self, pid: u32, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if self
                .notify
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .is_err()
            {
                return false;
            }
            let Ok(n) = self.notify.recv(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            if text.lines().any(|l| l == "READY=1")
                && text.lines().any(|l| l == format!("MAINPID={pid}"))
            {
                return true;
            }
        }
        false
    }

    /// Drops readiness reports nobody waits for (a web process restarted after a crash).
    pub fn drain_reports(&self) {
        let mut buf = [0u8; 512];
        let _ = self.notify.set_nonblocking(true);
        while self.notify.recv(&mut buf).is_ok() {}
        let _ = self.notify.set_nonblocking(false);
    }

    /// Closes the sockets and removes their files.
    pub fn close(self) {
        drop(self.fds);
        for p in &self.unix_paths {
            let _ = std::fs::remove_file(p);
        }
        let _ = std::fs::remove_file(&self.notify_path);
    }
}
