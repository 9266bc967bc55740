//! Serving: unix-socket binds with umask, stale and live sockets, trusted proxies,
//! X-Accel-Redirect downloads. The real binary, over real sockets.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod scaling_page;

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use helpers::{ADMIN_KEY, Backend, Opts, TestServer};
use serde_json::json;

/// A raw HTTP/1.1 request over a unix socket; returns (status, body).
fn unix_request(
    sock: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s =
        UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read response");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn unix_opts(umask: &str, extra_galaxy: &str) -> Opts {
    Opts::default()
        .gravity(&format!("  gunicorn:\n    bind: [\"127.0.0.1:{{PORT}}\", \"unix:galaxy.sock\"]\n    workers: 2\n    umask: \"{umask}\"\n"))
        .galaxy_extra(extra_galaxy)
}

#[test]
fn unix_socket_follows_umask_and_is_removed_on_stop() {
    let mut server = TestServer::start(Backend::Sqlite, unix_opts("027", ""));
    let sock = server.dir.path().join("galaxy.sock");
    let mode = std::fs::metadata(&sock)
        .expect("socket exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o750, "socket mode {mode:o} with umask 027");
    let (status, body) = unix_request(&sock, "GET", "/api/version", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("version_major"), "{body}");
    assert!(server.stop().success());
    assert!(!sock.exists(), "socket file left after stop");
}

#[test]
fn a_live_socket_is_refused() {
    let server = TestServer::start(Backend::Sqlite, unix_opts("007", ""));
    let sock = server.dir.path().join("galaxy.sock");
    let config = server.dir.config.to_str().unwrap_or_default().to_string();
    // Two live processes may not share a server name…
    let out = server
        .dir
        .run_cli(&["-c", &config, "--bind", "127.0.0.1:1"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "same server name: {:?}",
        out.status
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already used by a live process"));
    // …nor a live unix socket.
    let out = server.dir.run_cli(&[
        "-c",
        &config,
        "--server-name",
        "second",
        "--bind",
        "unix:galaxy.sock",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "second server on a live socket: {:?}",
        out.status
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another server is listening") && err.contains("galaxy.sock"),
        "{err}"
    );
    // The live server still answers on it.
    assert_eq!(unix_request(&sock, "GET", "/api/version", &[], "").0, 200);
}

#[test]
fn a_stale_socket_left_by_a_killed_server_is_replaced() {
    let mut server = TestServer::start(Backend::Sqlite, unix_opts("007", ""));
    let sock = server.dir.path().join("galaxy.sock");
    // Leave a stale socket file where the server will bind next time.
    assert!(server.stop().success());
    drop(UnixListener::bind(&sock).expect("bind"));
    assert!(sock.exists(), "stale socket file in place");
    server.start_again();
    assert_eq!(unix_request(&sock, "GET", "/api/version", &[], "").0, 200);
}

fn run_sort(server: &TestServer, key: &str, headers_xff: Option<&str>) -> serde_json::Value {
    let hid = server.create_history(key, "xff");
    let (ds, _) = server.paste(key, &hid, "b\na\n");
    let mut req = server
        .api
        .client
        .post(format!("{}/api/tools", server.url))
        .header("x-api-key", key)
        .json(&json!({
            "tool_id": "sort1", "history_id": hid, "inputs": {"input": {"src": "hda", "id": ds}}
        }));
    if let Some(x) = headers_xff {
        req = req.header("x-forwarded-for", x);
    }
    let run: serde_json::Value = req.send().expect("POST /api/tools").json().expect("json");
    let job = run["jobs"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    server.wait_job_ok(key, &job);
    server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(key))
        .1
}

#[test]
fn forwarded_for_is_honoured_only_from_trusted_peers() {
    // Default forwarded_allow_ips: 127.0.0.1 — the test client is trusted.
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let job = run_sort(&server, ADMIN_KEY, Some("203.0.113.7"));
    assert_eq!(job["client_address"], "203.0.113.7", "{job}");
    let job = run_sort(&server, ADMIN_KEY, Some("198.51.100.1, 203.0.113.7"));
    assert_eq!(
        job["client_address"], "203.0.113.7",
        "the right-most untrusted hop: {job}"
    );
    let job = run_sort(&server, ADMIN_KEY, None);
    assert_eq!(job["client_address"], "127.0.0.1", "{job}");
    drop(server);

    // A proxy list without us: the header is ignored.
    let server = TestServer::start(Backend::Sqlite, Opts::default().gravity("  gunicorn: {bind: \"127.0.0.1:{PORT}\", workers: 2, forwarded_allow_ips: \"192.0.2.1\"}\n"));
    let job = run_sort(&server, ADMIN_KEY, Some("203.0.113.7"));
    assert_eq!(job["client_address"], "127.0.0.1", "{job}");
}

#[test]
fn dataset_downloads_can_go_through_x_accel_redirect() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  nginx_x_accel_redirect_base: /_x_accel_redirect\n"),
    );
    let hid = server.create_history(ADMIN_KEY, "accel");
    let (ds, _) = server.paste(ADMIN_KEY, &hid, "hello\n");
    let resp = server
        .api
        .client
        .get(format!("{}/api/datasets/{ds}/display", server.url))
        .header("x-api-key", ADMIN_KEY)
        .send()
        .expect("GET display");
    assert_eq!(resp.status().as_u16(), 200);
    let target = resp
        .headers()
        .get("x-accel-redirect")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        resp.text().unwrap_or_default().is_empty(),
        "the body is left to nginx"
    );
    let path = target
        .strip_prefix("/_x_accel_redirect")
        .unwrap_or_else(|| panic!("header {target:?}"));
    assert_eq!(
        std::fs::read_to_string(path).expect("the file named by the header"),
        "hello\n"
    );
}

/// nginx (Debian's package) in front of the unix socket, with the shipped sample site adapted
/// to the test's paths.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers (a killed master leaves them running), then
    /// SIGKILL if it is still there after 10 s.
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> std::path::PathBuf {
    let p = std::path::PathBuf::from(
        std::env::var("GALAXY_TEST_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into()),
    );
    assert!(
        p.exists(),
        "nginx is not installed at {}: run scripts/test (it installs Debian's nginx) or set GALAXY_TEST_NGINX",
        p.display()
    );
    p
}

fn start_nginx(dir: &Path) -> Nginx {
    let bin = nginx_binary();
    let repo = helpers::manifest_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let site = std::fs::read_to_string(repo.join("config/nginx/galaxy.conf"))
        .expect("config/nginx/galaxy.conf")
        .replace(
            "/srv/galaxy/var/galaxy.sock",
            &dir.join("galaxy.sock").display().to_string(),
        )
        .replace(
            "/srv/galaxy/server/static/",
            &format!("{}/", repo.join("static").display()),
        )
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    assert!(
        site.contains(&format!("listen 127.0.0.1:{port};")),
        "the sample site changed shape"
    );
    std::fs::write(dir.join("site.conf"), site).expect("write site.conf");
    let t = dir.display();
    let main = format!(
        "user root;\ndaemon off;\nworker_processes 1;\npid {t}/nginx.pid;\nerror_log {t}/nginx-error.log;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  default_type application/octet-stream;\n  client_body_temp_path {t}/nginx-body;\n  proxy_temp_path {t}/nginx-proxy;\n  \
         fastcgi_temp_path {t}/nginx-fcgi;\n  uwsgi_temp_path {t}/nginx-uwsgi;\n  scgi_temp_path {t}/nginx-scgi;\n  include {t}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).expect("write nginx.conf");
    let child = std::process::Command::new(bin)
        .args([
            "-p",
            &t.to_string(),
            "-c",
            &dir.join("nginx.conf").display().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx { child, port };
    let up = helpers::eventually(std::time::Duration::from_secs(15), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "nginx did not listen: {}",
        std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
    );
    nginx
}

fn through_nginx(trust_unix: bool) {
    let allow = if trust_unix { "unix" } else { "127.0.0.1" };
    let opts = Opts::default()
        .gravity(&format!("  gunicorn:\n    bind: [\"127.0.0.1:{{PORT}}\", \"unix:galaxy.sock\"]\n    workers: 2\n    umask: \"000\"\n    forwarded_allow_ips: \"{allow}\"\n"))
        .galaxy_extra("  nginx_x_accel_redirect_base: /_x_accel_redirect\n");
    let server = TestServer::start(Backend::Sqlite, opts);
    let nginx = start_nginx(server.dir.path());
    let base = format!("http://127.0.0.1:{}", nginx.port);
    let client = &server.api.client;

    // The API through nginx and the unix socket.
    let r = client
        .get(format!("{base}/api/version"))
        .send()
        .expect("GET via nginx");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap_or_default().contains("version_major"));

    // static/ is served by nginx itself (its `expires 1h`), not by the application.
    let r = client
        .get(format!("{base}/static/app.js"))
        .send()
        .expect("GET static");
    assert_eq!(r.status().as_u16(), 200);
    let cache = r
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cache.contains("max-age=3600"),
        "static/ not served by nginx: cache-control {cache:?}"
    );
    assert_eq!(
        r.text().unwrap_or_default(),
        std::fs::read_to_string(helpers::manifest_dir().join("static/app.js")).unwrap_or_default()
    );

    // A dataset download goes through X-Accel-Redirect: nginx sends the file.
    let hid = server.create_history(ADMIN_KEY, "nginx");
    let (ds, _) = server.paste(ADMIN_KEY, &hid, "through nginx\n");
    let r = client
        .get(format!("{base}/api/datasets/{ds}/display"))
        .header("x-api-key", ADMIN_KEY)
        .send()
        .expect("display");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers().get("x-accel-redirect").is_none(),
        "nginx consumes the header"
    );
    assert_eq!(r.text().unwrap_or_default(), "through nginx\n");

    // X-Forwarded-For: honoured only when the unix-socket peer (nginx) is trusted. nginx
    // appends the real peer (this test, 127.0.0.1) to whatever the client claimed.
    let run: serde_json::Value = client
        .post(format!("{base}/api/tools"))
        .header("x-api-key", ADMIN_KEY)
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"tool_id": "sort1", "history_id": hid, "inputs": {"input": {"src": "hda", "id": ds}}}))
        .send()
        .expect("run via nginx")
        .json()
        .expect("json");
    let job = run["jobs"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    server.wait_job_ok(ADMIN_KEY, &job);
    let full = server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(ADMIN_KEY))
        .1;
    if trust_unix {
        assert_eq!(
            full["client_address"], "127.0.0.1",
            "the spoofed entry must not win: {full}"
        );
    } else {
        assert!(
            full["client_address"].is_null(),
            "an untrusted unix peer's header is ignored: {full}"
        );
    }
}

