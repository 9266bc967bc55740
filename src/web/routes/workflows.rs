//! `/api/workflows`: import (`/upload`, as BioBlend's `import_workflow_dict` sends it, and
//! `POST /api/workflows`), list, show, download (the `.ga` document, which imports again
//! unchanged), delete, and invoke (`POST /api/workflows/{id}/invocations`). A workflow
//! belongs to its user as a history does: someone else's is a 403, a missing one a 404.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::body_object;
use super::datasets::accessible_dataset;
use super::histories::accessible_history;
use super::invocations::{accessible_invocation, invocation_json};
use crate::db::queries::invocations::{self as inv, NewInvocation};
use crate::db::queries::workflows::{self as q, NewWorkflow, WorkflowRow};
use crate::db::queries::{histories, notify};
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, IdEncoder, auth::Caller, json as j};
use crate::workflows::{self, Workflow, WorkflowError, ga, invoke};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/workflows", web::get().to(list))
        .route("/workflows", web::post().to(create))
        .route("/workflows/upload", web::post().to(create))
        // BioBlend's `export_workflow_dict` asks for this form.
        .route("/workflows/download/{id}", web::get().to(download))
        .route("/workflows/{id}", web::get().to(show))
        .route("/workflows/{id}", web::delete().to(delete))
        .route("/workflows/{id}/download", web::get().to(download))
        .route("/workflows/{id}/invocations", web::post().to(invoke))
        .route("/workflows/{id}/usage", web::post().to(invoke))
        .route(
            "/workflows/{id}/invocations",
            web::get().to(list_invocations),
        )
        .route(
            "/workflows/{id}/invocations/{invocation_id}",
            web::get().to(show_invocation),
        )
        .route(
            "/workflows/{id}/invocations/{invocation_id}",
            web::delete().to(cancel_invocation),
        );
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

/// Loads a workflow the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_workflow(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<WorkflowRow, ApiError> {
    let w =
        q::find_workflow(c, id)?.ok_or_else(|| ApiError::NotFound("Workflow not found.".into()))?;
    if !caller.can_access(w.user_id) {
        return Err(ApiError::Forbidden(
            "Workflow is not accessible by the current user.".into(),
        ));
    }
    Ok(w)
}

fn parsed(row: &WorkflowRow) -> Result<Workflow, ApiError> {
    let doc: Value = serde_json::from_str(&row.definition)
        .map_err(|e| ApiError::Internal(format!("workflow {}: {e}", row.id)))?;
    ga::parse(&doc).map_err(|e| ApiError::Internal(format!("workflow {}: {e}", row.id)))
}

/// Galaxy's summary of a stored workflow (the list's items).
fn summary(ids: &IdEncoder, w: &WorkflowRow) -> Value {
    let id = ids.encode(w.id);
    json!({
        "id": id,
        "name": w.name,
        "url": format!("/api/workflows/{id}"),
        "model_class": "StoredWorkflow",
        "deleted": w.deleted,
        "hidden": false,
        "published": false,
        "importable": false,
        "tags": [],
        "annotations": w.annotation.iter().collect::<Vec<_>>(),
        "latest_workflow_uuid": w.uuid,
        "number_of_steps": w.step_count,
        "show_in_tool_panel": false,
        "create_time": j::time(&w.create_time),
        "update_time": j::time(&w.update_time),
    })
}

