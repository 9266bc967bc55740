//! `upload1` as BioBlend's `ToolClient.paste_content` (and `put_url`) posts it:
//!
//! ```json
//! {"tool_id": "upload1", "history_id": "...", "inputs": {
//!   "file_type": "auto", "dbkey": "?", "files_0|type": "upload_dataset",
//!   "files_0|url_paste": "<content>", "files_0|NAME": "<file_name>",
//!   "files_0|to_posix_lines": false, "files_0|space_to_tab": "Yes"}}
//! ```
//!
//! The nested forms `{"files_0": {"url_paste": ...}}` and `{"files": [{"url_paste": ...}]}` are
//! accepted too. `url_paste` is stored as the dataset's content (URLs in it are not fetched).
//! A body read by the API streams the first pasted content it holds to disk
//! ([`PastedFile`]); that content is the upload's, whichever of the forms carried it.
//! A multipart body's file part (`files_0|file_data`, what BioBlend's legacy upload and
//! galaxy-tool-test send) arrives as that on-disk content too. `files_0|ftp_files`
//! (`upload_from_ftp`), and `files_0|file_data` given as a plain field, are refused with a
//! 400. `dbkey` is accepted and not recorded.

use serde_json::{Map, Value};

use super::paste::{PasteContent, PastedFile};
use super::{ToolInputError, UploadRequest};

/// The value for `files_0|<key>` in any accepted shape.
fn file_field<'a>(inputs: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let flat = inputs.get(&format!("files_0|{key}"));
    let nested = || match inputs.get("files_0") {
        Some(Value::Object(o)) => o.get(key),
        _ => None,
    };
    let listed = || match inputs.get("files") {
        Some(Value::Array(items)) => items.first().and_then(|f| f.get(key)),
        _ => None,
    };
    flat.or_else(nested)
        .or_else(listed)
        .filter(|v| !v.is_null())
}

fn text_of(key: &str, value: &Value) -> Result<String, ToolInputError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ToolInputError::Param {
            name: key.to_string(),
            message: format!("expected text, got {other}"),
        }),
    }
}

/// Galaxy's checkbox spellings: `true`, `"Yes"`, `"true"`, ...
fn flag(key: &str, value: Option<&Value>, default: bool) -> Result<bool, ToolInputError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let text = text_of(key, value)?;
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" | "" | "none" => Ok(false),
        _ => Err(ToolInputError::Param {
            name: key.to_string(),
            message: format!("expected Yes or No, got '{text}'"),
        }),
    }
}

pub(crate) fn upload_request(
    inputs: &Map<String, Value>,
    pasted: Option<PastedFile>,
) -> Result<UploadRequest, ToolInputError> {
    for (key, what) in [
        ("ftp_files", "FTP uploads are not supported"),
        ("file_data", "a file upload must be a multipart file part"),
    ] {
        if file_field(inputs, key).is_some_and(|v| v.as_str() != Some("")) {
            return Err(ToolInputError::Other(format!(
                "{what} (files_0|{key}); or paste the content as files_0|url_paste"
            )));
        }
    }
    let content = match (pasted, file_field(inputs, "url_paste")) {
        (Some(file), _) => PasteContent::File(file),
        (None, Some(v)) => PasteContent::Text(text_of("files_0|url_paste", v)?),
        (None, None) => {
            return Err(ToolInputError::Param {
                name: "files_0|url_paste".into(),
                message: "no content was pasted".into(),
            });
        }
    };
    if content.is_empty() {
        return Err(ToolInputError::Param {
            name: "files_0|url_paste".into(),
            message: "no content was pasted".into(),
        });
    }
    let options = upload_options(inputs)?;
    Ok(UploadRequest {
        content,
        name: options.name,
        file_type: options.file_type,
        to_posix_lines: options.to_posix_lines,
        space_to_tab: options.space_to_tab,
    })
}

/// How an upload is to be stored: its name, datatype and line conversions.
pub struct UploadOptions {
    pub name: Option<String>,
    /// `auto` when not given.
    pub file_type: String,
    pub to_posix_lines: bool,
    pub space_to_tab: bool,
}

/// The options of `files_0` (`files_0|NAME`, `file_type`, `files_0|to_posix_lines`,
/// `files_0|space_to_tab`), whatever carries the content (a paste, or a multipart file part).
pub fn upload_options(inputs: &Map<String, Value>) -> Result<UploadOptions, ToolInputError> {
    let name = file_field(inputs, "NAME")
        .map(|v| text_of("files_0|NAME", v))
        .transpose()?
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            // A multipart file part's own name (`web::body::form`).
            inputs
                .get("__files_0_filename")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .map(str::to_string)
        });
    let file_type = match inputs.get("file_type").filter(|v| !v.is_null()) {
        None => "auto".to_string(),
        Some(v) => text_of("file_type", v)?.trim().to_string(),
    };
    let file_type = if file_type.is_empty() {
        "auto".to_string()
    } else {
        file_type
    };
    let valid_ext = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !file_type.chars().all(valid_ext) {
        return Err(ToolInputError::Param {
            name: "file_type".into(),
            message: format!("'{file_type}' is not a datatype extension"),
        });
    }
    let to_posix_lines = flag(
        "files_0|to_posix_lines",
        file_field(inputs, "to_posix_lines"),
        true,
    )?;
    let space_to_tab = flag(
        "files_0|space_to_tab",
        file_field(inputs, "space_to_tab"),
        false,
    )?;
    Ok(UploadOptions {
        name,
        file_type,
        to_posix_lines,
        space_to_tab,
    })
}
