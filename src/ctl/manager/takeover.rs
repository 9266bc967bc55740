//! Zero-downtime replacement of the web process: a new one starts on the same held sockets,
//! and only once it reports that it serves is the old one told to stop (it stops accepting,
//! finishes its in-flight requests and exits). Connections arriving meanwhile wait in the
//! shared listen queue and are accepted by whichever process is serving.

use std::time::{Duration, Instant, SystemTime};

use super::{CtlError, Managed, Manager};

impl Manager {
    pub(super) fn replace_web(&mut self, name: &str) -> Result<(), CtlError> {
        let Some(listeners) = &self.listeners else {
            return self.restart_one(name);
        };
        let Some(m) = self.procs.get(name) else {
            return Ok(());
        };
        let old_pid = m.child.as_ref().map(std::process::Child::id);
        listeners.drain_reports();
        let (spec, log) = (m.spec.clone(), m.log.clone());
        let mut new = self.spawn_replacing(&spec, &log, old_pid)?;
        // gravity.gunicorn.restart_timeout: how long the new process may take to serve.
        let ready_timeout = Duration::from_secs(spec.restart_timeout.max(1));
        if !listeners.wait_ready(new.id(), ready_timeout) {
            let _ = new.kill();
            let _ = new.wait();
            return Err(CtlError::Io(format!(
                "the new {name} process did not report ready within {ready_timeout:?} (restart_timeout); the old one keeps serving"
            )));
        }
        log::info!("{name}: pid {} serves; stopping the old one", new.id());
        let Some(m) = self.procs.get_mut(name) else {
            return Ok(());
        };
        let old = m.child.replace(new);
        m.stopped = false;
        m.started = SystemTime::now();
        m.started_at = Instant::now();
        m.restart_at = None;
        if let Some(old) = old {
            let mut retired = Managed {
                spec: m.spec.clone(),
                child: Some(old),
                stopped: false,
                started: m.started,
                started_at: m.started_at,
                restarts: 0,
                backoff: m.backoff,
                restart_at: None,
                log: m.log.clone(),
            };
            Self::stop_one(&mut retired);
        }
        Ok(())
    }
}
