//! Request bodies under the limits of `galaxy.yml`: `api_body_limit` for bodies read into
//! memory, `upload_body_limit` for `POST /api/tools`, whose pasted content is streamed to
//! disk. Every body over its limit is answered with Galaxy's error JSON (413).

mod form;
mod json_stream;
mod reader;
mod tool_request;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;

use super::ApiError;
use crate::config::{ByteSize, GalaxySettings};

pub use tool_request::{ToolRequestBody, read_tool_request};

/// At most this much of a body over its limit is read (and dropped) before the 413 is sent,
/// so that a client that writes its whole body before reading sees the answer.
const DRAIN_AT_MOST: u64 = 64 * 1024 * 1024;

/// The configured limits; registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub api: ByteSize,
    pub upload: ByteSize,
}

impl BodyLimits {
    pub fn new(g: &GalaxySettings) -> BodyLimits {
        BodyLimits {
            api: g.api_body_limit,
            upload: g.upload_body_limit,
        }
    }

    fn of(req: &HttpRequest) -> BodyLimits {
        req.app_data::<BodyLimits>()
            .copied()
            .unwrap_or_else(|| BodyLimits::new(&GalaxySettings::default()))
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {limit} (galaxy.{key})")]
    TooLarge { limit: ByteSize, key: &'static str },
    #[error("Invalid JSON payload: {message} at byte {offset}")]
    Syntax { offset: u64, message: String },
    /// A malformed form body (`application/x-www-form-urlencoded`, `multipart/form-data`).
    #[error("Invalid form payload: {0}")]
    Form(String),
    #[error("reading the request body: {0}")]
    Payload(String),
    #[error("could not store the pasted content in {}: {source}", dir.display())]
    Spool {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BodyError {
    fn api_limit(limits: BodyLimits) -> BodyError {
        BodyError::TooLarge {
            limit: limits.api,
            key: "api_body_limit",
        }
    }
}

/// The 413 for a body over `api_body_limit`.
pub fn api_limit_error(req: &HttpRequest) -> ApiError {
    BodyError::api_limit(BodyLimits::of(req)).into()
}

/// The declared length of a request body, when there is one.
fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads and drops what is left of a body, up to `DRAIN_AT_MOST`.
async fn drain(payload: &mut Payload) {
    let mut dropped = 0u64;
    while let Some(Ok(chunk)) = payload.next().await {
        dropped += chunk.len() as u64;
        if dropped > DRAIN_AT_MOST {
            break;
        }
    }
}

/// The fields of an `application/x-www-form-urlencoded` body already in memory, as strings.
pub fn form_fields(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let over = BodyError::Form("the form is too large".into());
    let parsed = form::urlencoded(body, body.len() as u64, over)?;
    match parsed.value {
        Some(serde_json::Value::Object(fields)) => Ok(fields),
        _ => Ok(serde_json::Map::new()),
    }
}

/// Whether a request says its body is a URL-encoded form.
pub fn is_urlencoded(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A whole request body, at most `api_body_limit` long, in memory.
pub struct ApiBody(pub Bytes);

impl FromRequest for ApiBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiBody, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = BodyLimits::of(req);
        let declared = declared_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = limits.api.bytes();
            let mut body = BytesMut::new();
            if declared.is_some_and(|n| n > limit) {
                drain(&mut payload).await;
                return Err(BodyError::api_limit(limits).into());
            }
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| BodyError::Payload(e.to_string()))?;
                if (body.len() + chunk.len()) as u64 > limit {
                    drain(&mut payload).await;
                    return Err(BodyError::api_limit(limits).into());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(ApiBody(body.freeze()))
        })
    }
}

/// actix's own body extractors (`web::Json`, `web::Bytes`, `String`) under `api_body_limit`.
pub fn configure(cfg: &mut web::ServiceConfig, limits: BodyLimits) {
    let limit = usize::try_from(limits.api.bytes()).unwrap_or(usize::MAX);
    cfg.app_data(limits)
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(super::errors::json_error),
        )
        .app_data(web::PayloadConfig::new(limit));
}
