//! `POST /api/tools/fetch`, Galaxy's data fetch API, as BioBlend's `upload_file` sends it
//! after a tus upload:
//!
//! ```json
//! {"history_id": "...", "targets": [{"destination": {"type": "hdas"}, "elements": [
//!   {"src": "files", "ext": "auto", "dbkey": "?", "to_posix_lines": true,
//!    "space_to_tab": false, "name": "reads.fq"}]}],
//!  "files_0|file_data": {"session_id": "<tus session>", "name": "reads.fq"},
//!  "auto_decompress": false}
//! ```
//!
//! The `src: files` elements take the `files_N|file_data` sessions in the order of N.
//! Elements may also be `src: pasted` (`paste_content`) or, for admins when
//! `allow_path_paste` is set, `src: path` (the file is copied). `src: url` and collection
//! destinations are refused with a 400. Each target becomes one finished upload job whose
//! outputs are its elements; the tus file is moved into place, never read into memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::client_address;
use super::tools::{run_response, target_history};
use crate::jobs::submit::{self, StagedUpload};
use crate::tools::paste::{self, Staged};
use crate::tools::{Tool, UPLOAD_TOOL_ID};
use crate::web::auth::Caller;
use crate::web::body::ApiBody;
use crate::web::tus::{TusStore, store_of};
use crate::web::{ApiError, AppState};

/// Where an element's content comes from.
#[derive(Debug)]
enum Source {
    /// A tus session id.
    Session(String),
    Pasted(String),
    Path(PathBuf),
}

#[derive(Debug)]
struct Element {
    source: Source,
    name: Option<String>,
    ext: String,
    to_posix_lines: bool,
    space_to_tab: bool,
    auto_decompress: bool,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

fn flag(obj: &Map<String, Value>, key: &str, default: bool, at: &str) -> Result<bool, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" | "" => Ok(false),
            _ => Err(bad(format!(
                "{at}: '{key}' must be true or false, not '{s}'."
            ))),
        },
        Some(other) => Err(bad(format!(
            "{at}: '{key}' must be true or false, not {other}."
        ))),
    }
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(format!("{at}: '{key}' must be a string, not {other}."))),
    }
}

/// The tus sessions of `files_N|file_data`, in the order of N.
fn file_sessions(payload: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let mut found = Vec::new();
    for (key, value) in payload {
        let Some(n) = key
            .strip_prefix("files_")
            .and_then(|k| k.strip_suffix("|file_data"))
        else {
            continue;
        };
        let n: usize = n
            .parse()
            .map_err(|_| bad(format!("'{key}': expected files_<number>|file_data.")))?;
        let session = match value {
            Value::Object(o) => o.get("session_id").and_then(Value::as_str),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
        .ok_or_else(|| bad(format!("'{key}' must hold a tus session_id.")))?;
        found.push((n, session.to_string()));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, s)| s).collect())
}

