//! The root of the process: loads configuration, tools and the database, then starts the
//! web-worker and job-handler actors under one supervisor and stops them in order.

pub mod daemon;
mod drain;
mod heartbeat;
pub mod maintenance;
mod root;
pub mod socket;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConfigError, JobConf, Settings};
use crate::db::{DbError, DbPool};
use crate::tools::{ToolBox, ToolError};

pub use root::serve;

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    AllInOne,
    Web,
    Handler,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::AllInOne => "all-in-one",
            Mode::Web => "web",
            Mode::Handler => "handler",
        }
    }
    pub fn serves_http(self) -> bool {
        self != Mode::Handler
    }
    pub fn handles_jobs(self) -> bool {
        self != Mode::Web
    }
}

/// The command line's say over the configuration.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub config: Option<PathBuf>,
    pub mode: Mode,
    pub server_name: Option<String>,
    pub pools: Vec<String>,
    pub bind: Vec<String>,
    pub workers: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(String),
}

/// Everything read before the process starts serving.
pub struct Loaded {
    pub opts: StartOptions,
    pub settings: Arc<Settings>,
    pub job_conf: Arc<JobConf>,
    pub toolbox: Arc<ToolBox>,
    pub server_name: String,
    /// TLS for the web workers, when `keyfile`/`certfile` are set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Pools this process joins (`job-handlers`, `job-handlers.TAG`, …): from `--pool`, plus
    /// the tags of the static handler of the job conf with this server name.
    pub pools: Vec<String>,
}

/// Reads and checks galaxy.yml, the job configuration and the tools; applies the command line.
pub fn load(opts: &StartOptions) -> Result<Loaded, SystemError> {
    let mut settings = Settings::load(opts.config.as_deref())?;
    if !opts.bind.is_empty() {
        settings.gravity.gunicorn.bind = opts.bind.clone();
    }
    if let Some(w) = opts.workers {
        settings.gravity.gunicorn.workers = w;
    }
    // Job scripts run in their own working directories: dataset and job paths must be absolute.
    let cwd = std::env::current_dir()
        .map_err(|e| SystemError::Runtime(format!("current directory: {e}")))?;
    settings.galaxy.file_path = cwd.join(&settings.galaxy.file_path);
    settings.galaxy.job_working_directory = cwd.join(&settings.galaxy.job_working_directory);
    maintenance::warn_unknown_beat_entries(&settings.galaxy);
    let settings_for_tls = settings.clone();
    let job_conf = JobConf::load(settings.galaxy.job_config_path().as_deref())?;
    let tool_conf = settings.galaxy.tool_config_file.clone();
    let toolbox = if !tool_conf.exists() && tool_conf == Path::new("config/tool_conf.xml") {
        log::warn!("{}: not found; starting with no tools", tool_conf.display());
        ToolBox::default()
    } else {
        ToolBox::load(&tool_conf)?
    };
    let server_name = opts.server_name.clone().unwrap_or_else(|| match opts.mode {
        Mode::Handler => format!("handler_{}", std::process::id()),
        _ => "main".to_string(),
    });
    let mut pools: Vec<String> = opts
        .pools
        .iter()
        .map(|p| crate::config::gravity::normalize_pool(p))
        .collect();
    if opts.mode.handles_jobs() {
        if let Some(h) = job_conf
            .handling
            .handlers
            .iter()
            .find(|h| h.id == server_name)
        {
            if h.tags.is_empty() && pools.is_empty() {
                pools.push("job-handlers".to_string());
            }
            pools.extend(h.tags.iter().map(|t| format!("job-handlers.{t}")));
        }
        if pools.is_empty() {
            pools.push("job-handlers".to_string());
        }
    }
    pools.dedup();
    Ok(Loaded {
        opts: opts.clone(),
        settings: Arc::new(settings),
        job_conf: Arc::new(job_conf),
        toolbox: Arc::new(toolbox),
        server_name,
        pools,
        tls: if opts.mode.serves_http() {
            tls::server_config(&settings_for_tls)?
        } else {
            None
        },
    })
}

impl Loaded {
    /// The effective configuration as YAML (`check-config`).
    pub fn effective_config(&self) -> String {
        let doc = serde_json::json!({
            "gravity": self.settings.gravity,
            "galaxy": self.settings.galaxy,
            "job_conf": &*self.job_conf,
            "tools": self.toolbox.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        });
        serde_yaml::to_string(&doc).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }

    pub fn open_pool(&self) -> Result<DbPool, DbError> {
        let size = self.settings.galaxy.database_engine_option_pool_size.max(2) + 4;
        DbPool::open(&self.settings.galaxy.database_connection, size)
    }

    pub fn migrate(&self) -> Result<usize, DbError> {
        self.open_pool()?.migrate()
    }

    /// `jobs reassign`: hands `from`'s unstarted jobs back to a pool and wakes the handlers.
    pub fn reassign(&self, from: &str, to: Option<&str>) -> Result<usize, DbError> {
        let pool = self.open_pool()?;
        pool.migrate()?;
        let mut conn = pool.get()?;
        let n = crate::db::queries::jobs::return_to_pool(
            &mut conn,
            from,
            crate::jobs::assign::DEFAULT_TAG,
            to,
        )?;
        // `*` wakes every handler: the jobs keep their own tags unless `to` is given.
        crate::db::queries::notify::new_job(&mut conn, to.unwrap_or("*"))?;
        Ok(n)
    }
}
