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
//! `files_0|ftp_files` (`upload_from_ftp`) and `files_0|file_data` (multipart uploads) are
//! refused with a 400. `dbkey` is accepted and not recorded.

use serde_json::{Map, Value};

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

pub(crate) fn upload_request(inputs: &Map<String, Value>) -> Result<UploadRequest, ToolInputError> {
    for (key, what) in [("ftp_files", "FTP uploads"), ("file_data", "file uploads")] {
        if file_field(inputs, key).is_some_and(|v| v.as_str() != Some("")) {
            return Err(ToolInputError::Other(format!(
                "{what} (files_0|{key}) are not supported; paste the content as files_0|url_paste"
            )));
        }
    }
    let content = match file_field(inputs, "url_paste") {
        None => {
            return Err(ToolInputError::Param {
                name: "files_0|url_paste".into(),
                message: "no content was pasted".into(),
            });
        }
        Some(v) => text_of("files_0|url_paste", v)?,
    };
    if content.is_empty() {
        return Err(ToolInputError::Param {
            name: "files_0|url_paste".into(),
            message: "no content was pasted".into(),
        });
    }
    let name = file_field(inputs, "NAME")
        .map(|v| text_of("files_0|NAME", v))
        .transpose()?
        .filter(|n| !n.trim().is_empty());
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
    let content = if to_posix_lines {
        posix_lines(&content, space_to_tab)
    } else {
        content
    };
    Ok(UploadRequest {
        content,
        name,
        file_type,
    })
}

/// Galaxy's `convert_newlines` (and `sep2tabs` when `space_to_tab`): `\r\n` and `\r` become
/// `\n`, every line ends with `\n`; with `space_to_tab`, each line's whitespace-separated
/// fields are joined by one tab (what BioBlend's own test expects: `"\t".join(line.split())`).
fn posix_lines(content: &str, space_to_tab: bool) -> String {
    let unified = content.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len() + 1);
    for line in unified.lines() {
        if space_to_tab {
            let fields: Vec<&str> = line.split_whitespace().collect();
            out.push_str(&fields.join("\t"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::posix_lines;

    #[test]
    fn newlines_are_unified_and_terminated() {
        assert_eq!(posix_lines("a\r\nb\rc", false), "a\nb\nc\n");
        assert_eq!(posix_lines("a\n\nb\n", false), "a\n\nb\n");
    }

    #[test]
    fn space_to_tab_collapses_runs() {
        assert_eq!(posix_lines("a  b\t c   \n  d e", true), "a\tb\tc\nd\te\n");
    }
}
