//! tus resumable uploads driven by a raw client: creation, PATCH in chunks, a PATCH cut off
//! mid-body and resumed from the offset HEAD reports, then `POST /api/tools/fetch`; the
//! dataset is byte-identical. Wrong offsets, other users, bad headers and the size limit.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, Opts, TestServer, str_field};

const TUS: &str = "/api/upload/resumable_upload";

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

fn create(c: &Client, server: &TestServer, key: &str, length: u64) -> Response {
    c.post(format!("{}{TUS}", server.url))
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", "filename ZGF0YS5iaW4=,filetype")
        .send()
        .expect("POST")
}

fn patch(c: &Client, url: &str, key: &str, offset: u64, body: &[u8]) -> Response {
    c.patch(url)
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .expect("PATCH")
}

fn head_offset(c: &Client, url: &str, key: &str) -> (u16, Option<u64>) {
    let r = c
        .head(url)
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .expect("HEAD");
    let offset = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (r.status().as_u16(), offset)
}

/// Bytes that are not text (so no line-ending conversion applies), reproducible.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A PATCH whose connection is dropped after `sent` of its `declared` bytes.
fn cut_off_patch(
    server: &TestServer,
    path: &str,
    key: &str,
    offset: u64,
    declared: usize,
    sent: &[u8],
) {
    let addr = server.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {key}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
         Content-Length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(sent).expect("write part of the body");
    s.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    drop(s);
}

