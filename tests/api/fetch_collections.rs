//! `POST /api/tools/fetch` into new collections (`destination: {type: hdca}`: list, paired,
//! list:paired; the element datasets hidden, the collection shown) and `src: url` elements
//! (http:// from a local Python server, a 404 refused with a 400 naming the URL, file:// for
//! admins with allow_path_paste only).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, Backend, Opts, TestServer, assert_error, eventually, str_field, unique_suffix,
};

both_backends!(fetch_into_collections, fetch_from_urls);

fn fetch(server: &TestServer, key: &str, payload: &Value) -> (u16, Value) {
    server.api.post("/api/tools/fetch", Some(key), payload)
}

fn pasted(name: &str, text: &str) -> Value {
    json!({"src": "pasted", "paste_content": text, "name": name, "ext": "txt"})
}

/// The elements of a shown collection, as (identifier, element).
fn elements(v: &Value) -> Vec<(String, Value)> {
    v["elements"]
        .as_array()
        .unwrap_or_else(|| panic!("no elements in {v}"))
        .iter()
        .map(|e| (str_field(e, "element_identifier"), e["object"].clone()))
        .collect()
}

fn fetch_into_collections(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("fetchcoll");
    let key = user.key.as_str();
    let hist = server.create_history(key, "fetch collections");

    // A list of three.
    let (status, run) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "targets": [{
            "destination": {"type": "hdca"}, "collection_type": "list", "name": "three",
            "elements": [pasted("a", "alpha\n"), pasted("b", "beta\n"), pasted("c", "gamma\n")]}]}),
    );
    assert_eq!(status, 200, "fetch list: {run}");
    assert_eq!(run["outputs"].as_array().map(Vec::len), Some(3), "{run}");
    assert_eq!(run["jobs"][0]["state"], "ok", "{run}");
    assert_eq!(run["implicit_collections"], json!([]));
    let colls = run["output_collections"]
        .as_array()
        .expect("output_collections");
    assert_eq!(colls.len(), 1, "{run}");
    assert_eq!(colls[0]["collection_type"], "list");
    assert_eq!(colls[0]["name"], "three");
    assert_eq!(colls[0]["element_count"], 3);
    assert_eq!(colls[0]["visible"], true);
    let list_id = str_field(&colls[0], "id");
    let (status, shown) = server
        .api
        .get(&format!("/api/dataset_collections/{list_id}"), Some(key));
    assert_eq!(status, 200, "{shown}");
    let els = elements(&shown);
    let names: Vec<&str> = els.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    for ((_, d), text) in els.iter().zip(["alpha\n", "beta\n", "gamma\n"]) {
        let id = str_field(d, "id");
        server.assert_dataset(key, &id, text);
        assert_eq!(server.dataset(key, &id)["visible"], false, "{d}");
    }

    // A list:paired and a paired, in one request (two targets, two jobs).
    let pair = |p: &str| {
        json!({"name": p, "elements": [
            pasted("forward", &format!("{p} fwd\n")),
            pasted("reverse", &format!("{p} rev\n"))]})
    };
    let (status, run) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "targets": [
            {"destination": {"type": "hdca"}, "collection_type": "list:paired", "name": "pairs",
             "elements": [pair("p1"), pair("p2")]},
            {"destination": {"type": "hdca"}, "collection_type": "paired", "name": "one pair",
             "elements": [pasted("forward", "F\n"), pasted("reverse", "R\n")]}]}),
    );
    assert_eq!(status, 200, "fetch list:paired: {run}");
    assert_eq!(run["jobs"].as_array().map(Vec::len), Some(2), "{run}");
    assert_eq!(run["outputs"].as_array().map(Vec::len), Some(6), "{run}");
    let colls = run["output_collections"]
        .as_array()
        .expect("output_collections");
    assert_eq!(colls[0]["collection_type"], "list:paired", "{run}");
    assert_eq!(colls[1]["collection_type"], "paired", "{run}");
    let (_, shown) = server.api.get(
        &format!(
            "/api/histories/{hist}/contents/dataset_collections/{}",
            str_field(&colls[0], "id")
        ),
        Some(key),
    );
    let els = elements(&shown);
    assert_eq!(els[1].0, "p2");
    let inner = elements(&els[1].1);
    assert_eq!(inner[0].0, "forward");
    assert_eq!(inner[1].0, "reverse");
    server.assert_dataset(key, &str_field(&inner[1].1, "id"), "p2 rev\n");

    // Bad targets: a clear 400 each, nothing created.
    let before = server
        .api
        .get(&format!("/api/histories/{hist}/contents"), Some(key))
        .1;
    for (what, target) in [
        (
            "no collection_type",
            json!({"destination": {"type": "hdca"}, "elements": [pasted("a", "x\n")]}),
        ),
        (
            "unknown collection_type",
            json!({"destination": {"type": "hdca"}, "collection_type": "record",
                   "elements": [pasted("a", "x\n")]}),
        ),
        (
            "paired without reverse",
            json!({"destination": {"type": "hdca"}, "collection_type": "paired",
                   "elements": [pasted("forward", "x\n"), pasted("other", "y\n")]}),
        ),
        (
            "list:paired without nested elements",
            json!({"destination": {"type": "hdca"}, "collection_type": "list:paired",
                   "elements": [pasted("a", "x\n")]}),
        ),
        (
            "element without a name",
            json!({"destination": {"type": "hdca"}, "collection_type": "list",
                   "elements": [{"src": "pasted", "paste_content": "x\n"}]}),
        ),
        (
            "identifier twice",
            json!({"destination": {"type": "hdca"}, "collection_type": "list",
                   "elements": [pasted("a", "x\n"), pasted("a", "y\n")]}),
        ),
        (
            "unknown destination",
            json!({"destination": {"type": "library"}, "elements": [pasted("a", "x\n")]}),
        ),
    ] {
        let (status, body) = fetch(
            &server,
            key,
            &json!({"history_id": hist, "targets": [target]}),
        );
        assert_error(what, status, &body, &[400]);
    }
    let after = server
        .api
        .get(&format!("/api/histories/{hist}/contents"), Some(key))
        .1;
    assert_eq!(before, after, "a refused fetch created something");
}