fn parse_targets(
    payload: &Map<String, Value>,
    caller: &Caller,
    allow_path_paste: bool,
) -> Result<Vec<Vec<Element>>, ApiError> {
    let sessions = file_sessions(payload)?;
    let mut sessions = sessions.into_iter();
    let auto_decompress = flag(payload, "auto_decompress", false, "the request")?;
    let targets = match payload.get("targets") {
        Some(Value::Array(t)) if !t.is_empty() => t,
        Some(Value::Array(_)) => return Err(bad("'targets' is empty.")),
        None | Some(Value::Null) => {
            return Err(ApiError::MissingParameter(
                "Missing required parameter 'targets'.".into(),
            ));
        }
        Some(_) => return Err(bad("'targets' must be a list.")),
    };
    let mut out = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        let at = format!("targets[{t}]");
        let target = target
            .as_object()
            .ok_or_else(|| bad(format!("{at} must be an object.")))?;
        let kind = target
            .get("destination")
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad(format!(
                    "{at}: 'destination' must be {{\"type\": \"hdas\"}}."
                ))
            })?;
        match kind {
            "hdas" => {}
            "hdca" => {
                return Err(bad(format!(
                    "{at}: fetching into a new collection (destination type 'hdca') is not supported yet."
                )));
            }
            other => {
                return Err(bad(format!(
                    "{at}: destination type '{other}' is not supported (use 'hdas')."
                )));
            }
        }
        let elements = match target.get("elements").or_else(|| target.get("items")) {
            Some(Value::Array(e)) if !e.is_empty() => e,
            _ => return Err(bad(format!("{at}: 'elements' must be a non-empty list."))),
        };
        let mut parsed = Vec::new();
        for (e, element) in elements.iter().enumerate() {
            let at = format!("{at}.elements[{e}]");
            let el = element
                .as_object()
                .ok_or_else(|| bad(format!("{at} must be an object.")))?;
            let src =
                text(el, "src", &at)?.ok_or_else(|| bad(format!("{at}: 'src' is missing.")))?;
            let source = match src {
                "files" => Source::Session(sessions.next().ok_or_else(|| {
                    bad(format!(
                        "{at}: src 'files' needs a tus upload in files_N|file_data ({{\"session_id\": ...}})."
                    ))
                })?),
                "pasted" => Source::Pasted(
                    text(el, "paste_content", &at)?
                        .ok_or_else(|| bad(format!("{at}: src 'pasted' needs 'paste_content'.")))?
                        .to_string(),
                ),
                "path" => {
                    if !caller.is_admin() {
                        return Err(ApiError::Forbidden(format!(
                            "{at}: only administrators may add files by path."
                        )));
                    }
                    if !allow_path_paste {
                        return Err(ApiError::Forbidden(format!(
                            "{at}: adding files by path needs allow_path_paste in galaxy.yml."
                        )));
                    }
                    let path = text(el, "path", &at)?
                        .ok_or_else(|| bad(format!("{at}: src 'path' needs 'path'.")))?;
                    let path = PathBuf::from(path);
                    if !path.is_absolute() {
                        return Err(bad(format!("{at}: 'path' must be absolute.")));
                    }
                    Source::Path(path)
                }
                "url" => {
                    return Err(bad(format!(
                        "{at}: src 'url' (fetching from a URL) is not supported by this server."
                    )));
                }
                other => {
                    return Err(bad(format!(
                        "{at}: src '{other}' is not supported (files, pasted, path)."
                    )));
                }
            };
            let ext = text(el, "ext", &at)?.unwrap_or("auto").trim().to_string();
            let ext = if ext.is_empty() {
                "auto".to_string()
            } else {
                ext
            };
            let valid_ext = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
            if !ext.chars().all(valid_ext) {
                return Err(bad(format!("{at}: '{ext}' is not a datatype extension.")));
            }
            text(el, "dbkey", &at)?;
            parsed.push(Element {
                source,
                name: text(el, "name", &at)?
                    .map(str::to_string)
                    .filter(|n| !n.trim().is_empty()),
                ext,
                to_posix_lines: flag(el, "to_posix_lines", true, &at)?,
                space_to_tab: flag(el, "space_to_tab", false, &at)?,
                auto_decompress: flag(el, "auto_decompress", auto_decompress, &at)?,
            });
        }
        out.push(parsed);
    }
    Ok(out)
}

/// An element's content staged beside the datasets; `Err` is why it could not be (the
/// dataset then fails), a request error stops the whole request.
fn stage(
    element: &Element,
    store: &TusStore,
    spool: &Path,
) -> Result<Result<(Staged, bool), String>, ApiError> {
    let raw = match &element.source {
        Source::Session(id) => {
            let (_, path) = store.complete_file(id)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match tempfile::TempPath::try_from_path(&path) {
                Ok(path) => Staged { path, size },
                Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
            }
        }
        Source::Pasted(text) => {
            match paste::stage(paste::PasteContent::Text(text.clone()), false, false, spool) {
                Ok(s) => s,
                Err(e) => return Ok(Err(format!("could not write the pasted content: {e}"))),
            }
        }
        Source::Path(path) => match copy_in(path, spool) {
            Ok(s) => s,
            Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
        },
    };
    let decompressed = if element.auto_decompress {
        match paste::is_gzip(&raw.path) {
            Ok(true) => paste::gunzip(raw, spool),
            Ok(false) => Ok(raw),
            Err(e) => Err(e),
        }
    } else {
        Ok(raw)
    };
    Ok(decompressed
        .and_then(|s| paste::stage_file(s, element.to_posix_lines, element.space_to_tab, spool))
        .map_err(|e| format!("could not prepare the upload: {e}")))
}

