//! `/api/invocations`: list (filters: workflow, history, user), show (Galaxy's states, each
//! step with its job), cancel (`DELETE`: the invocation ends `cancelled` and its unfinished
//! jobs are cancelled). An invocation belongs to its user as a history does.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::db::queries::invocations::{self as q, InvocationFilter, InvocationRow};
use crate::db::queries::{jobs, workflows};
use crate::db::states::{DatasetState, JobState};
use crate::web::{ApiError, AppState, IdEncoder, auth::Caller, json as j};
use crate::workflows::ga::{self, StepKind};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/invocations", web::get().to(list))
        .route("/invocations/{id}", web::get().to(show))
        .route(
            "/invocations/{id}/jobs_summary",
            web::get().to(jobs_summary),
        )
        .route("/invocations/{id}", web::delete().to(cancel));
}

/// Loads an invocation the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_invocation(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<InvocationRow, ApiError> {
    let i = q::find_invocation(c, id)?
        .ok_or_else(|| ApiError::NotFound("Invocation not found.".into()))?;
    if !caller.can_access(i.user_id) {
        return Err(ApiError::Forbidden(
            "Invocation is not accessible by the current user.".into(),
        ));
    }
    Ok(i)
}

/// Galaxy's short view of an invocation (list items).
pub(crate) fn summary(ids: &IdEncoder, r: &InvocationRow) -> Value {
    json!({
        "id": ids.encode(r.id),
        "model_class": "WorkflowInvocation",
        "workflow_id": ids.encode(r.workflow_id),
        "history_id": ids.encode(r.history_id),
        "uuid": r.uuid,
        "state": r.state,
        "create_time": j::time(&r.create_time),
        "update_time": j::time(&r.update_time),
    })
}

/// The full view: steps with their jobs, inputs, labelled outputs, and messages naming the
/// steps whose jobs failed.
pub(crate) async fn invocation_json(
    state: &web::Data<AppState>,
    r: InvocationRow,
) -> Result<Value, ApiError> {
    let (id, wf_id) = (r.id, r.workflow_id);
    let (wf_row, steps, outputs) = state
        .db(move |c| {
            Ok((
                workflows::find_workflow(c, wf_id)?,
                q::invocation_steps(c, id)?,
                q::invocation_outputs(c, id)?,
            ))
        })
        .await?;
    let wf = match wf_row {
        Some(w) => serde_json::from_str::<Value>(&w.definition)
            .ok()
            .and_then(|d| ga::parse(&d).ok()),
        None => None,
    };
    let ids = &state.ids;
    let mut out = summary(ids, &r);
    let by_index: HashMap<i32, &q::StepView> = steps.iter().map(|s| (s.0.order_index, s)).collect();
    let mut step_list = Vec::new();
    let mut inputs = Map::new();
    let mut messages = Vec::new();
    let wf_steps = wf.as_ref().map(|w| w.steps.as_slice()).unwrap_or(&[]);
    for s in wf_steps {
        let row = by_index.get(&(s.order_index as i32));
        let job = row.and_then(|(st, js)| Some((st.job_id?, *js)));
        let (job_state, update_time) = match job.and_then(|(_, js)| js) {
            Some((state, t)) => (Some(state), j::time(&t)),
            None => (None, j::time(&r.update_time)),
        };
        step_list.push(json!({
            "id": row.map(|(st, _)| ids.encode(st.id)),
            "model_class": "WorkflowInvocationStep",
            "order_index": s.order_index,
            "workflow_step_id": s.order_index,
            "workflow_step_uuid": s.uuid,
            "workflow_step_label": s.label,
            "state": if row.is_some() { "scheduled" } else { "new" },
            "job_id": job.map(|(jid, _)| ids.encode(jid)),
            "job_state": job_state.map(|s| s.to_string()),
            "action": Value::Null,
            "subworkflow_invocation_id": Value::Null,
            "update_time": update_time,
        }));
        if let (StepKind::DataInput { .. }, Some((st, _))) = (&s.kind, row)
            && let Some(ds) = st.dataset_id
        {
            inputs.insert(
                s.order_index.to_string(),
                json!({"id": ids.encode(ds), "src": "hda", "label": s.label,
                       "uuid": s.uuid, "workflow_step_id": s.order_index}),
            );
        }
        if let Some((jid, Some((JobState::Error, _)))) = job {
            messages.push(json!({
                "reason": "job_failed",
                "workflow_step_id": s.order_index,
                "workflow_step_label": s.label,
                "job_id": ids.encode(jid),
                "details": format!("{} failed", s.describe()),
            }));
        }
    }
    if let Some(info) = &r.info {
        messages.push(json!({"reason": "unexpected_failure", "details": info}));
    }
    let mut labelled = Map::new();
    let mut paused_steps = Vec::new();
    for (order_index, name, ds, ds_state) in &outputs {
        let Some(step) = wf_steps.get(*order_index as usize) else {
            continue;
        };
        if *ds_state == DatasetState::Paused && !paused_steps.contains(order_index) {
            paused_steps.push(*order_index);
        }
        for o in step
            .workflow_outputs
            .iter()
            .filter(|o| o.output_name == *name)
        {
            let label = o
                .label
                .clone()
                .unwrap_or_else(|| format!("{}:{name}", order_index));
            labelled.insert(
                label,
                json!({"id": ids.encode(*ds), "src": "hda", "workflow_step_id": order_index}),
            );
        }
    }
    out["steps"] = json!(step_list);
    out["inputs"] = Value::Object(inputs);
    out["outputs"] = Value::Object(labelled);
    out["output_collections"] = json!({});
    out["output_values"] = json!({});
    out["input_step_parameters"] = json!({});
    out["messages"] = json!(messages);
    out["paused_steps"] = json!(paused_steps);
    Ok(out)
}

