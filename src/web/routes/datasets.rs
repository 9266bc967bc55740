use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::db::models::Dataset;
use crate::db::queries::datasets::{self, DatasetFilter, DatasetOrderField, NameMatch};
use crate::jobs::states::DatasetState;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/datasets", web::get().to(list))
        .route("/datasets/{id}", web::get().to(show))
        .route("/datasets/{id}/display", web::get().to(display));
}

/// Loads a dataset the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_dataset(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<Dataset, ApiError> {
    let d = datasets::find_dataset(c, id)?
        .ok_or_else(|| ApiError::NotFound("Dataset not found.".into()))?;
    if !caller.can_access(d.user_id) {
        return Err(ApiError::Forbidden(
            "Dataset is not accessible by the current user.".into(),
        ));
    }
    Ok(d)
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let d = state
        .db(move |c| accessible_dataset(c, &caller, id))
        .await?;
    Ok(HttpResponse::Ok().json(json::dataset(&state.ids, &d)))
}

/// Galaxy's default page of `GET /api/datasets`.
const DEFAULT_LIMIT: i64 = 500;

/// `GET /api/datasets`: the caller's datasets (everyone's for admins), filtered as BioBlend's
/// `get_datasets` asks: `history_id`, `limit`, `offset`, `order` (`<field>-asc|dsc`), and
/// `q`/`qv` pairs (`name`, `name-eq`, `name-contains`, `state[-eq|-in]`,
/// `extension[-eq|-in]`, `visible`, `deleted`, `purged`); the same filters are accepted as
/// plain parameters.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let mut f = DatasetFilter {
        user_id: caller.list_filter(),
        history_id: None,
        states: None,
        extensions: None,
        name: None,
        visible: None,
        deleted: None,
        purged: None,
        order: DatasetOrderField::CreateTime,
        descending: true,
        limit: DEFAULT_LIMIT,
        offset: 0,
    };
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (k, v) in q.into_inner() {
        match k.as_str() {
            "q" => keys.push(v),
            "qv" => values.push(v),
            "limit" => f.limit = non_negative("limit", &v)?,
            "offset" => f.offset = non_negative("offset", &v)?,
            "order" => (f.order, f.descending) = parse_order(&v)?,
            "history_id" => f.history_id = Some(state.ids.decode(&v)?),
            "key" | "view" | "keys" => {}
            "name" | "state" | "extension" | "visible" | "deleted" | "purged" => {
                apply_filter(&mut f, &k, &v)?
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Unknown parameter '{other}' for listing datasets."
                )));
            }
        }
    }
    if keys.len() != values.len() {
        return Err(ApiError::BadRequest(format!(
            "Got {} 'q' filters but {} 'qv' values; they go in pairs.",
            keys.len(),
            values.len()
        )));
    }
    for (k, v) in keys.iter().zip(&values) {
        apply_filter(&mut f, k, v)?;
    }
    let list = state
        .db(move |c| {
            if let Some(h) = f.history_id {
                super::histories::accessible_history(c, &caller, h)?;
            }
            Ok(datasets::list_datasets(c, &f)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .map(|d| json::dataset(&state.ids, d))
            .collect::<Vec<_>>(),
    ))
}

fn non_negative(name: &str, v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Parameter '{name}' must be a non-negative integer, not '{v}'."
            ))
        })
}

fn parse_order(v: &str) -> Result<(DatasetOrderField, bool), ApiError> {
    let (field, dir) = v.rsplit_once('-').unwrap_or((v, "asc"));
    let descending = match dir {
        "asc" => false,
        "dsc" | "desc" => true,
        _ => {
            return Err(ApiError::BadRequest(format!(
                "Parameter 'order' must be <field>-asc or <field>-dsc, not '{v}'."
            )));
        }
    };
    let field = match field {
        "create_time" => DatasetOrderField::CreateTime,
        "update_time" => DatasetOrderField::UpdateTime,
        "name" => DatasetOrderField::Name,
        "hid" => DatasetOrderField::Hid,
        "extension" => DatasetOrderField::Extension,
        "size" | "file_size" => DatasetOrderField::Size,
        other => {
            return Err(ApiError::BadRequest(format!(
                "Cannot order datasets by '{other}' (create_time, update_time, name, hid, \
                 extension or size)."
            )));
        }
    };
    Ok((field, descending))
}

fn filter_bool(key: &str, v: &str) -> Result<bool, ApiError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "Filter '{key}' must be true or false, not '{v}'."
        ))),
    }
}

