//! Which job made what: `GET /api/jobs/{id}/inputs` and `/outputs` (Galaxy's lists of
//! `{name, dataset: {src, id}}`) and `GET /api/histories/{history_id}/contents/{id}/provenance`
//! (the job that created a dataset), as Galaxy's tool-test client reads them to find a test's
//! outputs.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::histories::history_dataset;
use super::jobs::accessible_job;
use crate::db::queries::jobs;
use crate::web::ids::IdEncoder;
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/jobs/{id}/inputs", web::get().to(inputs))
        .route("/jobs/{id}/outputs", web::get().to(outputs))
        .route(
            "/histories/{id}/contents/{content_id}/provenance",
            web::get().to(provenance),
        );
}

/// Which of a job's dataset links a route lists.
#[derive(Clone, Copy)]
enum Side {
    Inputs,
    Outputs,
}

/// A job the caller may see: its input or output links as `{name, dataset: {src, id}}`.
async fn links(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    side: Side,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let links: Vec<(String, i64)> = state
        .db(move |c| {
            accessible_job(c, &caller, id)?;
            Ok(match side {
                Side::Inputs => jobs::job_inputs(c, id)?
                    .into_iter()
                    .map(|(l, d)| (l.name, d.id))
                    .collect(),
                Side::Outputs => jobs::job_outputs(c, id)?
                    .into_iter()
                    .map(|(l, d)| (l.name, d.id))
                    .collect(),
            })
        })
        .await?;
    let ids: &IdEncoder = &state.ids;
    let list: Vec<Value> = links
        .iter()
        .map(|(name, dataset_id)| {
            json!({"name": name, "dataset": {"src": "hda", "id": ids.encode(*dataset_id), "uuid": null}})
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn inputs(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    links(state, caller, path, Side::Inputs).await
}

async fn outputs(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    links(state, caller, path, Side::Outputs).await
}

/// The job that created a dataset, its tool and parameters; 404 for a dataset no job made.
async fn provenance(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, did) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let dataset_id = state.ids.decode(&did)?;
    let (dataset, job) = state
        .db(move |c| {
            let d = history_dataset(c, &caller, history_id, dataset_id)?;
            let job = match d.creating_job_id {
                Some(job_id) => jobs::find_job(c, job_id)?,
                None => None,
            };
            Ok((d, job))
        })
        .await?;
    let job = job.ok_or_else(|| {
        ApiError::NotFound("No job is recorded as having created this dataset.".into())
    })?;
    let parameters: Value = serde_json::from_str(&job.params).unwrap_or(Value::Null);
    Ok(HttpResponse::Ok().json(json!({
        "id": state.ids.encode(dataset.id),
        "uuid": null,
        "job_id": state.ids.encode(job.id),
        "tool_id": job.tool_id,
        "tool_version": job.tool_version,
        "parameters": parameters,
        "stdout": job.stdout.clone().unwrap_or_default(),
        "stderr": job.stderr.clone().unwrap_or_default(),
    })))
}
