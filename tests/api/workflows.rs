//! Workflows: import (`.ga`), validation, export round trip, invocations scheduled by the
//! server's own scheduler, a failing step pausing its dependents, cancel, and isolation
//! between users; on SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, Backend, Opts, TestServer, assert_error, eventually, manifest_dir,
    processes_with_cmdline, str_field, unique_number,
};

both_backends!(
    workflow_import_invoke_and_round_trip,
    workflow_validation_names_the_step,
    failing_step_pauses_dependents,
    cancel_invocation,
    workflows_are_isolated
);

/// The shipped 4-step workflow: input → sort1 → cat1 (sorted + input) → wc_gnu.
pub fn four_steps() -> Value {
    let path = manifest_dir().join("tests/fixtures/workflows/four_steps.ga");
    let text = std::fs::read_to_string(&path).expect("read four_steps.ga");
    serde_json::from_str(&text).expect("four_steps.ga is JSON")
}

pub fn import(server: &TestServer, key: &str, doc: &Value) -> String {
    let (status, w) = server.api.post(
        "/api/workflows/upload",
        Some(key),
        &json!({"workflow": doc}),
    );
    assert_eq!(status, 200, "import: {w}");
    str_field(&w, "id")
}

pub fn invoke(server: &TestServer, key: &str, wf: &str, body: &Value) -> Value {
    let (status, inv) =
        server
            .api
            .post(&format!("/api/workflows/{wf}/invocations"), Some(key), body);
    assert_eq!(status, 200, "invoke: {inv}");
    assert_eq!(inv["model_class"], "WorkflowInvocation", "{inv}");
    inv
}

/// Waits until the invocation leaves `new`/`ready`; returns it.
pub fn wait_invocation(server: &TestServer, key: &str, id: &str) -> Value {
    let mut last = Value::Null;
    let done = eventually(Duration::from_secs(60), || {
        let (_, inv) = server.api.get(&format!("/api/invocations/{id}"), Some(key));
        let state = inv["state"].as_str().unwrap_or("").to_string();
        last = inv;
        !matches!(state.as_str(), "new" | "ready" | "")
    });
    assert!(
        done,
        "invocation {id} never scheduled: {last}\n{}",
        server.log_tail()
    );
    last
}