#[test]
fn tus_upload_resumes_and_fetches_byte_identical() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  upload_body_limit: 64M\n"),
    );
    let c = client();
    let alice = server.create_user("tus-alice");
    let bob = server.create_user("tus-bob");
    let hid = server.create_history(&alice.key, "tus");

    // OPTIONS: the protocol's capabilities.
    let r = c
        .request(reqwest::Method::OPTIONS, format!("{}{TUS}/", server.url))
        .send()
        .expect("OPTIONS");
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert_eq!(r.headers()["tus-extension"], "creation,termination");
    assert_eq!(r.headers()["tus-max-size"], (64u64 << 20).to_string());

    let data = content(5 * 1024 * 1024 + 123);
    let r = create(&c, &server, &alice.key, data.len() as u64);
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(&format!("{TUS}/")), "{location}");
    let url = format!("{}{location}", server.url);
    let session_id = location.rsplit('/').next().expect("id").to_string();
    assert_eq!(head_offset(&c, &url, &alice.key), (200, Some(0)));

    // Two chunks of 1 MiB.
    let mut offset = 0u64;
    for _ in 0..2 {
        let chunk = &data[offset as usize..offset as usize + (1 << 20)];
        let r = patch(&c, &url, &alice.key, offset, chunk);
        assert_eq!(r.status().as_u16(), 204);
        offset += chunk.len() as u64;
        assert_eq!(r.headers()["upload-offset"], offset.to_string());
    }
    // A wrong offset is a conflict; a bad content type 415; no Tus-Resumable 412.
    assert_eq!(patch(&c, &url, &alice.key, 5, b"x").status().as_u16(), 409);
    let r = c
        .patch(&url)
        .header("x-api-key", &alice.key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "text/plain")
        .header("Upload-Offset", offset.to_string())
        .body("x")
        .send()
        .expect("PATCH");
    assert_eq!(r.status().as_u16(), 415);
    let r = c
        .patch(&url)
        .header("x-api-key", &alice.key)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body("x")
        .send()
        .expect("PATCH");
    assert_eq!(r.status().as_u16(), 412);
    // Another user sees no such upload, and cannot write to it or fetch it.
    assert_eq!(head_offset(&c, &url, &bob.key).0, 404);
    assert_eq!(
        patch(&c, &url, &bob.key, offset, b"x").status().as_u16(),
        404
    );

    // A PATCH cut off after 1.5 MiB of 3 MiB keeps what arrived.
    let sent = 3 * (1 << 19);
    cut_off_patch(
        &server,
        &location,
        &alice.key,
        offset,
        3 << 20,
        &data[offset as usize..offset as usize + sent],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let resumed_at = loop {
        let (status, got) = head_offset(&c, &url, &alice.key);
        assert_eq!(status, 200);
        if got == Some(offset + sent as u64) || Instant::now() > deadline {
            break got.expect("offset");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        resumed_at,
        offset + sent as u64,
        "HEAD after the cut-off PATCH"
    );
    // Resume from there to the end (the server may still be closing the old PATCH).
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = patch(
            &c,
            &url,
            &alice.key,
            resumed_at,
            &data[resumed_at as usize..],
        );
        if r.status().as_u16() != 409 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["upload-offset"], data.len().to_string());
    // Past the length: refused.
    assert_eq!(
        patch(&c, &url, &alice.key, data.len() as u64, b"more")
            .status()
            .as_u16(),
        400
    );

    // Another user cannot fetch it either.
    let fetch_body = |sid: &str| {
        json!({
            "history_id": hid,
            "targets": [{"destination": {"type": "hdas"}, "elements": [{
                "src": "files", "ext": "auto", "dbkey": "?", "to_posix_lines": true,
                "space_to_tab": false, "name": "data.bin"}]}],
            "files_0|file_data": {"session_id": sid, "name": "data.bin"},
            "auto_decompress": false,
        })
    };
    let (status, body) =
        server
            .api
            .post("/api/tools/fetch", Some(&bob.key), &fetch_body(&session_id));
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.api.post(
        "/api/tools/fetch",
        Some(&alice.key),
        &fetch_body(&session_id),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jobs"][0]["state"], "ok", "{body}");
    let dataset_id = str_field(&body["outputs"][0], "id");
    let got = c
        .get(format!("{}/api/datasets/{dataset_id}/display", server.url))
        .header("x-api-key", &alice.key)
        .send()
        .expect("display")
        .bytes()
        .expect("bytes");
    assert_eq!(got.len(), data.len());
    assert_eq!(
        hex::encode(Sha256::digest(&got)),
        hex::encode(Sha256::digest(&data)),
        "the fetched dataset is not the uploaded file"
    );
    // The session is gone once fetched.
    assert_eq!(head_offset(&c, &url, &alice.key).0, 404);

    // Over the size limit: 413 at creation.
    let r = create(&c, &server, &alice.key, 65 << 20);
    assert_eq!(r.status().as_u16(), 413);
    // Without a key: 403.
    let r = c
        .post(format!("{}{TUS}", server.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "3")
        .send()
        .expect("POST");
    assert_eq!(r.status().as_u16(), 403);

    // Termination.
    let r = create(&c, &server, &alice.key, 10);
    let url = format!(
        "{}{}",
        server.url,
        r.headers()["location"].to_str().expect("loc")
    );
    let del = |key: &str| {
        c.delete(&url)
            .header("x-api-key", key)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .expect("DELETE")
            .status()
            .as_u16()
    };
    assert_eq!(del(&bob.key), 404);
    assert_eq!(del(&alice.key), 204);
    assert_eq!(head_offset(&c, &url, &alice.key).0, 404);
}

#[test]
fn fetch_pastes_and_refuses_what_it_does_not_do() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let user = server.create_user("fetcher");
    let hid = server.create_history(&user.key, "fetch");
    let post = |body: Value| server.api.post("/api/tools/fetch", Some(&user.key), &body);
    let (status, body) = post(json!({
        "history_id": hid,
        "targets": [{"destination": {"type": "hdas"}, "elements": [
            {"src": "pasted", "paste_content": "a b\r\nc  d", "name": "one",
             "to_posix_lines": true, "space_to_tab": true, "ext": "tabular"},
            {"src": "pasted", "paste_content": "raw\r", "to_posix_lines": false}
        ]}],
    }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outputs"].as_array().map(Vec::len), Some(2), "{body}");
    let first = str_field(&body["outputs"][0], "id");
    let second = str_field(&body["outputs"][1], "id");
    assert_eq!(body["outputs"][0]["name"], "one");
    assert_eq!(body["outputs"][0]["extension"], "tabular");
    assert_eq!(server.display(&user.key, &first), "a\tb\nc\td\n");
    assert_eq!(server.display(&user.key, &second), "raw\r");
    for (payload, want) in [
        (json!({"history_id": hid}), 400),
        // A collection target without its collection_type.
        (
            json!({"history_id": hid, "targets": [{"destination": {"type": "hdca"}, "elements": [{"src": "pasted", "paste_content": "x"}]}]}),
            400,
        ),
        // A URL scheme other than http, https and file.
        (
            json!({"history_id": hid, "targets": [{"destination": {"type": "hdas"}, "elements": [{"src": "url", "url": "ftp://example.org/x"}]}]}),
            400,
        ),
        (
            json!({"history_id": hid, "targets": [{"destination": {"type": "hdas"}, "elements": [{"src": "files"}]}]}),
            400,
        ),
        (
            json!({"history_id": hid, "targets": [{"destination": {"type": "hdas"}, "elements": [{"src": "path", "path": "/etc/hostname"}]}]}),
            403,
        ),
        (
            json!({"history_id": hid, "targets": [{"destination": {"type": "hdas"}, "elements": [{"src": "files"}]}], "files_0|file_data": {"session_id": "0123456789abcdef0123456789abcdef"}}),
            404,
        ),
        (json!({"history_id": hid, "targets": "x"}), 400),
    ] {
        let (status, body) = post(payload.clone());
        assert_eq!(status, want, "{payload} → {body}");
        assert!(body["err_msg"].is_string(), "{body}");
    }
}
