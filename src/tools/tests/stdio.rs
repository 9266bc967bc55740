//! `<stdio>`, `detect_errors`, `interpreter`, `<configfiles>`, output format rules and
//! requirements: the model, and `Stdio::judge` with Galaxy's semantics.

use super::{repo_path, tool};
use crate::tools::{ChangeFormat, Level, Outcome, Stdio, Tool};

fn stdio_tool() -> Tool {
    Tool::from_file(&repo_path("tests/fixtures/tools/stdio.xml"), None).unwrap()
}

#[test]
fn the_model_keeps_what_the_xml_says() {
    let tool = stdio_tool();
    assert_eq!(tool.profile.as_deref(), Some("20.09"));
    assert_eq!(tool.interpreter.as_deref(), Some("python"));
    // As written: the interpreter goes in front of the rendered command's first word.
    assert_eq!(tool.command, "script.py '$input' '$out'");
    assert_eq!(
        tool.configfiles,
        [("settings".to_string(), "threshold=$input".to_string())]
    );
    assert_eq!(tool.requirements.len(), 1);
    assert_eq!(tool.requirements[0].kind, "package");
    assert_eq!(tool.requirements[0].name, "samtools");
    assert_eq!(tool.requirements[0].version.as_deref(), Some("1.9"));
    let out = &tool.outputs[0];
    assert_eq!(out.format_source.as_deref(), Some("input"));
    assert_eq!(out.metadata_source.as_deref(), Some("input"));
    assert_eq!(out.from_work_dir.as_deref(), Some("out.txt"));
    assert_eq!(out.filters, ["kind == \"tab\""]);
    assert_eq!(
        out.change_format,
        [ChangeFormat {
            input: "kind".into(),
            value: "csv".into(),
            format: "csv".into()
        }]
    );
    assert_eq!(tool.outputs[1].format, "input");
    let json = tool.to_json(true);
    assert_eq!(json["outputs"][0]["format_source"], "input");
    assert_eq!(json["outputs"][0]["from_work_dir"], "out.txt");
    assert_eq!(
        json["inputs"][0]["extensions"],
        serde_json::json!(["tabular", "txt"])
    );
    assert_eq!(tool.stdio.exit_codes.len(), 3);
    assert_eq!(tool.stdio.regexes.len(), 2);
}

fn judge(stdio: &Stdio, code: i64, stdout: &str, stderr: &str) -> Outcome {
    stdio.judge(code, stdout, stderr)
}

#[test]
fn stdio_rules_judge_as_galaxy_does() {
    let stdio = stdio_tool().stdio;
    assert_eq!(judge(&stdio, 0, "", "anything"), Outcome::default());
    let warned = judge(&stdio, 5, "", "");
    assert!(!warned.failed);
    assert_eq!(warned.messages, ["Warning: Exit code 5 (Low disk)"]);
    // Ranges are checked in order; every match is reported.
    let failed = judge(&stdio, 4, "", "");
    assert!(failed.failed);
    assert_eq!(failed.messages.len(), 2);
    assert_eq!(failed.messages[1], "Fatal error: Exit code 4 ()");
    let oom = judge(&stdio, 137, "warn", "Error: boom");
    assert!(oom.failed && oom.out_of_memory);
    // Out of memory stops the checks: the regexes are not looked at.
    assert_eq!(oom.messages, ["Out of memory error: Exit code 137 ()"]);
    let matched = judge(&stdio, 0, "a WARNing", "error: disk\n");
    assert!(matched.failed);
    assert_eq!(
        matched.messages,
        ["Fatal error: failed with disk", "Warning: Matched on WARN"]
    );
    let stdout_only = judge(&stdio, 0, "Error: x", "");
    assert!(!stdout_only.failed, "{stdout_only:?}");
}

#[test]
fn detect_errors_and_profile_pick_galaxys_defaults() {
    let with = |attrs: &str, extra: &str| {
        tool(&format!(
            "<tool id=\"t\" name=\"T\" {attrs}><command {extra}>true</command></tool>"
        ))
        .stdio
    };
    // No profile, no <stdio>: the legacy check, anything on stderr fails.
    let legacy = with("", "");
    assert!(legacy.exit_codes.is_empty() && legacy.regexes.is_empty());
    assert!(judge(&legacy, 0, "", "note").failed);
    assert!(!judge(&legacy, 3, "", "").failed);
    // Profile 16.04 and later: the exit code.
    let modern = with("profile=\"16.04\"", "");
    assert!(judge(&modern, 3, "", "").failed);
    assert!(judge(&modern, -1, "", "").failed);
    assert!(!judge(&modern, 0, "", "noise").failed);
    let exit_code = with("", "detect_errors=\"exit_code\" oom_exit_code=\"42\"");
    let oom = judge(&exit_code, 42, "", "");
    assert!(oom.failed && oom.out_of_memory);
    assert!(!judge(&exit_code, 0, "", "noise").failed);
    let aggressive = with("", "detect_errors=\"aggressive\"");
    assert!(judge(&aggressive, 0, "Exception: bad", "").failed);
    let memory = judge(&aggressive, 0, "", "java.lang.OutOfMemoryError");
    assert!(memory.out_of_memory);
    assert!(!judge(&aggressive, 0, "fine", "").failed);
    let default = with("profile=\"21.01\"", "detect_errors=\"default\"");
    assert!(judge(&default, 1, "", "").failed);
}

#[test]
fn levels_are_ordered_and_regex_descriptions_expand() {
    assert!(Level::Log < Level::Qc && Level::Qc < Level::Warning);
    assert!(Level::Warning < Level::Fatal && Level::Fatal < Level::FatalOom);
    let stdio = tool(
        "<tool id=\"t\" name=\"T\"><command>true</command><stdio>\
         <regex match=\"(?P&lt;n&gt;\\d+) reads\" source=\"stdout\" level=\"qc\" description=\"\\g&lt;n&gt; seen, \\1\"/>\
         <exit_code range=\":-2\" level=\"log\"/></stdio></tool>",
    )
    .stdio;
    let qc = judge(&stdio, -5, "12 reads", "ignored");
    assert!(!qc.failed);
    assert_eq!(qc.messages, ["Log: Exit code -5 ()", "QC: 12 seen, 12"]);
}
