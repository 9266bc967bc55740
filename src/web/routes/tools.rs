use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::collections::accessible_hdca;
use super::datasets::accessible_dataset;
use super::histories::accessible_history;
use super::{client_address, required_str};
use crate::db::queries::collections::NewCollection;
use crate::db::queries::{datasets, histories};
use crate::jobs::submit::{self, MappedJob, MappedRequest, RunRequest, StagedUpload};
use crate::tools::Tool;
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
pub(super) fn inputs_of(payload: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
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
    let ToolRequestBody {
        payload,
        mut pasted,
    } = read_tool_request(&req, body, spool_dir.clone()).await?;
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
        super::path_paste::take(&state, &caller, &mut inputs, &mut pasted).await?;
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
        let output = upload_output_name(&state.env.toolbox, 0);
        return Ok(HttpResponse::Ok().json(run_response(&ids, &job, &[(output, dataset)])));
    }
    if let Some(batch) = batch_of(&inputs)? {
        return run_batch(&state, caller, tool, inputs, batch, history_id, client).await;
    }
    let values = tool.check_inputs(&inputs)?;
    let (job, outputs, assignment) = state
        .db(move |c| {
            let history = target_history(c, &caller, history_id)?;
            let mut data_inputs = Vec::new();
            let mut found = std::collections::BTreeMap::new();
            let mut columns = std::collections::HashMap::new();
            for (name, r) in crate::tools::data_inputs(&values) {
                {
                    if r.src != "hda" {
                        return Err(ApiError::BadRequest(format!(
                            "parameter '{name}': only src 'hda' datasets are supported, not '{}'.",
                            r.src
                        )));
                    }
                    let id = ids.decode(&r.id)?;
                    let dataset = accessible_dataset(c, &caller, id)?;
                    if let Some(n) = crate::datatypes::columns(dataset.metadata.as_deref()) {
                        columns.insert(r.id.clone(), n);
                    }
                    data_inputs.push((name.clone(), id));
                    found.insert(id, dataset);
                }
            }
            if !columns.is_empty() {
                // A data_column past the last column of its dataset's metadata.
                tool.check_state(&inputs, &|r| columns.get(&r.id).copied())?;
            }
            let request = RunRequest {
                user_id: caller.user_id(),
                history_id: history,
                tool,
                values,
                inputs: data_inputs,
                client_address: client,
                found,
            };
            Ok(submit::create_tool_job(&env, c, &request)?)
        })
        .await?;
    state.handlers.dispatch(&assignment, job.id);
    Ok(HttpResponse::Ok().json(run_response(&state.ids, &job, &outputs)))
}

/// The output name of an upload's `i`th dataset, as its job records it.
pub(super) fn upload_output_name(toolbox: &crate::tools::ToolBox, i: usize) -> String {
    let first = toolbox
        .get(crate::tools::UPLOAD_TOOL_ID)
        .and_then(|t| t.outputs.first().map(|o| o.name.clone()));
    match (i, first) {
        (0, Some(name)) => name,
        _ => format!("output{i}"),
    }
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

/// `POST /api/tools`' answer: the job and its outputs, each with its `output_name` (the tool
/// output it is, which `galaxy-tool-test` finds a test's outputs by).
pub(super) fn run_response(
    ids: &crate::web::IdEncoder,
    job: &crate::db::models::Job,
    outputs: &[(String, crate::db::models::Dataset)],
) -> Value {
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|(name, d)| {
            let mut v = json::dataset(ids, d);
            v["output_name"] = json!(name);
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

/// A batched input: `{"batch": true, "values": [{"src": "hdca" | "hda", "id": …}]}`.
struct Batch {
    param: String,
    /// (src, encoded id)
    values: Vec<(String, String)>,
}

/// The one batched input of a run, if any (Galaxy's map-over and multi-run).
fn batch_of(inputs: &Map<String, Value>) -> Result<Option<Batch>, ApiError> {
    let mut found: Option<Batch> = None;
    for (key, value) in inputs {
        let Value::Object(v) = value else { continue };
        match v.get("batch") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => continue,
            Some(Value::Bool(true)) => {}
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "parameter '{key}': 'batch' must be a boolean."
                )));
            }
        }
        if found.is_some() {
            return Err(ApiError::BadRequest(format!(
                "parameter '{key}': only one batched input per run is supported."
            )));
        }
        let Some(Value::Array(items)) = v.get("values") else {
            return Err(ApiError::BadRequest(format!(
                "parameter '{key}': a batched input needs a list of 'values'."
            )));
        };
        if items.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "parameter '{key}': a batched input needs at least one value."
            )));
        }
        let mut values = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let (Some(Value::String(src)), Some(Value::String(id))) = (
                item.as_object().and_then(|o| o.get("src")),
                item.as_object().and_then(|o| o.get("id")),
            ) else {
                return Err(ApiError::BadRequest(format!(
                    "parameter '{key}': values[{i}] must be {{\"src\": \"hda\" or \"hdca\", \"id\": …}}."
                )));
            };
            if src != "hda" && src != "hdca" {
                return Err(ApiError::BadRequest(format!(
                    "parameter '{key}': values[{i}]: src must be 'hda' or 'hdca', not '{src}'."
                )));
            }
            values.push((src.clone(), id.clone()));
        }
        let collections = values.iter().filter(|(s, _)| s == "hdca").count();
        if collections > 0 && values.len() > 1 {
            return Err(ApiError::BadRequest(format!(
                "parameter '{key}': map over one collection at a time, or batch over datasets."
            )));
        }
        found = Some(Batch {
            param: key.clone(),
            values,
        });
    }
    Ok(found)
}