/// The job id of each tool step, by order index.
fn step_jobs(inv: &Value) -> Vec<(u64, String)> {
    inv["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s["order_index"].as_u64()?,
                s["job_id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn workflow_import_invoke_and_round_trip(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let u = server.create_user("wf");
    let hid = server.create_history(&u.key, "wf");
    let (data, upload) = server.paste(&u.key, &hid, "pear\napple\nfig\n");
    server.wait_job_ok(&u.key, &upload);
    let wf = import(&server, &u.key, &four_steps());

    let (status, shown) = server
        .api
        .get(&format!("/api/workflows/{wf}"), Some(&u.key));
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["number_of_steps"], 4, "{shown}");
    assert_eq!(
        shown["steps"]["2"]["input_steps"]["input1"]["source_step"], 1,
        "{shown}"
    );
    let (_, list) = server.api.get("/api/workflows", Some(&u.key));
    assert!(list.to_string().contains(&wf), "{list}");

    // Inputs by label, the sort reversed by `parameters` keyed by step index.
    let inv = invoke(
        &server,
        &u.key,
        &wf,
        &json!({"history_id": hid, "inputs": {"text input": {"src": "hda", "id": data}},
                "parameters": {"1": {"order": "descending"}}}),
    );
    let id = str_field(&inv, "id");
    let inv = wait_invocation(&server, &u.key, &id);
    assert_eq!(inv["state"], "scheduled", "{inv}");
    let jobs = step_jobs(&inv);
    assert_eq!(jobs.len(), 3, "one job per tool step: {inv}");
    for (_, job) in &jobs {
        server.wait_job_ok(&u.key, job);
    }
    let (_, inv) = server
        .api
        .get(&format!("/api/invocations/{id}"), Some(&u.key));
    let counts = str_field(&inv["outputs"]["counts"], "id");
    let both = str_field(&inv["outputs"]["concatenated"], "id");
    assert_eq!(
        server.display(&u.key, &both),
        "pear\nfig\napple\npear\napple\nfig\n"
    );
    assert_eq!(
        server.display(&u.key, &counts),
        "#lines\twords\tcharacters\n6\t6\t30\n"
    );
    // RenameDatasetAction named the sort's output.
    let (_, contents) = server
        .api
        .get(&format!("/api/histories/{hid}/contents"), Some(&u.key));
    assert!(contents.to_string().contains("sorted lines"), "{contents}");

    // The invocation is listed, by workflow and by history.
    for q in [format!("workflow_id={wf}"), format!("history_id={hid}")] {
        let (status, list) = server
            .api
            .get(&format!("/api/invocations?{q}"), Some(&u.key));
        assert_eq!(status, 200, "{list}");
        assert!(list.to_string().contains(&id), "{q}: {list}");
    }

    // Export → import → export: unchanged.
    let (status, exported) = server
        .api
        .get(&format!("/api/workflows/{wf}/download"), Some(&u.key));
    assert_eq!(status, 200, "{exported}");
    let again = import(&server, &u.key, &exported);
    let (_, exported2) = server
        .api
        .get(&format!("/api/workflows/{again}/download"), Some(&u.key));
    assert_eq!(exported, exported2);

    // A bad parameter at invocation: a 400 naming the step.
    let (status, body) = server.api.post(
        &format!("/api/workflows/{wf}/invocations"),
        Some(&u.key),
        &json!({"history_id": hid, "inputs": {"0": {"src": "hda", "id": data}},
                "parameters": {"sorted": {"order": "sideways"}}}),
    );
    assert_error("bad parameter", status, &body, &[400]);
    assert!(str_field(&body, "err_msg").contains("Step 1"), "{body}");
    // A data input is the workflow's connection, not a parameter.
    let (status, body) = server.api.post(
        &format!("/api/workflows/{wf}/invocations"),
        Some(&u.key),
        &json!({"history_id": hid, "inputs": {"0": {"src": "hda", "id": data}},
                "parameters": {"1": {"input": {"src": "hda", "id": data}}}}),
    );
    assert_error("data input as a parameter", status, &body, &[400]);
    assert!(str_field(&body, "err_msg").contains("Step 1"), "{body}");
    // An input step without its dataset.
    let (status, body) = server.api.post(
        &format!("/api/workflows/{wf}/invocations"),
        Some(&u.key),
        &json!({"history_id": hid}),
    );
    assert_error("missing input", status, &body, &[400]);
    assert!(str_field(&body, "err_msg").contains("Step 0"), "{body}");

    // Delete.
    let (status, _) = server
        .api
        .delete(&format!("/api/workflows/{wf}"), Some(&u.key));
    assert_eq!(status, 200);
    let (_, list) = server.api.get("/api/workflows", Some(&u.key));
    assert!(!list.to_string().contains(&wf), "{list}");
}

/// A case of a bad workflow: what it is, how the good one is changed, what the 400 names.
type BadCase = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);

fn workflow_validation_names_the_step(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let good = four_steps();
    let cases: Vec<BadCase> = vec![
        (
            "unknown tool",
            Box::new(|d| d["steps"]["1"]["tool_id"] = json!("no_such_tool")),
            "Step 1",
        ),
        (
            "missing connection",
            Box::new(|d| d["steps"]["3"]["input_connections"] = json!({})),
            "Step 3",
        ),
        (
            "cycle",
            Box::new(|d| {
                d["steps"]["1"]["input_connections"] =
                    json!({"input": {"id": 3, "output_name": "out_file1"}})
            }),
            "Step 1",
        ),
        (
            "wrong parameter type",
            Box::new(|d| d["steps"]["1"]["tool_state"] = json!("{\"order\": [\"x\", \"y\"]}")),
            "Step 1",
        ),
        (
            "connection to a missing step",
            Box::new(|d| {
                d["steps"]["2"]["input_connections"]["input2"] =
                    json!({"id": 42, "output_name": "output"})
            }),
            "Step 2",
        ),
        (
            "not a workflow",
            Box::new(|d| d["a_galaxy_workflow"] = json!("false")),
            "a_galaxy_workflow",
        ),
    ];
    for (what, change, needle) in cases {
        let mut doc = good.clone();
        change(&mut doc);
        let (status, body) = server.api.post(
            "/api/workflows/upload",
            Some(ADMIN_KEY),
            &json!({"workflow": doc}),
        );
        assert_error(what, status, &body, &[400]);
        let msg = str_field(&body, "err_msg");
        assert!(msg.contains(needle), "{what}: {msg}");
    }
    let (status, body) =
        server
            .api
            .post_raw("/api/workflows/upload", Some(ADMIN_KEY), "{\"workflow\": {");
    assert_error("bad JSON", status, &body, &[400]);
    let (status, body) = server.api.post(
        "/api/workflows/upload",
        Some(ADMIN_KEY),
        &json!({"workflow": "not json"}),
    );
    assert_error("workflow as bad JSON text", status, &body, &[400]);
    let (_, list) = server.api.get("/api/workflows", Some(ADMIN_KEY));
    assert_eq!(list, json!([]), "nothing was imported");
}

