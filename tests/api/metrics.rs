//! Job metrics: Galaxy's core plugin's metrics of a finished job at
//! `GET /api/jobs/{id}/metrics` and in `?full=true`, seen by those who may see the job.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, assert_error};

both_backends!(finished_job_has_core_metrics);

/// The metrics list by name: (raw value, the whole entry).
fn by_name(list: &Value) -> BTreeMap<String, (f64, Value)> {
    list.as_array()
        .unwrap_or_else(|| panic!("metrics are not a list: {list}"))
        .iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_else(|| panic!("no name: {m}"));
            let raw: f64 = m["raw_value"]
                .as_str()
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("raw_value is not a number string: {m}"));
            for k in ["title", "value", "plugin"] {
                assert!(m[k].is_string(), "metric without a string {k}: {m}");
            }
            assert_eq!(m["plugin"], "core", "{m}");
            (name.to_string(), (raw, m.clone()))
        })
        .collect()
}

fn finished_job_has_core_metrics(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let owner = server.create_user("metrics");
    let other = server.create_user("nosy");
    let key = owner.key.as_str();
    let hid = server.create_history(key, "metrics");
    let (data, upload) = server.paste(key, &hid, "one\ntwo\n");
    server.wait_job_ok(key, &upload);
    let (out, job) = server.run_on(key, &hid, "cat1", "input1", &data);
    server.wait_job_ok(key, &job);
    server.assert_dataset(key, &out, "one\ntwo\n");

    let (status, list) = server
        .api
        .get(&format!("/api/jobs/{job}/metrics"), Some(key));
    assert_eq!(status, 200, "{list}");
    let m = by_name(&list);
    for name in [
        "runtime_seconds",
        "start_epoch",
        "end_epoch",
        "galaxy_slots",
    ] {
        assert!(m.contains_key(name), "no {name} in {list}");
    }
    let (runtime, entry) = &m["runtime_seconds"];
    assert!(*runtime >= 0.0 && *runtime < 60.0, "{entry}");
    assert_eq!(entry["title"], "Job Runtime (Wall Clock)", "{entry}");
    assert!(
        entry["value"]
            .as_str()
            .is_some_and(|v| v.ends_with("seconds") || v == "1 second"),
        "{entry}"
    );
    let (start, end) = (m["start_epoch"].0, m["end_epoch"].0);
    assert!(start <= end, "start {start} after end {end}: {list}");
    assert!((end - start - runtime).abs() < 1e-3, "{list}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    assert!(
        start > now - 600.0 && end <= now + 5.0,
        "epochs not of now ({now}): {list}"
    );
    assert_eq!(m["start_epoch"].1["title"], "Job Start Time", "{list}");
    assert_eq!(m["end_epoch"].1["title"], "Job End Time", "{list}");
    let (slots, entry) = &m["galaxy_slots"];
    assert_eq!(*slots, 1.0, "{entry}");
    assert_eq!(entry["title"], "Cores Allocated", "{entry}");
    assert_eq!(entry["value"], "1", "{entry}");

    // The full view carries them too, with the runner, external id and destination.
    let (status, full) = server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{full}");
    assert_eq!(by_name(&full["job_metrics"]).len(), m.len(), "{full}");
    for k in ["job_runner_name", "job_runner_external_id", "external_id"] {
        assert!(
            full[k].as_str().is_some_and(|s| !s.is_empty()),
            "full job has no {k}: {full}"
        );
    }
    assert_eq!(
        full["job_runner_external_id"], full["external_id"],
        "{full}"
    );
    assert!(full.get("destination_id").is_some(), "{full}");

    // The upload ran in the request, not in a job script: no metrics.
    let (status, none) = server
        .api
        .get(&format!("/api/jobs/{upload}/metrics"), Some(key));
    assert_eq!(status, 200, "{none}");
    assert_eq!(none, serde_json::json!([]), "{none}");

    // Who may see the job may see its metrics: the owner and admins, nobody else.
    let (status, admin) = server
        .api
        .get(&format!("/api/jobs/{job}/metrics"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{admin}");
    assert_eq!(by_name(&admin).len(), m.len(), "{admin}");
    let path = format!("/api/jobs/{job}/metrics");
    for caller in [Some(other.key.as_str()), None] {
        let (status, body) = server.api.get(&path, caller);
        assert_error(
            &format!("{caller:?}: GET metrics"),
            status,
            &body,
            &[401, 403, 404],
        );
        assert!(!body.to_string().contains("runtime"), "{body}");
        let (job_status, _) = server.api.get(&format!("/api/jobs/{job}"), caller);
        assert_eq!(
            status, job_status,
            "{caller:?}: not the answer of GET /api/jobs/{{id}}"
        );
    }
}