fn apply_filter(f: &mut DatasetFilter, key: &str, v: &str) -> Result<(), ApiError> {
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    match key {
        "name" | "name-eq" => f.name = Some(NameMatch::Equals(v.to_string())),
        "name-contains" | "name-like" => f.name = Some(NameMatch::Contains(v.to_string())),
        "state" | "state-eq" | "state-in" => {
            let states = list(v)
                .iter()
                .map(|s| {
                    s.parse::<DatasetState>()
                        .map_err(|_| ApiError::BadRequest(format!("Unknown dataset state '{s}'.")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            f.states = Some(states);
        }
        "extension" | "extension-eq" | "extension-in" => f.extensions = Some(list(v)),
        "visible" | "visible-eq" => f.visible = Some(filter_bool(key, v)?),
        "deleted" | "deleted-eq" => f.deleted = Some(filter_bool(key, v)?),
        "purged" | "purged-eq" => f.purged = Some(filter_bool(key, v)?),
        other => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported dataset filter '{other}' (name, name-contains, state, state-in, \
                 extension, extension-in, visible, deleted, purged)."
            )));
        }
    }
    Ok(())
}

/// The parameters of a dataset's `display`, as Galaxy's.
/// (Numbers and flags are read as text, so that a bad one gets a message naming it.)
#[derive(Debug, Deserialize)]
pub(crate) struct DisplayQuery {
    preview: Option<String>,
    to_ext: Option<String>,
    offset: Option<String>,
    ck_size: Option<String>,
    chunk: Option<String>,
}

/// [`DisplayQuery`], checked.
struct Display {
    preview: bool,
    to_ext: Option<String>,
    offset: Option<u64>,
    ck_size: Option<u64>,
    chunk: Option<u64>,
}

impl DisplayQuery {
    fn check(self) -> Result<Display, ApiError> {
        let number = |name: &str, v: Option<String>| -> Result<Option<u64>, ApiError> {
            v.map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "Parameter '{name}' must be a non-negative integer, not '{v}'."
                    ))
                })
            })
            .transpose()
        };
        let preview = match self
            .preview
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("" | "false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "Parameter 'preview' must be true or false, not '{other}'."
                )));
            }
        };
        Ok(Display {
            preview,
            to_ext: self.to_ext,
            offset: number("offset", self.offset)?,
            ck_size: number("ck_size", self.ck_size)?,
            chunk: number("chunk", self.chunk)?,
        })
    }
}

/// Galaxy's `display_chunk_size`.
const DISPLAY_CHUNK_SIZE: u64 = 65536;
/// The largest `ck_size` a client may ask for.
const MAX_CHUNK_SIZE: u64 = 16 << 20;
/// At most this many bytes are added to a chunk to end it at a line end.
const MAX_LINE_TAIL: u64 = 1 << 20;
/// Galaxy's `DEFAULT_MAX_PEEK_SIZE`: what a preview shows of a larger dataset.
const MAX_PEEK_SIZE: u64 = 1_000_000;
/// What each read of a streamed file takes.
const STREAM_BUFFER: usize = 256 << 10;

async fn display(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    q: web::Query<DisplayQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let d = state
        .db(move |c| accessible_dataset(c, &caller, id))
        .await?;
    display_dataset(&state, d, q.into_inner()).await
}

/// A dataset's contents: whole and streamed; as an attachment named as Galaxy names it
/// (`to_ext`); the first [`MAX_PEEK_SIZE`] bytes (`preview`); or one chunk as JSON: from
/// byte `offset` (`ck_size` bytes, then to the end of the line: `{"ck_data", "offset"}`
/// with the offset to ask for next) or chunk number `chunk` (`{"ck_data", "ck_index"}`).
pub(crate) async fn display_dataset(
    state: &AppState,
    d: Dataset,
    q: DisplayQuery,
) -> Result<HttpResponse, ApiError> {
    let q = q.check()?;
    if d.purged {
        return Err(ApiError::NotFound(format!(
            "Dataset {} has been purged; its contents are gone.",
            d.hid
        )));
    }
    if d.state != DatasetState::Ok {
        return Err(ApiError::Conflict(format!(
            "Dataset is in state '{}', not 'ok'.",
            d.state
        )));
    }
    if let Some(ext) = &q.to_ext
        && (ext.is_empty()
            || !ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(ApiError::BadRequest(format!(
            "Parameter 'to_ext' must be a file extension (letters, digits, '.', '_', '-'), \
             not '{ext}'."
        )));
    }
    if let Some(ck) = q.ck_size
        && (ck == 0 || ck > MAX_CHUNK_SIZE)
    {
        return Err(ApiError::BadRequest(format!(
            "Parameter 'ck_size' must be between 1 and {MAX_CHUNK_SIZE}, not {ck}."
        )));
    }
    let file = state.env.dataset_path(d.id);
    let content_type = match d.extension.as_str() {
        "json" => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    // One chunk, as JSON.
    if q.offset.is_some() || q.chunk.is_some() || (q.ck_size.is_some() && q.to_ext.is_none()) {
        let ck_size = q.ck_size.unwrap_or(DISPLAY_CHUNK_SIZE);
        let start = match (q.offset, q.chunk) {
            (Some(o), _) => o,
            (None, Some(n)) => n.saturating_mul(ck_size),
            (None, None) => 0,
        };
        let (hid, recorded) = (d.hid, d.file_size);
        let (data, end) =
            web::block(move || read_chunk(&file, start, ck_size, hid, recorded)).await??;
        let ck_data = String::from_utf8_lossy(&data);
        let body = match (q.offset, q.chunk) {
            (None, Some(n)) => json!({"ck_data": ck_data, "ck_index": n + 1}),
            _ => json!({"ck_data": ck_data, "offset": end}),
        };
        return Ok(HttpResponse::Ok().json(body));
    }
    let mut resp = HttpResponse::Ok();
    let mut limit = None;
    if let Some(ext) = &q.to_ext {
        resp.content_type("application/octet-stream");
        resp.insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{}\"",
                download_filename(d.hid, &d.name, ext)
            ),
        ));
    } else {
        resp.content_type(content_type);
        if q.preview {
            limit = Some(MAX_PEEK_SIZE);
        }
    }
    if limit.is_none()
        && let Some(base) = &state.env.settings.galaxy.nginx_x_accel_redirect_base
    {
        // nginx sends the file itself (an `internal` location under `base`).
        let target = format!("{}{}", base.trim_end_matches('/'), file.display());
        return Ok(resp.insert_header(("X-Accel-Redirect", target)).finish());
    }
    let (hid, recorded) = (d.hid, d.file_size);
    let opened = web::block(move || open_dataset(&file, hid, recorded)).await??;
    let Some((f, len)) = opened else {
        // Recorded empty and never written (e.g. by the no-op runner): empty it is.
        return Ok(resp.body(Vec::new()));
    };
    let len = limit.map_or(len, |l| l.min(len));
    resp.no_chunking(len);
    Ok(resp.streaming(stream_file(f, len)))
}

