//! The formats of a run's outputs, decided at creation: `format="input"`, `format_source`,
//! `<change_format>`.

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, manifest_dir, str_field};

const FORMATS_TOOL: &str = r#"<tool id="out_formats" name="Output formats" version="1.0.0" profile="21.01">
    <command>cat '$input1' > '$same'; cat '$input1' > '$sourced'; cat '$input1' > '$chosen'</command>
    <inputs>
        <param name="input1" type="data" format="txt,tabular"/>
        <param name="kind" type="select">
            <option value="tab">tab</option>
            <option value="csv">csv</option>
        </param>
    </inputs>
    <outputs>
        <data name="same" format="input"/>
        <data name="sourced" format="data" format_source="input1"/>
        <data name="chosen" format="tabular">
            <change_format>
                <when input="kind" value="csv" format="csv"/>
            </change_format>
        </data>
    </outputs>
</tool>
"#;

const WORK_DIR_TOOL: &str = r#"<tool id="work_dir" name="From work dir" version="1.0.0" profile="21.01">
    <command>echo "written here" > result.txt; pwd > where.txt</command>
    <inputs/>
    <outputs>
        <data name="out" format="txt" from_work_dir="result.txt"/>
        <data name="where" format="txt" from_work_dir="where.txt"/>
    </outputs>
</tool>
"#;

const MISSING_TOOL: &str = r#"<tool id="work_dir_missing" name="Missing from work dir" version="1.0.0" profile="21.01">
    <command>echo "written to the output" > '$out'</command>
    <inputs/>
    <outputs>
        <data name="out" format="txt" from_work_dir="never_written.txt"/>
    </outputs>
</tool>
"#;

const REQUIRES_TOOL: &str = r#"<tool id="needs_pkg" name="Needs a package" version="1.0.0" profile="21.01">
    <requirements>
        <requirement type="package" version="1.0">no-such-package-galaxy-test</requirement>
    </requirements>
    <command>echo ran > '$out' &amp;&amp; test -z '$fail'</command>
    <inputs><param name="fail" type="text" value=""/></inputs>
    <outputs>
        <data name="out" format="txt"/>
    </outputs>
</tool>
"#;

const FILTER_TOOL: &str = r#"<tool id="filtered" name="Filtered outputs" version="1.0.0" profile="21.01">
    <command><![CDATA[
echo main > '$main';
#if $out_choice == 'yes'
echo extra > '$extra';
#end if
    ]]></command>
    <inputs>
        <param name="out_choice" type="select">
            <option value="yes">yes</option>
            <option value="no">no</option>
        </param>
    </inputs>
    <outputs>
        <data name="main" format="txt"/>
        <data name="extra" format="txt">
            <filter>out_choice == 'yes'</filter>
        </data>
    </outputs>
</tool>
"#;

const META_TOOL: &str = r#"<tool id="meta_source" name="Metadata source" version="1.0.0" profile="21.01">
    <command>printf 'x\n' > '$copied'; printf 'x\n' > '$computed'</command>
    <inputs>
        <param name="input1" type="data" format="tabular"/>
    </inputs>
    <outputs>
        <data name="copied" format="tabular" metadata_source="input1"/>
        <data name="computed" format="tabular"/>
    </outputs>
</tool>
"#;

fn opts() -> Opts {
    let upload1 = std::fs::read_to_string(manifest_dir().join("tools/upload1.xml"))
        .expect("the shipped upload1.xml");
    Opts::default()
        .file("out-tools/formats.xml", FORMATS_TOOL)
        .file("out-tools/upload1.xml", &upload1)
        .file("out-tools/work_dir.xml", WORK_DIR_TOOL)
        .file("out-tools/missing.xml", MISSING_TOOL)
        .file("out-tools/requires.xml", REQUIRES_TOOL)
        .file("out-tools/filtered.xml", FILTER_TOOL)
        .file("out-tools/meta.xml", META_TOOL)
        .file(
            "out-tools/tool_conf.xml",
            r#"<?xml version="1.0"?>
<toolbox tool_path="{TMP}/out-tools">
    <section id="out" name="Outputs">
        <tool file="upload1.xml"/>
        <tool file="formats.xml"/>
        <tool file="work_dir.xml"/>
        <tool file="missing.xml"/>
        <tool file="requires.xml"/>
        <tool file="filtered.xml"/>
        <tool file="meta.xml"/>
    </section>
</toolbox>
"#,
        )
        .tool_config_file("out-tools/tool_conf.xml")
}

fn output_formats_at_creation(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("outputs");
    let hid = server.create_history(&user.key, "outputs");
    let (input, _) = server.paste(&user.key, &hid, "a\tb\n");
    for (kind, chosen) in [("tab", "tabular"), ("csv", "csv")] {
        let run = server.run_tool(
            &user.key,
            &hid,
            "out_formats",
            json!({"input1": {"src": "hda", "id": input}, "kind": kind}),
        );
        let job = str_field(&run["jobs"][0], "id");
        server.wait_job_ok(&user.key, &job);
        // In the tool's order.
        let ext = |i: usize| {
            let id = str_field(&run["outputs"][i], "id");
            str_field(&server.dataset(&user.key, &id), "file_ext")
        };
        assert_eq!(ext(0), "txt", "format=\"input\"");
        assert_eq!(ext(1), "txt", "format_source");
        assert_eq!(ext(2), chosen, "change_format with kind={kind}");
    }
}

