//! Jobs: creation (called by the web layer), the job-handler actor, and the runners.

pub mod assign;
pub mod cancel;
pub mod formats;
pub mod handler;
pub mod limits;
pub mod naming;
pub mod runners;
pub mod states;
pub mod submit;
pub mod uploads;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{JobConf, Settings};
use crate::db::{DbError, DbPool};
use crate::tools::ToolBox;

pub use handler::{HandlerSet, JobHandler};

/// Everything the jobs layer needs, shared by the web workers and the handler actors.
#[derive(Clone)]
pub struct JobsEnv {
    pub pool: DbPool,
    pub toolbox: Arc<ToolBox>,
    pub settings: Arc<Settings>,
    pub job_conf: Arc<JobConf>,
    /// This process's server name; the `handler` of the jobs it handles.
    pub server_name: String,
    /// Where the jobs this process creates go.
    pub assigner: Arc<assign::Assigner>,
}

impl JobsEnv {
    /// `<file_path>/<id/1000>/dataset_<id>.dat`
    pub fn dataset_path(&self, dataset_id: i64) -> PathBuf {
        dataset_path_in(&self.settings.galaxy.file_path, dataset_id)
    }

    /// `<job_working_directory>/<id/1000>/<id>/`
    pub fn job_directory(&self, job_id: i64) -> PathBuf {
        job_directory_in(&self.settings.galaxy.job_working_directory, job_id)
    }

    /// Runs blocking database work off the async threads.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, JobError>
    where
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, JobError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| JobError::Internal(format!("blocking task failed: {e}")))?
    }
}

/// `<file_path>/<id/1000>/dataset_<id>.dat`
pub fn dataset_path_in(file_path: &Path, dataset_id: i64) -> PathBuf {
    file_path
        .join(format!("{:03}", dataset_id / 1000))
        .join(format!("dataset_{dataset_id}.dat"))
}

/// `<job_working_directory>/<id/1000>/<id>/`
pub fn job_directory_in(job_working_directory: &Path, job_id: i64) -> PathBuf {
    job_working_directory
        .join(format!("{:03}", job_id / 1000))
        .join(job_id.to_string())
}

/// Removes the files of purged datasets (a file already gone is fine); the first failure
/// stops it, naming the file.
pub fn remove_dataset_files(file_path: &Path, ids: &[i64]) -> Result<(), String> {
    for id in ids {
        let p = dataset_path_in(file_path, *id);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("could not remove {}: {e}", p.display())),
        }
    }
    Ok(())
}

/// Errors of the jobs layer.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Internal(String),
}

impl JobError {
    /// Whether the step failed only because the database could not be reached.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, JobError::Db(e) if e.is_unavailable())
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::Db(DbError::from(e))
    }
}
