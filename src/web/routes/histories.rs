use actix_web::{HttpResponse, web};

use super::body_object;
use crate::db::models::History;
use crate::db::queries::{collections, datasets, histories};
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/histories", web::get().to(list))
        .route("/histories", web::post().to(create))
        .route("/histories/most_recently_used", web::get().to(most_recent))
        .route("/histories/{id}", web::get().to(show))
        .route("/histories/{id}/contents", web::get().to(contents))
        .route(
            "/histories/{id}/contents/{content_id}",
            web::get().to(content),
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

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let filter = caller
        .user_id()
        .or(if caller.is_admin() { None } else { Some(-1) });
    let list = state
        .db(move |c| Ok(histories::list_histories(c, filter)?))
        .await?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .map(|h| json::history(&state.ids, h, None))
            .collect::<Vec<_>>(),
    ))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let payload = body_object(&body)?;
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
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
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
        .map(|d| (d.hid, json::content_item(&state.ids, d)))
        .chain(
            hdcas
                .iter()
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
