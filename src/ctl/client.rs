//! The `ctl` commands: `start` runs (or launches in the background) the manager; the others
//! find it through its pid file and talk to it with signals and its state file.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::listeners::Listeners;
use super::manager::{Manager, StateFile};
use super::plan::{self, StateDir};
use super::{CtlCommand, CtlContext, CtlError};
use crate::system::{self, Mode, StartOptions};

/// How much longer than the longest `stop_timeout` `stop` waits for the manager.
const STOP_MARGIN: Duration = Duration::from_secs(15);
/// How long `start`, `update` and `graceful` wait for the manager to report.
const REPORT_WAIT: Duration = Duration::from_secs(120);

fn options(config: Option<&Path>) -> StartOptions {
    StartOptions {
        config: config.map(Path::to_path_buf),
        mode: Mode::Web,
        server_name: None,
        pools: Vec::new(),
        bind: Vec::new(),
        workers: None,
    }
}

fn load(config: Option<&Path>) -> Result<(system::Loaded, Vec<plan::ProcSpec>), CtlError> {
    let loaded = system::load(&options(config))
        .map_err(|e| CtlError::Config(format!("configuration error: {e}")))?;
    let specs = plan::processes(&loaded).map_err(|e| {
        let file = loaded
            .settings
            .source
            .as_ref()
            .map_or("built-in defaults".to_string(), |p| p.display().to_string());
        CtlError::Config(format!("configuration error: {file}: {e}"))
    })?;
    Ok((loaded, specs))
}

fn state_dir(ctx: &CtlContext, loaded: &system::Loaded) -> Result<StateDir, CtlError> {
    let gravity = &loaded.settings.gravity;
    let dir = ctx
        .state_dir
        .clone()
        .unwrap_or_else(|| gravity.state_dir.clone());
    let cwd =
        std::env::current_dir().map_err(|e| CtlError::Io(format!("current directory: {e}")))?;
    let state = StateDir {
        root: cwd.join(dir),
        logs: gravity.log_dir.as_ref().map(|d| cwd.join(d)),
    };
    std::fs::create_dir_all(state.log_dir())
        .map_err(|e| CtlError::Io(format!("{}: {e}", state.log_dir().display())))?;
    Ok(state)
}

/// Whether `pid` runs (a zombie, dead but not yet reaped, does not).
fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
}

/// The live manager's pid, if any (a pid file left by a dead manager is ignored).
fn manager_pid(state: &StateDir) -> Option<i32> {
    let text = std::fs::read_to_string(state.pid_file()).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    (pid > 0 && alive(pid)).then_some(pid)
}

