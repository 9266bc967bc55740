//! The job-handler actor: its mailbox takes new jobs (mem-self wake-ups) and cancels; it owns
//! the monitor loop that claims and watches its jobs. A pass that panics stops the actor, and
//! its supervisor restarts it with a new loop (the jobs it works on are kept: they live in
//! the shared `HandlerCore`).

mod batch;
mod core;

use std::sync::Arc;

use actix::prelude::*;
use rand::Rng;

pub use self::core::{HandlerCore, MonitorPanicked};
use super::assign::Assignment;

/// A job was just created for this handler.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct JobCreated(pub i64);

/// A job was asked to stop (`deleting`).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct CancelJob(pub i64);

/// New pool jobs may be waiting: claim now.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake;

/// Hand back claimed-but-unstarted jobs and stop taking new ones.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

pub struct JobHandler {
    core: Arc<HandlerCore>,
}

impl JobHandler {
    pub fn new(core: Arc<HandlerCore>) -> Self {
        JobHandler { core }
    }
}

impl Actor for JobHandler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let core = self.core.clone();
        let monitor = async move { core.run_monitor().await };
        ctx.spawn(monitor.into_actor(self).map(|ended, _actor, ctx| {
            if ended.is_err() {
                ctx.stop();
            }
        }));
    }
}

impl Supervised for JobHandler {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        log::warn!("job handler {} restarting", self.core.name());
    }
}

impl Handler<JobCreated> for JobHandler {
    type Result = ();
    fn handle(&mut self, msg: JobCreated, _ctx: &mut Self::Context) {
        self.core.job_created(msg.0);
    }
}

impl Handler<CancelJob> for JobHandler {
    type Result = ();
    fn handle(&mut self, msg: CancelJob, _ctx: &mut Self::Context) {
        self.core.kill(msg.0);
        self.core.wake();
    }
}

impl Handler<Wake> for JobHandler {
    type Result = ();
    fn handle(&mut self, _msg: Wake, _ctx: &mut Self::Context) {
        self.core.wake();
    }
}

impl Handler<Shutdown> for JobHandler {
    type Result = ();
    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        self.core.shutdown();
    }
}

/// The in-process handler actors a web worker can hand jobs to.
#[derive(Clone, Default)]
pub struct HandlerSet {
    handlers: Vec<Addr<JobHandler>>,
}

impl HandlerSet {
    pub fn new(handlers: Vec<Addr<JobHandler>>) -> Self {
        HandlerSet { handlers }
    }

    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// mem-self: gives the new job to a random in-process handler through its mailbox.
    pub fn job_created(&self, job_id: i64) {
        if self.handlers.is_empty() {
            return;
        }
        let i = rand::rng().random_range(0..self.handlers.len());
        self.handlers[i].do_send(JobCreated(job_id));
    }

    /// Hands a just-created job to this process's handlers as its assignment says.
    pub fn dispatch(&self, assignment: &Assignment, job_id: i64) {
        match assignment {
            Assignment::Handler { mailbox: true, .. } => self.job_created(job_id),
            Assignment::Handler { .. } => {}
            Assignment::Pool { .. } => self.wake_all(),
        }
    }

    pub fn wake_all(&self) {
        for h in &self.handlers {
            h.do_send(Wake);
        }
    }

    pub fn cancel(&self, job_id: i64) {
        for h in &self.handlers {
            h.do_send(CancelJob(job_id));
        }
    }

    pub async fn shutdown(&self) {
        for h in &self.handlers {
            let _ = h.send(Shutdown).await;
        }
    }
}