fn copy_in(path: &Path, spool: &Path) -> std::io::Result<Staged> {
    std::fs::create_dir_all(spool)?;
    let (mut out, temp) = tempfile::Builder::new()
        .prefix(".fetch-")
        .suffix(".tmp")
        .tempfile_in(spool)?
        .into_parts();
    let mut input = std::fs::File::open(path)?;
    let size = std::io::copy(&mut input, &mut out)?;
    Ok(Staged { path: temp, size })
}

pub(super) async fn fetch(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let payload = super::body_object(&body.0)?;
    let history_id = match payload.get("history_id") {
        Some(Value::String(s)) => Some(state.ids.decode(s)?),
        None | Some(Value::Null) => None,
        Some(_) => return Err(bad("'history_id' must be an encoded id string.")),
    };
    let allow_path_paste = state.env.settings.galaxy.allow_path_paste;
    let targets = parse_targets(&payload, &caller, allow_path_paste)?;
    let tool: Arc<Tool> = state
        .env
        .toolbox
        .get(UPLOAD_TOOL_ID)
        .cloned()
        .ok_or_else(|| {
            bad(format!(
                "Uploads need the tool '{UPLOAD_TOOL_ID}', which is not installed on this server."
            ))
        })?;
    // Every session named must be the caller's before anything is moved.
    let store = store_of(&state);
    for element in targets.iter().flatten() {
        if let Source::Session(id) = &element.source {
            let s = store.clone();
            let id = id.clone();
            let (session, _) = web::block(move || s.complete_file(&id)).await??;
            if !caller.can_access(session.owner) {
                return Err(crate::web::tus::TusError::NotFound(match &element.source {
                    Source::Session(id) => id.clone(),
                    _ => String::new(),
                })
                .into());
            }
        }
    }
    let client = client_address(&req);
    let spool = state.env.settings.galaxy.file_path.clone();
    let mut outputs = Vec::new();
    let mut jobs = Vec::new();
    for target in targets {
        let stage_store = store.clone();
        let spool = spool.clone();
        let uploads = web::block(move || -> Result<_, ApiError> {
            let mut uploads = Vec::new();
            for element in &target {
                let staged = stage(element, &stage_store, &spool)?;
                let file_type = match (&staged, element.ext.as_str()) {
                    (Ok((_, false)), "auto") => "data".to_string(),
                    _ => element.ext.clone(),
                };
                let name = element.name.clone().or_else(|| match &element.source {
                    Source::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
                    _ => None,
                });
                uploads.push(StagedUpload {
                    name,
                    file_type,
                    content: staged.map(|(s, _)| s),
                });
            }
            Ok((uploads, target))
        })
        .await??;
        let (uploads, target) = uploads;
        let env = state.env.clone();
        let tool = tool.clone();
        let client = client.clone();
        let caller = caller.clone();
        let (job, datasets) = state
            .db(move |c| {
                let history = target_history(c, &caller, history_id)?;
                Ok(submit::create_uploads(
                    &env,
                    c,
                    caller.user_id(),
                    history,
                    &tool,
                    uploads,
                    client.as_deref(),
                )?)
            })
            .await?;
        let store = store.clone();
        web::block(move || {
            for element in &target {
                if let Source::Session(id) = &element.source {
                    store.forget(id);
                }
            }
        })
        .await?;
        let one = run_response(&state.ids, &job, &datasets);
        if let Some(Value::Array(o)) = one.get("outputs") {
            outputs.extend(o.iter().cloned());
        }
        if let Some(Value::Array(j)) = one.get("jobs") {
            jobs.extend(j.iter().cloned());
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "outputs": outputs,
        "jobs": jobs,
        "implicit_collections": [],
        "output_collections": [],
        "produces_entry_points": false,
    })))
}
