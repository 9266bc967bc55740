//! Uploads: an `upload1` paste, a multipart file or the elements of a fetch target become
//! datasets written in the request itself, recorded by one `upload1` job that is already
//! finished; no handler is involved. A fetch target may gather its datasets into a new
//! collection, created with the job and the datasets in one transaction.

use crate::datatypes;
use crate::db::models::{Dataset, Job};
use crate::db::queries::collections::{self, CollectionRow, Hdca, MappedRun, NewCollection};
use crate::db::queries::transitions::{self, End, Output};
use crate::db::queries::{datasets, jobs};
use crate::db::{DbConn, DbError};
use crate::tools::Tool;
use crate::tools::paste::Staged;

use super::states::JobState;
use super::{JobError, JobsEnv};

/// An upload with its content written to a temporary file (or why it could not be).
pub struct StagedUpload {
    pub name: Option<String>,
    /// `auto` when not given.
    pub file_type: String,
    pub content: Result<Staged, String>,
}

/// The collection a fetch target's uploads go into: its name and its structure, leaves the
/// indexes of the uploads.
pub struct UploadCollection {
    pub name: String,
    pub structure: NewCollection<usize>,
}

/// What an upload job created.
pub struct Uploaded {
    pub job: Job,
    pub datasets: Vec<Dataset>,
    /// The new collection and its output name, when one was asked for.
    pub collection: Option<(Hdca, CollectionRow, String)>,
}

/// Writes a pasted dataset: the job and dataset rows first (so the file has its id), then the
/// file, then both rows finished.
pub fn create_upload(
    env: &JobsEnv,
    conn: &mut DbConn,
    user_id: Option<i64>,
    history_id: i64,
    tool: &Tool,
    upload: StagedUpload,
    client_address: Option<&str>,
) -> Result<(Job, Dataset), JobError> {
    let (job, mut datasets) = create_uploads(
        env,
        conn,
        user_id,
        history_id,
        tool,
        vec![upload],
        client_address,
    )?;
    let dataset = datasets
        .pop()
        .ok_or_else(|| JobError::Internal("upload created no dataset".into()))?;
    Ok((job, dataset))
}

/// One finished upload job with one dataset per upload (`POST /api/tools/fetch` sends the
/// elements of a target).
pub fn create_uploads(
    env: &JobsEnv,
    conn: &mut DbConn,
    user_id: Option<i64>,
    history_id: i64,
    tool: &Tool,
    uploads: Vec<StagedUpload>,
    client_address: Option<&str>,
) -> Result<(Job, Vec<Dataset>), JobError> {
    let made = create_uploads_in(
        env,
        conn,
        user_id,
        history_id,
        tool,
        uploads,
        None,
        client_address,
    )?;
    Ok((made.job, made.datasets))
}

/// One finished upload job with one dataset per upload, gathered into a new collection when
/// `collection` is given (its datasets hidden, as Galaxy hides a collection's elements): the
/// rows first, in one transaction, then each file moved into place, then the job ended, `ok`
/// when every file is in place.
#[allow(clippy::too_many_arguments)]
pub fn create_uploads_in(
    env: &JobsEnv,
    conn: &mut DbConn,
    user_id: Option<i64>,
    history_id: i64,
    tool: &Tool,
    uploads: Vec<StagedUpload>,
    collection: Option<UploadCollection>,
    client_address: Option<&str>,
) -> Result<Uploaded, JobError> {
    let mut params = serde_json::Map::new();
    let mut outputs = Vec::new();
    for (i, upload) in uploads.iter().enumerate() {
        let ext = if upload.file_type == "auto" {
            "txt".to_string()
        } else {
            upload.file_type.clone()
        };
        let name = upload
            .name
            .clone()
            .unwrap_or_else(|| "Pasted Entry".to_string());
        if i == 0 {
            params.insert("file_type".into(), upload.file_type.clone().into());
        }
        params.insert(
            format!("files_{i}|file_type"),
            upload.file_type.clone().into(),
        );
        params.insert(format!("files_{i}|NAME"), name.clone().into());
        let output = if i == 0 {
            primary_output(tool)
        } else {
            format!("output{i}")
        };
        outputs.push((output, name, ext));
    }
    let params = serde_json::Value::Object(params).to_string();
    let spec = jobs::JobSpec {
        user_id,
        history_id,
        tool_id: &tool.id,
        tool_version: &tool.version,
        state: JobState::Queued,
        handler: Some(&env.server_name),
        handler_tag: None,
        params: &params,
        destination_id: None,
        client_address,
        inputs: vec![],
        outputs,
    };
    let (job, outputs, hdca) = match collection {
        None => {
            let (job, outputs) = jobs::create_job(conn, &spec)?;
            (job, outputs, None)
        }
        Some(UploadCollection { name, structure }) => {
            let output_name = "output".to_string();
            let run = MappedRun {
                history_id,
                user_id,
                jobs: vec![spec],
                collections: vec![(name, None, structure.map_leaves(&mut |i| (0, *i)))],
            };
            let mut made = collections::create_mapped_run(conn, &run)?;
            let job = made
                .jobs
                .pop()
                .ok_or_else(|| JobError::Internal("upload created no job".into()))?;
            let outputs = made.outputs.pop().unwrap_or_default();
            let hdca = made
                .hdcas
                .pop()
                .map(|(h, row)| (h, row, output_name.clone()));
            (job, outputs, hdca)
        }
    };
    if outputs.len() != uploads.len() {
        return Err(JobError::Internal("upload created too few datasets".into()));
    }
    let mut sizes = Vec::new();
    let mut failures = Vec::new();
    for ((_, dataset), upload) in outputs.iter().zip(uploads) {
        let path = env.dataset_path(dataset.id);
        let file_type = upload.file_type;
        let written = upload.content.and_then(|staged| {
            staged
                .persist(&path)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
        match written {
            Ok(size) => {
                // `auto` is sniffed; an explicit type is kept.
                let ext = datatypes::upload_ext(&file_type, &path);
                let metadata = datatypes::metadata_json(&path, &ext);
                sizes.push(Output {
                    id: dataset.id,
                    size: size as i64,
                    ext: Some(ext),
                    metadata,
                });
            }
            Err(info) => {
                sizes.push(Output::sized(dataset.id, 0));
                failures.push(info);
            }
        }
    }
    let ok = failures.is_empty();
    let info = (!ok).then(|| failures.join("; "));
    let token = jobs::claim_queued_upload(conn, job.id)?;
    let end = End {
        id: job.id,
        tok: token,
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        stdout: String::new(),
        stderr: info.clone().unwrap_or_default(),
        info,
        outputs: Some(sizes),
        metrics: Vec::new(),
    };
    transitions::apply(conn, &[], &[], &[end])?;
    let job = jobs::find_job(conn, job.id)?
        .ok_or_else(|| DbError::Query(diesel::result::Error::NotFound))?;
    let mut datasets = Vec::new();
    for (_, d) in outputs {
        datasets.push(
            datasets::find_dataset(conn, d.id)?
                .ok_or_else(|| DbError::Query(diesel::result::Error::NotFound))?,
        );
    }
    Ok(Uploaded {
        job,
        datasets,
        collection: hdca,
    })
}

fn primary_output(tool: &Tool) -> String {
    tool.outputs
        .first()
        .map_or_else(|| "output0".to_string(), |o| o.name.clone())
}
