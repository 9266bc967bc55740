//! Request bodies and their limits (`api_body_limit`, `upload_body_limit`): pasted content
//! beyond the in-memory limit gets through, anything over a limit is a 413 in Galaxy's
//! error JSON that names the limit and the key raising it.

use std::io::Cursor;

use serde_json::{Value, json};

use crate::helpers::{Backend, ConfigDir, Opts, TestServer, assert_error, str_field};

#[test]
fn limits_answer_413_in_galaxys_shape() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  api_body_limit: 64K\n  upload_body_limit: 1M\n"),
    );
    let user = server.create_user("limits");
    let hid = server.create_history(&user.key, "limits");

    // Pasted content over the in-memory limit, within the upload limit, is stored whole.
    let text: String = (0..9000).map(|i| format!("{i:07} pasted line\n")).collect();
    assert!(text.len() > 64 * 1024 && text.len() < 1 << 20);
    let (dataset, job) = server.paste(&user.key, &hid, &text);
    server.wait_job_ok(&user.key, &job);
    server.assert_dataset(&user.key, &dataset, &text);

    let over_api = json!({"name": "x".repeat(70 * 1024)});
    let (status, body) = server
        .api
        .post("/api/histories", Some(&user.key), &over_api);
    assert_too_large(
        "a history over api_body_limit",
        status,
        &body,
        "api_body_limit",
        "64 KiB",
    );

    let not_pasted = json!({"tool_id": "cat1", "history_id": hid,
        "inputs": {"input1": {"src": "hda", "id": dataset}, "note": "y".repeat(70 * 1024)}});
    let (status, body) = server.api.post("/api/tools", Some(&user.key), &not_pasted);
    assert_too_large(
        "a tool run over api_body_limit",
        status,
        &body,
        "api_body_limit",
        "64 KiB",
    );

    let big = "z".repeat(1100 * 1024);
    let over_upload = json!({"tool_id": "upload1", "history_id": hid,
        "inputs": {"files_0|url_paste": big, "file_type": "txt"}})
    .to_string();
    // With its length declared, and sent in chunks with no length.
    let (status, body) = post_body(&server, &user.key, over_upload.clone(), true);
    assert_too_large(
        "a declared paste over upload_body_limit",
        status,
        &body,
        "upload_body_limit",
        "1 MiB",
    );
    let (status, body) = post_body(&server, &user.key, over_upload, false);
    assert_too_large(
        "a chunked paste over upload_body_limit",
        status,
        &body,
        "upload_body_limit",
        "1 MiB",
    );

    // A malformed body is still a 400, and the server goes on serving.
    let (status, body) =
        server
            .api
            .post_raw("/api/tools", Some(&user.key), r#"{"tool_id": "upload1", "#);
    assert_error("truncated JSON", status, &body, &[400]);
    let datasets = server
        .api
        .get(&format!("/api/histories/{hid}/contents"), Some(&user.key));
    assert_eq!(datasets.0, 200, "{}", datasets.1);
    assert_eq!(
        datasets.1.as_array().map(Vec::len),
        Some(1),
        "{}",
        datasets.1
    );
    let leftovers: Vec<_> = std::fs::read_dir(server.dir.path().join("objects"))
        .expect("read file_path")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".paste-"))
        .map(|e| e.file_name())
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary paste files left: {leftovers:?}"
    );
}

fn post_body(server: &TestServer, key: &str, body: String, declared: bool) -> (u16, Value) {
    let req = server
        .api
        .client
        .post(format!("{}/api/tools", server.url))
        .header("x-api-key", key)
        .header("content-type", "application/json");
    let req = if declared {
        req.body(body)
    } else {
        req.body(reqwest::blocking::Body::new(Cursor::new(body.into_bytes())))
    };
    let resp = req
        .send()
        .unwrap_or_else(|e| panic!("POST /api/tools: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn assert_too_large(what: &str, status: u16, body: &Value, key: &str, limit: &str) {
    assert_error(what, status, body, &[413]);
    assert_eq!(body["err_code"], 413001, "{what}: {body}");
    let message = str_field(body, "err_msg");
    for needle in [key, limit] {
        assert!(
            message.contains(needle),
            "{what}: err_msg does not name {needle}: {message}"
        );
    }
}

#[test]
fn a_bad_limit_stops_the_server_naming_the_key() {
    let dir = ConfigDir::new(
        Backend::Sqlite,
        &Opts::default().galaxy_extra("  upload_body_limit: 12 parsecs\n"),
    );
    let config = dir.config.display().to_string();
    let out = dir.run_cli(&["-c", &config, "--mode", "all-in-one"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("galaxy.upload_body_limit") && stderr.contains("parsecs"),
        "stderr does not name the key and the value: {stderr}"
    );
}
