//! A `multipart/form-data` body (the legacy upload form of `POST /api/tools`): text fields
//! kept in memory within `api_body_limit`, file parts streamed to temporary files beside the
//! datasets (`file_path`), the whole body within `upload_body_limit`.

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::web::{self, Bytes};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use super::reader::ChannelReader;
use super::{BodyError, BodyLimits, declared_length, drain};
use crate::tools::paste::Staged;
use crate::web::ApiError;

/// Pieces of a file part in flight between the web worker and the writer.
const PIECES_IN_FLIGHT: usize = 8;

/// A file part: its field name, the file name the client gave, its content on disk.
pub struct FilePart {
    pub field: String,
    pub filename: Option<String>,
    pub content: Staged,
}

/// The parts of a multipart body.
pub struct MultipartBody {
    /// Text fields by name, as JSON strings.
    pub fields: Map<String, Value>,
    pub files: Vec<FilePart>,
}

/// Whether the request carries a `multipart/form-data` body.
pub fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn bad(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("Invalid multipart body: {e}"))
}

pub async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    spool_dir: PathBuf,
) -> Result<MultipartBody, ApiError> {
    let limits = BodyLimits::of(req);
    let too_large = || BodyError::TooLarge {
        limit: limits.upload,
        key: "upload_body_limit",
    };
    let mut payload = payload.into_inner();
    if declared_length(req).is_some_and(|n| n > limits.upload.bytes()) {
        drain(&mut payload).await;
        return Err(too_large().into());
    }
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut fields = Map::new();
    let mut files = Vec::new();
    let mut text_bytes = 0u64;
    let mut read = 0u64;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(bad)?;
        let name = field
            .name()
            .map(str::to_string)
            .ok_or_else(|| bad("a part has no name"))?;
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        if filename.is_none() {
            let mut text = Vec::new();
            while let Some(piece) = field.next().await {
                let piece = piece.map_err(bad)?;
                text_bytes += piece.len() as u64;
                if text_bytes > limits.api.bytes() {
                    return Err(BodyError::api_limit(limits).into());
                }
                text.extend_from_slice(&piece);
            }
            read += text.len() as u64;
            let text = String::from_utf8(text)
                .map_err(|_| bad(format!("the field '{name}' is not UTF-8 text")))?;
            fields.insert(name, Value::String(text));
            continue;
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(PIECES_IN_FLIGHT);
        let dir = spool_dir.clone();
        let writer = web::block(move || -> Result<Staged, BodyError> {
            let spool = |source| BodyError::Spool {
                dir: dir.clone(),
                source,
            };
            std::fs::create_dir_all(&dir).map_err(spool)?;
            let (file, path) = tempfile::Builder::new()
                .prefix(".form-")
                .suffix(".tmp")
                .tempfile_in(&dir)
                .map_err(spool)?
                .into_parts();
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            let size = std::io::copy(&mut ChannelReader::new(rx), &mut out).map_err(spool)?;
            out.flush().map_err(spool)?;
            Ok(Staged { path, size })
        });
        let mut failed = None;
        while let Some(piece) = field.next().await {
            let piece = match piece {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(bad(e));
                    break;
                }
            };
            read += piece.len() as u64;
            if read > limits.upload.bytes() {
                failed = Some(too_large().into());
                break;
            }
            if tx.send(piece).await.is_err() {
                break;
            }
        }
        drop(tx);
        let staged = writer.await?;
        if let Some(e) = failed {
            return Err(e);
        }
        files.push(FilePart {
            field: name,
            filename,
            content: staged?,
        });
    }
    Ok(MultipartBody { fields, files })
}