/// Python's `http.server` for a directory, plus `/stream/<name>`: the file sent without a
/// `Content-Length` (read to the end of the connection).
const FILE_SERVER: &str = r#"
import http.server, os, sys
root = sys.argv[2]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path[len("/redirect/"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/stream/"):
            path = os.path.join(root, self.path[len("/stream/"):])
            if not os.path.isfile(path):
                return self.send_error(404)
            self.send_response(200)
            self.end_headers()
            with open(path, "rb") as f:
                self.wfile.write(f.read())
            return
        return super().do_GET()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"#;

/// A Python HTTP server (`FILE_SERVER`) on a free port, stopped when dropped.
struct FileServer {
    child: Child,
    port: u16,
}

impl FileServer {
    fn start(dir: &Path) -> FileServer {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let child = Command::new("python3")
            .args(["-c", FILE_SERVER, &port.to_string()])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a python3 HTTP server");
        let up = eventually(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "http.server did not start on port {port}");
        FileServer { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fetch_from_urls(backend: Backend) {
    let server = TestServer::start(
        backend,
        Opts::default()
            .galaxy_extra("  allow_path_paste: true\n  fetch_url_allowlist: [127.0.0.1]\n"),
    );
    let user = server.create_user("fetchurl");
    let key = user.key.as_str();
    let hist = server.create_history(key, "fetch urls");
    let served = tempfile::tempdir().expect("temp dir");
    let big: String = (0..200_000).map(|i| format!("row {i}\n")).collect();
    std::fs::write(served.path().join("big.txt"), &big).expect("write big.txt");
    std::fs::write(served.path().join("small.tsv"), "a\tb\n").expect("write small.tsv");
    let files = FileServer::start(served.path());

    // Into datasets, and into a list.
    let (status, run) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "targets": [
            {"destination": {"type": "hdas"},
             "elements": [{"src": "url", "url": files.url("big.txt"), "ext": "txt"}]},
            {"destination": {"type": "hdca"}, "collection_type": "list", "name": "from urls",
             "elements": [
                {"src": "url", "url": files.url("small.tsv"), "name": "s", "ext": "tabular"},
                {"src": "url", "url": files.url("redirect/stream/big.txt"), "name": "b"}]}]}),
    );
    assert_eq!(status, 200, "fetch urls: {run}");
    let outputs = run["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 3, "{run}");
    assert_eq!(outputs[0]["name"], "big.txt", "named from the URL: {run}");
    server.assert_dataset(key, &str_field(&outputs[0], "id"), &big);
    server.assert_dataset(key, &str_field(&outputs[1], "id"), "a\tb\n");
    assert_eq!(
        server.dataset(key, &str_field(&outputs[1], "id"))["file_ext"],
        "tabular"
    );
    server.assert_dataset(key, &str_field(&outputs[2], "id"), &big);
    assert_eq!(run["output_collections"][0]["element_count"], 2, "{run}");

    // A URL that answers 404, and one nobody listens on: a 400 naming the URL, nothing made.
    let before = server
        .api
        .get(&format!("/api/histories/{hist}/contents"), Some(key))
        .1;
    let missing = files.url(&format!("missing-{}.txt", unique_suffix()));
    let (status, body) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
            "elements": [pasted("fine", "x\n"), {"src": "url", "url": missing}]}]}),
    );
    assert_error("404 URL", status, &body, &[400]);
    let msg = str_field(&body, "err_msg");
    assert!(msg.contains(&missing) && msg.contains("404"), "{msg}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dead = format!("http://127.0.0.1:{closed}/x.txt");
    let (status, body) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
            "elements": [{"src": "url", "url": dead}]}]}),
    );
    assert_error("unreachable URL", status, &body, &[400]);
    assert!(str_field(&body, "err_msg").contains(&dead), "{body}");
    for (what, url) in [
        ("ftp URL", "ftp://example.org/x"),
        ("no scheme", "example.org/x"),
    ] {
        let (status, body) = fetch(
            &server,
            key,
            &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
                "elements": [{"src": "url", "url": url}]}]}),
        );
        assert_error(what, status, &body, &[400]);
    }
    let after = server
        .api
        .get(&format!("/api/histories/{hist}/contents"), Some(key))
        .1;
    assert_eq!(before, after, "a refused fetch created something");

    // file:// is a path: refused to a user, taken from an admin (allow_path_paste is set).
    let file_url = format!("file://{}", served.path().join("small.tsv").display());
    let payload = json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
        "elements": [{"src": "url", "url": file_url}]}]});
    let (status, body) = fetch(&server, key, &payload);
    assert_error("file:// by a user", status, &body, &[403]);
    let (status, run) = fetch(
        &server,
        ADMIN_KEY,
        &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
            "elements": [{"src": "url", "url": file_url}]}]}),
    );
    assert_eq!(status, 200, "file:// by an admin: {run}");
    let id = str_field(&run["outputs"][0], "id");
    server.assert_dataset(ADMIN_KEY, &id, "a\tb\n");
}