/// A tool that always fails, beside the shipped tools.
fn with_failing_tool() -> Opts {
    let tools = manifest_dir().join("tools");
    let conf = format!(
        "<toolbox>\n  <tool file=\"{0}/sort1.xml\"/>\n  <tool file=\"{0}/cat1.xml\"/>\n  \
         <tool file=\"{0}/wc_gnu.xml\"/>\n  <tool file=\"{0}/upload1.xml\"/>\n  \
         <tool file=\"{0}/sleep.xml\"/>\n  <tool file=\"fail.xml\"/>\n</toolbox>\n",
        tools.display()
    );
    let fail = r#"<tool id="always_fail" name="Always fail" version="1.0.0">
    <command detect_errors="exit_code"><![CDATA[cat '$input1' > '$out_file1' && exit 3]]></command>
    <inputs><param name="input1" type="data" format="txt"/></inputs>
    <outputs><data name="out_file1" format="txt"/></outputs>
</tool>
"#;
    Opts::default()
        .file("tools/tool_conf.xml", &conf)
        .file("tools/fail.xml", fail)
        .tool_config_file("tools/tool_conf.xml")
}

fn failing_step_pauses_dependents(backend: Backend) {
    let server = TestServer::start(backend, with_failing_tool());
    let hid = server.create_history(ADMIN_KEY, "fail");
    let (data, upload) = server.paste(ADMIN_KEY, &hid, "b\na\n");
    server.wait_job_ok(ADMIN_KEY, &upload);
    let mut doc = four_steps();
    doc["steps"]["1"]["tool_id"] = json!("always_fail");
    doc["steps"]["1"]["tool_state"] = json!("{}");
    doc["steps"]["1"]["input_connections"] = json!({"input1": {"id": 0, "output_name": "output"}});
    let wf = import(&server, ADMIN_KEY, &doc);
    let inv = invoke(
        &server,
        ADMIN_KEY,
        &wf,
        &json!({"history": format!("hist_id={hid}"), "inputs": {"0": {"src": "hda", "id": data}}}),
    );
    let id = str_field(&inv, "id");
    let inv = wait_invocation(&server, ADMIN_KEY, &id);
    let jobs = step_jobs(&inv);
    assert_eq!(jobs.len(), 3, "{inv}");
    let failed = server.wait_job(ADMIN_KEY, &jobs[0].1);
    assert_eq!(failed["state"], "error", "{failed}");
    for (_, job) in &jobs[1..] {
        let j = server.wait_job_state(ADMIN_KEY, job, &["paused"], Duration::from_secs(30));
        assert_eq!(j["state"], "paused", "dependent job: {j}");
    }
    let (_, inv) = server
        .api
        .get(&format!("/api/invocations/{id}"), Some(ADMIN_KEY));
    let messages = inv["messages"].as_array().cloned().unwrap_or_default();
    assert!(
        messages
            .iter()
            .any(|m| m["reason"] == "job_failed" && m["workflow_step_id"] == 1),
        "the invocation names the failed step: {inv}"
    );
}

/// A workflow of two steps: sleep (`seconds`) → cat1 of its output.
fn sleepy(seconds: u64) -> Value {
    json!({
        "a_galaxy_workflow": "true", "format-version": "0.1", "name": "sleepy",
        "steps": {
            "0": {"id": 0, "type": "tool", "tool_id": "sleep",
                  "tool_state": json!({"seconds": seconds}).to_string(),
                  "input_connections": {}, "label": "nap"},
            "1": {"id": 1, "type": "tool", "tool_id": "cat1", "tool_state": "{}",
                  "input_connections": {"input1": {"id": 0, "output_name": "out_file1"}}}
        }
    })
}

