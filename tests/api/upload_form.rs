//! The legacy multipart upload: `POST /api/tools` as `multipart/form-data` with `tool_id`,
//! `history_id`, `inputs` (JSON) and the file part `files_0|file_data`, sent by curl.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Backend, Opts, TestServer, assert_error, str_field};

both_backends!(multipart_upload);

/// `curl -F` to `POST /api/tools`; (status, JSON answer).
fn post_form(server: &TestServer, key: &str, fields: &[String]) -> (u16, Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-H"])
        .arg(format!("x-api-key: {key}"));
    for f in fields {
        // Text fields verbatim; the file part with curl's `@path`.
        let flag = if f.contains("=@") {
            "-F"
        } else {
            "--form-string"
        };
        cmd.arg(flag).arg(f);
    }
    let out = cmd
        .arg(format!("{}/api/tools", server.url))
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text
        .rsplit_once('\n')
        .expect("curl output has a status line");
    let status: u16 = code.trim().parse().expect("HTTP status");
    let body = serde_json::from_str(body).unwrap_or_else(|_| json!({"raw": body}));
    (status, body)
}

fn multipart_upload(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("form");
    let key = user.key.as_str();
    let hist = server.create_history(key, "multipart");
    let dir = tempfile::tempdir().expect("temp dir");

    // A few MB of text, with CRLF line ends converted by the default to_posix_lines.
    let lines: String = (0..150_000).map(|i| format!("line {i}\r\n")).collect();
    let text_path = dir.path().join("lines.txt");
    std::fs::write(&text_path, &lines).expect("write lines.txt");
    let inputs = json!({"file_type": "auto", "dbkey": "?", "files_0|type": "upload_dataset"});
    let (status, run) = post_form(
        &server,
        key,
        &[
            "tool_id=upload1".into(),
            format!("history_id={hist}"),
            format!("inputs={inputs}"),
            format!("files_0|file_data=@{}", text_path.display()),
        ],
    );
    assert_eq!(status, 200, "multipart upload: {run}");
    assert_eq!(run["jobs"][0]["state"], "ok", "{run}");
    let id = str_field(&run["outputs"][0], "id");
    assert_eq!(run["outputs"][0]["name"], "lines.txt", "{run}");
    server.assert_dataset(key, &id, &lines.replace("\r\n", "\n"));

    // Binary content kept byte for byte, named by files_0|NAME.
    let mut x: u32 = 0x9e37_79b9;
    let bytes: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let bin_path = dir.path().join("blob.bin");
    std::fs::write(&bin_path, &bytes).expect("write blob.bin");
    let inputs = json!({"file_type": "auto", "files_0|type": "upload_dataset",
                        "files_0|NAME": "my blob"});
    let (status, run) = post_form(
        &server,
        key,
        &[
            "tool_id=upload1".into(),
            format!("history_id={hist}"),
            format!("inputs={inputs}"),
            format!("files_0|file_data=@{}", bin_path.display()),
        ],
    );
    assert_eq!(status, 200, "binary multipart upload: {run}");
    let id = str_field(&run["outputs"][0], "id");
    let shown = server.dataset(key, &id);
    assert_eq!(shown["name"], "my blob", "{shown}");
    assert_eq!(shown["file_size"], bytes.len(), "{shown}");
    let got = server
        .api
        .client
        .get(format!("{}/api/datasets/{id}/display", server.url))
        .header("x-api-key", key)
        .send()
        .expect("display")
        .bytes()
        .expect("display body");
    assert!(got.as_ref() == bytes.as_slice(), "binary content differs");

    // Refusals: another tool, no file part, a bad inputs field, someone else's history.
    let file = format!("files_0|file_data=@{}", text_path.display());
    for (what, fields, allowed) in [
        (
            "tool other than upload1",
            vec![
                "tool_id=cat1".to_string(),
                format!("history_id={hist}"),
                file.clone(),
            ],
            400,
        ),
        (
            "no file part",
            vec![
                "tool_id=upload1".into(),
                format!("history_id={hist}"),
                format!("inputs={inputs}"),
            ],
            400,
        ),
        (
            "inputs not JSON",
            vec![
                "tool_id=upload1".into(),
                format!("history_id={hist}"),
                "inputs={oops".into(),
                file.clone(),
            ],
            400,
        ),
        (
            "no tool_id",
            vec![format!("history_id={hist}"), file.clone()],
            400,
        ),
    ] {
        let (status, body) = post_form(&server, key, &fields);
        assert_error(what, status, &body, &[allowed]);
    }
    let other = server.create_user("form-other");
    let (status, body) = post_form(
        &server,
        &other.key,
        &["tool_id=upload1".into(), format!("history_id={hist}"), file],
    );
    assert_error("someone else's history", status, &body, &[403, 404]);
}

/// A multipart body over `upload_body_limit` is answered 413 naming the limit; nothing is
/// left in the object store.
#[test]
fn multipart_upload_over_the_limit() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  upload_body_limit: 1M\n"),
    );
    let user = server.create_user("formbig");
    let hist = server.create_history(&user.key, "too big");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.txt");
    std::fs::write(&path, "x".repeat(2 << 20)).expect("write big.txt");
    let (status, body) = post_form(
        &server,
        &user.key,
        &[
            "tool_id=upload1".into(),
            format!("history_id={hist}"),
            format!("files_0|file_data=@{}", path.display()),
        ],
    );
    assert_error("multipart over the limit", status, &body, &[413]);
    assert!(
        str_field(&body, "err_msg").contains("upload_body_limit"),
        "{body}"
    );
    let (_, contents) = server
        .api
        .get(&format!("/api/histories/{hist}/contents"), Some(&user.key));
    assert_eq!(contents, json!([]), "a refused upload created something");
}
