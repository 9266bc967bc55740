//! Galaxy's JSON shapes for users, histories, datasets and jobs.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::IdEncoder;
use crate::db::models::{Dataset, History, Job, JobInput, JobMetric, JobOutput, User};
use crate::db::queries::collections::{Collection, CollectionRow, ElementObject, Hdca};
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
    let mut v = json!({
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
        "purged": d.purged,
        "visible": d.visible,
        "genome_build": "?",
        "misc_info": d.info.clone().unwrap_or_default(),
        "misc_blurb": blurb(d),
        "data_type": crate::datatypes::class_name(&d.extension),
        "history_content_type": "dataset",
        "type": "file",
        "dataset_id": id,
        "creating_job": d.creating_job_id.map(|j| ids.encode(j)),
        "url": format!("/api/datasets/{id}"),
        "download_url": format!(
            "/api/histories/{}/contents/{id}/display",
            ids.encode(d.history_id)
        ),
        "create_time": time(&d.create_time),
        "update_time": time(&d.update_time),
        "tags": [],
        "annotation": d.annotation,
        "metadata_dbkey": "?",
    });
    // Galaxy's serializer: each metadata element as `metadata_<name>`.
    if let Some(Value::Object(m)) = d
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
    {
        for (name, value) in m {
            v[format!("metadata_{name}")] = value;
        }
    }
    v
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
        "purged": d.purged,
        "visible": d.visible,
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
        "purged": h.purged,
        "published": false,
        "importable": false,
        "annotation": h.annotation,
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
        // As Galaxy's disk size: every dataset whose file is still kept (deleted or not).
        let size: i64 = datasets
            .iter()
            .filter(|d| !d.purged)
            .map(|d| d.file_size)
            .sum();
        let count = |p: &dyn Fn(&Dataset) -> bool| datasets.iter().filter(|d| p(d)).count();
        v["state"] = json!(state);
        v["state_ids"] = json!(state_ids);
        v["state_details"] = json!(details);
        v["size"] = json!(size);
        v["nice_size"] = json!(nice_size(size));
        v["contents_active"] = json!({
            "active": count(&|d| !d.deleted && d.visible),
            "deleted": count(&|d| d.deleted),
            "hidden": count(&|d| !d.visible),
        });
        v["count"] = json!(datasets.len());
        v["contents_url"] = json!(format!("/api/histories/{id}/contents"));
    }
    v
}

