//! The API routes, one file per resource.

mod authenticate;
mod collection_download;
mod collection_upkeep;
mod collections;
mod contents_filter;
mod datasets;
mod fetch;
mod handlers;
mod histories;
mod invocations;
mod jobs;
mod meta;
mod path_paste;
mod provenance;
mod tool_tests;
mod tools;
mod uploads;
mod users;
mod workflows;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    meta::configure(cfg);
    users::configure(cfg);
    authenticate::configure(cfg);
    tool_tests::configure(cfg);
    tools::configure(cfg);
    jobs::configure(cfg);
    provenance::configure(cfg);
    histories::configure(cfg);
    collections::configure(cfg);
    collection_upkeep::configure(cfg);
    collection_download::configure(cfg);
    datasets::configure(cfg);
    handlers::configure(cfg);
    uploads::configure(cfg);
    workflows::configure(cfg);
    invocations::configure(cfg);
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "Could not find the requested resource: {} {}",
        req.method(),
        req.path()
    )))
}

/// A request body as a JSON object (empty body = empty object).
pub(crate) fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "The request body must be a JSON object.".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("Invalid JSON payload: {e}"))),
    }
}

/// A required string field of a payload.
pub(crate) fn required_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, ApiError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(ApiError::MissingParameter(
            format!("Missing required parameter '{key}'."),
        )),
        Some(_) => Err(ApiError::BadRequest(format!(
            "Parameter '{key}' must be a string."
        ))),
    }
}

/// The client address: the peer, or the forwarded client behind a trusted proxy.
pub(crate) fn client_address(req: &HttpRequest) -> Option<String> {
    let trusted = req
        .app_data::<web::Data<super::AppState>>()
        .map(|s| s.trusted_proxies.clone())?;
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    trusted.client(req.peer_addr().map(|a| a.ip()), xff)
}

/// A query-string boolean as Galaxy clients send it: `true`/`True`/`1`/`yes` (and the
/// opposites); anything else is a 400.
pub(crate) fn query_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
        Some("false" | "0" | "no" | "off" | "none") => Ok(Some(false)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected true or false, got `{other}`"
        ))),
    }
}
