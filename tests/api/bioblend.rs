//! BioBlend, Galaxy's Python client, drives the server.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, manifest_dir, wait_timeout};

both_backends!(bioblend_client, bioblend_workflows);

fn python() -> PathBuf {
    let python = std::env::var_os("GALAXY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/bioblend-venv/bin/python"));
    assert!(
        python.exists(),
        "no Python with BioBlend at {}: run scripts/test to create the venv \
         (or set GALAXY_TEST_PYTHON to a python that has bioblend installed)",
        python.display()
    );
    python
}

fn bioblend_client(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let objects = server.dir.path().join("objects").display().to_string();
    run_script(&server, "test_bioblend.py", &[objects], "BIOBLEND OK");
}

/// BioBlend's workflows and invocations clients: the 4-step workflow imported, invoked,
/// waited for, its outputs read, exported and imported again, cancelled, deleted.
fn bioblend_workflows(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let ga = manifest_dir()
        .join("tests/fixtures/workflows/four_steps.ga")
        .display()
        .to_string();
    run_script(&server, "test_workflows.py", &[ga], "BIOBLEND WORKFLOWS OK");
}

/// A 100 MiB `paste_content` with the default body limits (the backend plays no part).
#[test]
fn large_paste() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let stdout = run_script(
        &server,
        "test_large_paste.py",
        &[server.pid().to_string()],
        "LARGE PASTE OK",
    );
    // The figures, for whoever runs the test with --nocapture.
    for line in stdout.lines().filter(|l| l.starts_with("pasted ")) {
        println!("{line}");
    }
}

/// The upload benchmark (BENCHMARK_UPLOAD_MIB, default 1024 MiB): `cargo test --release
/// --test api upload_benchmark -- --ignored --nocapture`.
#[test]
#[ignore]
fn upload_benchmark() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default().galaxy_extra("  upload_body_limit: 4G\n"),
    );
    let size = std::env::var("BENCHMARK_UPLOAD_MIB").unwrap_or_else(|_| "1024".into());
    let stdout = run_script(
        &server,
        "bench_upload.py",
        &[server.pid().to_string(), size],
        "UPLOAD BENCH OK",
    );
    for line in stdout.lines().filter(|l| l.starts_with("uploaded ")) {
        println!("{line}");
    }
}

/// Runs `tests/bioblend/<script> URL ADMIN_KEY ARGS…` (180 s at most) and asserts it exits 0
/// having printed `ok_line`; returns its stdout.
fn run_script(server: &TestServer, script: &str, args: &[String], ok_line: &str) -> String {
    let python = python();
    let script = manifest_dir().join("tests/bioblend").join(script);
    let name = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out_path = server.dir.path().join(format!("{name}.out"));
    let err_path = server.dir.path().join(format!("{name}.err"));
    let mut child = Command::new(&python)
        .arg(&script)
        .args([server.url.as_str(), ADMIN_KEY])
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("create the script's stdout file"))
        .stderr(fs::File::create(&err_path).expect("create the script's stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let status = wait_timeout(&mut child, Duration::from_secs(180));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let report = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("{} ran over 180 s\n{report}", script.display()));
    assert!(
        status.success(),
        "{} failed ({status})\n{report}",
        script.display()
    );
    assert!(
        stdout.lines().any(|l| l.trim() == ok_line),
        "{} did not print {ok_line}\n{report}",
        script.display()
    );
    stdout
}