fn cancel_invocation(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let hid = server.create_history(ADMIN_KEY, "cancel");
    // A duration no other test uses: its `sleep` process is this job's.
    let seconds = unique_number(300, 200);
    let argv = ["sleep", &seconds.to_string()];
    let wf = import(&server, ADMIN_KEY, &sleepy(seconds));
    let inv = invoke(&server, ADMIN_KEY, &wf, &json!({"history_id": hid}));
    let id = str_field(&inv, "id");
    let inv = wait_invocation(&server, ADMIN_KEY, &id);
    let jobs = step_jobs(&inv);
    assert_eq!(jobs.len(), 2, "{inv}");
    server.wait_job_state(ADMIN_KEY, &jobs[0].1, &["running"], Duration::from_secs(30));
    // Cancel once its process exists (a kill sent before would find no process to kill).
    assert!(
        eventually(Duration::from_secs(10), || !processes_with_cmdline(&argv)
            .is_empty()),
        "no process `sleep {seconds}`\n{}",
        server.log_tail()
    );
    let (status, cancelled) = server
        .api
        .delete(&format!("/api/invocations/{id}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    for (_, job) in &jobs {
        let j = server.wait_job_state(ADMIN_KEY, job, &["deleted"], Duration::from_secs(30));
        assert_eq!(j["state"], "deleted", "{j}");
    }
    assert!(
        eventually(Duration::from_secs(10), || processes_with_cmdline(&argv)
            .is_empty()),
        "`sleep {seconds}` still runs after the cancel"
    );
    // Cancelling again changes nothing.
    let (status, again) = server
        .api
        .delete(&format!("/api/invocations/{id}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["state"], "cancelled", "{again}");
}

fn workflows_are_isolated(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("alice");
    let b = server.create_user("bob");
    let b_hist = server.create_history(&b.key, "bob's");
    let (b_data, upload) = server.paste(&b.key, &b_hist, "secret\n");
    server.wait_job_ok(&b.key, &upload);
    let wf = import(&server, &b.key, &four_steps());
    let inv = invoke(
        &server,
        &b.key,
        &wf,
        &json!({"history_id": b_hist, "inputs": {"0": {"src": "hda", "id": b_data}}}),
    );
    let inv = str_field(&inv, "id");
    for path in [
        format!("/api/workflows/{wf}"),
        format!("/api/workflows/{wf}/download"),
        format!("/api/invocations/{inv}"),
        format!("/api/workflows/{wf}/invocations/{inv}"),
    ] {
        let (status, body) = server.api.get(&path, Some(&a.key));
        assert_error(&format!("A: GET {path}"), status, &body, &[403, 404]);
        let (status, _) = server.api.get(&path, Some(&b.key));
        assert_eq!(status, 200, "B: GET {path}");
    }
    let (_, list) = server.api.get("/api/workflows", Some(&a.key));
    assert_eq!(list, json!([]), "A lists none of B's workflows");
    let (_, list) = server.api.get("/api/invocations", Some(&a.key));
    assert_eq!(list, json!([]), "A lists none of B's invocations");
    // A cannot invoke B's workflow, nor B's workflow on A's history, nor cancel or delete.
    let a_hist = server.create_history(&a.key, "alice's");
    let (status, body) = server.api.post(
        &format!("/api/workflows/{wf}/invocations"),
        Some(&a.key),
        &json!({"history_id": a_hist, "inputs": {"0": {"src": "hda", "id": b_data}}}),
    );
    assert_error("A invokes B's workflow", status, &body, &[403, 404]);
    let a_wf = import(&server, &a.key, &four_steps());
    let (status, body) = server.api.post(
        &format!("/api/workflows/{a_wf}/invocations"),
        Some(&a.key),
        &json!({"history_id": a_hist, "inputs": {"0": {"src": "hda", "id": b_data}}}),
    );
    assert_error("A invokes on B's dataset", status, &body, &[403, 404]);
    let (status, body) = server
        .api
        .delete(&format!("/api/invocations/{inv}"), Some(&a.key));
    assert_error("A cancels B's invocation", status, &body, &[403, 404]);
    let (status, body) = server
        .api
        .delete(&format!("/api/workflows/{wf}"), Some(&a.key));
    assert_error("A deletes B's workflow", status, &body, &[403, 404]);
    let (status, _) = server
        .api
        .get(&format!("/api/workflows/{wf}"), Some(&b.key));
    assert_eq!(status, 200, "B's workflow is still there");
}