/// file:// without allow_path_paste is refused even to an admin.
#[test]
fn fetch_file_url_needs_allow_path_paste() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let (status, body) = fetch(
        &server,
        ADMIN_KEY,
        &json!({"targets": [{"destination": {"type": "hdas"},
            "elements": [{"src": "url", "url": "file:///etc/hostname"}]}]}),
    );
    assert_error("file:// without allow_path_paste", status, &body, &[403]);
    assert!(
        str_field(&body, "err_msg").contains("allow_path_paste"),
        "{body}"
    );
}

/// A URL over `upload_body_limit` is refused with a 400 naming the URL and the limit, whether
/// its length is announced or not.
#[test]
fn fetch_url_over_the_limit() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  upload_body_limit: 1M\n  fetch_url_allowlist: 127.0.0.1\n"),
    );
    let user = server.create_user("fetchbig");
    let hist = server.create_history(&user.key, "too big");
    let served = tempfile::tempdir().expect("temp dir");
    std::fs::write(served.path().join("big.bin"), vec![b'x'; 3 << 20]).expect("write big.bin");
    std::fs::write(served.path().join("fits.txt"), "fits\n").expect("write fits.txt");
    let files = FileServer::start(served.path());
    for name in ["big.bin", "stream/big.bin"] {
        let url = files.url(name);
        let (status, body) = fetch(
            &server,
            &user.key,
            &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
                "elements": [{"src": "url", "url": url}]}]}),
        );
        assert_error(name, status, &body, &[400]);
        let msg = str_field(&body, "err_msg");
        assert!(
            msg.contains(&url) && msg.contains("upload_body_limit"),
            "{msg}"
        );
    }
    let (status, run) = fetch(
        &server,
        &user.key,
        &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
            "elements": [{"src": "url", "url": files.url("stream/fits.txt")}]}]}),
    );
    assert_eq!(status, 200, "{run}");
    server.assert_dataset(&user.key, &str_field(&run["outputs"][0], "id"), "fits\n");
    // No temporary file is left behind by the refused downloads.
    let objects = server.dir.path().join("objects");
    let left: Vec<_> = std::fs::read_dir(&objects)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".url-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// Without `fetch_url_allowlist`, a URL on a local address is refused with a 403, as Galaxy
