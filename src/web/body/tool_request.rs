//! The body of `POST /api/tools` (JSON, or a form: `form.rs`): up to `upload_body_limit`,
//! parsed while it arrives; pasted (or uploaded)
//! content is written to a temporary file beside the datasets (`file_path`), the rest is
//! held in memory within `api_body_limit`.

use std::path::PathBuf;

use actix_web::HttpRequest;
use actix_web::web::{self, Bytes};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use super::reader::ChannelReader;
use super::{BodyError, BodyLimits, declared_length, drain, form, json_stream};
use crate::tools::paste::PastedFile;
use crate::web::ApiError;

/// Pieces of the body in flight between the web worker and the parser.
const PIECES_IN_FLIGHT: usize = 8;

/// A tool request: its JSON object, with pasted content (if any) already on disk.
pub struct ToolRequestBody {
    pub payload: Map<String, Value>,
    pub pasted: Option<PastedFile>,
}

/// How the body is encoded: JSON (the default), or a form as `requests`' `data=`/`files=`.
enum BodyKind {
    Json,
    UrlEncoded,
    Multipart(String),
}

impl BodyKind {
    fn of(req: &HttpRequest) -> Result<BodyKind, BodyError> {
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Ok(BodyKind::UrlEncoded)
        } else if mime.eq_ignore_ascii_case("multipart/form-data") {
            form::boundary(content_type)
                .filter(|b| !b.is_empty())
                .map(BodyKind::Multipart)
                .ok_or_else(|| BodyError::Form("multipart/form-data without a boundary".into()))
        } else {
            Ok(BodyKind::Json)
        }
    }
}

pub async fn read_tool_request(
    req: &HttpRequest,
    payload: web::Payload,
    spool_dir: PathBuf,
) -> Result<ToolRequestBody, ApiError> {
    let limits = BodyLimits::of(req);
    let too_large = BodyError::TooLarge {
        limit: limits.upload,
        key: "upload_body_limit",
    };
    let mut payload = payload.into_inner();
    if declared_length(req).is_some_and(|n| n > limits.upload.bytes()) {
        drain(&mut payload).await;
        return Err(too_large.into());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(PIECES_IN_FLIGHT);
    let room = limits.api.bytes();
    let kind = BodyKind::of(req)?;
    let parser = web::block(move || {
        let input = ChannelReader::new(rx);
        let over = BodyError::api_limit(limits);
        match kind {
            BodyKind::Json => json_stream::parse(input, room, &spool_dir, over),
            BodyKind::UrlEncoded => form::urlencoded(input, room, over),
            BodyKind::Multipart(boundary) => {
                form::multipart(input, &boundary, room, &spool_dir, over)
            }
        }
    });
    let mut tx = Some(tx);
    let mut read = 0u64;
    while let Some(piece) = payload.next().await {
        let piece = piece.map_err(|e| BodyError::Payload(e.to_string()))?;
        read += piece.len() as u64;
        if read > limits.upload.bytes() {
            // The parser sees the body end and stops; its temporary file goes with it.
            drop(tx);
            drain(&mut payload).await;
            return Err(too_large.into());
        }
        if let Some(sender) = &tx
            && sender.send(piece).await.is_err()
        {
            // The parser has stopped (a malformed body): read the rest so that the client
            // gets the answer, and report the parser's error.
            tx = None;
        }
    }
    drop(tx);
    let parsed = parser.await??;
    match parsed.value {
        Some(Value::Object(payload)) => Ok(ToolRequestBody {
            payload,
            pasted: parsed.paste,
        }),
        None => Ok(ToolRequestBody {
            payload: Map::new(),
            pasted: None,
        }),
        Some(_) => Err(ApiError::BadRequest(
            "The request body must be a JSON object.".into(),
        )),
    }
}
