//! Conditionals, repeats, sections and the newer param types: loading, checking what clients
//! post (flat keys and nested objects), and the tool JSON.

use serde_json::json;

use super::{inputs, repo_path};
use crate::tools::{
    DataRef, Input, ParamKind, ParamState, ParamValue, StateValue, Tool, ToolInputError,
};

fn nested() -> Tool {
    Tool::from_file(&repo_path("tests/fixtures/tools/conditional.xml"), None).unwrap()
}

fn hda(id: &str) -> DataRef {
    DataRef {
        src: "hda".into(),
        id: id.into(),
    }
}

fn flat(value: serde_json::Value) -> Result<Vec<(String, ParamValue)>, ToolInputError> {
    nested().check_inputs(&inputs(value))
}

fn message(value: serde_json::Value) -> String {
    flat(value).unwrap_err().to_string()
}

#[test]
fn the_tree_loads_with_galaxys_defaults() {
    let tool = nested();
    let names: Vec<&str> = tool.inputs.iter().map(Input::name).collect();
    assert_eq!(names, ["input", "mode", "queries", "adv"]);
    let Input::Conditional(mode) = &tool.inputs[1] else {
        panic!()
    };
    // A case for every option; `c` has no <when> and gets an empty one.
    let values: Vec<&str> = mode.cases.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, ["a", "b", "c"]);
    assert!(mode.cases[2].inputs.is_empty());
    let Input::Repeat(queries) = &tool.inputs[2] else {
        panic!()
    };
    assert_eq!((queries.min, queries.max, queries.default), (1, Some(3), 1));
    let col = tool.param("mode|col").unwrap();
    assert!(
        matches!(&col.kind, ParamKind::DataColumn { data_ref, multiple: false, .. } if data_ref == "input")
    );
    assert!(matches!(
        tool.param("queries_0|cols").unwrap().kind,
        ParamKind::DataColumn { multiple: true, .. }
    ));
    assert!(matches!(
        tool.param("adv|tag").unwrap().kind,
        ParamKind::Hidden
    ));
    assert!(matches!(
        tool.param("adv|flag|extra").unwrap().kind,
        ParamKind::Data { multiple: true, .. }
    ));
    assert!(tool.param("adv|nope").is_none() && tool.param("queries|q").is_none());
}

#[test]
fn defaults_fill_the_active_case_and_min_repeats() {
    let values = flat(json!({"input": "d1"})).unwrap();
    assert_eq!(
        values,
        vec![
            ("input".into(), ParamValue::Data(Some(hda("d1")))),
            ("mode|kind".into(), ParamValue::Select("b".into())),
            ("mode|n".into(), ParamValue::Integer(3)),
            ("queries_0|q".into(), ParamValue::Text("x".into())),
            ("queries_0|cols".into(), ParamValue::Columns(vec![])),
            ("adv|tag".into(), ParamValue::Text("v1".into())),
            ("adv|shade".into(), ParamValue::Text("#ff0000".into())),
            ("adv|flag|on".into(), ParamValue::Boolean(false)),
        ]
    );
}

#[test]
fn flat_and_nested_keys_give_the_same_state() {
    let flat_keys = json!({
        "input": "d1", "mode|kind": "a", "mode|col": "c3", "mode|n": "99",
        "queries_0|q": "one", "queries_2|q": "three", "queries_2|cols": "1,2",
        "adv|flag|on": true, "adv|flag|extra": [{"src": "hda", "id": "e1"}, "e2"],
        "adv|shade": "#00ff00", "mode|__current_case__": 0,
    });
    let nested_keys = json!({
        "input": {"src": "hda", "id": "d1"},
        "mode": {"kind": "a", "col": 3, "n": 99, "__current_case__": 0},
        "queries": [{"q": "one"}, {"q": "three", "cols": ["1", "2"]}],
        "adv": {"flag": {"on": "yes", "extra": {"values": [{"src": "hda", "id": "e1"}, {"src": "hda", "id": "e2"}]}},
                "shade": "#00FF00"},
    });
    let tool = nested();
    let a = tool.check_state(&inputs(flat_keys), &|_| None).unwrap();
    let b = tool.check_state(&inputs(nested_keys), &|_| None).unwrap();
    assert_eq!(a, b);
    // The inactive case's `n` is dropped; repeat gaps close up.
    let values = a.flatten();
    let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "input",
            "mode|kind",
            "mode|col",
            "queries_0|q",
            "queries_0|cols",
            "queries_1|q",
            "queries_1|cols",
            "adv|tag",
            "adv|shade",
            "adv|flag|on",
            "adv|flag|extra"
        ]
    );
    assert_eq!(values[2].1, ParamValue::Columns(vec![3]));
    assert_eq!(values[6].1, ParamValue::Columns(vec![1, 2]));
    assert_eq!(
        values[10].1,
        ParamValue::DataList(vec![hda("e1"), hda("e2")])
    );
    let Some(StateValue::Conditional { case, state }) = a.get("mode") else {
        panic!("{a:?}")
    };
    assert_eq!(*case, 0);
    assert_eq!(
        state.0[0],
        (
            "kind".into(),
            StateValue::Value(ParamValue::Select("a".into()))
        )
    );
    assert!(matches!(a.get("queries"), Some(StateValue::Repeat(r)) if r.len() == 2));
}

