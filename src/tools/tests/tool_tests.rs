//! `<tests>` into Galaxy's test dicts: nested params flattened against the input tree,
//! data params in `required_files`, output attributes and assertions as Galaxy writes them.

use serde_json::json;

use super::{shipped, tool};

const NESTED: &str = r#"<tool id="t" name="T" version="2.0">
  <command>cat '$input' > '$out'</command>
  <inputs>
    <param name="input" type="data" format="txt"/>
    <param name="fmt" type="select">
      <option value="t">Tab separated</option>
      <option value="c">Comma</option>
    </param>
    <conditional name="mode">
      <param name="kind" type="select">
        <option value="plain" selected="true">Plain text</option>
        <option value="fancy">Fancy output</option>
      </param>
      <when value="plain"/>
      <when value="fancy"><param name="width" type="integer" value="3"/></when>
    </conditional>
    <repeat name="queries" title="Query">
      <param name="q" type="text"/>
    </repeat>
    <section name="adv" title="Advanced">
      <param name="flag" type="boolean" truevalue="-f" falsevalue=""/>
    </section>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
  <tests>
    <test expect_num_outputs="1">
      <param name="input" value="a.txt" ftype="txt"/>
      <param name="fmt" value="Comma"/>
      <conditional name="mode">
        <param name="kind" value="fancy"/>
        <param name="width" value="7"/>
      </conditional>
      <repeat name="queries"><param name="q" value="x y"/></repeat>
      <repeat name="queries"><param name="q" value="z"/></repeat>
      <section name="adv"><param name="flag" value="-f"/></section>
      <output name="out" file="b.txt" lines_diff="2" sort="true">
        <assert_contents><has_text text="x"/><has_n_lines n="2"/></assert_contents>
      </output>
      <assert_stdout><has_text text="done"/></assert_stdout>
    </test>
    <test>
      <param name="input" value="a.txt"/>
      <output_collection name="c"/>
    </test>
  </tests>
</tool>"#;

#[test]
fn nested_test_params_become_galaxys_flat_inputs() {
    let dicts = tool(NESTED).test_dicts();
    assert_eq!(dicts.len(), 2);
    let d = &dicts[0];
    assert_eq!(d["error"], false, "{d:#}");
    assert_eq!(
        d["inputs"],
        json!({
            "input": ["a.txt"],
            "fmt": ["c"],
            "mode|kind": ["fancy"],
            "mode|width": ["7"],
            "queries_0|q": "x y",
            "queries_1|q": "z",
            "adv|flag": [true],
        })
    );
    assert_eq!(d["required_files"][0][0], "a.txt");
    assert_eq!(d["required_files"][0][1]["ftype"], "txt");
    assert_eq!(d["num_outputs"], 1);
    assert_eq!(
        (d["tool_id"].as_str(), d["tool_version"].as_str()),
        (Some("t"), Some("2.0"))
    );
    let attributes = &d["outputs"][0]["attributes"];
    assert_eq!(d["outputs"][0]["value"], "b.txt");
    assert_eq!(
        (
            attributes["lines_diff"].as_i64(),
            attributes["sort"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert_eq!(attributes["compare"], "diff");
    assert_eq!(
        attributes["assert_list"][1],
        json!({"tag": "has_n_lines", "attributes": {"n": "2"}, "children": []})
    );
    assert_eq!(d["stdout"][0]["tag"], "has_text");
}

#[test]
fn a_test_this_server_cannot_run_is_an_error_not_a_load_failure() {
    let dicts = tool(NESTED).test_dicts();
    let d = &dicts[1];
    assert_eq!(d["error"], true);
    let exception = d["exception"].as_str().unwrap_or_default();
    assert!(exception.contains("output_collection"), "{exception}");
}

#[test]
fn a_missing_required_dataset_is_reported() {
    let xml = NESTED.replace(
        r#"<param name="input" value="a.txt" ftype="txt"/>"#,
        r#"<param name="input"/>"#,
    );
    let dicts = tool(&xml).test_dicts();
    let d = &dicts[0];
    assert_eq!(d["error"], true, "{d:#}");
    let exception = d["exception"].as_str().unwrap_or_default();
    assert!(exception.contains("input is not optional"), "{exception}");
}

#[test]
fn every_shipped_tool_but_upload_has_tests_that_process() {
    let toolbox = shipped();
    for t in toolbox.iter().filter(|t| t.id != "upload1") {
        let dicts = t.test_dicts();
        assert!(!dicts.is_empty(), "{} has no tests", t.id);
        for d in dicts {
            assert_eq!(d["error"], false, "{}: {d:#}", t.id);
        }
    }
}