/// The summary with the steps and inputs, as Galaxy's `GET /api/workflows/{id}`.
fn detail(ids: &IdEncoder, w: &WorkflowRow, wf: &Workflow) -> Value {
    let mut out = summary(ids, w);
    let mut inputs = Map::new();
    let mut steps = Map::new();
    for s in &wf.steps {
        let key = s.order_index.to_string();
        let (kind, tool_id, tool_version, tool_inputs) = match &s.kind {
            ga::StepKind::DataInput { .. } => {
                inputs.insert(
                    key.clone(),
                    json!({"label": s.label.clone().unwrap_or_else(|| s.name.clone()),
                           "value": "", "uuid": s.uuid}),
                );
                ("data_input", Value::Null, Value::Null, json!({}))
            }
            ga::StepKind::Tool {
                tool_id,
                tool_version,
                state,
            } => (
                "tool",
                json!(tool_id),
                json!(tool_version),
                Value::Object(state.clone()),
            ),
        };
        let input_steps: Map<String, Value> = s
            .connections
            .iter()
            .map(|c| {
                (
                    c.input_name.clone(),
                    json!({"source_step": c.source, "step_output": c.output_name}),
                )
            })
            .collect();
        steps.insert(
            key,
            json!({
                "id": s.order_index,
                "type": kind,
                "tool_id": tool_id,
                "tool_version": tool_version,
                "label": s.label,
                "uuid": s.uuid,
                "annotation": s.annotation,
                "tool_inputs": tool_inputs,
                "input_steps": input_steps,
                "workflow_outputs": s.workflow_outputs.iter().map(|o| json!({
                    "output_name": o.output_name, "label": o.label, "uuid": o.uuid})).collect::<Vec<_>>(),
            }),
        );
    }
    out["inputs"] = Value::Object(inputs);
    out["steps"] = Value::Object(steps);
    out["annotation"] = json!(w.annotation);
    out["version"] = json!(0);
    out
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let filter = caller
        .user_id()
        .or(if caller.is_admin() { None } else { Some(-1) });
    let mut deleted = false;
    for (k, v) in q.into_inner() {
        if k == "show_deleted" || k == "deleted" {
            deleted = matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        }
    }
    let rows = state
        .db(move |c| Ok(q::list_workflows(c, filter, deleted)?))
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|w| summary(&state.ids, w))
            .collect::<Vec<_>>(),
    ))
}

/// The `.ga` document of an import request: `{"workflow": {...}}` (an object or JSON text,
/// BioBlend's `import_workflow_dict`), or the document itself.
fn document(payload: &Map<String, Value>) -> Result<Value, ApiError> {
    match payload.get("workflow") {
        Some(Value::Object(m)) => Ok(Value::Object(m.clone())),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| ApiError::BadRequest(format!("'workflow' is not valid JSON: {e}"))),
        Some(_) => Err(ApiError::BadRequest(
            "'workflow' must be a workflow object.".into(),
        )),
        None if payload.contains_key("a_galaxy_workflow") => Ok(Value::Object(payload.clone())),
        None => Err(ApiError::MissingParameter(
            "Missing required parameter 'workflow' (a Galaxy .ga workflow).".into(),
        )),
    }
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let payload = body_object(&body)?;
    let doc = document(&payload)?;
    let wf = ga::parse(&doc)?;
    workflows::validate(&wf, &state.env.toolbox)?;
    // What is stored is the normalized document: its export, which reads back the same.
    let definition = ga::export(&wf).to_string();
    let user = caller.user_id();
    let row = state
        .db(move |c| {
            let annotation = (!wf.annotation.is_empty()).then_some(wf.annotation.as_str());
            Ok(q::create_workflow(
                c,
                &NewWorkflow {
                    user_id: user,
                    name: &wf.name,
                    uuid: &wf.uuid,
                    annotation,
                    definition: &definition,
                    step_count: wf.steps.len() as i32,
                },
            )?)
        })
        .await?;
    let wf = parsed(&row)?;
    Ok(HttpResponse::Ok().json(detail(&state.ids, &row, &wf)))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let row = state
        .db(move |c| accessible_workflow(c, &caller, id))
        .await?;
    let wf = parsed(&row)?;
    Ok(HttpResponse::Ok().json(detail(&state.ids, &row, &wf)))
}

async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let row = state
        .db(move |c| accessible_workflow(c, &caller, id))
        .await?;
    let wf = parsed(&row)?;
    Ok(HttpResponse::Ok().json(ga::export(&wf)))
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let name = state
        .db(move |c| {
            let w = accessible_workflow(c, &caller, id)?;
            q::delete_workflow(c, id)?;
            Ok(w.name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(format!("Workflow '{name}' successfully deleted")))
}

/// The history an invocation writes to: `history_id`, BioBlend's `history: "hist_id=<id>"`,
/// a new one named by `history` or `history_name`, else the caller's most recent.
enum HistoryChoice {
    Existing(i64),
    New(String),
    Current,
}

fn history_choice(ids: &IdEncoder, p: &Map<String, Value>) -> Result<HistoryChoice, ApiError> {
    if let Some(Value::String(h)) = p.get("history_id") {
        return Ok(HistoryChoice::Existing(ids.decode(h)?));
    }
    if let Some(Value::String(h)) = p.get("history") {
        return Ok(match h.strip_prefix("hist_id=") {
            Some(id) => HistoryChoice::Existing(ids.decode(id)?),
            None => HistoryChoice::New(h.clone()),
        });
    }
    if let Some(Value::String(name)) = p.get("history_name") {
        return Ok(HistoryChoice::New(name.clone()));
    }
    Ok(HistoryChoice::Current)
}

/// An object field that clients may also send as JSON text.
fn object_field(p: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, ApiError> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::BadRequest(format!(
                "'{key}' must be a JSON object."
            ))),
        },
        Some(_) => Err(ApiError::BadRequest(format!(
            "'{key}' must be a JSON object."
        ))),
    }
}

