//! Galaxy's JSON shapes for users, histories, datasets and jobs.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::IdEncoder;
use crate::db::models::{Dataset, History, Job, JobInput, JobOutput, User};
use crate::jobs::states::DatasetState;

pub const VERSION_MAJOR: &str = "24.1";
pub const VERSION_MINOR: &str = "0";

/// Galaxy's time format (ISO 8601, no zone, microseconds).
pub fn time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub fn user(ids: &IdEncoder, u: &User, is_admin: bool) -> Value {
    json!({
        "model_class": "User",
        "id": ids.encode(u.id),
        "email": u.email,
        "username": u.username,
        "is_admin": is_admin,
        "deleted": u.deleted,
        "purged": false,
        "active": true,
        "preferences": {},
        "total_disk_usage": 0,
        "nice_total_disk_usage": "0 bytes",
        "quota_percent": null,
    })
}

pub fn dataset(ids: &IdEncoder, d: &Dataset) -> Value {
    let id = ids.encode(d.id);
    json!({
        "model_class": "HistoryDatasetAssociation",
        "id": id,
        "name": d.name,
        "hid": d.hid,
        "history_id": ids.encode(d.history_id),
        "state": d.state,
        "extension": d.extension,
        "file_ext": d.extension,
        "file_size": d.file_size,
        "file_name": null,
        "deleted": d.deleted,
        "purged": false,
        "visible": true,
        "genome_build": "?",
        "misc_info": d.info.clone().unwrap_or_default(),
        "misc_blurb": blurb(d),
        "data_type": "galaxy.datatypes.data.Text",
        "history_content_type": "dataset",
        "type": "file",
        "dataset_id": id,
        "creating_job": d.creating_job_id.map(|j| ids.encode(j)),
        "url": format!("/api/datasets/{id}"),
        "download_url": format!("/api/datasets/{id}/display?to_ext={}", d.extension),
        "create_time": time(&d.create_time),
        "update_time": time(&d.update_time),
        "tags": [],
        "annotation": null,
        "metadata_dbkey": "?",
    })
}

fn blurb(d: &Dataset) -> String {
    match d.state {
        DatasetState::Ok => format!("{} bytes", d.file_size),
        DatasetState::Queued | DatasetState::New => "queued".into(),
        other => other.to_string(),
    }
}

/// One row of `/api/histories/{id}/contents`.
pub fn content_item(ids: &IdEncoder, d: &Dataset) -> Value {
    let id = ids.encode(d.id);
    json!({
        "id": id,
        "name": d.name,
        "hid": d.hid,
        "history_id": ids.encode(d.history_id),
        "state": d.state,
        "extension": d.extension,
        "deleted": d.deleted,
        "purged": false,
        "visible": true,
        "history_content_type": "dataset",
        "type": "file",
        "type_id": format!("dataset-{id}"),
        "url": format!("/api/histories/{}/contents/{id}", ids.encode(d.history_id)),
        "create_time": time(&d.create_time),
        "update_time": time(&d.update_time),
        "tags": [],
    })
}

