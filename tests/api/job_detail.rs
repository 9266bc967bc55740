//! Job, tool and history detail and the job list filters.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{Backend, Opts, TestServer, str_field};

both_backends!(job_details_and_filters, tools_and_histories);

fn id_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {v}"))
        .iter()
        .map(|item| str_field(item, "id"))
        .collect()
}

fn job_details_and_filters(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("detail");
    let key = user.key.as_str();
    let hid = server.create_history(key, "details");
    let text = "b\na\nc c\n";
    let (data, upload) = server.paste(key, &hid, text);
    server.wait_job_ok(key, &upload);
    let (sort_out, sort_job) = server.run_on(key, &hid, "sort1", "input", &data);
    let (_, cat_job) = server.run_on(key, &hid, "cat1", "input1", &data);
    let (wc_out, wc_job) = server.run_on(key, &hid, "wc_gnu", "input1", &data);
    let other = server.create_history(key, "other");
    let (other_data, other_upload) = server.paste(key, &other, "y\nx\n");
    server.wait_job_ok(key, &other_upload);
    let (_, other_sort) = server.run_on(key, &other, "sort1", "input", &other_data);
    for job in [&sort_job, &cat_job, &wc_job, &other_sort] {
        server.wait_job_ok(key, job);
    }

    // The summary view.
    let j = server.job(key, &sort_job);
    assert_eq!(j["model_class"], "Job", "{j}");
    assert_eq!(j["id"], sort_job.as_str(), "{j}");
    assert_eq!(j["tool_id"], "sort1", "{j}");
    assert_eq!(j["history_id"], hid.as_str(), "{j}");
    assert_eq!(j["state"], "ok", "{j}");
    assert_eq!(j["exit_code"], 0, "{j}");
    for k in ["create_time", "update_time"] {
        assert!(j[k].is_string(), "no {k} in {j}");
    }

    // The full view.
    let (status, full) = server
        .api
        .get(&format!("/api/jobs/{sort_job}?full=true"), Some(key));
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["model_class"], "Job", "{full}");
    assert_eq!(full["exit_code"], 0, "{full}");
    for k in ["stdout", "stderr"] {
        assert!(full[k].is_string(), "full job has no string {k}: {full}");
    }
    for k in ["command_line", "handler", "job_runner_name"] {
        assert!(
            full[k].as_str().is_some_and(|s| !s.is_empty()),
            "full job has no non-empty {k}: {full}"
        );
    }
    assert!(
        full["command_line"]
            .as_str()
            .unwrap_or_default()
            .contains("sort"),
        "command_line of sort1 does not run sort: {full}"
    );
    assert_eq!(
        full["inputs"]["input"]["id"],
        data.as_str(),
        "inputs: {full}"
    );
    assert_eq!(full["inputs"]["input"]["src"], "hda", "inputs: {full}");
    assert_eq!(
        full["outputs"]["out_file1"]["id"],
        sort_out.as_str(),
        "outputs: {full}"
    );
    // `?full=True` is what BioBlend sends.
    let (status, full_py) = server
        .api
        .get(&format!("/api/jobs/{sort_job}?full=True"), Some(key));
    assert_eq!(status, 200, "?full=True: {full_py}");
    assert!(full_py["command_line"].is_string(), "?full=True: {full_py}");

    // wc_gnu counts lines, words and characters.
    let counts = server.display(key, &wc_out);
    let tokens: Vec<&str> = counts.split_whitespace().collect();
    for n in ["3", "4", "8"] {
        assert!(tokens.contains(&n), "wc_gnu output lacks {n}: {counts:?}");
    }

    // Filters.
    let list = |query: &str| -> BTreeSet<String> {
        let (status, v) = server.api.get(&format!("/api/jobs?{query}"), Some(key));
        assert_eq!(status, 200, "/api/jobs?{query}: {v}");
        for item in v.as_array().expect("a list") {
            assert_eq!(item["model_class"], "Job", "{item}");
        }
        id_set(&v)
    };
    let set = |ids: &[&String]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        list(&format!("state=ok&tool_id=sort1&history_id={hid}")),
        set(&[&sort_job])
    );
    assert_eq!(list("tool_id=sort1"), set(&[&sort_job, &other_sort]));
    assert_eq!(
        list(&format!("history_id={hid}")),
        set(&[&upload, &sort_job, &cat_job, &wc_job])
    );
    assert_eq!(list("state=error"), set(&[]));
    assert_eq!(list("state=ok").len(), 6);
    assert_eq!(list("tool_id=upload1"), set(&[&upload, &other_upload]));
    let page1 = list(&format!(
        "history_id={hid}&limit=2&offset=0&order_by=create_time"
    ));
    let page2 = list(&format!(
        "history_id={hid}&limit=2&offset=2&order_by=create_time"
    ));
    assert_eq!(page1.len(), 2, "limit=2: {page1:?}");
    assert_eq!(page2.len(), 2, "limit=2&offset=2: {page2:?}");
    assert!(
        page1.is_disjoint(&page2),
        "pages overlap: {page1:?} {page2:?}"
    );
    assert_eq!(list("limit=1").len(), 1);
}