/// A size as Galaxy's `nice_size` writes it: `"100 bytes"`, `"9.8 KB"`, `"95.4 MB"`.
pub fn nice_size(size: i64) -> String {
    const WORDS: [&str; 7] = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let prefix = if size < 0 { "-" } else { "" };
    let size = size.unsigned_abs() as f64;
    for (i, word) in WORDS.iter().enumerate() {
        let step = 1024f64.powi(i as i32 + 1);
        if step > size {
            let scaled = size / 1024f64.powi(i as i32);
            if i == 0 {
                return format!("{prefix}{} bytes", scaled as u64);
            }
            return format!("{prefix}{scaled:.1} {word}");
        }
    }
    "??? bytes".into()
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
/// `job_runner_external_id`, `destination_id`, `inputs`, `outputs`, `params` (and the caller
/// fills `job_metrics`).
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
        v["job_runner_external_id"] = json!(j.job_runner_external_id);
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

/// One job metric as Galaxy shows it: `{title, value, plugin, name, raw_value}`, with the
/// `core` plugin's titles and formats; another plugin's metric is shown as recorded.
pub fn job_metric(m: &JobMetric) -> Value {
    let (title, value) = match m.plugin.as_str() {
        "core" => core_metric(&m.metric_name, m.metric_value),
        _ => None,
    }
    .unwrap_or_else(|| (m.metric_name.clone(), m.metric_value.to_string()));
    json!({
        "title": title,
        "value": value,
        "plugin": m.plugin,
        "name": m.metric_name,
        "raw_value": format!("{:.7}", m.metric_value),
    })
}

/// Galaxy's `core` titles and values; values are shown in whole units, times in the server's
/// local time.
fn core_metric(name: &str, value: f64) -> Option<(String, String)> {
    let whole = value.trunc() as i64;
    let (title, shown) = match name {
        "galaxy_slots" => ("Cores Allocated", whole.to_string()),
        "galaxy_memory_mb" => ("Memory Allocated (MB)", whole.to_string()),
        "runtime_seconds" => ("Job Runtime (Wall Clock)", duration(whole)),
        "start_epoch" | "end_epoch" => {
            let at = chrono::DateTime::from_timestamp(whole, 0)?.with_timezone(&chrono::Local);
            let title = if name == "start_epoch" {
                "Job Start Time"
            } else {
                "Job End Time"
            };
            (title, at.format("%Y-%m-%d %H:%M:%S").to_string())
        }
        _ => return None,
    };
    Some((title.to_string(), shown))
}

/// Whole seconds in words, as Galaxy writes a run time: "1 second", "5 minutes",
/// "2 hours and 1 minute".
pub fn duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (mins, secs) = (seconds.div_euclid(60), seconds.rem_euclid(60));
    let (hours, mins) = (mins.div_euclid(60), mins.rem_euclid(60));
    if seconds < 60 {
        plural(secs, "second")
    } else if seconds < 3600 {
        plural(mins, "minute")
    } else {
        format!("{} and {}", plural(hours, "hour"), plural(mins, "minute"))
    }
}

/// Counts of the states of a collection's datasets, as Galaxy's `job_state_summary` counts
/// the states of the jobs behind it (one job per dataset of a mapped-over run).
fn collection_state_summary(ids: &IdEncoder, h: &Hdca, leaves: &[&Dataset]) -> Value {
    let mut summary = serde_json::Map::new();
    for s in [
        "new", "queued", "running", "ok", "error", "paused", "deleted", "deleting", "failed",
    ] {
        summary.insert(s.into(), json!(0));
    }
    for d in leaves {
        let key = d.state.to_string();
        let n = summary.get(&key).and_then(Value::as_i64).unwrap_or(0);
        summary.insert(key, json!(n + 1));
    }
    summary.insert("all_jobs".into(), json!(leaves.len()));
    summary.insert("populated".into(), json!(true));
    summary.insert("id".into(), json!(ids.encode(h.id)));
    summary.insert("model".into(), json!("ImplicitCollectionJobs"));
    Value::Object(summary)
}

/// A history dataset collection as listed in history contents (Galaxy's HDCASummary).
pub fn hdca_summary(ids: &IdEncoder, h: &Hdca, c: &CollectionRow) -> Value {
    let id = ids.encode(h.id);
    let history_id = ids.encode(h.history_id);
    json!({
        "model_class": "HistoryDatasetCollectionAssociation",
        "id": id,
        "hid": h.hid,
        "name": h.name,
        "history_id": history_id,
        "history_content_type": "dataset_collection",
        "type": "collection",
        "type_id": format!("dataset_collection-{id}"),
        "collection_type": c.collection_type,
        "populated_state": c.populated_state,
        "populated_state_message": null,
        "populated": c.populated_state == "ok",
        "element_count": c.element_count,
        "collection_id": ids.encode(c.id),
        "deleted": h.deleted,
        "visible": h.visible,
        "job_source_id": null,
        "job_source_type": if h.implicit_output_name.is_some() { json!("ImplicitCollectionJobs") } else { Value::Null },
        "contents_url": format!("/api/dataset_collections/{id}/contents/{}", ids.encode(c.id)),
        "url": format!("/api/histories/{history_id}/contents/dataset_collections/{id}"),
        "create_time": time(&h.create_time),
        "update_time": time(&h.update_time),
        "tags": [],
    })
}

