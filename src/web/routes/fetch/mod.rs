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
//! The `src: files` elements take the `files_N|file_data` sessions in the order of N (depth
//! first through a collection target). Elements may also be `src: pasted` (`paste_content`),
//! `src: url` (`http://`, `https://`; `file://` as a path), or, for admins when
//! `allow_path_paste` is set, `src: path` (the file is copied). A target with
//! `destination: {"type": "hdca"}`, a `collection_type` (`list`, `paired`, `list:paired`, …),
//! a `name` and nested `elements` (each `name` an element identifier) becomes a collection
//! of its datasets (`parse.rs`). Each target becomes one finished upload job whose outputs
//! are its elements, created with its collection in one transaction
//! (`jobs::submit::create_uploads_in`); the tus file is moved into place and URLs are
//! streamed to disk (`web::download`), never read into memory. A URL that cannot be fetched
//! fails the request (400 naming it) before anything is created.

mod parse;

use std::path::Path;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use self::parse::{Element, Source, Target, bad, parse_targets};
use super::client_address;
use super::tools::{run_response, target_history, upload_output_name};
use crate::config::{ByteSize, IpAllowlist};
use crate::jobs::submit::{self, StagedUpload, UploadCollection};
use crate::tools::paste::{self, Staged};
use crate::tools::{Tool, UPLOAD_TOOL_ID};
use crate::web::auth::Caller;
use crate::web::body::ApiBody;
use crate::web::download;
use crate::web::tus::{TusStore, store_of};
use crate::web::{ApiError, AppState};

/// An element's content staged beside the datasets; `Err` is why it could not be (the
/// dataset then fails), a request error stops the whole request.
fn stage(
    element: &Element,
    downloaded: Option<Staged>,
    store: &TusStore,
    spool: &Path,
) -> Result<Result<(Staged, bool), String>, ApiError> {
    let raw = match (&element.source, downloaded) {
        (_, Some(staged)) => staged,
        (Source::Url(url), None) => {
            return Ok(Err(format!("'{url}' was not fetched")));
        }
        (Source::Session(id), None) => {
            let (_, path) = store.complete_file(id)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match tempfile::TempPath::try_from_path(&path) {
                Ok(path) => Staged { path, size },
                Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
            }
        }
        (Source::Pasted(text), None) => {
            match paste::stage(paste::PasteContent::Text(text.clone()), false, false, spool) {
                Ok(s) => s,
                Err(e) => return Ok(Err(format!("could not write the pasted content: {e}"))),
            }
        }
        (Source::Path(path), None) => match copy_in(path, spool) {
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

/// Downloads the URL elements of a target (`None` for the others).
fn download_urls(
    target: &Target,
    spool: &Path,
    limit: ByteSize,
    allowlist: &IpAllowlist,
) -> Result<Vec<Option<Staged>>, ApiError> {
    let mut downloaded = Vec::with_capacity(target.elements.len());
    for element in &target.elements {
        downloaded.push(match &element.source {
            Source::Url(url) => Some(download::download(
                url,
                limit,
                download::Timeouts::DEFAULT,
                allowlist,
                spool,
            )?),
            _ => None,
        });
    }
    Ok(downloaded)
}

/// Stages a target's elements, its URLs already downloaded.
fn stage_target(
    target: &Target,
    downloaded: Vec<Option<Staged>>,
    store: &TusStore,
    spool: &Path,
) -> Result<Vec<StagedUpload>, ApiError> {
    let mut uploads = Vec::with_capacity(target.elements.len());
    for (element, downloaded) in target.elements.iter().zip(downloaded) {
        let staged = stage(element, downloaded, store, spool)?;
        let file_type = match (&staged, element.ext.as_str()) {
            (Ok((_, false)), "auto") => "data".to_string(),
            _ => element.ext.clone(),
        };
        let name = element.name.clone().or_else(|| match &element.source {
            Source::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Source::Url(url) => Some(download::name_of(url)),
            _ => None,
        });
        uploads.push(StagedUpload {
            name,
            file_type,
            content: staged.map(|(s, _)| s),
        });
    }
    Ok(uploads)
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
    for element in targets.iter().flat_map(|t| &t.elements) {
        if let Source::Session(id) = &element.source {
            let s = store.clone();
            let sid = id.clone();
            let (session, _) = web::block(move || s.complete_file(&sid)).await??;
            if !caller.can_access(session.owner) {
                return Err(crate::web::tus::TusError::NotFound(id.clone()).into());
            }
        }
    }
    let client = client_address(&req);
    let spool = state.env.settings.galaxy.file_path.clone();
    let limit = state.env.settings.galaxy.upload_body_limit;
    // Checked when the configuration was loaded.
    let allowlist = IpAllowlist::parse(&state.env.settings.galaxy.fetch_url_allowlist)
        .map_err(|e| ApiError::Internal(format!("galaxy.fetch_url_allowlist: {e}")))?;
    let stage_store = store.clone();
    let staged = web::block(move || -> Result<_, ApiError> {
        // Every URL first: one that fails stops the request before any tus session is taken.
        let mut downloads = Vec::with_capacity(targets.len());
        for target in &targets {
            downloads.push(download_urls(target, &spool, limit, &allowlist)?);
        }
        let mut all = Vec::with_capacity(targets.len());
        for (target, downloaded) in targets.into_iter().zip(downloads) {
            let uploads = stage_target(&target, downloaded, &stage_store, &spool)?;
            all.push((target, uploads));
        }
        Ok(all)
    })
    .await??;
    let mut outputs = Vec::new();
    let mut jobs = Vec::new();
    let mut collections = Vec::new();
    for (target, uploads) in staged {
        let env = state.env.clone();
        let tool = tool.clone();
        let client = client.clone();
        let caller = caller.clone();
        let collection = target
            .collection
            .as_ref()
            .map(|(name, structure)| UploadCollection {
                name: name.clone(),
                structure: structure.clone(),
            });
        let made = state
            .db(move |c| {
                let history = target_history(c, &caller, history_id)?;
                Ok(submit::create_uploads_in(
                    &env,
                    c,
                    caller.user_id(),
                    history,
                    &tool,
                    uploads,
                    collection,
                    client.as_deref(),
                )?)
            })
            .await?;
        let store = store.clone();
        web::block(move || {
            for element in &target.elements {
                if let Source::Session(id) = &element.source {
                    store.forget(id);
                }
            }
        })
        .await?;
        let named: Vec<_> = made
            .datasets
            .iter()
            .enumerate()
            .map(|(i, d)| (upload_output_name(&state.env.toolbox, i), d.clone()))
            .collect();
        let one = run_response(&state.ids, &made.job, &named);
        if let Some(Value::Array(o)) = one.get("outputs") {
            outputs.extend(o.iter().cloned());
        }
        if let Some(Value::Array(j)) = one.get("jobs") {
            jobs.extend(j.iter().cloned());
        }
        if let Some((h, row, output_name)) = &made.collection {
            let mut v = crate::web::json::hdca_summary(&state.ids, h, row);
            v["output_name"] = json!(output_name);
            collections.push(v);
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "outputs": outputs,
        "jobs": jobs,
        "implicit_collections": [],
        "output_collections": collections,
        "produces_entry_points": false,
    })))
}
