//! The command line. Exit codes: 0 clean stop, 1 runtime failure, 2 bad command line
//! or configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::system::{self, Mode, StartOptions};

#[derive(Parser, Debug)]
#[command(
    name = "galaxy-server",
    version,
    about = "Galaxy's web workers and job handlers in one binary"
)]
pub struct Cli {
    /// galaxy.yml to read (default: config/galaxy.yml when it exists, else built-in defaults).
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What this process runs.
    #[arg(long, value_enum, default_value_t = ModeArg::AllInOne)]
    pub mode: ModeArg,
    /// This process's name (default `main`, or `handler_<pid>` for a handler).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Pools to join: `job-handlers`, `job-handlers.TAG`, `workflow-schedulers`.
    #[arg(long = "pool", visible_alias = "attach-to-pool", value_name = "POOL")]
    pub pools: Vec<String>,
    /// `HOST:PORT` or `unix:/path/to.sock`; repeatable; overrides the config.
    #[arg(long, value_name = "ADDR")]
    pub bind: Vec<String>,
    /// Web-worker threads; overrides the config.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Run in the background (as `galaxy-main --daemonize`); the command returns once the
    /// server serves, or fails with its error.
    #[arg(long)]
    pub daemonize: bool,
    /// Where to write this process's pid (default with --daemonize: `<server name>.pid`).
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Where a daemonized process writes its log (default: `<server name>.log`).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    AllInOne,
    Web,
    Handler,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate galaxy.yml and the job configuration, print the effective configuration.
    CheckConfig,
    /// Apply the embedded database migrations, then exit.
    Migrate,
    /// Job administration.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// The maintenance role's periodic tasks (celery-beat's job).
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// The process manager (Gravity's role): runs the web process and every handler.
    Ctl {
        /// Where pid files, logs and the process list live (default: gravity.state_dir).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        #[command(subcommand)]
        command: crate::ctl::CtlCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Hand a handler's unstarted jobs back to a pool (its tag, or `--to TAG`).
    Reassign {
        /// The handler (server name) whose jobs to hand back.
        #[arg(long = "from", value_name = "NAME")]
        from: String,
        /// The pool tag to put them in (default: the tag each job was created for).
        #[arg(long = "to", value_name = "TAG")]
        to: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MaintenanceCommand {
    /// Run one task now, in this process: cleanup_jwds, purge_deleted_datasets,
    /// prune_worker_processes, database_upkeep.
    Run {
        #[arg(value_name = "TASK")]
        task: String,
    },
    /// Which process holds the maintenance role, and each task's period and last run.
    Status,
}

/// Parses the command line, runs, and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    crate::logging::init();
    // Gravity's precedence: the command line, then its environment, then the config.
    let config = cli
        .config
        .clone()
        .or_else(|| std::env::var_os("GRAVITY_CONFIG_FILE").map(PathBuf::from));
    if let Some(Command::Ctl { state_dir, command }) = cli.command {
        let ctx = crate::ctl::CtlContext {
            config,
            state_dir: state_dir
                .or_else(|| std::env::var_os("GRAVITY_STATE_DIR").map(PathBuf::from)),
        };
        return crate::ctl::run(command, ctx);
    }
    let mode = match cli.mode {
        ModeArg::AllInOne => Mode::AllInOne,
        ModeArg::Web => Mode::Web,
        ModeArg::Handler => Mode::Handler,
    };
    if cli.workers == Some(0) {
        eprintln!("galaxy-server: --workers must be at least 1");
        return 2;
    }
    let opts = StartOptions {
        config,
        mode,
        server_name: cli.server_name,
        pools: cli.pools,
        bind: cli.bind,
        workers: cli.workers,
    };
    let loaded = match system::load(&opts) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("galaxy-server: configuration error: {e}");
            return 2;
        }
    };
    match cli.command {
        Some(Command::CheckConfig) => {
            println!("{}", loaded.effective_config());
            0
        }
        Some(Command::Migrate) => match loaded.migrate() {
            Ok(n) => {
                println!("applied {n} migration(s)");
                0
            }
            Err(e) => {
                eprintln!("galaxy-server: {e}");
                1
            }
        },
        Some(Command::Jobs(JobsCommand::Reassign { from, to })) => {
            match loaded.reassign(&from, to.as_deref()) {
                Ok(n) => {
                    println!("{n} unstarted job(s) of {from} handed back");
                    0
                }
                Err(e) => {
                    eprintln!("galaxy-server: {e}");
                    1
                }
            }
        }
        Some(Command::Maintenance(cmd)) => maintenance(&loaded, cmd),
        Some(Command::Ctl { .. }) => 2,
        None => {
            let name = loaded.server_name.clone();
            let pid_file = cli
                .pid_file
                .or_else(|| cli.daemonize.then(|| PathBuf::from(format!("{name}.pid"))));
            let started = match (&pid_file, cli.daemonize) {
                (Some(pid), true) => {
                    let log = cli
                        .log_file
                        .unwrap_or_else(|| PathBuf::from(format!("{name}.log")));
                    system::daemon::daemonize(pid, &log).map(Some)
                }
                (Some(pid), false) => system::daemon::PidFile::create(pid).map(Some),
                (None, _) => Ok(None),
            };
            let _pid_file = match started {
                Ok(guard) => guard,
                Err(e) => {
                    eprintln!("galaxy-server: {e}");
                    return 1;
                }
            };
            serve(loaded)
        }
    }
}

fn serve(loaded: system::Loaded) -> i32 {
    match system::serve(loaded) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            eprintln!("galaxy-server: {e}");
            1
        }
    }
}

/// `maintenance run TASK` and `maintenance status`.
fn maintenance(loaded: &system::Loaded, cmd: MaintenanceCommand) -> i32 {
    use system::maintenance::{self as m, MaintenanceError};
    let result = match cmd {
        MaintenanceCommand::Run { task } => {
            m::run_by_hand(loaded, &task).map(|summary| format!("{task}: {summary}"))
        }
        MaintenanceCommand::Status => m::status(loaded).map(|s| s.trim_end().to_string()),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e @ (MaintenanceError::UnknownTask(_) | MaintenanceError::NotConfigured(_))) => {
            eprintln!("galaxy-server: {e}");
            2
        }
        Err(e) => {
            eprintln!("galaxy-server: {e}");
            1
        }
    }
}
