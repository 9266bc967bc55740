//! `/api/handlers`: every live process, its pools and tags, heartbeat age and jobs held, and
//! which one holds the maintenance role; the admin's drain; `/api/maintenance`: the role's
//! lease and each periodic task's last run.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::queries::{jobs, maintenance, workers};
use crate::jobs::assign::tags_of_pools;
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/handlers", web::get().to(list))
        .route("/handlers/{name}/drain", web::post().to(drain))
        .route("/maintenance", web::get().to(maintenance_status));
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let max_age = 3.0 * state.env.settings.galaxy.heartbeat_interval;
    let (live, held, lease, invocations) = state
        .db(move |c| {
            Ok((
                workers::live_workers(c, max_age)?,
                jobs::held_by_handler(c)?,
                maintenance::lease(c)?,
                crate::db::queries::invocations::holders(c)?,
            ))
        })
        .await?;
    let invocations: BTreeMap<String, i64> = invocations.into_iter().collect();
    let mut held_by: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (handler, st, n) in held {
        if let Some(h) = handler {
            held_by.entry(h).or_default().insert(st.to_string(), n);
        }
    }
    let now = crate::db::now();
    let holder = lease.as_ref().and_then(|l| {
        l.live_holder(now)
            .map(|h| (h.to_string(), l.hostname.clone(), l.pid))
    });
    let out: Vec<_> = live
        .iter()
        .map(|w| {
            let pools: Vec<String> = serde_json::from_str(&w.pools).unwrap_or_default();
            let held = held_by.remove(&w.server_name).unwrap_or_default();
            json!({
                "server_name": w.server_name,
                "hostname": w.hostname,
                "pid": w.pid,
                "mode": w.mode,
                "pools": pools,
                "tags": tags_of_pools(&pools),
                "draining": w.draining,
                "start_time": crate::web::json::time(&w.start_time),
                "last_heartbeat": crate::web::json::time(&w.update_time),
                "heartbeat_age": (now - w.update_time).num_milliseconds() as f64 / 1000.0,
                "jobs_held": held.values().sum::<i64>(),
                "jobs_by_state": held,
                "maintenance": holder.as_ref().is_some_and(|(name, host, pid)| {
                    *name == w.server_name
                        && host.as_deref() == Some(w.hostname.as_str())
                        && *pid == Some(w.pid)
                }),
                // Invocations it holds and has not scheduled yet (workflow schedulers).
                "invocations_held": invocations.get(&w.server_name).copied().unwrap_or(0),
                "schedules_workflows": !crate::workflows::scheduler::scheduler_pools(
                    w.mode != "web", &pools).is_empty(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

async fn drain(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let name = path.into_inner();
    let n = name.clone();
    let found = state
        .db(move |c| Ok(workers::set_draining(c, &n, true)?))
        .await?;
    if !found {
        return Err(ApiError::NotFound(format!("No process named '{name}'.")));
    }
    Ok(HttpResponse::Ok().json(json!({"server_name": name, "draining": true})))
}

/// `GET /api/maintenance`: who holds the maintenance role (`null` when no live process does),
/// and each periodic task's last run.
async fn maintenance_status(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (lease, runs) = state
        .db(|c| Ok((maintenance::lease(c)?, maintenance::task_runs(c)?)))
        .await?;
    let now = crate::db::now();
    let time = |t: &Option<chrono::NaiveDateTime>| t.as_ref().map(crate::web::json::time);
    let holder = lease
        .as_ref()
        .filter(|l| l.live_holder(now).is_some())
        .map(|l| {
            json!({
                "server_name": l.holder,
                "hostname": l.hostname,
                "pid": l.pid,
                "lease_token": l.token,
                "acquired_at": time(&l.acquired_at),
                "expires_at": crate::web::json::time(&l.expires_at),
            })
        });
    let tasks: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "last_run_at": time(&r.last_run_at),
                "last_holder": r.last_holder,
                "lease_token": r.last_token,
                "runs": r.runs,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"holder": holder, "tasks": tasks})))
}
