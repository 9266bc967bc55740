//! Dataset collections: creating one in a history from the caller's datasets
//! (`POST /api/histories/{id}/contents` with `type: dataset_collection`, BioBlend's
//! `create_dataset_collection`) and showing one.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};

use super::body_object;
use super::histories::accessible_history;
use crate::db::queries::collections::{self, Collection, Hdca, NewCollection, NewElement, NewHdca};
use crate::db::queries::datasets;
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, IdEncoder, auth::Caller, json};

/// Deepest nesting accepted (`list:list:paired` …).
const MAX_DEPTH: usize = 4;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/histories/{id}/contents", web::post().to(create))
        .route(
            "/histories/{history_id}/contents/dataset_collections/{id}",
            web::get().to(show_in_history),
        )
        .route("/dataset_collections/{id}", web::get().to(show));
}

/// Loads a collection the caller may see, with its elements: 404 when missing, 403 when
/// someone else's.
pub(crate) fn accessible_hdca(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<(Hdca, Collection), ApiError> {
    let h = collections::find_hdca(c, id)?
        .ok_or_else(|| ApiError::NotFound("Dataset collection not found.".into()))?;
    if !caller.can_access(h.user_id) {
        return Err(ApiError::Forbidden(
            "Dataset collection is not accessible by the current user.".into(),
        ));
    }
    let coll = collections::load_collection(c, h.collection_id)?
        .ok_or_else(|| ApiError::NotFound("Dataset collection not found.".into()))?;
    Ok((h, coll))
}

/// The collection types this server builds: `list`, `paired`, nested with `:`.
pub(super) fn check_type(collection_type: &str) -> Result<(), ApiError> {
    let levels: Vec<&str> = collection_type.split(':').collect();
    if levels.len() > MAX_DEPTH || levels.iter().any(|l| !matches!(*l, "list" | "paired")) {
        return Err(ApiError::BadRequest(format!(
            "Unsupported collection_type '{collection_type}': use 'list', 'paired' or a nesting \
             of them such as 'list:paired'."
        )));
    }
    Ok(())
}

fn str_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{at}: '{key}' must be a string."
        ))),
    }
}

/// `element_identifiers` as BioBlend's `CollectionDescription` sends them: leaves
/// `{"name", "src": "hda", "id"}`, sub-collections `{"name", "src": "new_collection",
/// "collection_type", "element_identifiers"}`. Leaves are decoded dataset ids.
fn parse_elements(
    ids: &IdEncoder,
    collection_type: &str,
    value: Option<&Value>,
    at: &str,
) -> Result<NewCollection<i64>, ApiError> {
    check_type(collection_type)?;
    let Some(Value::Array(items)) = value else {
        return Err(ApiError::BadRequest(format!(
            "{at}: 'element_identifiers' must be a list."
        )));
    };
    let (outer, rest) = match collection_type.split_once(':') {
        Some((o, r)) => (o, Some(r)),
        None => (collection_type, None),
    };
    let mut elements = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}.element_identifiers[{i}]");
        let Value::Object(item) = item else {
            return Err(ApiError::BadRequest(format!("{here}: must be an object.")));
        };
        let name = str_field(item, "name", &here)?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("{here}: 'name' is required.")))?;
        if elements.iter().any(|(n, _): &(String, _)| n == name) {
            return Err(ApiError::BadRequest(format!(
                "{here}: the identifier '{name}' is used twice."
            )));
        }
        let src = str_field(item, "src", &here)?.unwrap_or("hda");
        let element = match (src, rest) {
            ("hda", None) => {
                let id = match item.get("id") {
                    Some(Value::String(s)) => ids.decode(s)?,
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "{here}: 'id' must be an encoded dataset id."
                        )));
                    }
                };
                NewElement::Dataset(id)
            }
            ("new_collection", Some(rest)) => {
                let inner_type = str_field(item, "collection_type", &here)?.unwrap_or(rest);
                if inner_type != rest {
                    return Err(ApiError::BadRequest(format!(
                        "{here}: a '{collection_type}' collection holds '{rest}' collections, \
                         not '{inner_type}'."
                    )));
                }
                NewElement::Collection(parse_elements(
                    ids,
                    rest,
                    item.get("element_identifiers"),
                    &here,
                )?)
            }
            ("hda", Some(rest)) => {
                return Err(ApiError::BadRequest(format!(
                    "{here}: a '{collection_type}' collection holds '{rest}' collections \
                     (src 'new_collection'), not datasets."
                )));
            }
            ("new_collection", None) => {
                return Err(ApiError::BadRequest(format!(
                    "{here}: a '{collection_type}' collection holds datasets (src 'hda')."
                )));
            }
            (other, _) => {
                return Err(ApiError::BadRequest(format!(
                    "{here}: unsupported src '{other}' (use 'hda' or 'new_collection')."
                )));
            }
        };
        elements.push((name.to_string(), element));
    }
    if outer == "paired" {
        let names: Vec<&str> = elements.iter().map(|(n, _)| n.as_str()).collect();
        if names != ["forward", "reverse"] {
            return Err(ApiError::BadRequest(format!(
                "{at}: a 'paired' collection has exactly the elements 'forward' and 'reverse', \
                 in that order."
            )));
        }
    }
    Ok(NewCollection {
        collection_type: collection_type.to_string(),
        elements,
    })
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let history_id = state.ids.decode(&path)?;
    let payload = body_object(&body)?;
    match payload.get("type") {
        Some(Value::String(t)) if t == "dataset_collection" => {}
        Some(Value::String(t)) => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported content type '{t}': this route creates 'dataset_collection' \
                 contents."
            )));
        }
        _ => {
            return Err(ApiError::BadRequest(
                "'type' is required and must be 'dataset_collection'.".into(),
            ));
        }
    }
    let collection_type = match payload.get("collection_type") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::BadRequest(
                "'collection_type' is required and must be a string.".into(),
            ));
        }
    };
    let name = str_field(&payload, "name", "payload")?
        .unwrap_or("Unnamed collection")
        .to_string();
    if let Some(v) = payload.get("copy_elements")
        && !(v.is_boolean() || v.is_null())
    {
        return Err(ApiError::BadRequest(
            "'copy_elements' must be a boolean.".into(),
        ));
    }
    let tree = parse_elements(
        &state.ids,
        &collection_type,
        payload.get("element_identifiers"),
        "payload",
    )?;
    let ids = state.ids.clone();
    let (h, coll) = state
        .db(move |c| {
            let history = accessible_history(c, &caller, history_id)?;
            let wanted: Vec<i64> = tree.leaves().into_iter().copied().collect();
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
            let new = NewHdca {
                name,
                implicit_output_name: None,
                collection: tree,
            };
            let made = collections::create_hdca(c, history.id, history.user_id, &new)?;
            accessible_hdca(c, &caller, made.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::hdca(&state.ids, &h, &coll)))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let (h, coll) = state.db(move |c| accessible_hdca(c, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(json::hdca(&state.ids, &h, &coll)))
}

async fn show_in_history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, cid) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let id = state.ids.decode(&cid)?;
    let (h, coll) = state
        .db(move |c| {
            accessible_history(c, &caller, history_id)?;
            let (h, coll) = accessible_hdca(c, &caller, id)?;
            if h.history_id != history_id {
                return Err(ApiError::NotFound(
                    "Dataset collection not found in this history.".into(),
                ));
            }
            Ok((h, coll))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::hdca(&state.ids, &h, &coll)))
}
