//! A finished job is judged by its tool's `<stdio>` rules and `detect_errors` (Galaxy's
//! `check_output`); the rules' messages are the job's `info`.

use serde_json::{Value, json};

use crate::helpers::{Backend, Opts, TestServer, str_field};

const REGEX_TOOL: &str = r#"<tool id="stdio_regex" name="Regex fatal" version="1.0.0" profile="21.01">
    <command>echo "Error: disk on fire" 1>&amp;2; echo done > '$out'</command>
    <stdio>
        <regex match="Error:" source="stderr" level="fatal" description="the tool reported an error"/>
    </stdio>
    <inputs/>
    <outputs>
        <data name="out" format="txt"/>
    </outputs>
</tool>
"#;

const WARN_TOOL: &str = r#"<tool id="stdio_warn" name="Exit 2 warns" version="1.0.0" profile="21.01">
    <command>echo done > '$out'; exit 2</command>
    <stdio>
        <exit_code range="2" level="warning" description="partial result"/>
    </stdio>
    <inputs/>
    <outputs>
        <data name="out" format="txt"/>
    </outputs>
</tool>
"#;

const AGGRESSIVE_TOOL: &str = r#"<tool id="stdio_aggressive" name="Aggressive" version="1.0.0">
    <command detect_errors="aggressive">echo "Exception: bad thing" > '$out'; cat '$out'</command>
    <inputs/>
    <outputs>
        <data name="out" format="txt"/>
    </outputs>
</tool>
"#;

const LEGACY_TOOL: &str = r#"<tool id="stdio_legacy" name="Legacy" version="1.0.0">
    <command>echo done > '$out'; echo "just chatter" 1>&amp;2</command>
    <inputs/>
    <outputs>
        <data name="out" format="txt"/>
    </outputs>
</tool>
"#;

fn opts() -> Opts {
    Opts::default()
        .file("stdio-tools/regex.xml", REGEX_TOOL)
        .file("stdio-tools/warn.xml", WARN_TOOL)
        .file("stdio-tools/aggressive.xml", AGGRESSIVE_TOOL)
        .file("stdio-tools/legacy.xml", LEGACY_TOOL)
        .file(
            "stdio-tools/tool_conf.xml",
            r#"<?xml version="1.0"?>
<toolbox tool_path="{TMP}/stdio-tools">
    <section id="stdio" name="Stdio">
        <tool file="regex.xml"/>
        <tool file="warn.xml"/>
        <tool file="aggressive.xml"/>
        <tool file="legacy.xml"/>
    </section>
</toolbox>
"#,
        )
        .tool_config_file("stdio-tools/tool_conf.xml")
}

/// Runs `tool` and returns the ended job in full.
fn run(server: &TestServer, key: &str, hid: &str, tool: &str) -> Value {
    let run = server.run_tool(key, hid, tool, json!({}));
    let job = str_field(&run["jobs"][0], "id");
    server.wait_job(key, &job);
    let (status, full) = server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(key));
    assert_eq!(status, 200, "{full}");
    full
}

fn stdio_rules_judge_jobs(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("stdio");
    let hid = server.create_history(&user.key, "stdio");

    let full = run(&server, &user.key, &hid, "stdio_regex");
    assert_eq!(
        full["state"], "error",
        "a fatal regex fails the job: {full}"
    );
    assert_eq!(full["exit_code"], 0, "{full}");
    assert!(
        str_field(&full, "info").contains("Fatal error: the tool reported an error"),
        "the rule's description is the job's info: {full}"
    );

    let full = run(&server, &user.key, &hid, "stdio_warn");
    assert_eq!(full["state"], "ok", "a warning does not fail: {full}");
    assert_eq!(full["exit_code"], 2, "{full}");
    assert!(
        str_field(&full, "info").contains("Warning: Exit code 2 (partial result)"),
        "the warning is in the job's info: {full}"
    );

    let full = run(&server, &user.key, &hid, "stdio_aggressive");
    assert_eq!(full["state"], "error", "aggressive: `exception:`: {full}");
    assert!(str_field(&full, "info").contains("Fatal error"), "{full}");

    let full = run(&server, &user.key, &hid, "stdio_legacy");
    assert_eq!(full["state"], "error", "legacy: anything on stderr: {full}");
    assert!(
        str_field(&full, "info").contains("standard error"),
        "{full}"
    );
}

both_backends!(stdio_rules_judge_jobs);
