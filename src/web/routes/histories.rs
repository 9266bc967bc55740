use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::datasets::{DisplayQuery, display_dataset};
use super::{body_object, query_bool};
use crate::db::models::{Dataset, History};
use crate::db::queries::datasets::{DatasetChanges, Purge};
use crate::db::queries::histories::HistoryChanges;
use crate::db::queries::{collections, datasets, histories};
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/histories", web::get().to(list))
        .route("/histories", web::post().to(create))
        .route("/histories/most_recently_used", web::get().to(most_recent))
        .route("/histories/{id}", web::get().to(show))
        .route("/histories/{id}", web::put().to(update))
        .route("/histories/{id}", web::delete().to(delete))
        .route("/histories/deleted/{id}/undelete", web::post().to(undelete))
        .route("/histories/{id}/contents", web::get().to(contents))
        .route(
            "/histories/{id}/contents/{content_id}",
            web::get().to(content),
        )
        .route(
            "/histories/{id}/contents/{content_id}",
            web::put().to(update_content),
        )
        .route(
            "/histories/{id}/contents/{content_id}",
            web::delete().to(delete_content),
        )
        .route(
            "/histories/{id}/contents/{content_id}/display",
            web::get().to(display_content),
        );
}

/// Loads a history the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_history(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<History, ApiError> {
    let h = histories::find_history(c, id)?
        .ok_or_else(|| ApiError::NotFound("History not found.".into()))?;
    if !caller.can_access(h.user_id) {
        return Err(ApiError::Forbidden(
            "History is not accessible by the current user.".into(),
        ));
    }
    Ok(h)
}

/// `GET /api/histories`: the live histories, or the deleted ones with `deleted=true` or
/// `q=deleted&qv=True` (as BioBlend's `get_histories(deleted=True)` asks); Galaxy's other
/// filters are not applied here (BioBlend filters names itself).
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let filter = caller
        .user_id()
        .or(if caller.is_admin() { None } else { Some(-1) });
    let params = q.into_inner();
    let keys: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
        .collect();
    let values: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "qv")
        .map(|(_, v)| v.as_str())
        .collect();
    if keys.len() != values.len() {
        return Err(ApiError::BadRequest(format!(
            "Got {} 'q' filters but {} 'qv' values; they go in pairs.",
            keys.len(),
            values.len()
        )));
    }
    let mut deleted = false;
    let direct = params
        .iter()
        .filter(|(k, _)| k == "deleted")
        .map(|(_, v)| v.as_str());
    let queried = keys
        .iter()
        .zip(&values)
        .filter(|(k, _)| matches!(**k, "deleted" | "deleted-eq"))
        .map(|(_, v)| *v);
    for v in direct.chain(queried) {
        deleted = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" | "" => false,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "Parameter 'deleted' must be true or false, not '{v}'."
                )));
            }
        };
    }
    let list = state
        .db(move |c| Ok(histories::list_histories_deleted(c, filter, deleted)?))
        .await?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .map(|h| json::history(&state.ids, h, None))
            .collect::<Vec<_>>(),
    ))
}

async fn create(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    // Galaxy's tool-test client posts `{"name": ...}` as a form.
    let payload = if crate::web::body::is_urlencoded(&req) {
        crate::web::body::form_fields(&body)?
    } else {
        body_object(&body)?
    };
    let name = match payload.get("name") {
        None | Some(serde_json::Value::Null) => "Unnamed history".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "Parameter 'name' must be a string.".into(),
            ));
        }
    };
    let user = caller.user_id();
    let h = state
        .db(move |c| Ok(histories::create_history(c, user, &name)?))
        .await?;
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, Some(&[]))))
}

async fn most_recent(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let user = caller.user_id();
    let h = state
        .db(move |c| Ok(histories::most_recent_history(c, user)?))
        .await?;
    let h = h.ok_or_else(|| ApiError::NotFound("No history yet.".into()))?;
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, None)))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let (h, ds) = state
        .db(move |c| {
            let h = accessible_history(c, &caller, id)?;
            let ds = datasets::history_datasets(c, id)?;
            Ok((h, ds))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, Some(&ds))))
}

