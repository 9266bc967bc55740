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

fn opts() -> Opts {
    let upload1 = std::fs::read_to_string(manifest_dir().join("tools/upload1.xml"))
        .expect("the shipped upload1.xml");
    Opts::default()
        .file("out-tools/formats.xml", FORMATS_TOOL)
        .file("out-tools/upload1.xml", &upload1)
        .file(
            "out-tools/tool_conf.xml",
            r#"<?xml version="1.0"?>
<toolbox tool_path="{TMP}/out-tools">
    <section id="out" name="Outputs">
        <tool file="upload1.xml"/>
        <tool file="formats.xml"/>
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

both_backends!(output_formats_at_creation);