/// refuses it; a redirect does not get around it.
#[test]
fn fetch_local_url_needs_the_allowlist() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let user = server.create_user("fetchlocal");
    let hist = server.create_history(&user.key, "local");
    let served = tempfile::tempdir().expect("temp dir");
    std::fs::write(served.path().join("secret.txt"), "secret\n").expect("write secret.txt");
    let files = FileServer::start(served.path());
    for url in [
        files.url("secret.txt"),
        format!("http://localhost:{}/secret.txt", files.port),
    ] {
        let (status, body) = fetch(
            &server,
            &user.key,
            &json!({"history_id": hist, "targets": [{"destination": {"type": "hdas"},
                "elements": [{"src": "url", "url": url}]}]}),
        );
        assert_error(&url, status, &body, &[403]);
        assert!(
            str_field(&body, "err_msg").contains("fetch_url_allowlist"),
            "{body}"
        );
    }
}

/// A URL that fails in a later target stops the request before the tus upload of an earlier
/// target is taken: the upload can be fetched afterwards.
#[test]
fn a_failed_url_keeps_the_tus_upload() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  fetch_url_allowlist: 127.0.0.1\n"),
    );
    let user = server.create_user("fetchkeep");
    let key = user.key.as_str();
    let hist = server.create_history(key, "keep");
    let served = tempfile::tempdir().expect("temp dir");
    let files = FileServer::start(served.path());
    let c = &server.api.client;
    let tus = format!("{}/api/upload/resumable_upload", server.url);
    let created = c
        .post(&tus)
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "6")
        .send()
        .expect("tus POST");
    assert_eq!(created.status().as_u16(), 201);
    let location = created
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    let session = location.rsplit('/').next().unwrap_or_default().to_string();
    let patched = c
        .patch(format!("{}{location}", server.url))
        .header("x-api-key", key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("kept\r\n")
        .send()
        .expect("tus PATCH");
    assert_eq!(patched.status().as_u16(), 204);
    let files_target = json!({"destination": {"type": "hdca"}, "collection_type": "list",
        "name": "kept", "elements": [{"src": "files", "name": "k"}]});
    let (status, body) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "files_0|file_data": {"session_id": session},
            "targets": [files_target.clone(), {"destination": {"type": "hdas"},
                "elements": [{"src": "url", "url": files.url("missing.txt")}]}]}),
    );
    assert_error("a missing URL after a tus upload", status, &body, &[400]);
    let (status, run) = fetch(
        &server,
        key,
        &json!({"history_id": hist, "files_0|file_data": {"session_id": session},
            "targets": [files_target]}),
    );
    assert_eq!(status, 200, "the upload is still there: {run}");
    server.assert_dataset(key, &str_field(&run["outputs"][0], "id"), "kept\n");
}
