//! Galaxy's own tool-test client, `galaxy-tool-test` (PyPI `galaxy-tool-util`), runs the
//! `<tests>` of every shipped tool against the server: it reads the tests from
//! `/api/tools/{id}/test_data`, uploads the test-data files (multipart `upload1`), runs the
//! tool with a form body, waits for the job and compares the outputs on its side.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, manifest_dir, wait_timeout};

both_backends!(galaxy_tool_test);

/// The tools shipped with tests; each must be in `/api/tools/tests_summary`.
const SHIPPED: &[&str] = &[
    "cat1",
    "sort1",
    "wc_gnu",
    "sleep",
    "text_cut_columns",
    "text_sort_column",
    "text_paste",
    "text_grep",
    "text_fasta_stats",
    "text_column_summary",
    "text_label_lines",
    "Text first1",
];

fn tool_test_bin() -> PathBuf {
    let bin = std::env::var_os("GALAXY_TEST_TOOL_TEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/tool-test-venv/bin/galaxy-tool-test"));
    assert!(
        bin.exists(),
        "no galaxy-tool-test at {}: run scripts/test, which creates target/tool-test-venv with \
         the pinned galaxy-tool-util (or `python3 -m venv target/tool-test-venv && \
         target/tool-test-venv/bin/pip install galaxy-tool-util==24.1.4 galaxy-util==24.1.4`, \
         or set GALAXY_TEST_TOOL_TEST to a galaxy-tool-test executable)",
        bin.display()
    );
    bin
}

fn galaxy_tool_test(backend: Backend) {
    let bin = tool_test_bin();
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("tooltest");
    let (status, summary) = server.api.get("/api/tools/tests_summary", None);
    assert_eq!(status, 200, "tests_summary: {summary}");
    for tool in SHIPPED {
        // One version each (`1.0.0`, `1.0.0+galaxy1`).
        let count = summary[*tool]
            .as_object()
            .and_then(|versions| versions.values().next())
            .and_then(|v| v["count"].as_u64())
            .unwrap_or(0);
        assert!(count > 0, "{tool} has no tests in the summary: {summary}");
        let report = run_tool_tests(&server, &bin, &user.key, tool, &[]);
        let results = &report["results"];
        assert_eq!(
            (results["total"].as_u64(), results["errors"].as_u64()),
            (Some(count), Some(0)),
            "{tool}: {report:#}"
        );
        assert_eq!(results["failures"].as_u64(), Some(0), "{tool}: {report:#}");
        let tests = report["tests"].as_array().cloned().unwrap_or_default();
        assert_eq!(tests.len() as u64, count, "{tool}: {report:#}");
        for test in &tests {
            assert_eq!(
                test["data"]["status"], "success",
                "{tool}: a test did not pass: {test:#}"
            );
        }
    }
}

/// A tool with a conditional, a repeat, a section and a multiple data param: the test params
/// inside their groups (and unqualified) reach the tool as Galaxy's flat keys.
#[test]
fn galaxy_tool_test_with_groups() {
    let bin = tool_test_bin();
    let conf = crate::helpers::manifest_dir().join("tests/fixtures/tools/tooltest/tool_conf.xml");
    let opts = Opts::default().tool_config_file(&conf.display().to_string());
    let server = TestServer::start(Backend::Sqlite, opts);
    let report = run_tool_tests(&server, &bin, ADMIN_KEY, "nested_tooltest", &[]);
    let results = &report["results"];
    assert_eq!(results["total"].as_u64(), Some(3), "{report:#}");
    assert_eq!(results["errors"].as_u64(), Some(0), "{report:#}");
    assert_eq!(results["failures"].as_u64(), Some(0), "{report:#}");
    let inputs = &report["tests"][0]["data"]["inputs"];
    assert_eq!(inputs["mode|n"], "2", "{report:#}");
    assert_eq!(inputs["r_1|q"], "second", "{report:#}");
    assert_eq!(inputs["adv|flag"], true, "{report:#}");
}

