//! `/api/handlers`: every live process, its pools and tags, heartbeat age and jobs held; and
//! the admin's drain.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::queries::{jobs, workers};
use crate::jobs::assign::tags_of_pools;
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/handlers", web::get().to(list))
        .route("/handlers/{name}/drain", web::post().to(drain));
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let max_age = 3.0 * state.env.settings.galaxy.heartbeat_interval;
    let (live, held, invocations) = state
        .db(move |c| {
            Ok((
                workers::live_workers(c, max_age)?,
                jobs::held_by_handler(c)?,
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
