//! Handler assignment: which handler, or which pool of handlers, gets a new job (see
//! ARCHITECTURE.md, Assignment).
//! The methods behave as on Galaxy's scaling page; a tool mapped to a handler *id* is
//! assigned directly whatever the method.

use std::collections::HashSet;

use rand::seq::IndexedRandom;

use crate::config::{AssignMethod, JobConf};
use crate::db::queries::workers;
use crate::db::{Backend, DbConn, DbError};

/// The tag of untagged (default) handlers.
pub use crate::db::queries::workers::DEFAULT_TAG;
/// A handler tagged `drain` takes no new jobs.
pub const DRAIN_TAG: &str = "drain";

/// Where a new job goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// Held by a named handler from the start; `mailbox`: it is in this process (mem-self).
    Handler { name: String, mailbox: bool },
    /// Unclaimed in a pool tag, for the first handler of that tag to claim.
    Pool { tag: String },
}

impl Assignment {
    pub fn handler(&self) -> Option<&str> {
        match self {
            Assignment::Handler { name, .. } => Some(name),
            Assignment::Pool { .. } => None,
        }
    }
    pub fn tag(&self) -> Option<&str> {
        match self {
            Assignment::Handler { .. } => None,
            Assignment::Pool { tag } => Some(tag),
        }
    }
}

pub use crate::db::queries::workers::tags_of_pools;

/// Decides assignments for the jobs this process creates.
#[derive(Debug, Clone)]
pub struct Assigner {
    methods: Vec<AssignMethod>,
    server_name: String,
    /// Tags this process handles, when it handles jobs at all.
    own_tags: Option<Vec<String>>,
    static_ids: HashSet<String>,
    heartbeat_interval: f64,
}

impl Assigner {
    pub fn new(
        job_conf: &JobConf,
        backend: Backend,
        all_in_one: bool,
        server_name: &str,
        own_tags: Option<Vec<String>>,
        heartbeat_interval: f64,
    ) -> Self {
        let methods = if job_conf.handling.assign.is_empty() {
            Self::default_methods(backend, all_in_one)
        } else {
            job_conf.handling.assign.clone()
        };
        Assigner {
            methods,
            server_name: server_name.to_string(),
            own_tags,
            static_ids: job_conf
                .handling
                .handlers
                .iter()
                .map(|h| h.id.clone())
                .collect(),
            heartbeat_interval,
        }
    }

    /// With no `assign` configured: mem-self for a single SQLite all-in-one process, else the
    /// database method of the database in use (SKIP LOCKED on PostgreSQL; on SQLite the
    /// single-writer claim).
    pub fn default_methods(backend: Backend, all_in_one: bool) -> Vec<AssignMethod> {
        match (backend, all_in_one) {
            (Backend::Sqlite, true) => vec![AssignMethod::MemSelf],
            (Backend::Sqlite, false) => vec![AssignMethod::DbTransactionIsolation],
            (Backend::Postgres, _) => vec![AssignMethod::DbSkipLocked],
        }
    }

    pub fn methods(&self) -> &[AssignMethod] {
        &self.methods
    }

    /// The handler id or tag a tool's jobs go to.
    pub fn target_for_tool(job_conf: &JobConf, tool_id: &str) -> String {
        job_conf
            .tools
            .get(tool_id)
            .and_then(|m| m.handler.clone())
            .or_else(|| job_conf.handling.default.clone())
            .unwrap_or_else(|| DEFAULT_TAG.to_string())
    }

    fn handles_here(&self, tag: &str) -> bool {
        self.own_tags
            .as_ref()
            .is_some_and(|t| t.iter().any(|x| x == tag) && !t.iter().any(|x| x == DRAIN_TAG))
    }

    /// Chooses where a new job of `tool_id` goes. `conn` is used by `db-preassign` to find live
    /// handlers of the tag.
    pub fn assign(
        &self,
        job_conf: &JobConf,
        conn: &mut DbConn,
        tool_id: &str,
    ) -> Result<Assignment, DbError> {
        let target = Self::target_for_tool(job_conf, tool_id);
        if self.static_ids.contains(&target) {
            let mailbox = target == self.server_name;
            return Ok(Assignment::Handler {
                name: target,
                mailbox,
            });
        }
        for method in &self.methods {
            match method {
                AssignMethod::MemSelf if self.handles_here(&target) => {
                    return Ok(Assignment::Handler {
                        name: self.server_name.clone(),
                        mailbox: true,
                    });
                }
                AssignMethod::DbSelf if self.handles_here(&target) => {
                    return Ok(Assignment::Handler {
                        name: self.server_name.clone(),
                        mailbox: false,
                    });
                }
                AssignMethod::DbPreassign => {
                    let live = workers::live_handlers_of_tag(
                        conn,
                        &target,
                        3.0 * self.heartbeat_interval,
                    )?;
                    if let Some(name) = live.choose(&mut rand::rng()) {
                        let mailbox = *name == self.server_name;
                        return Ok(Assignment::Handler {
                            name: name.clone(),
                            mailbox,
                        });
                    }
                }
                AssignMethod::DbTransactionIsolation | AssignMethod::DbSkipLocked => {
                    return Ok(Assignment::Pool { tag: target });
                }
                AssignMethod::MemSelf | AssignMethod::DbSelf => {}
            }
        }
        // No method applied (e.g. db-preassign with no live handler yet): the job waits in its
        // pool for the first handler of the tag, so it is never lost.
        Ok(Assignment::Pool { tag: target })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_to_tags() {
        let pools = vec![
            "job-handlers".to_string(),
            "job-handlers.special".to_string(),
            "workflow-schedulers".to_string(),
        ];
        assert_eq!(
            tags_of_pools(&pools),
            vec!["_default_".to_string(), "special".to_string()]
        );
    }
}
