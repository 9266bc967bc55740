//! The process manager itself (`ctl start --foreground`, what systemd runs): starts the web
//! process and the handlers, writes each one's output to `state_dir/log/<name>.log`, restarts
//! a process that dies (with backoff), and keeps `processes.json` up to date for `status`.
//!
//! Signals: SIGTERM/SIGINT stop everything; SIGHUP/SIGUSR1 reopen the log files (logrotate);
//! SIGUSR2 carries a request written to `state_dir/request` (`update` or `graceful`).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::CtlError;
use super::listeners::Listeners;
use super::plan::{ProcSpec, StateDir};

mod limits;
mod logs;
mod state;
mod takeover;

use self::logs::{LogFile, open_log, pump};
pub use self::state::{ProcState, StateFile};

/// Set by `ctl start` in the background: the file the manager's own output goes to.
pub const MANAGER_LOG_ENV: &str = "GALAXY_SERVER_CTL_LOG";

const TICK: Duration = Duration::from_millis(100);
const STOP_GRACE: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A process that ran this long before dying is restarted at once.
const STABLE: Duration = Duration::from_secs(60);

struct Managed {
    spec: ProcSpec,
    child: Option<Child>,
    /// Stopped by `ctl stop NAME`: not restarted until `ctl start NAME`.
    stopped: bool,
    started: SystemTime,
    started_at: Instant,
    restarts: u32,
    backoff: Duration,
    restart_at: Option<Instant>,
    log: LogFile,
}

/// Loads the configuration again (for `update` and `graceful`).
pub type Reload = Box<dyn Fn() -> Result<Vec<ProcSpec>, String>>;

pub struct Manager {
    state: StateDir,
    program: std::path::PathBuf,
    base_args: Vec<String>,
    procs: BTreeMap<String, Managed>,
    order: Vec<String>,
    generation: u64,
    reload: Reload,
    /// The web process's listening sockets, held across its restarts.
    listeners: Option<Listeners>,
    /// When resident memory was last checked against the limits.
    memory_checked: Instant,
}

impl Manager {
    pub fn new(
        state: StateDir,
        program: std::path::PathBuf,
        base_args: Vec<String>,
        reload: Reload,
    ) -> Manager {
        Manager {
            state,
            program,
            base_args,
            procs: BTreeMap::new(),
            order: Vec::new(),
            generation: 0,
            reload,
            listeners: None,
            memory_checked: Instant::now(),
        }
    }

    /// Holds the web process's listening sockets (passed to each web process it starts).
    pub fn with_listeners(mut self, listeners: Listeners) -> Manager {
        self.listeners = Some(listeners);
        self
    }

    fn spawn(&self, spec: &ProcSpec, log: &LogFile) -> Result<Child, CtlError> {
        self.spawn_replacing(spec, log, None)
    }

