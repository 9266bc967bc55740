//! The `gravity` snippets of Galaxy's scaling page (tests/fixtures/scaling/) load without
//! complaint and do what the page says they do.

use std::path::Path;

use serde_json::json;

use super::helpers::{self, ADMIN_KEY, Backend, ConfigDir, Opts, TestServer};
use super::{first_tls_answer, unix_request};

/// The body of the fixture's `gravity:` section, with the page's addresses replaced.
fn snippet(name: &str, replace: &[(&str, &str)]) -> String {
    let path = helpers::manifest_dir()
        .join("tests/fixtures/scaling")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read fixture");
    let mut body = text
        .strip_prefix("gravity:\n")
        .unwrap_or_else(|| panic!("{name} starts with gravity:"))
        .to_string();
    for (from, to) in replace {
        assert!(body.contains(from), "{name} has no `{from}`");
        body = body.replace(from, to);
    }
    body
}

/// `check-config` of a configuration: (exit code, stdout, stderr).
fn check_config(dir: &ConfigDir) -> (Option<i32>, String, String) {
    let out = dir.run_cli(&[
        "-c",
        dir.config.to_str().unwrap_or_default(),
        "check-config",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_no_config_warning(stderr: &str) {
    assert!(
        !stderr.contains("unknown key") && !stderr.contains("no meaning here"),
        "the page's snippet is warned about:\n{stderr}"
    );
}

#[test]
fn the_common_gunicorn_section_loads_cleanly_and_serves() {
    let gravity = snippet("common.yml", &[("127.0.0.1:8080", "127.0.0.1:{PORT}")]);
    let opts = Opts::default().gravity(&gravity);
    let dir = ConfigDir::new(Backend::Sqlite, &opts);
    let (code, out, err) = check_config(&dir);
    assert_eq!(code, Some(0), "{err}");
    assert_no_config_warning(&err);
    assert!(out.contains("workers: 1"), "{out}");
    drop(dir);
    let server = TestServer::start(Backend::Sqlite, opts);
    let (status, body) = server.api.get("/api/version", None);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn workers_and_a_plain_port_load_as_written() {
    for (fixture, replace, expect) in [
        ("workers.yml", vec![], "workers: 4"),
        (
            "port.yml",
            vec![("127.0.0.1:4001", "127.0.0.1:{PORT}")],
            "forwarded_allow_ips: 127.0.0.1",
        ),
    ] {
        let dir = ConfigDir::new(
            Backend::Sqlite,
            &Opts::default().gravity(&snippet(fixture, &replace)),
        );
        let (code, out, err) = check_config(&dir);
        assert_eq!(code, Some(0), "{fixture}: {err}");
        assert_no_config_warning(&err);
        assert!(out.contains(expect), "{fixture}: {out}");
    }
}

#[test]
fn a_socket_with_forwarded_allow_ips_star_trusts_its_peer() {
    // The page's socket-only snippet: the socket is the one listener, every peer trusted.
    let gravity = snippet(
        "socket_trusted.yml",
        &[(
            "unix:/srv/galaxy/var/gunicorn.sock",
            "unix:{TMP}/gunicorn.sock",
        )],
    );
    let dir = ConfigDir::new(Backend::Sqlite, &Opts::default().gravity(&gravity));
    let text = std::fs::read_to_string(&dir.config).expect("galaxy.yml");
    std::fs::write(
        &dir.config,
        text.replace("{TMP}", &dir.path().display().to_string()),
    )
    .expect("write galaxy.yml");
    let (code, out, err) = check_config(&dir);
    assert_eq!(code, Some(0), "{err}");
    assert_no_config_warning(&err);
    assert!(out.contains("forwarded_allow_ips: '*'"), "{out}");
    assert!(
        !out.contains("127.0.0.1:8080"),
        "a socket bind replaces the default HTTP one: {out}"
    );
}

#[test]
fn an_extra_bind_serves_http_beside_the_trusted_socket() {
    let gravity = snippet(
        "socket_and_http.yml",
        &[
            ("unix:/srv/galaxy/var/gunicorn.sock", "unix:gunicorn.sock"),
            ("127.0.0.1:8080", "127.0.0.1:{PORT}"),
        ],
    );
    let server = TestServer::start(Backend::Sqlite, Opts::default().gravity(&gravity));
    let log = server.log();
    assert_no_config_warning(&log);
    // Both listen: HTTP (the harness waited on it) and the socket.
    let sock = server.dir.path().join("gunicorn.sock");
    let (status, body) = unix_request(&sock, "GET", "/api/version", &[], "");
    assert_eq!(status, 200, "{body}");
    // The socket's peer is trusted: its X-Forwarded-For names the client.
    let hid = server.create_history(ADMIN_KEY, "page");
    let (ds, _) = server.paste(ADMIN_KEY, &hid, "b\na\n");
    let payload = json!({"tool_id": "sort1", "history_id": hid,
        "inputs": {"input": {"src": "hda", "id": ds}}})
    .to_string();
    let (status, body) = unix_request(
        &sock,
        "POST",
        "/api/tools",
        &[
            ("x-api-key", ADMIN_KEY),
            ("content-type", "application/json"),
            ("x-forwarded-for", "203.0.113.20"),
        ],
        &payload,
    );
    assert_eq!(status, 200, "{body}");
    let run: serde_json::Value = serde_json::from_str(&body).expect("json");
    let job = run["jobs"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    server.wait_job_ok(ADMIN_KEY, &job);
    let full = server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(ADMIN_KEY))
        .1;
    assert_eq!(full["client_address"], "203.0.113.20", "{full}");
}

#[test]
fn the_tls_snippet_serves_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("generate a certificate");
    let cert_pem = cert.cert.pem();
    let gravity = snippet("tls.yml", &[("0.0.0.0:443", "0.0.0.0:{PORT}")]);
    let opts = Opts::default()
        .file("server.crt", &cert_pem)
        .file("server.key", &cert.signing_key.serialize_pem())
        .gravity(&gravity);
    let dir = ConfigDir::new(Backend::Sqlite, &opts);
    let (answer, log) = first_tls_answer(&dir, &cert_pem);
    let answer = answer.unwrap_or_else(|| panic!("no TLS answer: {log}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_no_config_warning(&log);
}

#[test]
fn gunicorn_options_without_a_meaning_here_are_named_once() {
    let opts = Opts::default().gravity(
        "  gunicorn:\n    bind: \"127.0.0.1:{PORT}\"\n    extra_args: '--max-requests 100 --max-requests 5 -w 3 --keep-alive 7'\n    preload: true\n    timeout: 600\n    restart_timeout: 120\n",
    );
    let dir = ConfigDir::new(Backend::Sqlite, &opts);
    let (code, out, err) = check_config(&dir);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err.matches("`--max-requests` has no meaning here").count(),
        1,
        "{err}"
    );
    assert!(
        out.contains("workers: 3") && out.contains("keep_alive: 7"),
        "{out}"
    );
    assert!(!err.contains("unknown key"), "{err}");

    // A malformed extra_args is a configuration error naming the key (exit 2).
    let opts = Opts::default()
        .gravity("  gunicorn:\n    bind: \"127.0.0.1:{PORT}\"\n    extra_args: '--workers lots'\n");
    let dir = ConfigDir::new(Backend::Sqlite, &opts);
    let (code, _, err) = check_config(&dir);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("gravity.gunicorn.extra_args") && err.contains("--workers"),
        "{err}"
    );
}

/// The page's `galaxy-main … --server-name handler0 --daemonize`.
#[test]
fn a_daemonized_server_returns_once_it_serves_and_keeps_a_pid_file() {
    let dir = ConfigDir::new(Backend::Sqlite, &Opts::default());
    let config = dir.config.to_str().unwrap_or_default().to_string();
    let out = dir.run_cli(&["-c", &config, "--server-name", "web0", "--daemonize"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let pid_file = dir.path().join("web0.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("web0.pid")
        .trim()
        .parse()
        .expect("a pid");
    let api = helpers::Api::new(&format!("http://127.0.0.1:{}", dir.port));
    // It serves as soon as the command has returned.
    assert_eq!(api.get("/api/version", None).0, 200);
    assert!(
        std::fs::read_to_string(dir.path().join("web0.log"))
            .unwrap_or_default()
            .contains("started as `web0`"),
        "the log goes to web0.log"
    );
    // A second one is refused, naming the running pid.
    let again = dir.run_cli(&["-c", &config, "--server-name", "web0", "--daemonize"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains(&format!("already runs as pid {pid}")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // SIGTERM stops it and removes the pid file.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let gone = helpers::eventually(std::time::Duration::from_secs(30), || !pid_file.exists());
    assert!(gone, "pid file left after stop");

    // A server that cannot start makes the command fail, pointing at its log.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = blocker.local_addr().expect("addr").port();
    let out = dir.run_cli(&[
        "-c",
        &config,
        "--server-name",
        "web1",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--daemonize",
        "--log-file",
        "custom.log",
        "--pid-file",
        "custom.pid",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("custom.log"), "{err}");
    assert!(!Path::new(&dir.path().join("custom.pid")).exists());
}
