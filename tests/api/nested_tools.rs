//! A tool with macros, a conditional, a repeat and a multiple data input: its JSON, and runs
//! posted with nested objects and with Galaxy's flat keys.

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, assert_error, str_field};

both_backends!(nested_tool_runs_with_nested_and_flat_inputs);

const NESTED_TOOL: &str = r#"<tool id="nested_cat" name="Nested cat" version="@VERSION@">
    <macros>
        <token name="@VERSION@">1.5</token>
        <xml name="mode">
            <conditional name="mode">
                <param name="kind" type="select">
                    <option value="a">A</option>
                    <option value="b">B</option>
                </param>
                <when value="a">
                    <param name="n" type="integer" value="1" min="1"/>
                </when>
            </conditional>
        </xml>
    </macros>
    <command><![CDATA[
cat
#for $f in $inputs
    '$f'
#end for
    > '$out_file1' && echo '$label' >> '$out_file1'
    ]]></command>
    <inputs>
        <param name="inputs" type="data" multiple="true"/>
        <param name="label" type="text" value="end"/>
        <expand macro="mode"/>
        <repeat name="r" max="2">
            <param name="q" type="text"/>
        </repeat>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

fn nested_tool_runs_with_nested_and_flat_inputs(backend: Backend) {
    let opts = Opts::default()
        .file("nested-tools/nested_cat.xml", NESTED_TOOL)
        .file(
            "nested-tools/upload1.xml",
            include_str!("../../tools/upload1.xml"),
        )
        .file(
            "nested-tools/tool_conf.xml",
            "<?xml version=\"1.0\"?>\n<toolbox tool_path=\"{TMP}/nested-tools\">\n    \
             <tool file=\"upload1.xml\"/>\n    <tool file=\"nested_cat.xml\"/>\n</toolbox>\n",
        )
        .tool_config_file("nested-tools/tool_conf.xml");
    let server = TestServer::start(backend, opts);
    let user = server.create_user("nested");
    let key = user.key.as_str();
    let hid = server.create_history(key, "nested");

    let (status, tool) = server
        .api
        .get("/api/tools/nested_cat?io_details=true", Some(key));
    assert_eq!(status, 200, "{tool}");
    assert_eq!(tool["version"], "1.5", "{tool}");
    assert_eq!(tool["inputs"][0]["multiple"], true, "{tool}");
    assert_eq!(tool["inputs"][2]["type"], "conditional", "{tool}");
    assert_eq!(tool["inputs"][2]["test_param"]["name"], "kind", "{tool}");
    assert_eq!(tool["inputs"][3]["type"], "repeat", "{tool}");
    assert_eq!(tool["inputs"][3]["max"], 2, "{tool}");

    let (a, up_a) = server.paste(key, &hid, "one\n");
    let (b, up_b) = server.paste(key, &hid, "two\n");
    server.wait_job_ok(key, &up_a);
    server.wait_job_ok(key, &up_b);

    let nested = json!({
        "inputs": {"values": [{"src": "hda", "id": a}, {"src": "hda", "id": b}]},
        "mode": {"kind": "a", "n": 2},
        "r": [{"q": "x"}],
    });
    let run = server.run_tool(key, &hid, "nested_cat", nested);
    let job = str_field(&run["jobs"][0], "id");
    server.wait_job_ok(key, &job);
    server.assert_dataset(key, &str_field(&run["outputs"][0], "id"), "one\ntwo\nend\n");

    let flat = json!({
        "inputs": [{"src": "hda", "id": b}, {"src": "hda", "id": a}],
        "label": "fin", "mode|kind": "b", "mode|n": "5", "r_0|q": "y", "r_1|q": "z",
    });
    let run = server.run_tool(key, &hid, "nested_cat", flat);
    let job = str_field(&run["jobs"][0], "id");
    server.wait_job_ok(key, &job);
    server.assert_dataset(key, &str_field(&run["outputs"][0], "id"), "two\none\nfin\n");

    for (inputs, expected) in [
        (
            json!({"inputs": [{"src": "hda", "id": a}], "mode|zzz": 1}),
            "parameter 'mode|zzz'",
        ),
        (
            json!({"inputs": [{"src": "hda", "id": a}], "r": [{}, {}, {}]}),
            "parameter 'r': at most 2",
        ),
        (json!({"mode": {"kind": "a"}}), "parameter 'inputs'"),
    ] {
        let (status, body) = server.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": "nested_cat", "history_id": hid, "inputs": inputs}),
        );
        assert_error("bad nested inputs", status, &body, &[400]);
        let message = body["err_msg"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{message}");
    }
}
