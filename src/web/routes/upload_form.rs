//! The legacy upload form: `POST /api/tools` as `multipart/form-data` with the fields
//! `tool_id=upload1`, `history_id`, `inputs` (a JSON string: `file_type`, `dbkey`,
//! `files_0|type: upload_dataset`, `files_0|NAME`, …) and the file part
//! `files_0|file_data` (what BioBlend's `upload_file` sends to a Galaxy older than 22.01).
//! The part is streamed to disk; the dataset is made as a paste upload makes it, binary
//! content kept as it is (`file_type` `auto` then becomes `data`).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::client_address;
use super::tools::{inputs_of, run_response, target_history};
use crate::jobs::submit::{self, StagedUpload};
use crate::tools::paste;
use crate::tools::upload::upload_options;
use crate::tools::{Tool, UPLOAD_TOOL_ID};
use crate::web::auth::Caller;
use crate::web::body::{MultipartBody, read_multipart};
use crate::web::{ApiError, AppState};

const FILE_FIELD: &str = "files_0|file_data";

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

pub(super) async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let spool = state.env.settings.galaxy.file_path.clone();
    let MultipartBody { fields, mut files } = read_multipart(&req, body, spool.clone()).await?;
    let tool_id = super::required_str(&fields, "tool_id")?;
    if tool_id != UPLOAD_TOOL_ID {
        return Err(bad(format!(
            "A multipart/form-data request runs only '{UPLOAD_TOOL_ID}' (a file upload), not \
             '{tool_id}'; send other tools' requests as JSON."
        )));
    }
    let tool: Arc<Tool> = state
        .env
        .toolbox
        .get(UPLOAD_TOOL_ID)
        .cloned()
        .ok_or_else(|| {
            bad(format!(
                "Tool '{UPLOAD_TOOL_ID}' is not installed on this server."
            ))
        })?;
    let history_id = match fields.get("history_id") {
        None => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(state.ids.decode(s)?),
        Some(_) => return Err(bad("'history_id' must be an encoded id string.")),
    };
    let inputs = inputs_of(&fields)?;
    let options = upload_options(&inputs)?;
    if let Some(other) = files.iter().find(|f| f.field != FILE_FIELD) {
        return Err(bad(format!(
            "Unexpected file part '{}': only '{FILE_FIELD}' is accepted.",
            other.field
        )));
    }
    if files.len() > 1 {
        return Err(bad(format!("The file part '{FILE_FIELD}' is sent twice.")));
    }
    let part = files
        .pop()
        .ok_or_else(|| bad(format!("The file part '{FILE_FIELD}' is missing.")))?;
    let name = options.name.clone().or_else(|| {
        part.filename
            .clone()
            .filter(|n| !n.trim().is_empty())
            .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(&n).to_string())
    });
    let (to_posix_lines, space_to_tab) = (options.to_posix_lines, options.space_to_tab);
    let content = web::block(move || {
        paste::stage_file(part.content, to_posix_lines, space_to_tab, &spool)
            .map_err(|e| format!("could not prepare the upload: {e}"))
    })
    .await?;
    let file_type = match (&content, options.file_type.as_str()) {
        (Ok((_, false)), "auto") => "data".to_string(),
        _ => options.file_type.clone(),
    };
    let upload = StagedUpload {
        name,
        file_type,
        content: content.map(|(s, _)| s),
    };
    let client = client_address(&req);
    let env = state.env.clone();
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
    Ok(HttpResponse::Ok().json(run_response(&state.ids, &job, &[dataset])))
}