async fn contents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let filter = super::contents_filter::ContentsFilter::parse(&query)?;
    let (ds, hdcas) = state
        .db(move |c| {
            accessible_history(c, &caller, id)?;
            Ok((
                datasets::history_datasets(c, id)?,
                collections::history_hdcas(c, id)?,
            ))
        })
        .await?;
    // Datasets and collections share the history's hids: one list in hid order.
    let mut items: Vec<(i64, serde_json::Value)> = ds
        .iter()
        .filter(|d| filter.keeps_dataset(d))
        .map(|d| (d.hid, json::content_item(&state.ids, d)))
        .chain(
            hdcas
                .iter()
                .filter(|(h, _)| filter.keeps_hdca(h))
                .map(|(h, c)| (h.hid, json::hdca_summary(&state.ids, h, c))),
        )
        .collect();
    items.sort_by_key(|(hid, _)| *hid);
    Ok(HttpResponse::Ok().json(items.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
}

async fn content(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, did) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let dataset_id = state.ids.decode(&did)?;
    let d = state
        .db(move |c| {
            accessible_history(c, &caller, history_id)?;
            datasets::find_dataset(c, dataset_id)?
                .filter(|d| d.history_id == history_id)
                .ok_or_else(|| ApiError::NotFound("Dataset not found in this history.".into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::dataset(&state.ids, &d)))
}

/// An optional string field of a payload: `Some(None)` for an explicit `null`.
fn opt_str(map: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::BadRequest(format!(
            "Parameter '{key}' must be a string."
        ))),
    }
}

/// A name: a string, not empty.
pub(super) fn opt_name(map: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match opt_str(map, "name")? {
        None => Ok(None),
        Some(Some(n)) if !n.trim().is_empty() => Ok(Some(n)),
        Some(_) => Err(ApiError::BadRequest(
            "Parameter 'name' must be a non-empty string.".into(),
        )),
    }
}

/// An optional boolean field of a payload (JSON `true`/`false`, or the strings Galaxy's
/// clients sometimes send).
pub(super) fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "Parameter '{key}' must be true or false."
        ))),
    }
}

/// Removes the files of purged datasets (a file already gone is fine).
pub(super) async fn remove_files(state: &AppState, ids: Vec<i64>) -> Result<(), ApiError> {
    let file_path = state.env.settings.galaxy.file_path.clone();
    web::block(move || {
        crate::jobs::remove_dataset_files(&file_path, &ids).map_err(ApiError::Internal)
    })
    .await?
}

/// The refusal of a purge while jobs may still write some of the datasets.
pub(super) fn busy(list: &[(i64, crate::jobs::states::DatasetState)]) -> ApiError {
    let names: Vec<String> = list.iter().map(|(hid, s)| format!("{hid} ({s})")).collect();
    ApiError::BadRequest(format!(
        "Cannot purge while a job may still write dataset(s) {}: wait until they finish or \
         cancel their jobs first.",
        names.join(", ")
    ))
}

/// Purges a history (its datasets' files removed from disk) and returns it as it now is.
async fn purge_history(state: &AppState, id: i64) -> Result<(History, Vec<Dataset>), ApiError> {
    let purged = state
        .db(move |c| Ok(histories::purge_history(c, id)?))
        .await?;
    match purged {
        Purge::Busy(list) => return Err(busy(&list)),
        Purge::Done(ids) => remove_files(state, ids).await?,
    }
    state
        .db(move |c| {
            let h = histories::find_history(c, id)?
                .ok_or_else(|| ApiError::NotFound("History not found.".into()))?;
            Ok((h, datasets::history_datasets(c, id)?))
        })
        .await
}

/// `PUT /api/histories/{id}`: `name`, `annotation`, `deleted` (false undeletes), `purged`
/// (true purges); other keys Galaxy knows are ignored.
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let payload = body_object(&body)?;
    let changes = HistoryChanges {
        name: opt_name(&payload)?,
        annotation: opt_str(&payload, "annotation")?,
        deleted: opt_bool(&payload, "deleted")?,
    };
    let purge = match opt_bool(&payload, "purged")? {
        Some(false) => {
            return Err(ApiError::BadRequest(
                "A history cannot be unpurged ('purged' may only be set to true).".into(),
            ));
        }
        p => p == Some(true),
    };
    if purge && changes.deleted == Some(false) {
        return Err(ApiError::BadRequest(
            "A history cannot be purged and undeleted at once.".into(),
        ));
    }
    let (h, ds) = state
        .db(move |c| {
            let h = accessible_history(c, &caller, id)?;
            if h.purged && changes.deleted == Some(false) {
                return Err(ApiError::BadRequest(
                    "History has been purged and cannot be undeleted.".into(),
                ));
            }
            let h = histories::update_history(c, id, &changes)?;
            Ok((h, datasets::history_datasets(c, id)?))
        })
        .await?;
    let (h, ds) = if purge && !h.purged {
        purge_history(&state, id).await?
    } else {
        (h, ds)
    };
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, Some(&ds))))
}

#[derive(Debug, Deserialize)]
pub(super) struct PurgeQuery {
    #[serde(default, deserialize_with = "query_bool")]
    purge: Option<bool>,
}

