//! Upkeep of collections in histories: `PUT` (`name`, `deleted`, `visible`) and `DELETE`
//! (`purge`: the element datasets purged as a dataset purge does) of
//! `/api/histories/{history_id}/contents/dataset_collections/{id}` (BioBlend's
//! `update_dataset_collection`, `delete_dataset_collection`), and
//! `GET /api/dataset_collections/{id}/contents/{collection_id}` (`?limit=&offset=`), the
//! elements of the collection or of one of its sub-collections (the `contents_url` an hdca
//! advertises).

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::body_object;
use super::collections::accessible_hdca;
use super::histories::{
    PurgeQuery, accessible_history, busy, opt_bool, opt_name, purge_flag, remove_files,
};
use crate::db::queries::collections::{Collection, ElementObject, Hdca};
use crate::db::queries::datasets::{self, Purge};
use crate::db::queries::hdcas::{self, HdcaChanges};
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/histories/{history_id}/contents/dataset_collections/{id}",
        web::put().to(update),
    )
    .route(
        "/histories/{history_id}/contents/dataset_collections/{id}",
        web::delete().to(delete),
    )
    .route(
        "/dataset_collections/{id}/contents/{collection_id}",
        web::get().to(contents),
    );
}

/// The caller's hdca in that history: 404 when it is in another history.
fn history_hdca(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    history_id: i64,
    id: i64,
) -> Result<(Hdca, Collection), ApiError> {
    accessible_history(c, caller, history_id)?;
    let (h, coll) = accessible_hdca(c, caller, id)?;
    if h.history_id != history_id {
        return Err(ApiError::NotFound(
            "Dataset collection not found in this history.".into(),
        ));
    }
    Ok((h, coll))
}

fn ids_of(state: &AppState, path: (String, String)) -> Result<(i64, i64), ApiError> {
    Ok((state.ids.decode(&path.0)?, state.ids.decode(&path.1)?))
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (history_id, id) = ids_of(&state, path.into_inner())?;
    let payload = body_object(&body)?;
    let known = ["name", "deleted", "visible"];
    if let Some(other) = payload.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "Unknown attribute '{other}': a dataset collection's name, deleted and visible may \
             be changed."
        )));
    }
    let changes = HdcaChanges {
        name: opt_name(&payload)?,
        deleted: opt_bool(&payload, "deleted")?,
        visible: opt_bool(&payload, "visible")?,
    };
    let (h, coll) = state
        .db(move |c| {
            let (_, coll) = history_hdca(c, &caller, history_id, id)?;
            let h = hdcas::update_hdca(c, id, &changes)?;
            Ok((h, coll))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::hdca(&state.ids, &h, &coll)))
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<PurgeQuery>,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (history_id, id) = ids_of(&state, path.into_inner())?;
    let purge = purge_flag(&q, &body)?;
    let db_caller = caller.clone();
    let (_, coll) = state
        .db(move |c| history_hdca(c, &db_caller, history_id, id))
        .await?;
    if purge {
        let leaves: Vec<i64> = coll.tree().leaves().iter().map(|d| d.id).collect();
        let purged = state
            .db(move |c| Ok(datasets::purge_datasets(c, &leaves)?))
            .await?;
        match purged {
            Purge::Busy(list) => return Err(busy(&list)),
            Purge::Done(ids) => remove_files(&state, ids).await?,
        }
    }
    let (h, coll) = state
        .db(move |c| {
            let changes = HdcaChanges {
                deleted: Some(true),
                ..Default::default()
            };
            hdcas::update_hdca(c, id, &changes)?;
            history_hdca(c, &caller, history_id, id)
        })
        .await?;
    let mut v = json::hdca(&state.ids, &h, &coll);
    v["purged"] = Value::Bool(purge);
    Ok(HttpResponse::Ok().json(v))
}

/// The (sub-)collection with database id `id` within `c`.
fn find_collection(c: &Collection, id: i64) -> Option<&Collection> {
    if c.row.id == id {
        return Some(c);
    }
    c.elements.iter().find_map(|e| match &e.object {
        ElementObject::Collection(child) => find_collection(child, id),
        ElementObject::Dataset(_) => None,
    })
}

/// `?limit=&offset=` of the contents, as Galaxy pages them.
#[derive(Debug, serde::Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn contents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let (id, collection_id) = ids_of(&state, path.into_inner())?;
    let (_, coll) = state.db(move |c| accessible_hdca(c, &caller, id)).await?;
    let sub = find_collection(&coll, collection_id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Collection '{}' is not part of dataset collection '{}'.",
            state.ids.encode(collection_id),
            state.ids.encode(id)
        ))
    })?;
    let elements: Vec<Value> = json::collection_elements(&state.ids, sub)
        .into_iter()
        .skip(page.offset.unwrap_or(0))
        .take(page.limit.unwrap_or(usize::MAX))
        .collect();
    Ok(HttpResponse::Ok().json(elements))
}