/// `from_work_dir`: the file the command wrote in its working directory becomes the output;
/// when it is missing the output keeps what the command wrote there (Galaxy copies the file
/// only if it exists).
fn outputs_from_work_dir(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("workdir");
    let hid = server.create_history(&user.key, "workdir");
    let run = server.run_tool(&user.key, &hid, "work_dir", json!({}));
    // Each output says which tool output it is (galaxy-tool-test finds outputs by it); with
    // no input a dataset is named after the tool.
    assert_eq!(run["outputs"][0]["output_name"], "out", "{run}");
    assert_eq!(run["outputs"][1]["output_name"], "where", "{run}");
    assert_eq!(run["outputs"][1]["name"], "From work dir", "{run}");
    server.wait_job_ok(&user.key, &str_field(&run["jobs"][0], "id"));
    server.assert_dataset(
        &user.key,
        &str_field(&run["outputs"][0], "id"),
        "written here\n",
    );
    let id = str_field(&run["outputs"][1], "id");
    let text = server.display(&user.key, &id);
    assert!(
        text.trim_end().ends_with("/working"),
        "ran in its working directory: {text}"
    );

    let run = server.run_tool(&user.key, &hid, "work_dir_missing", json!({}));
    let job = str_field(&run["jobs"][0], "id");
    server.wait_job_ok(&user.key, &job);
    server.assert_dataset(
        &user.key,
        &str_field(&run["outputs"][0], "id"),
        "written to the output\n",
    );
}

/// A `package` requirement with no executable of its name on PATH: the tool is listed (a
/// warning at load) and its jobs run with what PATH has, as Galaxy runs a tool whose
/// requirements no resolver found; a job that fails names the missing requirement.
fn missing_requirement_is_named_when_the_job_fails(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("requires");
    let hid = server.create_history(&user.key, "requires");
    let run = server.run_tool(&user.key, &hid, "needs_pkg", json!({}));
    let job = str_field(&run["jobs"][0], "id");
    let ended = server.wait_job(&user.key, &job);
    assert_eq!(ended["state"], "ok", "the job runs: {ended}");
    let run = server.run_tool(&user.key, &hid, "needs_pkg", json!({"fail": "yes"}));
    let job = str_field(&run["jobs"][0], "id");
    let ended = server.wait_job(&user.key, &job);
    assert_eq!(ended["state"], "error", "{ended}");
    let (_, full) = server
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(&user.key));
    assert!(
        str_field(&full, "info").contains(
            "requirement 'no-such-package-galaxy-test' not found on PATH (no conda/containers here)"
        ),
        "{full}"
    );
    let log = server.log();
    assert!(
        log.contains("needs_pkg")
            && log.contains("'no-such-package-galaxy-test' not found on PATH"),
        "a warning at load names the tool and the requirement"
    );
}

/// An output whose `<filter>` is false for the run's values is not created.
fn filtered_outputs_are_not_created(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("filters");
    let hid = server.create_history(&user.key, "filters");
    for (choice, count) in [("yes", 2), ("no", 1)] {
        let run = server.run_tool(&user.key, &hid, "filtered", json!({"out_choice": choice}));
        let outputs = run["outputs"].as_array().map(Vec::len);
        assert_eq!(outputs, Some(count), "out_choice={choice}: {run}");
        server.wait_job_ok(&user.key, &str_field(&run["jobs"][0], "id"));
        server.assert_dataset(&user.key, &str_field(&run["outputs"][0], "id"), "main\n");
        if count == 2 {
            server.assert_dataset(&user.key, &str_field(&run["outputs"][1], "id"), "extra\n");
        }
    }
}

/// `metadata_source`: an output of the input's extension gets the input's metadata.
fn metadata_copied_from_its_source(backend: Backend) {
    let server = TestServer::start(backend, opts());
    let user = server.create_user("meta");
    let hid = server.create_history(&user.key, "meta");
    let up = server.run_tool(
        &user.key,
        &hid,
        "upload1",
        json!({
            "files_0|url_paste": "a\t1\t2.5\nb\t2\t3.5\n",
            "files_0|type": "upload_dataset",
            "file_type": "tabular",
        }),
    );
    let input = str_field(&up["outputs"][0], "id");
    server.wait_job_ok(&user.key, &str_field(&up["jobs"][0], "id"));
    let run = server.run_tool(
        &user.key,
        &hid,
        "meta_source",
        json!({"input1": {"src": "hda", "id": input}}),
    );
    server.wait_job_ok(&user.key, &str_field(&run["jobs"][0], "id"));
    let copied = server.dataset(&user.key, &str_field(&run["outputs"][0], "id"));
    let computed = server.dataset(&user.key, &str_field(&run["outputs"][1], "id"));
    assert_eq!(
        copied["metadata_columns"], 3,
        "copied from the input: {copied}"
    );
    assert_eq!(
        computed["metadata_columns"], 1,
        "computed from its file: {computed}"
    );
}

both_backends!(
    metadata_copied_from_its_source,
    filtered_outputs_are_not_created,
    output_formats_at_creation,
    outputs_from_work_dir,
    missing_requirement_is_named_when_the_job_fails
);
