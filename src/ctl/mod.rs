//! `galaxy-server ctl`: Gravity's process manager in the same binary: it runs the web process
//! and every handler (see README.md, "The process manager: `galaxy-server ctl`", and
//! ARCHITECTURE.md, "Graceful stop and graceful reload").
//!
//! `start` runs the manager in the background (`start --foreground` in the foreground, as a
//! systemd unit does); the other commands talk to it through its pid file, its state file
//! (`processes.json`) and signals.

mod client;
mod inspect;
mod listeners;
mod manager;
pub mod plan;
mod privileges;

use std::path::PathBuf;

use clap::Subcommand;

pub use self::manager::{ProcState, StateFile};

#[derive(Subcommand, Debug, Clone)]
pub enum CtlCommand {
    /// Start the web process and every handler (in the background unless --foreground); with
    /// NAMEs, only those services or processes.
    Start {
        /// Stay attached (what a systemd unit runs).
        #[arg(long)]
        foreground: bool,
        /// Services (`gunicorn`/`web`, a `gravity.handlers` group, a static handler) or
        /// processes (`handler_0`).
        names: Vec<String>,
    },
    /// Stop every process (each gracefully, then by force after its `stop_timeout`); with
    /// NAMEs, only those, and the manager keeps the others running.
    Stop { names: Vec<String> },
    /// Stop, then start; with NAMEs, restart only those.
    Restart { names: Vec<String> },
    /// Restart the processes one at a time; jobs keep flowing. Starts them if nothing runs.
    Graceful { names: Vec<String> },
    /// Each process with its pid, state, uptime and pools.
    Status { names: Vec<String> },
    /// Follow the logs (of NAMEs only, when given).
    Follow { names: Vec<String> },
    /// Apply a changed configuration: add and remove processes, leave unchanged ones alone.
    /// Starts everything if nothing runs.
    Update,
    /// The services and processes the configuration defines.
    List,
    /// The command line, environment and limits each process of NAME gets.
    Show { name: String },
    /// Run the process NAME in the foreground, as the manager would run it.
    Exec { name: String },
    /// Print a systemd unit that runs the manager with this configuration's user and limits.
    Unit,
}

/// Errors of the process manager.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Config(String),
    #[error("galaxy-server is already running (manager pid {0})")]
    AlreadyRunning(i32),
    #[error("galaxy-server is not running (no live manager in {0})")]
    NotRunning(String),
}

impl CtlError {
    /// The process exit code: 2 for a bad configuration, 1 for any other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            CtlError::Config(_) => 2,
            _ => 1,
        }
    }
}

/// What every command needs.
pub struct CtlContext {
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
}

/// Runs a `ctl` command; returns the exit code.
pub fn run(cmd: CtlCommand, ctx: CtlContext) -> i32 {
    match client::run(cmd, ctx) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("galaxy-server ctl: {e}");
            e.exit_code()
        }
    }
}