async fn invoke(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let payload = body_object(&body)?;
    let mut inputs = object_field(&payload, "inputs")?;
    if inputs.is_empty() {
        inputs = object_field(&payload, "ds_map")?;
    }
    let parameters = object_field(&payload, "parameters")?;
    let replacements = object_field(&payload, "replacement_params")?;
    if let Some((k, _)) = replacements
        .iter()
        .find(|(_, v)| !(v.is_string() || v.is_number()))
    {
        return Err(ApiError::BadRequest(format!(
            "replacement_params: the value of '{k}' must be a string or a number."
        )));
    }
    let choice = history_choice(&state.ids, &payload)?;
    let ids = state.ids.clone();
    let toolbox = state.env.toolbox.clone();
    let schedulers = state.schedulers.clone();
    let interval = state.env.settings.galaxy.heartbeat_interval;
    let (row, pool) = state
        .db(move |c| {
            let w = accessible_workflow(c, &caller, id)?;
            if w.deleted {
                return Err(ApiError::BadRequest(format!(
                    "Workflow '{}' is deleted and cannot be invoked.",
                    w.name
                )));
            }
            let wf = parsed(&w)?;
            let resolved = invoke::resolve(&wf, &toolbox, &inputs, &parameters)?;
            let mut input_ids: Map<String, Value> = Map::new();
            for (step, r) in &resolved.inputs {
                let ds = accessible_dataset(c, &caller, ids.decode(&r.id)?)?;
                input_ids.insert(step.to_string(), json!(ds.id));
            }
            let mut params: Map<String, Value> = resolved
                .parameters
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Object(v.clone())))
                .collect();
            // `${name}` in a RenameDatasetAction's new name (BioBlend's `replacement_params`).
            if !replacements.is_empty() {
                params.insert(
                    crate::workflows::REPLACEMENTS_KEY.into(),
                    Value::Object(replacements),
                );
            }
            let history = match choice {
                HistoryChoice::Existing(h) => accessible_history(c, &caller, h)?.id,
                HistoryChoice::New(name) => {
                    histories::create_history(c, caller.user_id(), &name)?.id
                }
                HistoryChoice::Current => super::tools::target_history(c, &caller, None)?,
            };
            let (handler, pool) = schedulers.assign(c, interval)?;
            let t = crate::db::now();
            let uuid = workflows::new_uuid();
            let inputs_text = Value::Object(input_ids).to_string();
            let params_text = Value::Object(params).to_string();
            let row = inv::create_invocation(
                c,
                &NewInvocation {
                    workflow_id: w.id,
                    user_id: caller.user_id(),
                    history_id: history,
                    uuid: &uuid,
                    state: inv::NEW,
                    handler: handler.as_deref(),
                    pool,
                    claim_token: 0,
                    inputs: &inputs_text,
                    parameters: &params_text,
                    create_time: t,
                    update_time: t,
                },
            )?;
            if handler.is_none()
                && let Err(e) = notify::new_job(c, pool)
            {
                log::warn!("(invocation {}) could not notify schedulers: {e}", row.id);
            }
            Ok((row, pool))
        })
        .await?;
    if row.handler.is_some() || state.schedulers.wants(pool) {
        state.schedulers.wake();
    }
    let view = invocation_json(&state, row).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn list_invocations(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let filter = caller.list_filter();
    let rows = state
        .db(move |c| {
            accessible_workflow(c, &caller, id)?;
            Ok(inv::list_invocations(
                c,
                &inv::InvocationFilter {
                    user_id: filter,
                    workflow_id: Some(id),
                    limit: 1000,
                    ..Default::default()
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|r| super::invocations::summary(&state.ids, r))
            .collect::<Vec<_>>(),
    ))
}

async fn show_invocation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path.1)?;
    let row = state
        .db(move |c| accessible_invocation(c, &caller, id))
        .await?;
    Ok(HttpResponse::Ok().json(invocation_json(&state, row).await?))
}

async fn cancel_invocation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    super::invocations::cancel_by_id(state, caller, id).await
}
