//! The no-op runner (`galaxy_server.bench:NoopRunner`), for the dispatch benchmark: nothing
//! runs. The handler marks its jobs `running` and `ok` at once, fenced as usual, without
//! preparing them or taking a worker (`HandlerCore::run_noop`), so a benchmark measures the
//! claim and state path alone; the plugin says so to anything that asks it.

use futures_util::future::BoxFuture;

use super::{JobRunner, JobSpec, Progress, ProgressRx, RunnerError};
use crate::config::{Execution, RunnerKind};

pub struct NoopRunner;

/// Recorded as the runner of its jobs.
pub const NOOP_URL: &str = "noop:///";

fn ended() -> ProgressRx {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let _ = tx.send(Progress::Ended(None));
    rx
}

impl JobRunner for NoopRunner {
    fn kind(&self) -> RunnerKind {
        RunnerKind::Noop
    }

    fn url(&self) -> String {
        NOOP_URL.to_string()
    }

    fn prepare(&self, _spec: &JobSpec, _command: &str) -> std::io::Result<()> {
        Ok(())
    }

    fn submit(&self, _spec: JobSpec) -> BoxFuture<'_, Result<(String, ProgressRx), RunnerError>> {
        Box::pin(async { Ok((String::new(), ended())) })
    }

    fn watch(&self, _spec: JobSpec, _external_id: String, _same_host: bool) -> ProgressRx {
        ended()
    }

    fn cancel(&self, _execution: &Execution, _external_id: &str) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn find(&self, _spec: JobSpec) -> BoxFuture<'_, Result<Option<String>, RunnerError>> {
        Box::pin(async { Ok(Some(String::new())) })
    }
}