#[test]
fn bad_inputs_name_their_flat_key() {
    let cases = [
        (
            json!({"input": "d", "mode|zzz": 1}),
            "parameter 'mode|zzz': no such parameter",
        ),
        (
            json!({"input": "d", "adv": {"nope": 1}}),
            "parameter 'adv|nope': no such parameter",
        ),
        (
            json!({"input": "d", "queries_0|zz": 1}),
            "parameter 'queries_0|zz': no such",
        ),
        (
            json!({"input": "d", "mode|kind": "z"}),
            "parameter 'mode|kind': 'z' is not one",
        ),
        (
            json!({"input": "d", "mode": {"n": 0}}),
            "parameter 'mode|n': value 0 is below",
        ),
        (
            json!({"input": "d", "adv|shade": "red"}),
            "parameter 'adv|shade': a color",
        ),
        (
            json!({"input": "d", "mode": "a"}),
            "parameter 'mode': expected an object",
        ),
        (
            json!({"input": "d", "queries": {"q": 1}}),
            "parameter 'queries': expected a list",
        ),
        (
            json!({"input": "d", "queries": [{}, {}, {}, {}]}),
            "parameter 'queries': at most 3",
        ),
        (
            json!({"input": "d", "mode|kind": "a", "mode|col": "0"}),
            "parameter 'mode|col': a column number",
        ),
        (
            json!({"input": "d", "mode|kind": "a", "mode|col": "1,2"}),
            "parameter 'mode|col': only one column",
        ),
        (
            json!({"input": "d", "adv|flag|on": "yes"}),
            "parameter 'adv|flag|extra': at least one dataset",
        ),
    ];
    for (given, expected) in cases {
        let m = message(given.clone());
        assert!(m.starts_with(expected), "{given}: {m}");
    }
}

#[test]
fn columns_are_checked_against_known_metadata() {
    let tool = nested();
    let given = inputs(json!({"input": "d1", "mode|kind": "a", "mode|col": "4",
                              "queries_0|cols": "2,5"}));
    let three = |d: &DataRef| (d.id == "d1").then_some(3);
    let m = tool.check_state(&given, &three).unwrap_err().to_string();
    assert_eq!(
        m,
        "parameter 'mode|col': column 4 is past the last column of 'input' (3)"
    );
    let five = |_: &DataRef| Some(5);
    let state: ParamState = tool.check_state(&given, &five).unwrap();
    assert_eq!(state.flatten()[2].1, ParamValue::Columns(vec![4]));
    let m = tool
        .check_state(&given, &|_| Some(4))
        .unwrap_err()
        .to_string();
    assert!(m.starts_with("parameter 'queries_0|cols': column 5"), "{m}");
}

#[test]
fn io_details_have_galaxys_group_shapes() {
    let dict = nested().to_json(true);
    let inputs = dict["inputs"].as_array().unwrap();
    let mode = &inputs[1];
    assert_eq!(mode["type"], "conditional");
    assert_eq!(mode["model_class"], "Conditional");
    assert_eq!(mode["test_param"]["name"], "kind");
    assert_eq!(mode["test_param"]["type"], "select");
    assert_eq!(mode["cases"][0]["value"], "a");
    assert_eq!(mode["cases"][0]["inputs"][0]["type"], "data_column");
    assert_eq!(mode["cases"][0]["inputs"][0]["data_ref"], "input");
    assert_eq!(mode["cases"][2]["inputs"], json!([]));
    let queries = &inputs[2];
    assert_eq!(queries["type"], "repeat");
    assert_eq!(queries["title"], "Query");
    assert_eq!(
        (queries["min"].clone(), queries["max"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(queries["inputs"][1]["multiple"], true);
    let adv = &inputs[3];
    assert_eq!(adv["type"], "section");
    assert_eq!(adv["expanded"], true);
    assert_eq!(adv["title"], "Advanced");
    assert_eq!(adv["inputs"][0]["type"], "hidden");
    assert_eq!(adv["inputs"][0]["hidden"], true);
    assert_eq!(adv["inputs"][0]["value"], "v1");
    assert_eq!(adv["inputs"][1]["model_class"], "ColorToolParameter");
    let extra = &adv["inputs"][2]["cases"][0]["inputs"][0];
    assert_eq!(
        (extra["type"].clone(), extra["multiple"].clone()),
        (json!("data"), json!(true))
    );
    let unbounded = Tool::from_xml(
        "<tool id=\"t\" name=\"T\"><command>true</command><inputs><repeat name=\"r\" title=\"R\">\
         <param name=\"p\" type=\"text\"/></repeat></inputs></tool>",
        std::path::Path::new("t.xml"),
        None,
    )
    .unwrap();
    assert_eq!(unbounded.to_json(true)["inputs"][0]["max"], "__Infinity__");
}

#[test]
fn group_values_render_through_cheetah() {
    let xml = "<tool id=\"t\" name=\"T\"><command><![CDATA[echo ${mode.k}\n#if $mode.k\n  ${mode.n}\n#end if\n#for $r in $rep\n  [$r.s]\n#end for]]></command><inputs>\
        <conditional name=\"mode\"><param name=\"k\" type=\"boolean\" truevalue=\"yes\" falsevalue=\"no\"/>\
        <when value=\"yes\"><param name=\"n\" type=\"integer\" value=\"3\"/></when></conditional>\
        <repeat name=\"rep\" title=\"R\"><param name=\"s\" type=\"text\"/></repeat></inputs></tool>";
    let tool = Tool::from_xml(xml, std::path::Path::new("t.xml"), None).unwrap();
    let given = serde_json::json!({"mode": {"k": true, "n": 7}, "rep": [{"s": "a"}, {"s": "b c"}]});
    let serde_json::Value::Object(given) = given else {
        unreachable!()
    };
    let values = tool.check_inputs(&given).unwrap();
    let job = crate::tools::scope::JobValues {
        values: &values,
        ..Default::default()
    };
    assert_eq!(tool.render(&job).unwrap().command, "echo yes 7 [a] [b c]");
}
