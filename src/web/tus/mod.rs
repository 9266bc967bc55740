//! The tus 1.0.0 resumable-upload protocol at `/api/upload/resumable_upload/`, as BioBlend
//! (through tuspy) and Galaxy's upload dialog speak it: core (HEAD, PATCH), `creation`
//! (POST) and `termination` (DELETE). A PATCH body goes to the session's file as it arrives
//! (a bounded channel to a blocking writer, never the whole chunk in memory) and is synced
//! before the answer; a PATCH cut off keeps what arrived, and HEAD reports that offset.
//! Sessions belong to the user whose API key created them; a finished session becomes a
//! dataset through `POST /api/tools/fetch` (`src: files`). Sessions untouched for a day are
//! removed by the sweep run at each creation, and on sight by any other request. The routes
//! are registered in `routes/uploads.rs`.

pub mod store;

use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt as _;

use super::auth::Caller;
use super::{ApiError, AppState};
pub use store::{Session, TusError, TusStore};

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// Pieces of a PATCH body in flight between the web worker and the writer.
const PIECES_IN_FLIGHT: usize = 16;

/// The store configured in `galaxy.yml`.
pub fn store_of(state: &AppState) -> TusStore {
    let g = &state.env.settings.galaxy;
    TusStore::new(
        g.tus_upload_store
            .clone()
            .unwrap_or_else(|| g.file_path.join("tus_upload_store")),
    )
}

fn max_size(state: &AppState) -> u64 {
    state.env.settings.galaxy.upload_body_limit.bytes()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `Tus-Resumable: 1.0.0` on every request but OPTIONS.
fn check_version(req: &HttpRequest) -> Result<(), TusError> {
    match header_str(req.headers(), "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        Some(other) => Err(TusError::Version(other.to_string())),
        None => Err(TusError::Version(String::new())),
    }
}

fn number_header(req: &HttpRequest, name: &str) -> Result<u64, TusError> {
    let text = header_str(req.headers(), name)
        .ok_or_else(|| TusError::BadHeader(format!("The {name} header is missing.")))?;
    text.parse().map_err(|_| {
        TusError::BadHeader(format!(
            "{name} must be a non-negative integer, not '{text}'."
        ))
    })
}

fn tus_response(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::build(status);
    r.insert_header(("Tus-Resumable", TUS_VERSION))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    r
}

/// The session, if the caller may see it (another user's is not found).
async fn open_owned(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<(TusStore, Session, u64), ApiError> {
    let store = store_of(state);
    let s = store.clone();
    let named = id.clone();
    let (session, offset) = web::block(move || s.open(&id)).await??;
    if !caller.can_access(session.owner) {
        return Err(TusError::NotFound(named).into());
    }
    Ok((store, session, offset))
}

pub async fn options(state: web::Data<AppState>) -> HttpResponse {
    tus_response(actix_web::http::StatusCode::NO_CONTENT)
        .insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", EXTENSIONS))
        .insert_header(("Tus-Max-Size", max_size(&state).to_string()))
        .finish()
}

/// `creation`: an empty session of `Upload-Length` bytes; 201 with its URL.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    check_version(&req)?;
    if req.headers().contains_key("upload-defer-length") {
        return Err(TusError::BadHeader(
            "Upload-Defer-Length is not supported; send Upload-Length.".into(),
        )
        .into());
    }
    let length = number_header(&req, "upload-length")?;
    let limit = state.env.settings.galaxy.upload_body_limit;
    if length > limit.bytes() {
        return Err(TusError::TooLarge { length, limit }.into());
    }
    let metadata =
        store::parse_metadata(header_str(req.headers(), "upload-metadata").unwrap_or(""))?;
    let session = Session::new(caller.user_id(), length, metadata);
    let store = store_of(&state);
    let id = web::block(move || {
        let swept = store.sweep(std::time::SystemTime::now());
        if swept > 0 {
            log::info!("tus: removed {swept} expired upload(s)");
        }
        store.create(&session)
    })
    .await??;
    let location = format!("{}/{id}", req.path().trim_end_matches('/'));
    Ok(tus_response(actix_web::http::StatusCode::CREATED)
        .insert_header((header::LOCATION, location))
        .insert_header(("Upload-Offset", "0"))
        .finish())
}

pub async fn head(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    check_version(&req)?;
    let (_, session, offset) = open_owned(&state, &caller, path.into_inner()).await?;
    Ok(tus_response(actix_web::http::StatusCode::OK)
        .insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(("Upload-Length", session.length.to_string()))
        .finish())
}

/// Appends the body at `Upload-Offset`; 204 with the new offset.
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    check_version(&req)?;
    let content_type = header_str(req.headers(), "content-type").unwrap_or("");
    if content_type != OFFSET_OCTET_STREAM {
        return Err(TusError::ContentType(content_type.to_string()).into());
    }
    let given = number_header(&req, "upload-offset")?;
    let id = path.into_inner();
    let (store, session, actual) = open_owned(&state, &caller, id.clone()).await?;
    if given != actual {
        return Err(TusError::OffsetMismatch { given, actual }.into());
    }
    if let Some(declared) =
        header_str(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok())
        && actual + declared > session.length
    {
        return Err(TusError::PastLength(session.length).into());
    }
    let held = store.hold(&id)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(PIECES_IN_FLIGHT);
    let length = session.length;
    let writer = web::block(move || {
        let _held = held;
        let mut out = store.appender(&id, actual, length)?;
        let mut failed = None;
        while let Some(piece) = rx.blocking_recv() {
            if let Err(e) = out.write(&piece) {
                failed = Some(e);
                break;
            }
        }
        // What arrived stays, even when the body was cut off or ran past the length.
        let offset = out.finish()?;
        match failed {
            Some(e) => Err(e),
            None => Ok(offset),
        }
    });
    let mut payload = body.into_inner();
    let mut cut_off = None;
    while let Some(piece) = payload.next().await {
        match piece {
            Ok(piece) => {
                if tx.send(piece).await.is_err() {
                    // The writer stopped (past the length, or a disk error): it says why.
                    break;
                }
            }
            Err(e) => {
                cut_off = Some(e.to_string());
                break;
            }
        }
    }
    drop(tx);
    let offset = writer.await??;
    if let Some(e) = cut_off {
        log::info!("tus: a PATCH was cut off at offset {offset}: {e}");
        return Err(TusError::Payload(e).into());
    }
    Ok(tus_response(actix_web::http::StatusCode::NO_CONTENT)
        .insert_header(("Upload-Offset", offset.to_string()))
        .finish())
}

/// `termination`: the session and its bytes are removed.
pub async fn terminate(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    check_version(&req)?;
    let id = path.into_inner();
    let (store, _, _) = open_owned(&state, &caller, id.clone()).await?;
    let _held = store.hold(&id)?;
    web::block(move || store.remove(&id)).await?;
    Ok(tus_response(actix_web::http::StatusCode::NO_CONTENT).finish())
}