    /// Starts `spec`'s process; a web process gets the held listeners, and `replaces` names
    /// the process it takes over from (which may keep the name while it drains).
    fn spawn_replacing(
        &self,
        spec: &ProcSpec,
        log: &LogFile,
        replaces: Option<u32>,
    ) -> Result<Child, CtlError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.base_args)
            .args(spec.args(None))
            .envs(&spec.environment)
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("GALAXY_SERVER_REPLACES_PID")
            .env_remove(MANAGER_LOG_ENV)
            .env(
                crate::system::maintenance::STATUS_DIR_ENV,
                self.state.status_dir(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A process outlives no manager (not even one killed with SIGKILL).
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        if spec.mode == "web"
            && let Some(l) = &self.listeners
        {
            l.pass_to(&mut cmd);
        }
        if let Some(pid) = replaces {
            cmd.env("GALAXY_SERVER_REPLACES_PID", pid.to_string());
        }
        spec.command_umask(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| CtlError::Io(format!("starting {}: {e}", spec.name)))?;
        if let Some(out) = child.stdout.take() {
            pump(out, log.clone());
        }
        if let Some(err) = child.stderr.take() {
            pump(err, log.clone());
        }
        log::info!("started {} (pid {})", spec.name, child.id());
        Ok(child)
    }

    /// Adds a process, started unless `stopped`.
    fn add(&mut self, spec: ProcSpec, stopped: bool) -> Result<(), CtlError> {
        let log = Arc::new(Mutex::new(open_log(&self.state.log_file(&spec.name))?));
        let child = if stopped {
            None
        } else {
            Some(self.spawn(&spec, &log)?)
        };
        self.order.push(spec.name.clone());
        self.procs.insert(
            spec.name.clone(),
            Managed {
                spec,
                child,
                stopped,
                started: SystemTime::now(),
                started_at: Instant::now(),
                restarts: 0,
                backoff: Duration::from_secs(1),
                restart_at: None,
                log,
            },
        );
        Ok(())
    }

    /// Stops one process: SIGTERM, then SIGKILL after its `stop_timeout`.
    fn stop_one(m: &mut Managed) {
        let Some(mut child) = m.child.take() else {
            return;
        };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let grace = m.spec.stop_grace();
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    log::warn!("{} did not stop in {grace:?}: killing it", m.spec.name);
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(TICK),
            }
        }
        log::info!("stopped {}", m.spec.name);
    }

    fn restart_one(&mut self, name: &str) -> Result<(), CtlError> {
        let Some(m) = self.procs.get_mut(name) else {
            return Ok(());
        };
        Self::stop_one(m);
        let spec = m.spec.clone();
        let log = m.log.clone();
        let child = self.spawn(&spec, &log)?;
        if let Some(m) = self.procs.get_mut(name) {
            m.child = Some(child);
            m.stopped = false;
            m.started = SystemTime::now();
            m.started_at = Instant::now();
            m.restart_at = None;
        }
        Ok(())
    }

    /// Restarts dead processes (with backoff); returns whether anything changed.
    fn watch(&mut self) -> bool {
        let mut changed = false;
        let now = Instant::now();
        let names: Vec<String> = self.order.clone();
        for name in names {
            let Some(m) = self.procs.get_mut(&name) else {
                continue;
            };
            let exited = match m.child.as_mut() {
                Some(child) => match child.try_wait() {
                    Ok(Some(status)) => Some((child.id(), status)),
                    _ => None,
                },
                None => None,
            };
            if let Some((pid, status)) = exited {
                m.child = None;
                if m.started_at.elapsed() >= STABLE {
                    m.backoff = Duration::from_secs(1);
                }
                if m.started_at.elapsed() < Duration::from_secs(m.spec.start_timeout) {
                    log::error!(
                        "{name} (pid {pid}) failed to start: exited ({status}) within its start_timeout of {} s; restarting in {:?}",
                        m.spec.start_timeout,
                        m.backoff
                    );
                } else {
                    log::warn!(
                        "{name} (pid {pid}) exited ({status}); restarting in {:?}",
                        m.backoff
                    );
                }
                m.restart_at = Some(now + m.backoff);
                m.backoff = (m.backoff * 2).min(MAX_BACKOFF);
                changed = true;
            }
            if m.child.is_none() && !m.stopped && m.restart_at.is_some_and(|t| t <= now) {
                let (spec, log) = (m.spec.clone(), m.log.clone());
                match self.spawn(&spec, &log) {
                    Ok(child) => {
                        if let Some(m) = self.procs.get_mut(&name) {
                            m.child = Some(child);
                            m.started = SystemTime::now();
                            m.started_at = Instant::now();
                            m.restarts += 1;
                            m.restart_at = None;
                        }
                    }
                    Err(e) => {
                        log::error!("{e}");
                        if let Some(m) = self.procs.get_mut(&name) {
                            m.restart_at = Some(now + m.backoff);
                        }
                    }
                }
                changed = true;
            }
        }
        changed
    }

    /// Applies a changed configuration: new processes start, removed ones stop, changed ones
    /// restart; the others are not touched.
    fn update(&mut self, graceful: bool) {
        let specs = match (self.reload)() {
            Ok(s) => s,
            Err(e) => {
                log::error!("configuration not applied: {e}");
                return;
            }
        };
        let wanted: BTreeMap<String, ProcSpec> =
            specs.iter().map(|s| (s.name.clone(), s.clone())).collect();
        for name in self.order.clone() {
            if !wanted.contains_key(&name)
                && let Some(mut m) = self.procs.remove(&name)
            {
                Self::stop_one(&mut m);
                self.order.retain(|n| n != &name);
            }
        }
        for spec in specs {
            let name = spec.name.clone();
            match self.procs.get_mut(&name) {
                None => {
                    if let Err(e) = self.add(spec, false) {
                        log::error!("{e}");
                    }
                }
                Some(m) if m.spec != spec => {
                    m.spec = spec;
                    if let Err(e) = self.restart_one(&name) {
                        log::error!("{e}");
                    }
                }
                Some(m) if graceful && m.spec.mode == "web" && self.listeners.is_some() => {
                    if let Err(e) = self.replace_web(&name) {
                        log::error!("{e}");
                    }
                }
                Some(_) if graceful => {
                    // One at a time: a handler hands back its unstarted jobs as it stops.
                    if let Err(e) = self.restart_one(&name) {
                        log::error!("{e}");
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                Some(_) => {}
            }
        }
        self.generation += 1;
    }

    /// `ctl start|stop|restart|graceful NAME…` on the named processes.
    fn on_named(&mut self, op: &str, names: &[String]) {
        for name in names {
            let Some(m) = self.procs.get_mut(name) else {
                log::warn!("{op}: no process named {name}");
                continue;
            };
            let result = match op {
                "stop" => {
                    m.stopped = true;
                    m.restart_at = None;
                    Self::stop_one(m);
                    Ok(())
                }
                "start" if m.child.is_some() => Ok(()),
                "graceful" if m.spec.mode == "web" && self.listeners.is_some() => {
                    self.replace_web(name)
                }
                _ => self.restart_one(name),
            };
            if let Err(e) = result {
                log::error!("{op} {name}: {e}");
            }
        }
        self.generation += 1;
    }

    /// Runs until SIGTERM/SIGINT; then stops every process. With `only`, the other
    /// processes are known but stopped until `ctl start` names them.
    pub fn run(mut self, specs: Vec<ProcSpec>, only: Option<Vec<String>>) -> Result<(), CtlError> {
        let term = Arc::new(AtomicBool::new(false));
        let reopen = Arc::new(AtomicBool::new(false));
        let request = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, term.clone())
                .map_err(|e| CtlError::Io(format!("signal handler: {e}")))?;
        }
        for sig in [signal_hook::consts::SIGHUP, signal_hook::consts::SIGUSR1] {
            signal_hook::flag::register(sig, reopen.clone())
                .map_err(|e| CtlError::Io(format!("signal handler: {e}")))?;
        }
        signal_hook::flag::register(signal_hook::consts::SIGUSR2, request.clone())
            .map_err(|e| CtlError::Io(format!("signal handler: {e}")))?;
        // What processes of an earlier run reported (the maintenance role) is stale now.
        let _ = std::fs::remove_dir_all(self.state.status_dir());
        for spec in specs {
            let stopped = only.as_ref().is_some_and(|o| !o.contains(&spec.name));
            if let Err(e) = self.add(spec, stopped) {
                log::error!("{e}");
            }
        }
        self.write_state();
        while !term.load(Ordering::SeqCst) {
            if reopen.swap(false, Ordering::SeqCst) {
                self.reopen_logs();
            }
            if request.swap(false, Ordering::SeqCst) {
                let path = self.state.root.join("request");
                let what = std::fs::read_to_string(&path).unwrap_or_default();
                let _ = std::fs::remove_file(&path);
                let mut words = what.split_whitespace().map(String::from);
                let op = words.next().unwrap_or_default();
                let names: Vec<String> = words.collect();
                match op.as_str() {
                    "graceful" if names.is_empty() => self.update(true),
                    "update" => self.update(false),
                    "start" | "stop" | "restart" | "graceful" => self.on_named(&op, &names),
                    other => log::warn!("unknown request `{other}`"),
                }
                self.write_state();
            }
            let over = self.over_memory_limit();
            if self.watch() || over {
                self.write_state();
            }
            std::thread::sleep(TICK);
        }
        log::info!("stopping every process");
        // All at once: each finishes its in-flight work (handlers hand back unstarted jobs).
        for m in self.procs.values() {
            if let Some(child) = &m.child {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            }
        }
        let grace = self
            .procs
            .values()
            .map(|m| m.spec.stop_grace())
            .max()
            .unwrap_or(STOP_GRACE);
        let deadline = Instant::now() + grace;
        for m in self.procs.values_mut() {
            let Some(mut child) = m.child.take() else {
                continue;
            };
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        log::warn!("{} did not stop in time: killing it", m.spec.name);
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(TICK),
                }
            }
        }
        if let Some(l) = self.listeners.take() {
            l.close();
        }
        let _ = std::fs::remove_file(self.state.state_file());
        Ok(())
    }
}