/// Galaxy's attachment name: `Galaxy<hid>-[<name>].<ext>`, the name reduced to safe characters.
fn download_filename(hid: i64, name: &str, ext: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".,^_-()[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(150)
        .collect();
    format!("Galaxy{hid}-[{safe}].{ext}")
}

/// Opens a dataset's file: its length, or `None` when it was recorded empty and never written.
fn open_dataset(
    file: &PathBuf,
    hid: i64,
    recorded: i64,
) -> Result<Option<(std::fs::File, u64)>, ApiError> {
    match std::fs::File::open(file) {
        Ok(f) => {
            let len = f
                .metadata()
                .map_err(|e| ApiError::Internal(format!("{}: {e}", file.display())))?
                .len();
            Ok(Some((f, len)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && recorded == 0 => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::NotFound(format!(
            "the file of dataset {hid} ({recorded} bytes) is missing from the object store"
        ))),
        Err(e) => Err(ApiError::Internal(format!("{}: {e}", file.display()))),
    }
}

/// `ck_size` bytes from `start`, then on to the end of the line (at most [`MAX_LINE_TAIL`]
/// more); and the offset after them.
fn read_chunk(
    file: &PathBuf,
    start: u64,
    ck_size: u64,
    hid: i64,
    recorded: i64,
) -> Result<(Vec<u8>, u64), ApiError> {
    let io = |e: std::io::Error| ApiError::Internal(format!("{}: {e}", file.display()));
    let Some((f, len)) = open_dataset(file, hid, recorded)? else {
        return Ok((Vec::new(), 0));
    };
    let start = start.min(len);
    let mut f = std::io::BufReader::new(f);
    f.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut data = Vec::new();
    (&mut f).take(ck_size).read_to_end(&mut data).map_err(io)?;
    if data.last().is_some_and(|b| *b != b'\n') {
        let mut byte = [0u8; 1];
        let mut extra = 0;
        while extra < MAX_LINE_TAIL && f.read(&mut byte).map_err(io)? == 1 {
            data.push(byte[0]);
            extra += 1;
            if byte[0] == b'\n' {
                break;
            }
        }
    }
    let end = start + data.len() as u64;
    Ok((data, end))
}

/// The first `len` bytes of `f`, read on the blocking pool a buffer at a time.
pub(crate) fn stream_file(
    f: std::fs::File,
    len: u64,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> {
    futures_util::stream::unfold((Some(f), len), |(f, left)| async move {
        let f = f?;
        if left == 0 {
            return None;
        }
        let want = left.min(STREAM_BUFFER as u64) as usize;
        let read = web::block(move || {
            let mut f = f;
            let mut buf = vec![0u8; want];
            let n = f.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((f, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((f, buf))) => {
                let n = buf.len() as u64;
                Some((Ok(web::Bytes::from(buf)), (Some(f), left - n)))
            }
            Ok(Err(e)) => Some((Err(e), (None, 0))),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), (None, 0))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_galaxy_writes_them() {
        assert_eq!(
            parse_order("create_time-dsc").ok(),
            Some((DatasetOrderField::CreateTime, true))
        );
        assert_eq!(
            parse_order("hid-asc").ok(),
            Some((DatasetOrderField::Hid, false))
        );
        assert!(parse_order("bogus-asc").is_err());
        assert!(parse_order("hid-sideways").is_err());
    }

    #[test]
    fn attachment_names_as_galaxy_makes_them() {
        assert_eq!(
            download_filename(3, "my file/1.txt", "txt"),
            "Galaxy3-[my_file_1.txt].txt"
        );
    }
}
