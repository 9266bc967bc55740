//! Datatypes and metadata: uploads sent as `auto` are sniffed, an explicit type is kept,
//! metadata is set on uploads and at a job's end and shown as Galaxy's `metadata_<name>`
//! keys, and a `data_column` past the columns of its dataset is refused.

use serde_json::{Value, json};

use crate::helpers::{Backend, Opts, TestServer, assert_error, str_field};

both_backends!(datatypes_sniffing_and_metadata);

const CUT_TOOL: &str = r#"<tool id="cut_col" name="Cut a column" version="1.0">
    <command><![CDATA[cut -f $col '$input' > '$out_file1']]></command>
    <inputs>
        <param name="input" type="data" format="tabular"/>
        <param name="col" type="data_column" data_ref="input"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="tabular"/>
    </outputs>
</tool>
"#;

const TABULAR: &str = "name\tcount\tscore\nfoo\t1\t2.5\nbar\t3\t4.0\n";

fn upload(server: &TestServer, key: &str, hid: &str, text: &str, file_type: &str) -> Value {
    let run = server.run_tool(
        key,
        hid,
        "upload1",
        json!({
            "files_0|url_paste": text,
            "files_0|type": "upload_dataset",
            "file_type": file_type,
        }),
    );
    let id = str_field(&run["outputs"][0], "id");
    server.wait_job_ok(key, &str_field(&run["jobs"][0], "id"));
    server.dataset(key, &id)
}

fn datatypes_sniffing_and_metadata(backend: Backend) {
    let mut opts = Opts::default();
    for tool in ["upload1", "sort1", "cat1"] {
        let xml =
            std::fs::read_to_string(format!("{}/tools/{tool}.xml", env!("CARGO_MANIFEST_DIR")))
                .expect("sample tool");
        opts = opts.file(&format!("dt-tools/{tool}.xml"), &xml);
    }
    let opts = opts
        .file("dt-tools/cut_col.xml", CUT_TOOL)
        .file(
            "dt-tools/tool_conf.xml",
            "<?xml version=\"1.0\"?>\n<toolbox tool_path=\"{TMP}/dt-tools\">\n    \
             <tool file=\"upload1.xml\"/>\n    <tool file=\"sort1.xml\"/>\n    \
             <tool file=\"cat1.xml\"/>\n    <tool file=\"cut_col.xml\"/>\n</toolbox>\n",
        )
        .tool_config_file("dt-tools/tool_conf.xml");
    let server = TestServer::start(backend, opts);
    let user = server.create_user("datatypes");
    let key = user.key.as_str();
    let hid = server.create_history(key, "datatypes");

    // Tabular sent as `auto`: sniffed, with Galaxy's metadata (the header line without `#`
    // counts as data, its `str` types yield to the other lines').
    let tab = upload(&server, key, &hid, TABULAR, "auto");
    assert_eq!(tab["file_ext"], "tabular", "{tab}");
    assert_eq!(tab["extension"], "tabular", "{tab}");
    assert_eq!(
        tab["data_type"], "galaxy.datatypes.tabular.Tabular",
        "{tab}"
    );
    assert_eq!(tab["metadata_columns"], 3, "{tab}");
    assert_eq!(
        tab["metadata_column_types"],
        json!(["str", "int", "float"]),
        "{tab}"
    );
    assert_eq!(tab["metadata_data_lines"], 3, "{tab}");
    assert_eq!(tab["metadata_comment_lines"], 0, "{tab}");
    let tab_id = str_field(&tab, "id");

    // Fasta and bed sniffed.
    let fasta = upload(&server, key, &hid, ">s1\nACGT\nAC\n>s2\nGGGG\n", "auto");
    assert_eq!(fasta["file_ext"], "fasta", "{fasta}");
    assert_eq!(fasta["metadata_sequences"], 2, "{fasta}");
    let bed = upload(&server, key, &hid, "chr1\t10\t20\tr1\t0\t+\n", "auto");
    assert_eq!(bed["file_ext"], "bed", "{bed}");
    assert_eq!(bed["metadata_chromCol"], 1, "{bed}");
    assert_eq!(bed["metadata_strandCol"], 6, "{bed}");
    assert_eq!(bed["metadata_nameCol"], 4, "{bed}");

    // An explicit type is kept, with its own metadata.
    let txt = upload(&server, key, &hid, TABULAR, "txt");
    assert_eq!(txt["file_ext"], "txt", "{txt}");
    assert_eq!(txt["metadata_data_lines"], 3, "{txt}");
    assert!(txt.get("metadata_columns").is_none(), "{txt}");

    // A job's outputs get their metadata when the job ends.
    let (sorted, job) = server.run_on(key, &hid, "sort1", "input", &tab_id);
    server.wait_job_ok(key, &job);
    let sorted = server.dataset(key, &sorted);
    assert_eq!(sorted["file_ext"], "txt", "{sorted}");
    assert_eq!(sorted["metadata_data_lines"], 3, "{sorted}");
    let (cat, job) = server.run_on(key, &hid, "cat1", "input1", &tab_id);
    server.wait_job_ok(key, &job);
    assert_eq!(server.dataset(key, &cat)["metadata_data_lines"], 3);

    // A data_column within the input's columns runs; past them, a 400 naming the parameter.
    let run = server.run_tool(
        key,
        &hid,
        "cut_col",
        json!({"input": {"src": "hda", "id": tab_id}, "col": "2"}),
    );
    server.wait_job_ok(key, &str_field(&run["jobs"][0], "id"));
    let cut = server.dataset(key, &str_field(&run["outputs"][0], "id"));
    assert_eq!(cut["metadata_columns"], 1, "{cut}");
    assert_eq!(cut["metadata_column_types"], json!(["int"]), "{cut}");
    let (status, body) = server.api.post(
        "/api/tools",
        Some(key),
        &json!({"tool_id": "cut_col", "history_id": hid,
                "inputs": {"input": {"src": "hda", "id": tab_id}, "col": "4"}}),
    );
    assert_error("data_column past the last column", status, &body, &[400]);
    assert!(
        body["err_msg"].as_str().is_some_and(|m| m.contains("col")),
        "{body}"
    );
}
