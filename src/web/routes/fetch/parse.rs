//! Reading a fetch request's targets: each a list of elements for `hdas`, or a collection
//! (`hdca`: `collection_type`, `name`, `elements` nested as the type says) whose leaves are
//! the elements.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::db::queries::collections::{NewCollection, NewElement};
use crate::web::ApiError;
use crate::web::auth::Caller;

/// Where an element's content comes from.
#[derive(Debug)]
pub(super) enum Source {
    /// A tus session id.
    Session(String),
    Pasted(String),
    Path(PathBuf),
    /// An `http://` or `https://` URL.
    Url(String),
}

#[derive(Debug)]
pub(super) struct Element {
    pub source: Source,
    pub name: Option<String>,
    pub ext: String,
    pub to_posix_lines: bool,
    pub space_to_tab: bool,
    pub auto_decompress: bool,
}

/// A target: its elements in order (depth first for a collection) and, for `hdca`, the
/// collection's name and structure, leaves the indexes of the elements.
#[derive(Debug)]
pub(super) struct Target {
    pub elements: Vec<Element>,
    pub collection: Option<(String, NewCollection<usize>)>,
}

pub(super) fn bad(msg: impl Into<String>) -> ApiError {
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

/// What every element parse needs.
struct Ctx<'a> {
    sessions: std::vec::IntoIter<String>,
    caller: &'a Caller,
    allow_path_paste: bool,
    auto_decompress: bool,
}

impl Ctx<'_> {
    /// Paths (and `file://` URLs) are for administrators, when `allow_path_paste` is set.
    fn may_use_paths(&self, at: &str, what: &str) -> Result<(), ApiError> {
        if !self.caller.is_admin() {
            return Err(ApiError::Forbidden(format!(
                "{at}: only administrators may add files by {what}."
            )));
        }
        if !self.allow_path_paste {
            return Err(ApiError::Forbidden(format!(
                "{at}: adding files by {what} needs allow_path_paste in galaxy.yml."
            )));
        }
        Ok(())
    }
}

pub(super) fn parse_targets(
    payload: &Map<String, Value>,
    caller: &Caller,
    allow_path_paste: bool,
) -> Result<Vec<Target>, ApiError> {
    let mut ctx = Ctx {
        sessions: file_sessions(payload)?.into_iter(),
        caller,
        allow_path_paste,
        auto_decompress: flag(payload, "auto_decompress", false, "the request")?,
    };
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
                    "{at}: 'destination' must be {{\"type\": \"hdas\"}} or {{\"type\": \"hdca\"}}."
                ))
            })?;
        let items = match target.get("elements").or_else(|| target.get("items")) {
            Some(Value::Array(e)) if !e.is_empty() => e,
            _ => return Err(bad(format!("{at}: 'elements' must be a non-empty list."))),
        };
        let mut elements = Vec::new();
        let collection = match kind {
            "hdas" => {
                for (e, element) in items.iter().enumerate() {
                    let at = format!("{at}.elements[{e}]");
                    elements.push(parse_leaf(&mut ctx, element, &at)?);
                }
                None
            }
            "hdca" => {
                let collection_type = text(target, "collection_type", &at)?.ok_or_else(|| {
                    bad(format!(
                        "{at}: a collection target needs 'collection_type' ('list', 'paired', \
                         'list:paired')."
                    ))
                })?;
                let structure = parse_level(&mut ctx, collection_type, items, &at, &mut elements)?;
                let name = text(target, "name", &at)?
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or("Unnamed collection")
                    .to_string();
                Some((name, structure))
            }
            other => {
                return Err(bad(format!(
                    "{at}: destination type '{other}' is not supported (use 'hdas' or 'hdca')."
                )));
            }
        };
        out.push(Target {
            elements,
            collection,
        });
    }
    Ok(out)
}

