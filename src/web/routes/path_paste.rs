//! `upload1` with `files_0|url_paste: "file:///abs/path"`: Galaxy's path paste, what
//! `galaxy-tool-test --force_path_paste` sends. As with `POST /api/tools/fetch`'s `src: path`,
//! only administrators may, and only when `allow_path_paste` is set; the file is copied in and
//! staged as an uploaded file (gzip decompressed, text converted).

use std::io::Read;
use std::path::{Path, PathBuf};

use actix_web::web;
use serde_json::{Map, Value};

use crate::tools::paste::{PasteWriter, PastedFile};
use crate::web::{ApiError, AppState, auth::Caller};

const KEY: &str = "files_0|url_paste";
/// Longest `file://` URL looked for in streamed pasted content.
const MAX_URL: u64 = 4096;

/// When the upload's `url_paste` is a `file://` URL: checks the caller may, copies the file
/// into the spool directory and takes the URL out of `inputs`; the copy becomes the upload's
/// content. Anything else is left as it is.
pub(crate) async fn take(
    state: &AppState,
    caller: &Caller,
    inputs: &mut Map<String, Value>,
    pasted: &mut Option<PastedFile>,
) -> Result<(), ApiError> {
    // A JSON body's url_paste was streamed to disk: a short one may still be a file:// URL.
    let streamed = match pasted.as_ref().filter(|f| f.size() <= MAX_URL) {
        Some(f) => std::fs::read_to_string(f.path()).ok(),
        None => None,
    };
    let url = inputs
        .get(KEY)
        .and_then(Value::as_str)
        .or(streamed.as_deref());
    let Some(path) = url
        .map(str::trim)
        .filter(|u| !u.contains('\n'))
        .and_then(|u| u.strip_prefix("file://"))
        .map(PathBuf::from)
    else {
        return Ok(());
    };
    if !caller.is_admin() {
        return Err(ApiError::Forbidden(format!(
            "{KEY}: only administrators may upload files by path (file://)."
        )));
    }
    if !state.env.settings.galaxy.allow_path_paste {
        return Err(ApiError::Forbidden(format!(
            "{KEY}: uploading files by path (file://) needs allow_path_paste in galaxy.yml."
        )));
    }
    if !path.is_absolute() {
        return Err(ApiError::BadRequest(format!(
            "{KEY}: a file:// path must be absolute, not '{}'.",
            path.display()
        )));
    }
    let spool = state.env.settings.galaxy.file_path.clone();
    let file = web::block(move || copy_in(&path, &spool)).await??;
    inputs.remove(KEY);
    if inputs.get("files_0|NAME").is_none_or(Value::is_null) {
        inputs.insert("files_0|NAME".into(), Value::String(file.1));
    }
    *pasted = Some(file.0);
    Ok(())
}

/// The file copied into a temporary file of `spool`, and its name.
fn copy_in(path: &Path, spool: &Path) -> Result<(PastedFile, String), ApiError> {
    let not_readable = |e: std::io::Error| {
        ApiError::BadRequest(format!("{KEY}: cannot read {}: {e}", path.display()))
    };
    let mut input = std::fs::File::open(path).map_err(not_readable)?;
    if !input.metadata().map_err(not_readable)?.is_file() {
        return Err(ApiError::BadRequest(format!(
            "{KEY}: {} is not a file.",
            path.display()
        )));
    }
    let spool_error =
        |e: std::io::Error| ApiError::Internal(format!("copying into {}: {e}", spool.display()));
    let mut writer = PasteWriter::create_raw(spool).map_err(spool_error)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(not_readable)?;
        if n == 0 {
            break;
        }
        writer.write(&buf[..n]).map_err(spool_error)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((writer.finish().map_err(spool_error)?, name))
}
