//! Group commit of a handler's job transitions. Jobs ask for their `running` mark, their
//! process id and their end through [`Transitions`]; an applying thread takes whatever has been
//! asked and not yet taken and applies it in a single transaction (`db::queries::transitions`),
//! each job still fenced by its own token. Under load a transaction carries many jobs; a lone
//! job waits for nothing (there is no timer, only transactions already under way). On
//! PostgreSQL two threads apply, so one batch is built while the other waits for its commit's
//! WAL flush; SQLite has one writer, so one thread.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

use crate::db::queries::transitions::{self, Applied, End, ExternalId, Start};
use crate::db::{Backend, DbPool};
use crate::jobs::JobError;
use crate::jobs::states::JobState;

/// Most transitions applied in one transaction.
const MAX_BATCH: usize = 1000;

/// How a job's end went.
#[derive(Debug)]
pub struct Ended {
    /// Its final state; `None` when the job was no longer this handler's (token moved on) or
    /// had already ended.
    pub state: Option<JobState>,
    /// Jobs waiting on outputs ended in the same transaction became ready to be claimed.
    pub made_ready: bool,
}

type Reply<T> = oneshot::Sender<Result<T, JobError>>;

enum Request {
    Start(Start, Reply<bool>),
    Pid(ExternalId, Reply<bool>),
    End(End, Reply<Ended>),
}

impl Request {
    fn job(&self) -> i64 {
        match self {
            Request::Start(s, _) => s.id,
            Request::Pid(p, _) => p.id,
            Request::End(e, _) => e.id,
        }
    }

    fn fail(self, e: &JobError) {
        // An outage stays an outage, so that the job waits it out and asks again.
        let e = if e.is_unavailable() {
            JobError::Db(crate::db::DbError::Unavailable(e.to_string()))
        } else {
            JobError::Internal(e.to_string())
        };
        match self {
            Request::Start(_, r) | Request::Pid(_, r) => drop(r.send(Err(e))),
            Request::End(_, r) => drop(r.send(Err(e))),
        }
    }
}

/// The handle jobs ask through; cloning it shares the one applying thread.
#[derive(Clone)]
pub struct Transitions {
    tx: mpsc::Sender<Request>,
}

impl Transitions {
    /// Starts the applying threads (named after the handler).
    pub fn spawn(pool: DbPool, name: &str) -> Result<Self, JobError> {
        let (tx, rx) = mpsc::channel();
        let rx = Arc::new(Mutex::new(rx));
        let appliers = match pool.backend() {
            Backend::Postgres => 2,
            Backend::Sqlite => 1,
        };
        for i in 0..appliers {
            let (pool, rx) = (pool.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("transitions-{name}-{i}"))
                .spawn(move || apply_loop(&pool, &rx))
                .map_err(|e| JobError::Internal(format!("starting the transitions thread: {e}")))?;
        }
        Ok(Transitions { tx })
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, JobError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| JobError::Internal("the transitions thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| JobError::Internal("the transitions thread dropped a request".into()))?
    }

    /// `queued` → `running` (fenced). `false` when the job is no longer this handler's to start.
    pub async fn start(&self, start: Start) -> Result<bool, JobError> {
        self.ask(|r| Request::Start(start, r)).await
    }

    /// Records the running process of a started job (fenced).
    pub async fn record_pid(&self, pid: ExternalId) -> Result<bool, JobError> {
        self.ask(|r| Request::Pid(pid, r)).await
    }

    /// Ends a job (fenced), durably.
    pub async fn end(&self, end: End) -> Result<Ended, JobError> {
        self.ask(|r| Request::End(end, r)).await
    }
}

fn apply_loop(pool: &DbPool, rx: &Mutex<mpsc::Receiver<Request>>) {
    // Requests for a job already in the batch wait for the next one, so a batch names each
    // job at most once.
    let mut carried: Vec<Request> = Vec::new();
    loop {
        let mut batch = std::mem::take(&mut carried);
        {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            if batch.is_empty() {
                match rx.recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => return,
                }
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
        }
        let mut seen = HashSet::new();
        let (now, later): (Vec<_>, Vec<_>) = batch.into_iter().partition(|r| seen.insert(r.job()));
        carried = later;
        flush(pool, now);
    }
}

/// Applies one batch; when its transaction fails, each request is tried alone, so one job's
/// bad row cannot fail the others.
fn flush(pool: &DbPool, batch: Vec<Request>) {
    let mut starts = Vec::new();
    let mut pids = Vec::new();
    let mut ends = Vec::new();
    for r in &batch {
        match r {
            Request::Start(s, _) => starts.push(s.clone()),
            Request::Pid(p, _) => pids.push(p.clone()),
            Request::End(e, _) => ends.push(e.clone()),
        }
    }
    let began = std::time::Instant::now();
    let result = pool
        .get()
        .map_err(JobError::from)
        .and_then(|mut c| Ok(transitions::apply(&mut c, &starts, &pids, &ends)?));
    log::debug!(
        "applied {} start(s), {} process id(s), {} end(s) in {:.2} ms",
        starts.len(),
        pids.len(),
        ends.len(),
        began.elapsed().as_secs_f64() * 1e3
    );
    match result {
        Ok(applied) => answer(batch, &applied),
        // Unreachable database, or a single request: nothing to learn by trying them alone.
        Err(e) if batch.len() == 1 || e.is_unavailable() => {
            for r in batch {
                r.fail(&e);
            }
        }
        Err(e) => {
            log::warn!(
                "applying {} job transitions together failed ({e}); applying them one by one",
                batch.len()
            );
            for r in batch {
                flush(pool, vec![r]);
            }
        }
    }
}

fn answer(batch: Vec<Request>, applied: &Applied) {
    let made_ready = applied.now_ready > 0;
    for r in batch {
        match r {
            Request::Start(s, reply) => {
                let _ = reply.send(Ok(applied.started.binary_search(&s.id).is_ok()));
            }
            Request::Pid(p, reply) => {
                let _ = reply.send(Ok(applied.recorded.binary_search(&p.id).is_ok()));
            }
            Request::End(e, reply) => {
                let _ = reply.send(Ok(Ended {
                    state: applied.ended.get(&e.id).copied(),
                    made_ready,
                }));
            }
        }
    }
}