#[derive(Deserialize)]
struct ListQuery {
    workflow_id: Option<String>,
    history_id: Option<String>,
    user_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let q_ = query.into_inner();
    let ids = &state.ids;
    let mut user_id = caller.list_filter();
    if let Some(u) = &q_.user_id {
        let u = ids.decode(u)?;
        if !caller.is_admin() && Some(u) != caller.user_id() {
            return Err(ApiError::Forbidden(
                "Only an administrator may list another user's invocations.".into(),
            ));
        }
        user_id = Some(u);
    }
    let filter = InvocationFilter {
        user_id,
        workflow_id: q_
            .workflow_id
            .as_deref()
            .map(|w| ids.decode(w))
            .transpose()?,
        history_id: q_
            .history_id
            .as_deref()
            .map(|h| ids.decode(h))
            .transpose()?,
        limit: q_.limit.unwrap_or(100).clamp(1, 1000),
        offset: q_.offset.unwrap_or(0).max(0),
    };
    let rows = state
        .db(move |c| Ok(q::list_invocations(c, &filter)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(|r| summary(ids, r)).collect::<Vec<_>>()))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let row = state
        .db(move |c| accessible_invocation(c, &caller, id))
        .await?;
    Ok(HttpResponse::Ok().json(invocation_json(&state, row).await?))
}

/// `GET /api/invocations/{id}/jobs_summary` (BioBlend's `get_invocation_summary`): how many
/// of its jobs are in each state.
async fn jobs_summary(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let steps = state
        .db(move |c| {
            accessible_invocation(c, &caller, id)?;
            Ok(q::invocation_steps(c, id)?)
        })
        .await?;
    let mut states: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (_, job) in &steps {
        if let Some((s, _)) = job {
            *states.entry(s.to_string()).or_default() += 1;
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "id": state.ids.encode(id),
        "model": "WorkflowInvocation",
        "populated_state": "ok",
        "states": states,
    })))
}

async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    cancel_by_id(state, caller, path.into_inner()).await
}

/// Cancels an invocation: `cancelled` at once (a scheduler holding it loses it), and each
/// unfinished job of its steps cancelled as `DELETE /api/jobs/{id}` does.
pub(crate) async fn cancel_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    encoded: String,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&encoded)?;
    let handlers = state.handlers.clone();
    let row = state
        .db(move |c| {
            accessible_invocation(c, &caller, id)?;
            if let Some(job_ids) = q::cancel_invocation(c, id)? {
                for jid in job_ids {
                    if let Some(job) = jobs::find_job(c, jid)? {
                        crate::jobs::cancel::cancel(c, &handlers, &job)?;
                    }
                }
            }
            q::find_invocation(c, id)?
                .ok_or_else(|| ApiError::NotFound("Invocation not found.".into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(invocation_json(&state, row).await?))
}
