use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::datasets::accessible_dataset;
use super::histories::accessible_history;
use super::{client_address, required_str};
use crate::db::queries::histories;
use crate::jobs::submit::{self, RunRequest, StagedUpload};
use crate::tools::{ParamValue, Tool};
use crate::web::body::{ToolRequestBody, read_tool_request};
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tools", web::get().to(list))
        .route("/tools", web::post().to(run))
        .route("/tools/fetch", web::post().to(super::fetch::fetch))
        .route("/tools/{id}", web::get().to(show));
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default, deserialize_with = "super::query_bool")]
    io_details: Option<bool>,
}

async fn list(state: web::Data<AppState>) -> HttpResponse {
    let tools: Vec<Value> = state.env.toolbox.iter().map(|t| t.to_json(false)).collect();
    HttpResponse::Ok().json(tools)
}

async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, ApiError> {
    let tool = state
        .env
        .toolbox
        .get(&path)
        .ok_or_else(|| ApiError::NotFound(format!("Tool '{}' not found.", path.as_str())))?;
    Ok(HttpResponse::Ok().json(tool.to_json(q.io_details.unwrap_or(false))))
}

/// `inputs` as an object; clients may also send it as a JSON string.
fn inputs_of(payload: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    match payload.get("inputs") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::BadRequest(
                "'inputs' must be a JSON object.".into(),
            )),
        },
        Some(_) => Err(ApiError::BadRequest(
            "'inputs' must be a JSON object.".into(),
        )),
    }
}

async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let spool_dir = state.env.settings.galaxy.file_path.clone();
    let ToolRequestBody { payload, pasted } =
        read_tool_request(&req, body, spool_dir.clone()).await?;
    let tool_id = required_str(&payload, "tool_id")?;
    let tool: Arc<Tool> = state.env.toolbox.get(tool_id).cloned().ok_or_else(|| {
        ApiError::BadRequest(format!("Tool '{tool_id}' is not installed on this server."))
    })?;
    let mut inputs = inputs_of(&payload)?;
    // As Galaxy does: upload fields may come beside `inputs` (BioBlend's `paste_content`).
    for (k, v) in &payload {
        if k.starts_with("files_") || k.starts_with("__files_") {
            inputs.insert(k.clone(), v.clone());
        }
    }
    let history_id = match payload.get("history_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(state.ids.decode(s)?),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "'history_id' must be an encoded id string.".into(),
            ));
        }
    };
    let client = client_address(&req);
    let env = state.env.clone();
    let ids = state.ids.clone();
    if tool.is_upload() {
        let upload = Tool::upload_request(&inputs, pasted)?;
        let (name, file_type) = (upload.name.clone(), upload.file_type.clone());
        let content = web::block(move || {
            upload.stage(&spool_dir).map_err(|e| {
                let info = format!(
                    "could not write the pasted content in {}: {e}",
                    spool_dir.display()
                );
                log::warn!("upload: {info}");
                info
            })
        })
        .await?;
        let upload = StagedUpload {
            name,
            file_type,
            content,
        };
        let (job, dataset) = state
            .db(move |c| {
                let history = target_history(c, &caller, history_id)?;
                Ok(submit::create_upload(
                    &env,
                    c,
                    caller.user_id(),
                    history,
                    &tool,
                    upload,
                    client.as_deref(),
                )?)
            })
            .await?;
        return Ok(HttpResponse::Ok().json(run_response(&ids, &job, &[dataset])));
    }
    let values = tool.check_inputs(&inputs)?;
    let (job, outputs, assignment) = state
        .db(move |c| {
            let history = target_history(c, &caller, history_id)?;
            let mut data_inputs = Vec::new();
            for (name, value) in &values {
                if let ParamValue::Data(Some(r)) = value {
                    if r.src != "hda" {
                        return Err(ApiError::BadRequest(format!(
                            "parameter '{name}': only src 'hda' datasets are supported, not '{}'.",
                            r.src
                        )));
                    }
                    let id = ids.decode(&r.id)?;
                    accessible_dataset(c, &caller, id)?;
                    data_inputs.push((name.clone(), id));
                }
            }
            let request = RunRequest {
                user_id: caller.user_id(),
                history_id: history,
                tool,
                values,
                inputs: data_inputs,
                client_address: client,
            };
            Ok(submit::create_tool_job(&env, c, &request)?)
        })
        .await?;
    state.handlers.dispatch(&assignment, job.id);
    let datasets: Vec<_> = outputs.into_iter().map(|(_, d)| d).collect();
    Ok(HttpResponse::Ok().json(run_response(&state.ids, &job, &datasets)))
}

/// The history to put outputs in: the given one (checked) or the caller's most recent / a new one.
pub(super) fn target_history(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    history_id: Option<i64>,
) -> Result<i64, ApiError> {
    match history_id {
        Some(id) => Ok(accessible_history(c, caller, id)?.id),
        None => match histories::most_recent_history(c, caller.user_id().or(Some(-1)))? {
            Some(h) => Ok(h.id),
            None => Ok(histories::create_history(c, caller.user_id(), "Unnamed history")?.id),
        },
    }
}

pub(super) fn run_response(
    ids: &crate::web::IdEncoder,
    job: &crate::db::models::Job,
    outputs: &[crate::db::models::Dataset],
) -> Value {
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|d| {
            let mut v = json::dataset(ids, d);
            v["output_name"] = json!(d.name);
            v
        })
        .collect();
    json!({
        "outputs": outputs,
        "jobs": [json::job(ids, job, None)],
        "implicit_collections": [],
        "output_collections": [],
        "produces_entry_points": false,
    })
}