fn read_state(state: &StateDir) -> Option<StateFile> {
    let bytes = std::fs::read(state.state_file()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn run(cmd: CtlCommand, ctx: CtlContext) -> Result<(), CtlError> {
    let config = ctx.config.clone();
    let (loaded, specs) = load(config.as_deref())?;
    let state = state_dir(&ctx, &loaded)?;
    let gravity = loaded.settings.gravity.clone();
    drop(loaded);
    let select = |names: &[String]| plan::select(&specs, names).map_err(CtlError::Config);
    // The manager gives each process its stop_timeout; this waits a little longer.
    let stop_wait =
        Duration::from_secs(specs.iter().map(|s| s.stop_timeout).max().unwrap_or(30)) + STOP_MARGIN;
    let running = manager_pid(&state);
    match cmd {
        CtlCommand::Start {
            foreground: true,
            names,
        } => {
            let only = (!names.is_empty()).then(|| select(&names)).transpose()?;
            foreground(&state, config, specs, &gravity, only)
        }
        CtlCommand::Start { names, .. } => match running {
            // Everything up already: refused; processes stopped by name: started.
            Some(pid) if names.is_empty() => match read_state(&state) {
                Some(s) if s.processes.iter().any(|p| p.state == "stopped") => {
                    request(&state, "start", &select(&[])?)
                }
                _ => Err(CtlError::AlreadyRunning(pid)),
            },
            Some(_) => request(&state, "start", &select(&names)?),
            None => {
                select(&names)?;
                start_background(&state, &gravity, config.as_deref(), &names)
            }
        },
        CtlCommand::Stop { names } if names.is_empty() => stop(&state, stop_wait),
        CtlCommand::Stop { names } => request(&state, "stop", &select(&names)?),
        CtlCommand::Restart { names } => match running {
            Some(_) if !names.is_empty() => request(&state, "restart", &select(&names)?),
            Some(_) => {
                stop(&state, stop_wait)?;
                start_background(&state, &gravity, config.as_deref(), &[])
            }
            None => start_background(&state, &gravity, config.as_deref(), &names),
        },
        CtlCommand::Status { names } => status(&state, &select(&names)?),
        CtlCommand::Follow { names } => {
            let mut logs = select(&names)?;
            if names.is_empty() {
                logs.push("manager".into());
            }
            follow(&state, &logs)
        }
        // With nothing running, both start it (as Gravity's `graceful` and `update` do).
        CtlCommand::Update | CtlCommand::Graceful { .. } if running.is_none() => {
            println!("galaxy-server is not running: starting it");
            start_background(&state, &gravity, config.as_deref(), &[])
        }
        CtlCommand::Update => request(&state, "update", &[]),
        CtlCommand::Graceful { names } if names.is_empty() => request(&state, "graceful", &[]),
        CtlCommand::Graceful { names } => request(&state, "graceful", &select(&names)?),
        CtlCommand::List => {
            super::inspect::list(&specs);
            Ok(())
        }
        CtlCommand::Show { name } => super::inspect::show(&specs, &select(&[name])?, &config),
        CtlCommand::Exec { name } => super::inspect::exec(&specs, &select(&[name])?, &config),
        CtlCommand::Unit => super::inspect::unit(&specs, &gravity, &state, &config),
    }
}

fn foreground(
    state: &StateDir,
    config: Option<PathBuf>,
    specs: Vec<plan::ProcSpec>,
    gravity: &crate::config::GravitySettings,
    only: Option<Vec<String>>,
) -> Result<(), CtlError> {
    let gunicorn = &gravity.gunicorn;
    if let Some(pid) = manager_pid(state) {
        return Err(CtlError::AlreadyRunning(pid));
    }
    crate::logging::set_server_name("ctl");
    // As root: whom to become once the sockets are bound (or a refusal of unsafe sockets).
    let target = super::privileges::plan(gravity)?;
    // The web process's sockets stay open here across its restarts (graceful reload).
    let umask = crate::config::gravity::parse_umask(&gunicorn.umask).unwrap_or(0o007);
    let listeners = if gunicorn.enable {
        Some(Listeners::bind(
            &gunicorn.bind,
            umask,
            state.root.join("notify.sock"),
        )?)
    } else {
        None
    };
    if let Some(target) = &target {
        let mut paths = listeners
            .as_ref()
            .map(Listeners::socket_files)
            .unwrap_or_default();
        paths.extend([state.root.clone(), state.log_dir()]);
        super::privileges::hand_over(target, &paths)?;
        super::privileges::become_user(target)?;
    }
    let pid_file = state.pid_file();
    std::fs::write(&pid_file, format!("{}\n", std::process::id()))
        .map_err(|e| CtlError::Io(format!("{}: {e}", pid_file.display())))?;
    let program = std::env::current_exe()
        .map_err(|e| CtlError::Io(format!("cannot find this program: {e}")))?;
    let base_args = match &config {
        Some(c) => vec!["-c".to_string(), c.display().to_string()],
        None => Vec::new(),
    };
    let reload_config = config.clone();
    let reload = Box::new(move || {
        load(reload_config.as_deref())
            .map(|(_, specs)| specs)
            .map_err(|e| e.to_string())
    });
    log::info!("process manager started (pid {})", std::process::id());
    let mut manager = Manager::new(state.clone(), program, base_args, reload);
    if let Some(l) = listeners {
        manager = manager.with_listeners(l);
    }
    let result = manager.run(specs, only);
    let _ = std::fs::remove_file(&pid_file);
    log::info!("process manager stopped");
    result
}

/// Launches `ctl start --foreground` in a new session, its output in `log/manager.log`, and
/// waits until it has started every process.
fn start_background(
    state: &StateDir,
    gravity: &crate::config::GravitySettings,
    config: Option<&Path>,
    names: &[String],
) -> Result<(), CtlError> {
    // What the manager would refuse is said here, on the terminal.
    super::privileges::plan(gravity)?;
    if let Some(pid) = manager_pid(state) {
        return Err(CtlError::AlreadyRunning(pid));
    }
    let program = std::env::current_exe()
        .map_err(|e| CtlError::Io(format!("cannot find this program: {e}")))?;
    let log_path = state.log_file("manager");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CtlError::Io(format!("{}: {e}", log_path.display())))?;
    let log2 = log
        .try_clone()
        .map_err(|e| CtlError::Io(format!("{}: {e}", log_path.display())))?;
    let mut cmd = Command::new(program);
    if let Some(c) = config {
        cmd.arg("-c").arg(c);
    }
    cmd.args(["ctl", "--state-dir"])
        .arg(&state.root)
        .args(["start", "--foreground"])
        .args(names)
        .env(super::manager::MANAGER_LOG_ENV, &log_path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| CtlError::Io(format!("starting the process manager: {e}")))?;
    let pid = child.id();
    let deadline = Instant::now() + REPORT_WAIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(CtlError::Io(format!(
                "the process manager exited ({status}); see {}",
                log_path.display()
            )));
        }
        if let Some(s) = read_state(state)
            && s.manager_pid == pid
        {
            println!(
                "galaxy-server started: manager pid {pid}, {} process(es); logs in {}",
                s.processes.len(),
                state.log_dir().display()
            );
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CtlError::Io(format!(
                "the process manager (pid {pid}) did not report within {REPORT_WAIT:?}; see {}",
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(state: &StateDir, wait: Duration) -> Result<(), CtlError> {
    let Some(pid) = manager_pid(state) else {
        return Err(CtlError::NotRunning(state.root.display().to_string()));
    };
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + wait;
    while alive(pid) {
        if Instant::now() >= deadline {
            return Err(CtlError::Io(format!(
                "the process manager (pid {pid}) did not stop within {wait:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("galaxy-server stopped");
    Ok(())
}

fn uptime(started: f64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let s = (now - started).max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn status(state: &StateDir, names: &[String]) -> Result<(), CtlError> {
    let (Some(pid), Some(s)) = (manager_pid(state), read_state(state)) else {
        return Err(CtlError::NotRunning(state.root.display().to_string()));
    };
    println!("manager pid {pid}, generation {}", s.generation);
    println!(
        "{:<24} {:<8} {:>8} {:<8} {:>10} {:>8}  POOLS",
        "NAME", "MODE", "PID", "STATE", "UPTIME", "RESTARTS"
    );
    for p in s.processes.iter().filter(|p| names.contains(&p.name)) {
        println!(
            "{:<24} {:<8} {:>8} {:<8} {:>10} {:>8}  {}",
            p.name,
            p.mode,
            p.pid.map_or("-".to_string(), |p| p.to_string()),
            p.state,
            if p.pid.is_some() {
                uptime(p.started)
            } else {
                "-".into()
            },
            p.restarts,
            p.pools.join(",")
        );
    }
    // Each process reports the maintenance role itself (the manager never reads the database).
    let holder = s.processes.iter().find_map(|p| {
        crate::system::maintenance::ProcessStatus::holder(&state.status_dir(), &p.name, p.pid?)
    });
    match holder {
        Some(h) => println!(
            "maintenance role: {} (pid {}, lease token {})",
            h.server_name,
            h.pid,
            h.lease_token.unwrap_or_default()
        ),
        None => {
            println!("maintenance role: held by none of these processes (see /api/maintenance)")
        }
    }
    Ok(())
}

/// Asks the manager to apply the configuration again (`update`) or to restart every process
/// one at a time (`graceful`), and waits until it has.
fn request(state: &StateDir, what: &str, names: &[String]) -> Result<(), CtlError> {
    let Some(pid) = manager_pid(state) else {
        return Err(CtlError::NotRunning(state.root.display().to_string()));
    };
    let before = read_state(state).map_or(0, |s| s.generation);
    let path = state.root.join("request");
    let line = std::iter::once(what.to_string())
        .chain(names.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(&path, line).map_err(|e| CtlError::Io(format!("{}: {e}", path.display())))?;
    kill(Pid::from_raw(pid), Signal::SIGUSR2)
        .map_err(|e| CtlError::Io(format!("signalling the manager (pid {pid}): {e}")))?;
    let deadline = Instant::now() + REPORT_WAIT;
    loop {
        if let Some(s) = read_state(state)
            && s.generation > before
        {
            if names.is_empty() {
                println!("{what}: done");
            } else {
                println!("{what} {}: done", names.join(" "));
            }
            return Ok(());
        }
        if !alive(pid) {
            return Err(CtlError::NotRunning(state.root.display().to_string()));
        }
        if Instant::now() >= deadline {
            return Err(CtlError::Io(format!(
                "{what}: the manager did not finish within {REPORT_WAIT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Prints every log's new lines, prefixed with the process name, until interrupted.
fn follow(state: &StateDir, names: &[String]) -> Result<(), CtlError> {
    let mut offsets: std::collections::BTreeMap<PathBuf, u64> = Default::default();
    let mut first = true;
    let stdout = std::io::stdout();
    loop {
        let entries = std::fs::read_dir(state.log_dir())
            .map_err(|e| CtlError::Io(format!("{}: {e}", state.log_dir().display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            if !stem.is_some_and(|n| names.contains(&n)) {
                continue;
            }
            let Ok(mut f) = std::fs::File::open(&path) else {
                continue;
            };
            let len = f.metadata().map_or(0, |m| m.len());
            let at = offsets.entry(path.clone()).or_insert(if first {
                len.saturating_sub(2000)
            } else {
                0
            });
            if len < *at {
                *at = 0; // rotated or truncated
            }
            if len == *at {
                continue;
            }
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(*at)).is_err() || f.read_to_end(&mut buf).is_err() {
                continue;
            }
            // Only whole lines; the rest waits for its newline.
            let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            *at += end as u64 + 1;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut out = stdout.lock();
            for line in buf[..=end].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let _ = writeln!(out, "{name} | {}", String::from_utf8_lossy(line));
            }
            let _ = out.flush();
        }
        first = false;
        std::thread::sleep(Duration::from_millis(250));
    }
}
