use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::db::models::Job;
use crate::db::queries::jobs::{self, JobFilter};
use crate::db::queries::metrics::job_metrics;
use crate::jobs::states::JobState;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/jobs", web::get().to(list))
        .route("/jobs/summary", web::get().to(summary))
        .route("/jobs/{id}", web::get().to(show))
        .route("/jobs/{id}/metrics", web::get().to(metrics))
        .route("/jobs/{id}", web::delete().to(cancel));
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    tool_id: Option<String>,
    history_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    order_by: Option<String>,
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default, deserialize_with = "super::query_bool")]
    full: Option<bool>,
}

/// Loads a job the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_job(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<Job, ApiError> {
    let j = jobs::find_job(c, id)?.ok_or_else(|| ApiError::NotFound("Job not found.".into()))?;
    if !caller.can_access(j.user_id) {
        return Err(ApiError::Forbidden(
            "Job is not accessible by the current user.".into(),
        ));
    }
    Ok(j)
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let q = q.into_inner();
    let states_wanted: Vec<JobState> = q
        .state
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| ApiError::BadRequest(format!("Unknown job state '{s}'.")))
        })
        .collect::<Result<_, _>>()?;
    let order_by_create = match q.order_by.as_deref() {
        None | Some("update_time") => false,
        Some("create_time") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "order_by must be update_time or create_time, not '{other}'."
            )));
        }
    };
    let history_id = q
        .history_id
        .as_deref()
        .map(|h| state.ids.decode(h))
        .transpose()?;
    let filter = JobFilter {
        user_id: caller.list_filter(),
        states: states_wanted,
        tool_id: q.tool_id,
        history_id,
        limit: q.limit.unwrap_or(500).clamp(0, 10_000),
        offset: q.offset.unwrap_or(0).max(0),
        order_by_create,
    };
    let list = state.db(move |c| Ok(jobs::list_jobs(c, &filter)?)).await?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .map(|j| json::job(&state.ids, j, None))
            .collect::<Vec<_>>(),
    ))
}

/// Ours (for the dashboard): how many jobs are in each state (the caller's, or all for admins).
async fn summary(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let user = caller.list_filter();
    let counts = state
        .db(move |c| Ok(jobs::count_by_state(c, user)?))
        .await?;
    let mut out: serde_json::Map<String, serde_json::Value> = JobState::ALL
        .iter()
        .map(|s| (s.to_string(), 0.into()))
        .collect();
    for (s, n) in counts {
        out.insert(s.to_string(), n.into());
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let full = q.full.unwrap_or(false);
    let (job, links) = state
        .db(move |c| {
            let job = accessible_job(c, &caller, id)?;
            let links = if full {
                Some((
                    jobs::job_inputs(c, id)?,
                    jobs::job_outputs(c, id)?,
                    job_metrics(c, id)?,
                ))
            } else {
                None
            };
            Ok((job, links))
        })
        .await?;
    let full_links = links.as_ref().map(|(i, o, _)| (i.as_slice(), o.as_slice()));
    let mut v = json::job(&state.ids, &job, full_links);
    if let Some((_, _, metrics)) = &links {
        v["job_metrics"] = metrics.iter().map(json::job_metric).collect();
    }
    Ok(HttpResponse::Ok().json(v))
}

/// A job's metrics (Galaxy's `GET /api/jobs/{id}/metrics`): who may see the job may see them.
async fn metrics(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let metrics = state
        .db(move |c| {
            accessible_job(c, &caller, id)?;
            Ok(job_metrics(c, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(metrics.iter().map(json::job_metric).collect::<Vec<_>>()))
}

async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let handlers = state.handlers.clone();
    let outcome = state
        .db(move |c| {
            let job = accessible_job(c, &caller, id)?;
            Ok(crate::jobs::cancel::cancel(c, &handlers, &job)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(outcome.took_effect()))
}