#[test]
fn nginx_in_front_of_the_unix_socket_trusted() {
    through_nginx(true);
}

#[test]
fn nginx_in_front_of_the_unix_socket_untrusted() {
    through_nginx(false);
}

#[test]
fn metrics_report_requests_jobs_handlers_and_latencies() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let job = run_sort(&server, ADMIN_KEY, None);
    assert_eq!(job["state"], "ok");
    assert_eq!(server.api.get("/api/version", None).0, 200);
    let (status, text) = server.api.get_text("/metrics", None);
    assert_eq!(status, 200);
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{prefix}` in /metrics:\n{text}"))
    };
    assert!(
        value("galaxy_http_requests_total{method=\"GET\",route=\"/api/version\",status=\"200\"}")
            >= 1.0
    );
    assert!(
        value("galaxy_http_requests_total{method=\"POST\",route=\"/api/tools\",status=\"200\"}")
            >= 2.0,
        "the paste and the sort1 run"
    );
    assert!(
        value(
            "galaxy_http_request_duration_seconds_count{method=\"GET\",route=\"/api/jobs/{id}\"}"
        ) >= 1.0
    );
    assert!(
        value("galaxy_jobs{state=\"ok\"}") >= 2.0,
        "the upload and sort1 jobs"
    );
    assert!(value("galaxy_jobs_claimed_total{handler=\"main\"}") >= 1.0);
    assert!(value("galaxy_jobs_finished_total{handler=\"main\",state=\"ok\"}") >= 1.0);
    assert!(value("galaxy_job_pickup_seconds_count{handler=\"main\"}") >= 1.0);
    let age = value("galaxy_heartbeat_age_seconds{server_name=\"main\",mode=\"all-in-one\"");
    assert!((0.0..10.0).contains(&age), "heartbeat age {age}");
}

/// GET over TLS with a client that trusts only `ca_pem`; returns the raw response.
fn tls_get(port: u16, ca_pem: &str, path: &str) -> std::io::Result<String> {
    use rustls::pki_types::pem::PemObject as _;
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
        roots.add(cert).map_err(std::io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    let conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    let sock = std::net::TcpStream::connect(("127.0.0.1", port))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut out = String::new();
    match tls.read_to_string(&mut out) {
        Ok(_) => Ok(out),
        // Some servers close without close_notify after `Connection: close`.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok(out),
        Err(e) => Err(e),
    }
}

/// Starts the server of `dir` and waits (30 s at most) for its answer to `GET /api/version`
/// over TLS with `ca_pem`, then kills it: (the answer, if any, and the server's log).
fn first_tls_answer(dir: &helpers::ConfigDir, ca_pem: &str) -> (Option<String>, String) {
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = dir
        .command()
        .arg("-c")
        .arg(&dir.config)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn");
    let mut answer = None;
    helpers::eventually(std::time::Duration::from_secs(30), || {
        answer = tls_get(dir.port, ca_pem, "/api/version").ok();
        answer.is_some()
    });
    let _ = child.kill();
    let _ = child.wait();
    (
        answer,
        std::fs::read_to_string(&log_path).unwrap_or_default(),
    )
}

#[test]
fn tls_from_keyfile_and_certfile() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("generate a certificate");
    let cert_pem = cert.cert.pem();
    let opts = Opts::default()
        .file("server.crt", &cert_pem)
        .file("server.key", &cert.signing_key.serialize_pem())
        .gravity("  gunicorn:\n    bind: \"127.0.0.1:{PORT}\"\n    workers: 2\n    keyfile: server.key\n    certfile: server.crt\n");
    let dir = helpers::ConfigDir::new(Backend::Sqlite, &opts);
    let (answer, log) = first_tls_answer(&dir, &cert_pem);
    let answer = answer.unwrap_or_else(|| panic!("no TLS answer: {log}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("version_major"), "{answer}");
    // Plain HTTP on the TLS port gets no API answer.
    let plain = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{}/api/version", dir.port))
        .send();
    assert!(plain.map(|r| r.status().as_u16() != 200).unwrap_or(true));

    // Half a TLS configuration is a configuration error naming the key (exit 2).
    let opts = Opts::default()
        .gravity("  gunicorn:\n    bind: \"127.0.0.1:{PORT}\"\n    keyfile: server.key\n");
    let dir = helpers::ConfigDir::new(Backend::Sqlite, &opts);
    let out = dir.run_cli(&["-c", dir.config.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keyfile"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `.route("PATH", web::METHOD()` the code registers, with `/api` in front of those
/// under src/web/routes/.
fn registered_routes() -> std::collections::BTreeSet<(String, String)> {
    let mut found = std::collections::BTreeSet::new();
    let web = helpers::manifest_dir().join("src/web");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&web)
        .expect("src/web")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.extend(
        std::fs::read_dir(web.join("routes"))
            .expect("src/web/routes")
            .flatten()
            .map(|e| e.path()),
    );
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let prefix = if file.parent().is_some_and(|d| d.ends_with("routes")) {
            "/api"
        } else {
            ""
        };
        let text = std::fs::read_to_string(file).expect("read source");
        // Joined so a call split over lines still reads as one.
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join("");
        for part in flat.split(".route(\"").skip(1) {
            let Some((path, rest)) = part.split_once('"') else {
                continue;
            };
            let Some(method) = rest
                .strip_prefix(",web::")
                .and_then(|r| r.split_once('('))
                .map(|(m, r)| match m {
                    // web::method(Method::OPTIONS)
                    "method" => r
                        .strip_prefix("Method::")
                        .and_then(|r| r.split_once(')'))
                        .map_or_else(String::new, |(m, _)| m.to_ascii_lowercase()),
                    m => m.to_string(),
                })
            else {
                continue;
            };
            found.insert((method, format!("{prefix}{path}")));
        }
    }
    found
}

/// Validates the document against the OpenAPI 3 schema with `openapi-spec-validator` (PyPI),
/// installed by scripts/test in the tests' Python virtualenv.
fn validate_openapi(server: &TestServer, doc: &serde_json::Value) {
    let python = std::env::var_os("GALAXY_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| helpers::manifest_dir().join("target/bioblend-venv/bin/python"));
    assert!(
        python.exists(),
        "no Python at {}: run scripts/test to create the tests' virtualenv (or set GALAXY_TEST_PYTHON)",
        python.display()
    );
    let file = server.dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write openapi.json");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             try:\n    from openapi_spec_validator import validate\n\
             except ImportError:\n    sys.exit('openapi-spec-validator is not installed: run scripts/test')\n\
             validate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&file)
        .output()
        .expect("run python");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid"),
        "/api/openapi.json is not a valid OpenAPI document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_openapi_document_lists_every_route_and_each_answers() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let (status, doc) = server.api.get("/api/openapi.json", None);
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    validate_openapi(&server, &doc);
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with('/'), "{path}");
        for (method, op) in ops.as_object().expect("operations") {
            assert!(
                ["get", "post", "put", "delete", "patch", "head", "options"]
                    .contains(&method.as_str()),
                "{method} {path}"
            );
            assert!(
                op["responses"]["200"].is_object(),
                "{method} {path}: no 200 response"
            );
            assert!(
                op["operationId"].is_string(),
                "{method} {path}: no operationId"
            );
            let params: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared = op["parameters"].as_array().map_or(0, Vec::len);
            assert_eq!(declared, params.len(), "{method} {path}: path parameters");
            documented.insert((method.clone(), path.clone()));
        }
    }
    let registered = registered_routes();
    assert!(
        registered.len() >= 20,
        "the route scan found too little: {registered:?}"
    );
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /api/openapi.json: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "documented routes the code does not register: {stale:?}"
    );
    // Every documented GET without parameters answers (never the not-found of an unknown route).
    for (method, path) in &documented {
        if method == "get" && !path.contains('{') {
            let (status, body) = server.api.get_text(path, Some(ADMIN_KEY));
            assert!(
                status < 500 && !body.contains("Could not find the requested resource"),
                "GET {path}: {status} {body}"
            );
        }
    }
}