/// `purge` from the query string or the JSON body (BioBlend sends the body).
pub(super) fn purge_flag(q: &PurgeQuery, body: &[u8]) -> Result<bool, ApiError> {
    let payload = body_object(body)?;
    Ok(q.purge.unwrap_or(false) || opt_bool(&payload, "purge")?.unwrap_or(false))
}

/// `DELETE /api/histories/{id}` (`purge`: its datasets' files removed from disk too).
async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<PurgeQuery>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let purge = purge_flag(&q, &body)?;
    let (h, ds) = state
        .db(move |c| {
            let h = accessible_history(c, &caller, id)?;
            if h.deleted {
                return Ok((h, datasets::history_datasets(c, id)?));
            }
            let changes = HistoryChanges {
                deleted: Some(true),
                ..Default::default()
            };
            let h = histories::update_history(c, id, &changes)?;
            Ok((h, datasets::history_datasets(c, id)?))
        })
        .await?;
    let (h, ds) = if purge && !h.purged {
        purge_history(&state, id).await?
    } else {
        (h, ds)
    };
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, Some(&ds))))
}

/// `POST /api/histories/deleted/{id}/undelete` (BioBlend's `undelete_history`).
async fn undelete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let (h, ds) = state
        .db(move |c| {
            let h = accessible_history(c, &caller, id)?;
            if h.purged {
                return Err(ApiError::BadRequest(
                    "History has been purged and cannot be undeleted.".into(),
                ));
            }
            let changes = HistoryChanges {
                deleted: Some(false),
                ..Default::default()
            };
            let h = histories::update_history(c, id, &changes)?;
            Ok((h, datasets::history_datasets(c, id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::history(&state.ids, &h, Some(&ds))))
}

/// A dataset of a history the caller may see: 404 when not in that history.
pub(crate) fn history_dataset(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    history_id: i64,
    dataset_id: i64,
) -> Result<Dataset, ApiError> {
    accessible_history(c, caller, history_id)?;
    datasets::find_dataset(c, dataset_id)?
        .filter(|d| d.history_id == history_id)
        .ok_or_else(|| ApiError::NotFound("Dataset not found in this history.".into()))
}

/// `PUT /api/histories/{history_id}/contents/{id}`: `name`, `annotation`, `deleted`,
/// `visible`; other keys Galaxy knows are ignored.
async fn update_content(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, did) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let dataset_id = state.ids.decode(&did)?;
    let payload = body_object(&body)?;
    let changes = DatasetChanges {
        name: opt_name(&payload)?,
        annotation: opt_str(&payload, "annotation")?,
        deleted: opt_bool(&payload, "deleted")?,
        visible: opt_bool(&payload, "visible")?,
    };
    let d = state
        .db(move |c| {
            let d = history_dataset(c, &caller, history_id, dataset_id)?;
            if d.purged && changes.deleted == Some(false) {
                return Err(ApiError::BadRequest(format!(
                    "Dataset {} has been purged and cannot be undeleted.",
                    d.hid
                )));
            }
            Ok(datasets::update_dataset(c, dataset_id, &changes)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::dataset(&state.ids, &d)))
}

/// `DELETE /api/histories/{history_id}/contents/{id}` (`purge`: the file removed from disk;
/// refused with a 400 while the dataset's job may still write it).
async fn delete_content(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<PurgeQuery>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, did) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let dataset_id = state.ids.decode(&did)?;
    let purge = purge_flag(&q, &body)?;
    let d = state
        .db(move |c| {
            let d = history_dataset(c, &caller, history_id, dataset_id)?;
            if purge || d.deleted {
                return Ok(d);
            }
            let changes = DatasetChanges {
                deleted: Some(true),
                ..Default::default()
            };
            Ok(datasets::update_dataset(c, dataset_id, &changes)?)
        })
        .await?;
    let (deleted, purged) = if purge && !d.purged {
        match state
            .db(move |c| Ok(datasets::purge_datasets(c, &[dataset_id])?))
            .await?
        {
            Purge::Busy(list) => return Err(busy(&list)),
            Purge::Done(ids) => remove_files(&state, ids).await?,
        }
        (true, true)
    } else {
        (d.deleted, d.purged)
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": state.ids.encode(dataset_id),
        "deleted": deleted,
        "purged": purged,
    })))
}

/// `GET /api/histories/{history_id}/contents/{id}/display`: as `/api/datasets/{id}/display`.
async fn display_content(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<DisplayQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (hid, did) = path.into_inner();
    let history_id = state.ids.decode(&hid)?;
    let dataset_id = state.ids.decode(&did)?;
    let d = state
        .db(move |c| history_dataset(c, &caller, history_id, dataset_id))
        .await?;
    display_dataset(&state, d, q.into_inner()).await
}
