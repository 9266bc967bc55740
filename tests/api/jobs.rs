//! Running jobs: many at once with exact outputs, jobs waiting on unfinished inputs, and
//! jobs whose input failed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, str_field};

both_backends!(
    fifty_jobs,
    waiting_input_runs_after_upstream,
    failed_input_pauses_downstream,
    cancelled_input_pauses_downstream,
    noop_runner_marks_jobs_ok_without_running_them,
);

/// The benchmark's no-op runner is a runner plugin like the others: its jobs go `queued` →
/// `running` → `ok`, nothing runs (the output stays empty, no job directory is made), and
/// its environment can sit beside a local one.
fn noop_runner_marks_jobs_ok_without_running_them(backend: Backend) {
    let conf = "runners:\n  local: {load: galaxy.jobs.runners.local:LocalJobRunner}\n  \
                noop: {load: galaxy_server.bench:NoopRunner}\nexecution:\n  default: local\n  \
                environments:\n    local: {runner: local}\n    nothing: {runner: noop}\n\
                tools:\n  - {id: cat1, environment: nothing}\n";
    let server = TestServer::start(
        backend,
        Opts::default()
            .file("job_conf.yml", conf)
            .job_config_file("job_conf.yml"),
    );
    let user = server.create_user("noop");
    let hid = server.create_history(&user.key, "noop");
    let (input, upload) = server.paste(&user.key, &hid, "some text\n");
    server.wait_job_ok(&user.key, &upload);
    let run = server.run_tool(
        &user.key,
        &hid,
        "cat1",
        json!({"input1": {"src": "hda", "id": input}}),
    );
    let job = str_field(&run["jobs"][0], "id");
    let out = str_field(&run["outputs"][0], "id");
    server.wait_job_ok(&user.key, &job);
    server.assert_dataset(&user.key, &out, "");
    let (_, full) = server.api.get(
        &format!("/api/jobs/{job}?full=true"),
        Some(crate::helpers::ADMIN_KEY),
    );
    assert_eq!(full["job_runner_name"], "noop:///", "{full}");
    assert_eq!(full["destination_id"], "nothing", "{full}");
}

