use actix_web::{HttpResponse, web};
use rand::Rng;
use serde_json::json;

use super::{body_object, required_str};
use crate::db::queries::users;
use crate::web::body::ApiBody;
use crate::web::{ApiError, AppState, auth::Caller, json, passwords};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/current", web::get().to(current))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}/api_key", web::post().to(new_api_key));
}

pub(super) fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill(&mut b[..]);
    hex::encode(b)
}

async fn current(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    match &caller {
        Caller::Anonymous => Err(ApiError::AuthRequired),
        Caller::Bootstrap => Ok(HttpResponse::Ok().json(json!({
            "model_class": "User", "id": null, "email": null, "username": "bootstrap_admin",
            "is_admin": true, "bootstrap_admin_user": true, "preferences": {},
        }))),
        Caller::User { user, is_admin } => {
            Ok(HttpResponse::Ok().json(json::user(&state.ids, user, *is_admin)))
        }
    }
}

async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let admins = state.admin_users.clone();
    let all = state.db(|c| Ok(users::list_users(c)?)).await?;
    let visible: Vec<_> = all
        .iter()
        .filter(|u| caller.is_admin() || Some(u.id) == caller.user_id())
        .map(|u| json::user(&state.ids, u, admins.contains(&u.email)))
        .collect();
    Ok(HttpResponse::Ok().json(visible))
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    if path.as_str() == "current" {
        return current(state, caller).await;
    }
    let id = state.ids.decode(&path)?;
    if !caller.is_admin() && caller.user_id() != Some(id) {
        return Err(ApiError::Forbidden(
            "You may only look at your own user.".into(),
        ));
    }
    let user = state
        .db(move |c| Ok(users::find_user(c, id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("User not found.".into()))?;
    let is_admin = state.admin_users.contains(&user.email);
    Ok(HttpResponse::Ok().json(json::user(&state.ids, &user, is_admin)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    ApiBody(body): ApiBody,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let payload = body_object(&body)?;
    let email = required_str(&payload, "email")?.trim().to_string();
    let username = required_str(&payload, "username")?.trim().to_string();
    let password = required_str(&payload, "password")?.to_string();
    if !email.contains('@') || email.len() > 255 {
        return Err(ApiError::BadRequest(format!(
            "'{email}' is not a valid email address."
        )));
    }
    if username.len() < 3
        || !username.chars().all(|ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.' || ch == '_'
        })
    {
        return Err(ApiError::BadRequest("Public name must contain only lower-case letters, numbers, '.', '_' and '-', and be at least 3 characters.".into()));
    }
    let hash = web::block(move || passwords::hash(&password)).await?;
    let admins = state.admin_users.clone();
    let user = state
        .db(move |c| {
            if users::user_exists(c, &email, &username)? {
                return Err(ApiError::BadRequest(
                    "A user with that email or public name already exists.".into(),
                ));
            }
            Ok(users::create_user(c, &email, &username, &hash)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json::user(&state.ids, &user, admins.contains(&user.email))))
}

async fn new_api_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    if !caller.is_admin() && caller.user_id() != Some(id) {
        return Err(ApiError::Forbidden(
            "You may only make API keys for yourself.".into(),
        ));
    }
    let key = random_hex(16);
    let k = key.clone();
    state
        .db(move |c| {
            users::find_user(c, id)?.ok_or_else(|| ApiError::NotFound("User not found.".into()))?;
            Ok(users::replace_api_key(c, id, &k)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(key))
}