/// A history; with `datasets`, the detailed view (`state`, `state_ids`, `state_details`).
pub fn history(ids: &IdEncoder, h: &History, datasets: Option<&[Dataset]>) -> Value {
    let id = ids.encode(h.id);
    let mut v = json!({
        "model_class": "History",
        "id": id,
        "name": h.name,
        "deleted": h.deleted,
        "purged": false,
        "published": false,
        "importable": false,
        "annotation": null,
        "tags": [],
        "url": format!("/api/histories/{id}"),
        "user_id": h.user_id.map(|u| ids.encode(u)),
        "create_time": time(&h.create_time),
        "update_time": time(&h.update_time),
    });
    if let Some(datasets) = datasets {
        let mut state_ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for s in [
            "new",
            "queued",
            "running",
            "ok",
            "error",
            "paused",
            "discarded",
            "deleted",
            "upload",
            "empty",
            "setting_metadata",
            "failed_metadata",
            "deferred",
        ] {
            state_ids.insert(s, vec![]);
        }
        for d in datasets.iter().filter(|d| !d.deleted) {
            state_ids
                .entry(d.state.as_str())
                .or_default()
                .push(ids.encode(d.id));
        }
        let details: BTreeMap<&str, usize> = state_ids.iter().map(|(k, v)| (*k, v.len())).collect();
        let state = history_state(&details);
        let size: i64 = datasets
            .iter()
            .filter(|d| !d.deleted)
            .map(|d| d.file_size)
            .sum();
        v["state"] = json!(state);
        v["state_ids"] = json!(state_ids);
        v["state_details"] = json!(details);
        v["size"] = json!(size);
        v["count"] = json!(datasets.len());
        v["contents_url"] = json!(format!("/api/histories/{id}/contents"));
    }
    v
}

fn history_state(details: &BTreeMap<&str, usize>) -> &'static str {
    let n = |s: &str| details.get(s).copied().unwrap_or(0);
    if n("error") > 0 || n("failed_metadata") > 0 {
        "error"
    } else if n("running") > 0 || n("setting_metadata") > 0 {
        "running"
    } else if n("queued") > 0 || n("new") > 0 || n("upload") > 0 {
        "queued"
    } else if n("paused") > 0 {
        "paused"
    } else if n("ok") > 0 {
        "ok"
    } else {
        "new"
    }
}

/// A job's input and output dataset links.
pub type JobLinks<'a> = (&'a [(JobInput, Dataset)], &'a [(JobOutput, Dataset)]);

/// A job; `full` adds `stdout`, `stderr`, `command_line`, `handler`, `job_runner_name`,
/// `inputs`, `outputs`, `params`.
pub fn job(ids: &IdEncoder, j: &Job, full: Option<JobLinks<'_>>) -> Value {
    let mut v = json!({
        "model_class": "Job",
        "id": ids.encode(j.id),
        "tool_id": j.tool_id,
        "tool_version": j.tool_version,
        "history_id": ids.encode(j.history_id),
        "state": j.state,
        "exit_code": j.exit_code,
        "create_time": time(&j.create_time),
        "update_time": time(&j.update_time),
        "galaxy_version": VERSION_MAJOR,
        "external_id": j.job_runner_external_id,
    });
    if let Some((inputs, outputs)) = full {
        let link = |name: &str, d: &Dataset| {
            (
                name.to_string(),
                json!({"id": ids.encode(d.id), "src": "hda", "uuid": null}),
            )
        };
        let inputs: serde_json::Map<String, Value> =
            inputs.iter().map(|(l, d)| link(&l.name, d)).collect();
        let outputs: serde_json::Map<String, Value> =
            outputs.iter().map(|(l, d)| link(&l.name, d)).collect();
        let params: Value = serde_json::from_str(&j.params).unwrap_or(Value::Null);
        let stdout = j.stdout.clone().unwrap_or_default();
        let stderr = j.stderr.clone().unwrap_or_default();
        v["stdout"] = json!(stdout);
        v["stderr"] = json!(stderr);
        v["tool_stdout"] = json!(stdout);
        v["tool_stderr"] = json!(stderr);
        v["job_stdout"] = json!("");
        v["job_stderr"] = json!("");
        v["job_messages"] = json!([]);
        v["command_line"] = json!(j.command_line);
        v["handler"] = json!(j.handler);
        v["job_runner_name"] = json!(j.job_runner_name);
        v["info"] = json!(j.info);
        v["destination_id"] = json!(j.destination_id);
        v["client_address"] = json!(j.client_address);
        v["inputs"] = Value::Object(inputs);
        v["outputs"] = Value::Object(outputs);
        v["output_collections"] = json!({});
        v["params"] = params;
        v["dependencies"] = json!([]);
        v["job_metrics"] = json!([]);
    }
    v
}