/// One level of a collection target: its `items` as the `collection_type` says, leaves
/// appended to `elements`.
fn parse_level(
    ctx: &mut Ctx<'_>,
    collection_type: &str,
    items: &[Value],
    at: &str,
    elements: &mut Vec<Element>,
) -> Result<NewCollection<usize>, ApiError> {
    super::super::collections::check_type(collection_type)?;
    let (outer, rest) = match collection_type.split_once(':') {
        Some((o, r)) => (o, Some(r)),
        None => (collection_type, None),
    };
    let mut level: Vec<(String, NewElement<usize>)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}.elements[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| bad(format!("{here} must be an object.")))?;
        let name = text(obj, "name", &here)?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "{here}: 'name' (the element identifier) is required in a collection."
                ))
            })?
            .to_string();
        if level.iter().any(|(n, _)| *n == name) {
            return Err(bad(format!(
                "{here}: the identifier '{name}' is used twice."
            )));
        }
        let element = match rest {
            None => {
                if obj.contains_key("elements") {
                    return Err(bad(format!(
                        "{here}: a '{collection_type}' collection holds datasets, not nested \
                         'elements'."
                    )));
                }
                elements.push(parse_leaf(ctx, item, &here)?);
                NewElement::Dataset(elements.len() - 1)
            }
            Some(rest) => {
                if let Some(inner) = text(obj, "collection_type", &here)?
                    && inner != rest
                {
                    return Err(bad(format!(
                        "{here}: a '{collection_type}' collection holds '{rest}' collections, \
                         not '{inner}'."
                    )));
                }
                let Some(Value::Array(inner)) = obj.get("elements") else {
                    return Err(bad(format!(
                        "{here}: a '{collection_type}' collection holds '{rest}' collections: \
                         give this element its 'elements'."
                    )));
                };
                NewElement::Collection(parse_level(ctx, rest, inner, &here, elements)?)
            }
        };
        level.push((name, element));
    }
    if outer == "paired" {
        let names: Vec<&str> = level.iter().map(|(n, _)| n.as_str()).collect();
        if names != ["forward", "reverse"] {
            return Err(bad(format!(
                "{at}: a 'paired' collection has exactly the elements 'forward' and 'reverse', \
                 in that order (found {names:?})."
            )));
        }
    }
    if level.is_empty() {
        return Err(bad(format!("{at}: a collection needs elements.")));
    }
    Ok(NewCollection {
        collection_type: collection_type.to_string(),
        elements: level,
    })
}

fn parse_leaf(ctx: &mut Ctx<'_>, element: &Value, at: &str) -> Result<Element, ApiError> {
    let el = element
        .as_object()
        .ok_or_else(|| bad(format!("{at} must be an object.")))?;
    let src = text(el, "src", at)?.ok_or_else(|| bad(format!("{at}: 'src' is missing.")))?;
    let source = match src {
        "files" => Source::Session(ctx.sessions.next().ok_or_else(|| {
            bad(format!(
                "{at}: src 'files' needs a tus upload in files_N|file_data ({{\"session_id\": ...}})."
            ))
        })?),
        "pasted" => Source::Pasted(
            text(el, "paste_content", at)?
                .ok_or_else(|| bad(format!("{at}: src 'pasted' needs 'paste_content'.")))?
                .to_string(),
        ),
        "path" => {
            ctx.may_use_paths(at, "path")?;
            let path =
                text(el, "path", at)?.ok_or_else(|| bad(format!("{at}: src 'path' needs 'path'.")))?;
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(bad(format!("{at}: 'path' must be absolute.")));
            }
            Source::Path(path)
        }
        "url" => {
            let url = text(el, "url", at)?
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .ok_or_else(|| bad(format!("{at}: src 'url' needs 'url'.")))?;
            let scheme = url
                .split_once("://")
                .map(|(s, _)| s.to_ascii_lowercase())
                .unwrap_or_default();
            match scheme.as_str() {
                "http" | "https" => Source::Url(url.to_string()),
                "file" => {
                    ctx.may_use_paths(at, "file:// URL")?;
                    let path = PathBuf::from(&url["file://".len()..]);
                    if !path.is_absolute() {
                        return Err(bad(format!(
                            "{at}: '{url}' must name an absolute path (file:///...)."
                        )));
                    }
                    Source::Path(path)
                }
                _ => {
                    return Err(bad(format!(
                        "{at}: '{url}' is not an http://, https:// or file:// URL."
                    )));
                }
            }
        }
        other => {
            return Err(bad(format!(
                "{at}: src '{other}' is not supported (files, pasted, path, url)."
            )));
        }
    };
    let ext = text(el, "ext", at)?.unwrap_or("auto").trim().to_string();
    let ext = if ext.is_empty() {
        "auto".to_string()
    } else {
        ext
    };
    let valid_ext = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !ext.chars().all(valid_ext) {
        return Err(bad(format!("{at}: '{ext}' is not a datatype extension.")));
    }
    text(el, "dbkey", at)?;
    Ok(Element {
        source,
        name: text(el, "name", at)?
            .map(str::to_string)
            .filter(|n| !n.trim().is_empty()),
        ext,
        to_posix_lines: flag(el, "to_posix_lines", true, at)?,
        space_to_tab: flag(el, "space_to_tab", false, at)?,
        auto_decompress: flag(el, "auto_decompress", ctx.auto_decompress, at)?,
    })
}
