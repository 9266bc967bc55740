//! `ctl list`, `ctl show NAME`, `ctl exec NAME` and `ctl unit`: what the configuration
//! defines, exactly as the manager would run it, without a running manager.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::CtlError;
use super::plan::{ProcSpec, StateDir};
use crate::config::GravitySettings;
use crate::config::gravity::parse_umask;

fn program() -> Result<PathBuf, CtlError> {
    std::env::current_exe().map_err(|e| CtlError::Io(format!("cannot find this program: {e}")))
}

/// `-c FILE` as the manager passes it, the file made absolute.
fn config_args(config: &Option<PathBuf>) -> Vec<String> {
    match config {
        Some(c) => {
            let abs = std::env::current_dir().map_or_else(|_| c.clone(), |d| d.join(c));
            vec!["-c".into(), abs.display().to_string()]
        }
        None => Vec::new(),
    }
}

fn specs_named<'a>(specs: &'a [ProcSpec], names: &[String]) -> Vec<&'a ProcSpec> {
    specs.iter().filter(|s| names.contains(&s.name)).collect()
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

/// Each service with its type, processes and pools.
pub fn list(specs: &[ProcSpec]) {
    println!("{:<20} {:<16} {:<40} POOLS", "SERVICE", "TYPE", "PROCESSES");
    let mut services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    services.dedup();
    for service in services {
        let procs: Vec<&ProcSpec> = specs.iter().filter(|s| s.service == service).collect();
        let Some(first) = procs.first() else {
            continue;
        };
        let kind = match (first.mode.as_str(), first.static_handler) {
            ("web", _) => "web (gunicorn)",
            (_, true) => "static handler",
            _ => "dynamic handlers",
        };
        let names: Vec<&str> = procs.iter().map(|p| p.name.as_str()).collect();
        println!(
            "{:<20} {:<16} {:<40} {}",
            service,
            kind,
            names.join(","),
            first.pools.join(",")
        );
    }
}

/// The command line, environment and limits of each named process.
pub fn show(
    specs: &[ProcSpec],
    names: &[String],
    config: &Option<PathBuf>,
) -> Result<(), CtlError> {
    let program = program()?;
    for spec in specs_named(specs, names) {
        let mut args = config_args(config);
        args.extend(spec.args(None));
        println!("{} (service {}, {})", spec.name, spec.service, spec.mode);
        println!("  command:       {} {}", program.display(), args.join(" "));
        if spec.environment.is_empty() {
            println!("  environment:   (inherited only)");
        }
        for (k, v) in &spec.environment {
            println!("  environment:   {k}={v}");
        }
        println!("  pools:         {}", spec.pools.join(", "));
        println!(
            "  umask:         {}",
            spec.umask
                .map_or("(inherited)".into(), |m| format!("{m:03o}"))
        );
        println!(
            "  memory_limit:  {}",
            spec.memory_limit.map_or("none".into(), mib)
        );
        println!("  start_timeout: {} s", spec.start_timeout);
        println!("  stop_timeout:  {} s", spec.stop_timeout);
    }
    Ok(())
}

/// Replaces this process with the named one, run in the foreground as configured (the web
/// process binds its own sockets; nothing watches its memory).
pub fn exec(
    specs: &[ProcSpec],
    names: &[String],
    config: &Option<PathBuf>,
) -> Result<(), CtlError> {
    let found = specs_named(specs, names);
    let [spec] = found.as_slice() else {
        return Err(CtlError::Config(format!(
            "exec runs one process; `{}` names {}: {}",
            names.join(" "),
            found.len(),
            found
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut cmd = Command::new(program()?);
    cmd.args(config_args(config))
        .args(spec.args(None))
        .envs(&spec.environment);
    spec.command_umask(&mut cmd);
    let err = cmd.exec();
    Err(CtlError::Io(format!("cannot run {}: {err}", spec.name)))
}

/// A systemd unit for the manager: the configured user, umask and limits, the state
/// directory and configuration this command was given.
pub fn unit(
    specs: &[ProcSpec],
    gravity: &GravitySettings,
    state: &StateDir,
    config: &Option<PathBuf>,
) -> Result<(), CtlError> {
    let program = program()?;
    let cwd =
        std::env::current_dir().map_err(|e| CtlError::Io(format!("current directory: {e}")))?;
    print!(
        "{}",
        unit_text(specs, gravity, &state.root, &program, &cwd, config)
    );
    Ok(())
}

fn unit_text(
    specs: &[ProcSpec],
    gravity: &GravitySettings,
    state_root: &Path,
    program: &Path,
    cwd: &Path,
    config: &Option<PathBuf>,
) -> String {
    let mut base = config_args(config);
    base.extend([
        "ctl".into(),
        "--state-dir".into(),
        state_root.display().to_string(),
    ]);
    let base = format!("{} {}", program.display(), base.join(" "));
    let start = specs.iter().map(|s| s.start_timeout).max().unwrap_or(15);
    let stop = specs.iter().map(|s| s.stop_timeout).max().unwrap_or(30) + 15;
    let mut out = String::new();
    out.push_str("# Written by `galaxy-server ctl unit` from galaxy.yml's `gravity` section.\n");
    out.push_str("[Unit]\nDescription=galaxy-server (Galaxy web workers and job handlers)\n");
    out.push_str("After=network-online.target postgresql.service\nWants=network-online.target\n\n");
    out.push_str("[Service]\nType=simple\n");
    if let Some(user) = &gravity.galaxy_user {
        out.push_str(&format!("User={user}\n"));
    }
    if let Some(group) = &gravity.galaxy_group {
        out.push_str(&format!("Group={group}\n"));
    }
    out.push_str(&format!("WorkingDirectory={}\n", cwd.display()));
    out.push_str(&format!("ExecStart={base} start --foreground\n"));
    out.push_str(&format!("ExecReload={base} graceful\n"));
    out.push_str("KillMode=mixed\n");
    out.push_str(&format!("TimeoutStartSec={start}\nTimeoutStopSec={stop}\n"));
    out.push_str("Restart=on-failure\nRestartSec=5\n");
    if let Some(mask) = parse_umask(&gravity.umask) {
        out.push_str(&format!("UMask={mask:04o}\n"));
    }
    // One unit holds every process: its ceiling is the sum of theirs, when each has one.
    let limits: Option<Vec<u64>> = specs.iter().map(|s| s.memory_limit).collect();
    if let Some(limits) = limits.filter(|l| !l.is_empty()) {
        out.push_str(&format!("MemoryMax={}\n", limits.iter().sum::<u64>()));
    }
    out.push_str("LimitNOFILE=65536\n\n[Install]\nWantedBy=multi-user.target\n");
    out
}
