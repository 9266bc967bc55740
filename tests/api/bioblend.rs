//! BioBlend, Galaxy's Python client, drives the server.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, manifest_dir, wait_timeout};

both_backends!(bioblend_client);

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
    let python = python();
    let server = TestServer::start(backend, Opts::default());
    let script = manifest_dir().join("tests/bioblend/test_bioblend.py");
    let out_path = server.dir.path().join("bioblend.out");
    let err_path = server.dir.path().join("bioblend.err");
    let mut child = Command::new(&python)
        .arg(&script)
        .args([server.url.as_str(), ADMIN_KEY])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("create bioblend.out"))
        .stderr(fs::File::create(&err_path).expect("create bioblend.err"))
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
    let status = status.unwrap_or_else(|| panic!("the BioBlend script ran over 180 s\n{report}"));
    assert!(
        status.success(),
        "the BioBlend script failed ({status})\n{report}"
    );
    assert!(
        stdout.lines().any(|l| l.trim() == "BIOBLEND OK"),
        "the BioBlend script did not print BIOBLEND OK\n{report}"
    );
}
