//! The job configuration's limits, resolved for the claim queries, and the destination a
//! tool's jobs go to.

use std::time::Duration;

use crate::config::{JobConf, Limit};
use crate::db::queries::limits::ClaimLimits;

/// Environment (destination) ids meant by a limit's `id`/`tag`: the environment of that id,
/// or every environment carrying that tag.
fn destinations(conf: &JobConf, target: &Option<String>) -> Option<Vec<String>> {
    let t = target.as_ref()?;
    Some(
        conf.environments
            .values()
            .filter(|e| &e.id == t || e.tags.contains(t))
            .map(|e| e.id.clone())
            .collect(),
    )
}

/// Concurrency limits for claims, and the walltime for the runner.
pub fn resolve(conf: &JobConf) -> (ClaimLimits, Option<Duration>) {
    let mut limits = ClaimLimits::default();
    let mut walltime = None;
    for l in &conf.limits {
        match l {
            Limit::RegisteredUserConcurrentJobs(n) => limits.registered_user = Some(*n),
            Limit::AnonymousUserConcurrentJobs(n) => limits.anonymous_user = Some(*n),
            Limit::DestinationUserConcurrentJobs(t, n) => {
                limits.destination_user.push((destinations(conf, t), *n))
            }
            Limit::DestinationTotalConcurrentJobs(t, n) => {
                limits.destination_total.push((destinations(conf, t), *n))
            }
            Limit::Walltime(secs) => walltime = Some(Duration::from_secs(*secs)),
        }
    }
    (limits, walltime)
}

/// The environment a tool's jobs run in: its mapping (an id, or the first environment with
/// that tag), else the default.
pub fn destination_for_tool(conf: &JobConf, tool_id: &str) -> String {
    let wanted = conf.tools.get(tool_id).and_then(|m| m.environment.clone());
    match wanted {
        Some(w) if conf.environments.contains_key(&w) => w,
        Some(w) => conf
            .environments
            .values()
            .find(|e| e.tags.contains(&w))
            .map_or_else(|| conf.default_environment.clone(), |e| e.id.clone()),
        None => conf.default_environment.clone(),
    }
}