/// Runs a tool once per element of a collection (outputs gathered into new collections of the
/// same structure) or once per dataset of a batch, all created in one transaction.
async fn run_batch(
    state: &web::Data<AppState>,
    caller: Caller,
    tool: Arc<Tool>,
    inputs: Map<String, Value>,
    batch: Batch,
    history_id: Option<i64>,
    client: Option<String>,
) -> Result<HttpResponse, ApiError> {
    match tool.param(&batch.param).map(|p| &p.kind) {
        Some(crate::tools::ParamKind::Data { .. }) => {}
        _ => {
            return Err(ApiError::BadRequest(format!(
                "parameter '{}': batching is supported over data inputs of tool '{}' only.",
                batch.param, tool.id
            )));
        }
    }
    let decoded: Vec<(String, i64)> = batch
        .values
        .iter()
        .map(|(src, id)| Ok((src.clone(), state.ids.decode(id)?)))
        .collect::<Result<_, ApiError>>()?;
    let env = state.env.clone();
    let ids = state.ids.clone();
    let (created, assignment) = state
        .db(move |c| {
            let history = target_history(c, &caller, history_id)?;
            // The datasets to run over, and for a collection its structure.
            let (leaves, structure) = match decoded.as_slice() {
                [(src, id)] if src == "hdca" => {
                    let (h, coll) = accessible_hdca(c, &caller, *id)?;
                    let tree = coll.tree();
                    let leaves: Vec<i64> = tree.leaves().iter().map(|d| d.id).collect();
                    let mut n = 0usize;
                    let shape: NewCollection<usize> = tree.map_leaves(&mut |_| {
                        n += 1;
                        n - 1
                    });
                    (leaves, Some((shape, h.hid)))
                }
                _ => {
                    let wanted: Vec<i64> = decoded.iter().map(|(_, id)| *id).collect();
                    let found = datasets::find_datasets(c, &wanted)?;
                    for id in &wanted {
                        let d = found.iter().find(|d| d.id == *id).ok_or_else(|| {
                            ApiError::NotFound(format!("Dataset '{}' not found.", ids.encode(*id)))
                        })?;
                        if !caller.can_access(d.user_id) {
                            return Err(ApiError::Forbidden(format!(
                                "Dataset '{}' is not accessible by the current user.",
                                ids.encode(*id)
                            )));
                        }
                    }
                    (wanted, None)
                }
            };
            // Other data inputs are the same for every job: checked once.
            let mut checked: std::collections::HashMap<String, i64> =
                std::collections::HashMap::new();
            let mut jobs = Vec::with_capacity(leaves.len());
            for leaf in &leaves {
                let mut these = inputs.clone();
                these.insert(
                    batch.param.clone(),
                    json!({"src": "hda", "id": ids.encode(*leaf)}),
                );
                let values = tool.check_inputs(&these)?;
                let mut data_inputs = Vec::new();
                for (name, r) in crate::tools::data_inputs(&values) {
                    if name == batch.param {
                        data_inputs.push((name.clone(), *leaf));
                        continue;
                    }
                    if r.src != "hda" {
                        return Err(ApiError::BadRequest(format!(
                            "parameter '{name}': only src 'hda' datasets are supported, not '{}'.",
                            r.src
                        )));
                    }
                    let id = match checked.get(&r.id) {
                        Some(id) => *id,
                        None => {
                            let id = ids.decode(&r.id)?;
                            accessible_dataset(c, &caller, id)?;
                            checked.insert(r.id.clone(), id);
                            id
                        }
                    };
                    data_inputs.push((name.clone(), id));
                }
                jobs.push(MappedJob {
                    values,
                    inputs: data_inputs,
                });
            }
            let request = MappedRequest {
                user_id: caller.user_id(),
                history_id: history,
                tool,
                client_address: client,
                jobs,
                structure,
            };
            Ok(submit::create_mapped_tool_jobs(&env, c, &request)?)
        })
        .await?;
    match &assignment {
        crate::jobs::assign::Assignment::Pool { .. } => state.handlers.wake_all(),
        _ => {
            for job in &created.jobs {
                state.handlers.dispatch(&assignment, job.id);
            }
        }
    }
    let ids = &state.ids;
    let outputs: Vec<Value> = created
        .outputs
        .iter()
        .flatten()
        .map(|(name, d)| {
            let mut v = json::dataset(ids, d);
            v["output_name"] = json!(name);
            v
        })
        .collect();
    let implicit: Vec<Value> = created
        .hdcas
        .iter()
        .map(|(h, row)| {
            let mut v = json::hdca_summary(ids, h, row);
            v["output_name"] = json!(h.implicit_output_name);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "outputs": outputs,
        "jobs": created.jobs.iter().map(|j| json::job(ids, j, None)).collect::<Vec<_>>(),
        "implicit_collections": implicit,
        "output_collections": [],
        "produces_entry_points": false,
    })))
}
