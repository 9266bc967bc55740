//! One log file per process: the children's output is copied line by line into
//! `state_dir/log/<name>.log`; SIGHUP/SIGUSR1 reopen the files (logrotate).

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::sync::{Arc, Mutex};

use super::{CtlError, MANAGER_LOG_ENV, Manager};

/// A log file that can be reopened under the writers' feet.
pub(super) type LogFile = Arc<Mutex<File>>;

pub(super) fn open_log(path: &std::path::Path) -> Result<File, CtlError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CtlError::Io(format!("{}: {e}", path.display())))
}

/// Copies a child's output into its log file, line by line.
pub(super) fn pump(from: impl Read + Send + 'static, log: LogFile) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            if let Ok(mut f) = log.lock() {
                let _ = f.write_all(&line);
            }
            line.clear();
        }
    });
}

impl Manager {
    pub(super) fn reopen_logs(&self) {
        for m in self.procs.values() {
            match open_log(&self.state.log_file(&m.spec.name)) {
                Ok(f) => {
                    if let Ok(mut slot) = m.log.lock() {
                        *slot = f;
                    }
                }
                Err(e) => log::error!("{e}"),
            }
        }
        // In the background the manager's own output goes to log/manager.log: reopen it too.
        if let Some(path) = std::env::var_os(MANAGER_LOG_ENV) {
            match open_log(std::path::Path::new(&path)) {
                Ok(f) => {
                    use std::os::fd::AsRawFd as _;
                    // SAFETY: dup2 onto the standard descriptors this process owns.
                    unsafe {
                        libc::dup2(f.as_raw_fd(), 1);
                        libc::dup2(f.as_raw_fd(), 2);
                    }
                }
                Err(e) => log::error!("{e}"),
            }
        }
        log::info!("log files reopened");
    }
}