/// A history dataset collection with its elements, nested (Galaxy's HDCADetailed).
pub fn hdca(ids: &IdEncoder, h: &Hdca, c: &Collection) -> Value {
    let mut v = hdca_summary(ids, h, &c.row);
    let tree = c.tree();
    let leaves = tree.leaves();
    let mut types: Vec<&str> = leaves.iter().map(|d| d.extension.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    v["elements"] = json!(collection_elements(ids, c));
    v["elements_datatypes"] = json!(types);
    v["job_state_summary"] = collection_state_summary(ids, h, &leaves);
    v
}

/// The elements of a collection (Galaxy's DCESummary list), sub-collections nested.
pub fn collection_elements(ids: &IdEncoder, c: &Collection) -> Vec<Value> {
    c.elements
        .iter()
        .map(|e| {
            let (element_type, object) = match &e.object {
                ElementObject::Dataset(d) => ("hda", dataset(ids, d)),
                ElementObject::Collection(child) => (
                    "dataset_collection",
                    json!({
                        "model_class": "DatasetCollection",
                        "id": ids.encode(child.row.id),
                        "collection_type": child.row.collection_type,
                        "populated": child.row.populated_state == "ok",
                        "populated_state": child.row.populated_state,
                        "populated_state_message": null,
                        "element_count": child.row.element_count,
                        "elements": collection_elements(ids, child),
                    }),
                ),
            };
            json!({
                "model_class": "DatasetCollectionElement",
                "id": ids.encode(e.row.id),
                "element_index": e.row.element_index,
                "element_identifier": e.row.element_identifier,
                "element_type": element_type,
                "object": object,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, value: f64) -> Value {
        job_metric(&JobMetric {
            id: 1,
            job_id: 1,
            plugin: "core".into(),
            metric_name: name.into(),
            metric_value: value,
        })
    }

    #[test]
    fn sizes_as_galaxy_writes_them() {
        assert_eq!(nice_size(0), "0 bytes");
        assert_eq!(nice_size(100), "100 bytes");
        assert_eq!(nice_size(10_000), "9.8 KB");
        assert_eq!(nice_size(1_000_000), "976.6 KB");
        assert_eq!(nice_size(100_000_000), "95.4 MB");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration(0), "0 seconds");
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(59), "59 seconds");
        assert_eq!(duration(60), "1 minute");
        assert_eq!(duration(150), "2 minutes");
        assert_eq!(duration(3600), "1 hour and 0 minutes");
        assert_eq!(duration(7260), "2 hours and 1 minute");
    }

    #[test]
    fn core_metrics_as_galaxy_shows_them() {
        let m = metric("runtime_seconds", 1.75);
        assert_eq!(m["title"], "Job Runtime (Wall Clock)");
        assert_eq!(m["value"], "1 second");
        assert_eq!(m["plugin"], "core");
        assert_eq!(m["name"], "runtime_seconds");
        assert_eq!(m["raw_value"], "1.7500000");
        let m = metric("galaxy_slots", 4.0);
        assert_eq!(
            (&m["title"], &m["value"]),
            (&json!("Cores Allocated"), &json!("4"))
        );
        let m = metric("galaxy_memory_mb", 2048.0);
        assert_eq!(m["title"], "Memory Allocated (MB)");
        assert_eq!(m["value"], "2048");
        let m = metric("start_epoch", 1_700_000_000.5);
        assert_eq!(m["title"], "Job Start Time");
        let shown = m["value"].as_str().unwrap_or_default();
        assert!(
            chrono::NaiveDateTime::parse_from_str(shown, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{m}"
        );
        assert_eq!(metric("end_epoch", 1.0)["title"], "Job End Time");
        let m = metric("something_else", 2.5);
        assert_eq!(
            (&m["title"], &m["value"]),
            (&json!("something_else"), &json!("2.5"))
        );
    }
}