/// Collects every string `id` in a tool list (flat, or panel sections with `elems`).
fn tool_ids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| tool_ids(i, out)),
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("id") {
                out.insert(id.clone());
            }
            if let Some(elems) = map.get("elems") {
                tool_ids(elems, out);
            }
        }
        _ => {}
    }
}

fn param<'a>(tool: &'a Value, name: &str) -> &'a Value {
    tool["inputs"]
        .as_array()
        .unwrap_or_else(|| panic!("no inputs list in {tool}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no input `{name}` in {tool}"))
}

fn tools_and_histories(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("browser");
    let key = user.key.as_str();

    let (status, version) = server.api.get("/api/version", None);
    assert_eq!(status, 200, "{version}");
    assert!(version["version_major"].is_string(), "{version}");

    let (status, tools) = server.api.get("/api/tools", Some(key));
    assert_eq!(status, 200, "{tools}");
    let mut ids = BTreeSet::new();
    tool_ids(&tools, &mut ids);
    for t in ["cat1", "sort1", "wc_gnu", "sleep", "upload1"] {
        assert!(ids.contains(t), "/api/tools lacks {t}: {ids:?}");
    }

    let (status, sort1) = server
        .api
        .get("/api/tools/sort1?io_details=true", Some(key));
    assert_eq!(status, 200, "{sort1}");
    assert_eq!(sort1["id"], "sort1", "{sort1}");
    assert!(
        sort1["name"].is_string() && sort1["version"].is_string(),
        "{sort1}"
    );
    assert_eq!(param(&sort1, "input")["type"], "data", "{sort1}");
    let (status, sleep) = server
        .api
        .get("/api/tools/sleep?io_details=true", Some(key));
    assert_eq!(status, 200, "{sleep}");
    assert_eq!(param(&sleep, "seconds")["type"], "integer", "{sleep}");
    let (status, cat1) = server.api.get("/api/tools/cat1?io_details=true", Some(key));
    assert_eq!(status, 200, "{cat1}");
    assert_eq!(param(&cat1, "input1")["type"], "data", "{cat1}");
    assert_eq!(param(&cat1, "input2")["type"], "data", "{cat1}");

    // A history: show, contents, state.
    let hid = server.create_history(key, "browse");
    let (status, h) = server.api.get(&format!("/api/histories/{hid}"), Some(key));
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["id"], hid.as_str(), "{h}");
    assert_eq!(h["name"], "browse", "{h}");
    let (d1, j1) = server.paste(key, &hid, "one\n");
    let (d2, j2) = server.paste(key, &hid, "two\n");
    server.wait_job_ok(key, &j1);
    server.wait_job_ok(key, &j2);
    let (status, contents) = server
        .api
        .get(&format!("/api/histories/{hid}/contents"), Some(key));
    assert_eq!(status, 200, "{contents}");
    assert_eq!(
        id_set(&contents),
        [d1.clone(), d2.clone()].into_iter().collect(),
        "{contents}"
    );
    let (status, h) = server.api.get(&format!("/api/histories/{hid}"), Some(key));
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["state"], "ok", "{h}");
    let ok_ids: BTreeSet<String> = h["state_ids"]["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("no state_ids.ok in {h}"))
        .iter()
        .map(|v| v.as_str().expect("id string").to_string())
        .collect();
    assert_eq!(ok_ids, [d1, d2].into_iter().collect(), "{h}");

    let (status, list) = server.api.get("/api/histories", Some(key));
    assert_eq!(status, 200, "{list}");
    assert!(id_set(&list).contains(&hid), "{list}");

    // A run with no history_id goes somewhere the user owns.
    let (status, run) = server.api.post(
        "/api/tools",
        Some(key),
        &json!({"tool_id": "upload1", "inputs": {"files_0|url_paste": "x\n", "files_0|type": "upload_dataset"}}),
    );
    assert_eq!(status, 200, "{run}");
    let out = str_field(&run["outputs"][0], "id");
    server.wait_job_ok(key, &str_field(&run["jobs"][0], "id"));
    let d = server.dataset(key, &out);
    let (status, owner_h) = server.api.get(
        &format!("/api/histories/{}", str_field(&d, "history_id")),
        Some(key),
    );
    assert_eq!(
        status, 200,
        "history of a run without history_id: {owner_h}"
    );
}
