//! `GET /api/dataset_collections/{id}/download` (BioBlend's `download_dataset_collection`):
//! the collection's datasets as one zip archive, as Galaxy >= 21.01 sends it: each dataset at
//! `<collection name>/<identifier>[/<identifier>…].<ext>`, stored (not compressed). The
//! archive is written to an unnamed temporary file beside the datasets, a file at a time,
//! then streamed; nothing is held in memory.

use std::io::{Seek, SeekFrom};
use std::path::PathBuf;

use actix_web::{HttpResponse, web};
use zip::write::SimpleFileOptions;

use super::collections::accessible_hdca;
use super::datasets::stream_file;
use crate::db::queries::collections::{Collection, ElementObject};
use crate::jobs::states::DatasetState;
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/dataset_collections/{id}/download",
        web::get().to(download),
    );
}

/// A name reduced to characters safe in an archive path and a header.
fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-()[]+, ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(150)
        .collect();
    match s.trim() {
        "" | "." | ".." => "_".to_string(),
        t => t.to_string(),
    }
}

/// Every dataset of `c` as (path in the archive, file, size); a dataset that is not `ok`
/// (or was purged) stops the download with a 400 naming its element.
fn entries(
    state: &AppState,
    c: &Collection,
    prefix: &str,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), ApiError> {
    for e in &c.elements {
        let here = format!("{prefix}/{}", safe(&e.row.element_identifier));
        match &e.object {
            ElementObject::Collection(child) => entries(state, child, &here, out)?,
            ElementObject::Dataset(d) => {
                if d.state != DatasetState::Ok || d.purged {
                    let what = if d.purged {
                        "purged".to_string()
                    } else {
                        d.state.to_string()
                    };
                    return Err(ApiError::BadRequest(format!(
                        "Cannot download the collection: its element '{}' is {what}; a \
                         collection is downloaded when all its datasets are ok.",
                        here.trim_start_matches('/')
                    )));
                }
                out.push((
                    format!("{here}.{}", safe(&d.extension)),
                    state.env.dataset_path(d.id),
                ));
            }
        }
    }
    Ok(())
}

/// Writes the archive into an unnamed temporary file in `dir`; the file and its length.
fn write_zip(
    dir: &std::path::Path,
    files: Vec<(String, PathBuf)>,
) -> Result<(std::fs::File, u64), ApiError> {
    let io = |what: &str, e: &dyn std::fmt::Display| {
        ApiError::Internal(format!("writing the collection archive ({what}): {e}"))
    };
    std::fs::create_dir_all(dir).map_err(|e| io("spool", &e))?;
    let file = tempfile::tempfile_in(dir).map_err(|e| io("spool", &e))?;
    let mut zip = zip::ZipWriter::new(file);
    for (name, path) in files {
        let mut input = match std::fs::File::open(&path) {
            Ok(f) => Some(f),
            // Recorded empty and never written: an empty entry.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&name, &e)),
        };
        let size = match &input {
            Some(f) => f.metadata().map_err(|e| io(&name, &e))?.len(),
            None => 0,
        };
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(size >= u64::from(u32::MAX));
        zip.start_file(name.as_str(), options)
            .map_err(|e| io(&name, &e))?;
        if let Some(f) = &mut input {
            std::io::copy(f, &mut zip).map_err(|e| io(&name, &e))?;
        }
    }
    let mut file = zip.finish().map_err(|e| io("finish", &e))?;
    let len = file.seek(SeekFrom::End(0)).map_err(|e| io("seek", &e))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| io("seek", &e))?;
    Ok((file, len))
}

async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let (h, coll) = state.db(move |c| accessible_hdca(c, &caller, id)).await?;
    let name = safe(&h.name);
    let mut files = Vec::new();
    entries(&state, &coll, &name, &mut files)?;
    let dir = state.env.settings.galaxy.file_path.clone();
    let (file, len) = web::block(move || write_zip(&dir, files)).await??;
    let mut resp = HttpResponse::Ok();
    resp.content_type("application/zip");
    resp.insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"{name}.zip\""),
    ));
    resp.no_chunking(len);
    Ok(resp.streaming(stream_file(file, len)))
}