/// `--force_path_paste`: the client uploads the test data as `file://` paths (an admin, with
/// `allow_path_paste`); anyone else is refused.
#[test]
fn galaxy_tool_test_with_path_paste() {
    let bin = tool_test_bin();
    let opts = Opts::default().galaxy_extra("  allow_path_paste: true\n");
    let server = TestServer::start(Backend::Sqlite, opts);
    let report = run_tool_tests(&server, &bin, ADMIN_KEY, "cat1", &["--force_path_paste"]);
    let results = &report["results"];
    assert_eq!(results["errors"].as_u64(), Some(0), "{report:#}");
    assert_eq!(results["failures"].as_u64(), Some(0), "{report:#}");
    assert!(results["total"].as_u64().unwrap_or(0) >= 3, "{report:#}");

    let user = server.create_user("notadmin");
    let hid = server.create_history(&user.key, "paths");
    let file = crate::helpers::manifest_dir().join("tools/test-data/1.bed");
    let body = serde_json::json!({"tool_id": "upload1", "history_id": hid, "inputs": {
        "files_0|url_paste": format!("file://{}", file.display())}});
    let (status, body) = server.api.post("/api/tools", Some(&user.key), &body);
    assert_eq!(status, 403, "{body}");
    assert!(
        body["err_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("administrators"),
        "{body}"
    );
}

/// `galaxy-tool-test -u URL -k KEY -a ADMIN_KEY -t TOOL -j REPORT` (300 s at most): asserts it
/// exits 0 and returns its JSON report.
fn run_tool_tests(
    server: &TestServer,
    bin: &PathBuf,
    key: &str,
    tool: &str,
    extra: &[&str],
) -> Value {
    let dir = server.dir.path();
    let report_path = dir.join(format!("tool-test-{tool}.json"));
    let out_path = dir.join(format!("tool-test-{tool}.out"));
    let err_path = dir.join(format!("tool-test-{tool}.err"));
    let mut child = Command::new(bin)
        .args([
            "-u",
            server.url.as_str(),
            "-k",
            key,
            "-a",
            ADMIN_KEY,
            "-t",
            tool,
        ])
        .arg("-j")
        .arg(&report_path)
        .arg("--verbose")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("create galaxy-tool-test's stdout file"))
        .stderr(fs::File::create(&err_path).expect("create galaxy-tool-test's stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let status = wait_timeout(&mut child, Duration::from_secs(300));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let report = fs::read_to_string(&report_path).unwrap_or_default();
    let text = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}\n--- report ---\n{report}\n--- server log ---\n{}",
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default(),
        server.log_tail(),
    );
    let status =
        status.unwrap_or_else(|| panic!("galaxy-tool-test -t {tool} ran over 300 s\n{text}"));
    assert!(
        status.success(),
        "galaxy-tool-test -t {tool} failed ({status})\n{text}"
    );
    serde_json::from_str(&report)
        .unwrap_or_else(|e| panic!("{tool}: the report is not JSON: {e}\n{text}"))
}

/// The test-data routes answer bad names and unknown tools with Galaxy's error JSON.
#[test]
fn test_data_routes_refuse_bad_requests() {
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let api = &server.api;
    let (status, body) = api.get_text("/api/tools/cat1/test_data_download?filename=1.bed", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("chr1\t"), "{body}");
    for bad in ["../cat1.xml", "/etc/passwd", "test-data/../../Cargo.toml"] {
        let path = format!("/api/tools/cat1/test_data_download?filename={bad}");
        let (status, body) = api.get(&path, None);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["err_msg"]
                .as_str()
                .unwrap_or_default()
                .contains("relative path")
        );
    }
    let (status, body) = api.get("/api/tools/cat1/test_data_download?filename=nope", None);
    assert_eq!(
        (status, body["err_code"].as_i64()),
        (404, Some(404001)),
        "{body}"
    );
    let (status, _) = api.get("/api/tools/cat1/test_data_download", None);
    assert_eq!(status, 400);
    let (status, _) = api.get("/api/tools/nope/test_data", None);
    assert_eq!(status, 404);
    // As Galaxy's non-exact lookup: a version not installed answers with the installed tool.
    // galaxy-tool-test sends the version unescaped, so `1.0+galaxy0` arrives as `1.0 galaxy0`.
    let (status, body) = api.get("/api/tools/cat1/test_data?tool_version=9.9", None);
    assert_eq!(status, 200, "{body}");
    let path = "/api/tools/cat1/test_data_download?filename=1.bed&tool_version=1.0+galaxy0";
    let (status, body) = api.get_text(path, None);
    assert_eq!(status, 200, "{body}");
    // The path is for admins only.
    let user = server.create_user("pathless");
    let path = "/api/tools/cat1/test_data_path?filename=1.bed";
    assert_eq!(api.get(path, Some(&user.key)).0, 403);
    let (status, body) = api.get(path, Some(ADMIN_KEY));
    assert_eq!(status, 200, "{body}");
    assert!(
        body.as_str()
            .unwrap_or_default()
            .ends_with("tools/test-data/1.bed"),
        "{body}"
    );
    // A path upload needs allow_path_paste, even for an admin.
    let hid = server.create_history(ADMIN_KEY, "paths");
    let file = body.as_str().unwrap_or_default();
    let run = serde_json::json!({"tool_id": "upload1", "history_id": hid,
        "inputs": {"files_0|url_paste": format!("file://{file}")}});
    let (status, body) = api.post("/api/tools", Some(ADMIN_KEY), &run);
    assert_eq!(status, 403, "{body}");
    assert!(
        body["err_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("allow_path_paste"),
        "{body}"
    );
}