/// Lower-case words only, so every `sort` (any locale, any collation) agrees with byte order.
fn word(mut n: u64) -> String {
    let mut w = String::new();
    loop {
        w.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    w
}

/// The i-th test text: 3 to 9 distinct lines in no particular order, each ending in `\n`.
fn text(i: u64) -> String {
    let lines = 3 + i % 7;
    let mut out = String::new();
    let mut x = i.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    for l in 0..lines {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // A unique prefix per line keeps lines distinct; the random tail shuffles their order.
        out.push_str(&format!(
            "{}line{}x{}\n",
            word((x >> 40) % 17_576),
            word(i),
            word(l)
        ));
    }
    out
}

fn sorted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// 50 pasted datasets; sort1 on 25, cat1 (two inputs) on 25; every output exactly right.
fn fifty_jobs(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("fifty");
    let hid = server.create_history(&user.key, "fifty jobs");

    let texts: Vec<String> = (0..50).map(text).collect();
    assert!(
        texts.iter().any(|t| sorted(t) != *t),
        "test data must not be sorted already"
    );
    let uploads: Vec<(String, String)> = texts
        .iter()
        .map(|t| server.paste(&user.key, &hid, t))
        .collect();
    for ((dataset, job), t) in uploads.iter().zip(&texts) {
        server.wait_job_ok(&user.key, job);
        server.assert_dataset(&user.key, dataset, t);
    }

    // (job id, output id, expected content)
    let mut runs = Vec::new();
    for i in 0..50 {
        let (dataset, _) = &uploads[i];
        if i % 2 == 0 {
            let (out, job) = server.run_on(&user.key, &hid, "sort1", "input", dataset);
            runs.push((job, out, sorted(&texts[i])));
        } else {
            let j = (i + 7) % 50;
            let run = server.run_tool(
                &user.key,
                &hid,
                "cat1",
                json!({
                    "input1": {"src": "hda", "id": dataset},
                    "input2": {"src": "hda", "id": uploads[j].0},
                }),
            );
            runs.push((
                str_field(&run["jobs"][0], "id"),
                str_field(&run["outputs"][0], "id"),
                format!("{}{}", texts[i], texts[j]),
            ));
        }
    }
    assert_eq!(runs.len(), 50);
    for (job, out, expected) in &runs {
        let j = server.wait_job_ok(&user.key, job);
        assert_eq!(j["exit_code"], 0, "exit_code of job {job}: {j}");
        server.assert_dataset(&user.key, out, expected);
    }
}

/// A job whose input is still being made waits in `new`/`queued`, never `running`, and runs
/// once the input is `ok`.
fn waiting_input_runs_after_upstream(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("waiter");
    let hid = server.create_history(&user.key, "waiting");

    let run = server.run_tool(&user.key, &hid, "sleep", json!({"seconds": 2}));
    let sleep_job = str_field(&run["jobs"][0], "id");
    let sleep_out = str_field(&run["outputs"][0], "id");
    let d = server.dataset(&user.key, &sleep_out);
    assert_ne!(
        d["state"], "ok",
        "sleep's output is ok right after submission: {d}"
    );

    let (cat_out, cat_job) = server.run_on(&user.key, &hid, "cat1", "input1", &sleep_out);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut observations = 0;
    loop {
        // Read the downstream job first: if the upstream job is still unfinished afterwards,
        // it was unfinished when the downstream state was read.
        let cat_state = server.job_state(&user.key, &cat_job);
        let sleep_state = server.job_state(&user.key, &sleep_job);
        if sleep_state == "ok" {
            break;
        }
        assert!(
            ["new", "queued", "running"].contains(&sleep_state.as_str()),
            "sleep job went {sleep_state}\n{}",
            server.log_tail()
        );
        assert!(
            cat_state == "new" || cat_state == "queued",
            "cat1 job is {cat_state} while its input's job is {sleep_state}\n{}",
            server.log_tail()
        );
        observations += 1;
        assert!(Instant::now() < deadline, "sleep 2 did not finish in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        observations > 0,
        "never saw the downstream job waiting (sleep 2 finished before the first poll?)"
    );
    server.wait_job_ok(&user.key, &cat_job);
    server.assert_dataset(&user.key, &sleep_out, "slept 2\n");
    server.assert_dataset(&user.key, &cat_out, "slept 2\n");
}

const FAIL_TOOL: &str = r#"<tool id="fail_after" name="Fail after a while" version="1.0.0">
    <description>sleeps, then exits 3</description>
    <command>sleep $seconds; echo "failing on purpose" 1>&amp;2; exit 3</command>
    <inputs>
        <param name="seconds" type="integer" value="1" min="0" max="60"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

const CAT_TOOL: &str = r#"<tool id="cat_test" name="Concatenate (test copy)" version="1.0.0">
    <command>cat '$input1' > '$out_file1'</command>
    <inputs>
        <param name="input1" type="data" format="txt" label="Dataset"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

/// A tool configuration of test-only tools written into the server's temp dir.
pub fn test_tools_opts() -> Opts {
    Opts::default()
        .file("test-tools/fail_after.xml", FAIL_TOOL)
        .file("test-tools/cat_test.xml", CAT_TOOL)
        .file(
            "test-tools/tool_conf.xml",
            r#"<?xml version="1.0"?>
<toolbox tool_path="{TMP}/test-tools">
    <section id="test" name="Test tools">
        <tool file="fail_after.xml"/>
        <tool file="cat_test.xml"/>
    </section>
</toolbox>
"#,
        )
        .tool_config_file("test-tools/tool_conf.xml")
}

/// A job whose input failed goes to `paused` (see ARCHITECTURE.md, Readiness).
fn failed_input_pauses_downstream(backend: Backend) {
    let server = TestServer::start(backend, test_tools_opts());
    let user = server.create_user("failed-input");
    let hid = server.create_history(&user.key, "failed input");

    let run = server.run_tool(&user.key, &hid, "fail_after", json!({"seconds": 2}));
    let fail_job = str_field(&run["jobs"][0], "id");
    let fail_out = str_field(&run["outputs"][0], "id");
    let (cat_out, cat_job) = server.run_on(&user.key, &hid, "cat_test", "input1", &fail_out);
    // A chain: this one waits on the output of the job that waits on the failing one.
    let (_, chained_job) = server.run_on(&user.key, &hid, "cat_test", "input1", &cat_out);
    assert!(
        ["new", "queued"].contains(&server.job_state(&user.key, &cat_job).as_str()),
        "downstream job should wait while its input is being made"
    );

    let failed = server.wait_job(&user.key, &fail_job);
    assert_eq!(
        failed["state"], "error",
        "a job exiting 3 must end in error: {failed}"
    );
    let (status, full) = server
        .api
        .get(&format!("/api/jobs/{fail_job}?full=true"), Some(&user.key));
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["exit_code"], 3, "exit code of the failed job: {full}");
    assert!(
        full["stderr"]
            .as_str()
            .is_some_and(|s| s.contains("failing on purpose")),
        "stderr of the failed job: {full}"
    );
    let d = server.dataset(&user.key, &fail_out);
    assert_eq!(d["state"], "error", "output of a failed job: {d}");

    let downstream = server.wait_job(&user.key, &cat_job);
    assert_eq!(
        downstream["state"], "paused",
        "a job whose input failed must be paused: {downstream}"
    );
    let chained = server.wait_job(&user.key, &chained_job);
    assert_eq!(
        chained["state"], "paused",
        "a job waiting on a paused job's output is paused too: {chained}"
    );
    assert_eq!(
        server.dataset(&user.key, &cat_out)["state"],
        "paused",
        "the outputs of a paused job are paused"
    );

    // A job created on an input that has already failed is paused from the start.
    let (_, late_job) = server.run_on(&user.key, &hid, "cat_test", "input1", &fail_out);
    assert_eq!(
        server.job_state(&user.key, &late_job),
        "paused",
        "a job on a failed input must be paused at once"
    );
}

/// An input whose job was cancelled also failed, so the waiting downstream job is `paused`,
/// never run.
fn cancelled_input_pauses_downstream(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("cancelled-input");
    let hid = server.create_history(&user.key, "cancelled input");

    let run = server.run_tool(&user.key, &hid, "sleep", json!({"seconds": 45}));
    let sleep_job = str_field(&run["jobs"][0], "id");
    let sleep_out = str_field(&run["outputs"][0], "id");
    let (_, cat_job) = server.run_on(&user.key, &hid, "cat1", "input1", &sleep_out);
    server.wait_job_state(&user.key, &sleep_job, &["running"], Duration::from_secs(30));

    let (status, body) = server
        .api
        .delete(&format!("/api/jobs/{sleep_job}"), Some(&user.key));
    assert_eq!(status, 200, "DELETE /api/jobs/{sleep_job}: {body}");
    server.wait_job_state(&user.key, &sleep_job, &["deleted"], Duration::from_secs(30));

    let downstream = server.wait_job(&user.key, &cat_job);
    assert_eq!(
        downstream["state"], "paused",
        "a job whose input was cancelled must be paused: {downstream}"
    );
}
