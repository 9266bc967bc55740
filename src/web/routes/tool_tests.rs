//! What Galaxy's tool-test client (`galaxy-tool-test`, `planemo test --engine external_galaxy`)
//! reads before it runs a test: the tests (`GET /api/tools/{id}/test_data`, Galaxy's test
//! dicts), a summary of every tool's tests, and the files of the tool's `test-data` directory
//! (beside its XML), by content or (admins) by path. A file name that leaves the directory is
//! refused.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::tools::Tool;
use crate::web::{ApiError, AppState, auth::Caller};

/// Registered before `tools::configure`, so `/tools/tests_summary` is not taken for a tool id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tools/tests_summary", web::get().to(summary))
        .route("/tools/{id}/test_data", web::get().to(test_data))
        .route("/tools/{id}/test_data_path", web::get().to(test_data_path))
        .route(
            "/tools/{id}/test_data_download",
            web::get().to(test_data_download),
        );
}

#[derive(Deserialize)]
struct VersionQuery {
    tool_version: Option<String>,
}

#[derive(Deserialize)]
struct FileQuery {
    filename: Option<String>,
    tool_version: Option<String>,
}

/// The tool of this id. A `tool_version` is accepted whatever it says, as Galaxy's non-exact
/// `get_tool` returns the installed tool when the version asked for is not there: the client
/// sends it unescaped in the query, so `9.11+galaxy0` arrives as `9.11 galaxy0`.
fn tool_at(state: &AppState, id: &str, _version: Option<&str>) -> Result<Arc<Tool>, ApiError> {
    state
        .env
        .toolbox
        .get(id)
        .map(Arc::clone)
        .ok_or_else(|| ApiError::NotFound(format!("Tool '{id}' not found.")))
}

async fn summary(state: web::Data<AppState>) -> HttpResponse {
    let mut out = Map::new();
    for tool in state.env.toolbox.iter().filter(|t| !t.tests.is_empty()) {
        let versions = json!({ tool.version.clone(): {"count": tool.tests.len()} });
        out.insert(tool.id.clone(), versions);
    }
    HttpResponse::Ok().json(out)
}

async fn test_data(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let tool = tool_at(&state, &path, q.tool_version.as_deref())?;
    Ok(HttpResponse::Ok().json(tool.test_dicts()))
}

/// A test-data file of `tool`: 400 for a name that is not a plain relative path, 404 for a
/// file that is not there (or that a symlink takes outside the directory).
fn test_data_file(tool: &Tool, filename: Option<&str>) -> Result<PathBuf, ApiError> {
    let filename = filename.filter(|f| !f.trim().is_empty()).ok_or_else(|| {
        ApiError::MissingParameter("Missing required parameter 'filename'.".into())
    })?;
    let relative = Path::new(filename);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ApiError::BadRequest(format!(
            "Test data file name '{filename}' must be a relative path inside the tool's \
             test-data directory."
        )));
    }
    let not_found = || {
        ApiError::NotFound(format!(
            "Test data file '{filename}' not found for tool '{}'.",
            tool.id
        ))
    };
    let dir = tool
        .source_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("test-data");
    let dir = dir.canonicalize().map_err(|_| not_found())?;
    let file = dir.join(relative).canonicalize().map_err(|_| not_found())?;
    if !file.starts_with(&dir) || !file.is_file() {
        return Err(not_found());
    }
    Ok(file)
}

async fn test_data_path(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<FileQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let tool = tool_at(&state, &path, q.tool_version.as_deref())?;
    let filename = q.filename.clone();
    let file = web::block(move || test_data_file(&tool, filename.as_deref())).await??;
    Ok(HttpResponse::Ok().json(Value::String(file.to_string_lossy().into_owned())))
}

async fn test_data_download(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<FileQuery>,
) -> Result<HttpResponse, ApiError> {
    let tool = tool_at(&state, &path, q.tool_version.as_deref())?;
    let filename = q.filename.clone();
    let (name, f, len) = web::block(move || {
        let file = test_data_file(&tool, filename.as_deref())?;
        let unreadable =
            |e: std::io::Error| ApiError::Internal(format!("reading {}: {e}", file.display()));
        let f = std::fs::File::open(&file).map_err(unreadable)?;
        let len = f.metadata().map_err(unreadable)?.len();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().replace('"', ""))
            .unwrap_or_default();
        Ok::<_, ApiError>((name, f, len))
    })
    .await??;
    let mut resp = HttpResponse::Ok();
    resp.content_type("application/octet-stream")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .no_chunking(len);
    Ok(resp.streaming(super::datasets::stream_file(f, len)))
}
