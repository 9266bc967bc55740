use serde_json::json;

use super::{inputs, shipped, tool};
use crate::tools::{DataRef, ParamValue, ToolInputError};

fn hda(id: &str) -> ParamValue {
    ParamValue::Data(Some(DataRef {
        src: "hda".into(),
        id: id.into(),
    }))
}

const ALL: &str = r#"<tool id="all" name="All">
  <command>true</command>
  <inputs>
    <param name="n" type="integer" value="3" min="0" max="10"/>
    <param name="req" type="integer"/>
    <param name="f" type="float" value="0.5" min="0" max="1"/>
    <param name="b" type="boolean" checked="true" truevalue="--yes" falsevalue="--no"/>
    <param name="s" type="select">
      <option value="x">X</option>
      <option value="y" selected="true">Y</option>
    </param>
    <param name="t" type="text" value="hello"/>
    <param name="d" type="data" optional="true"/>
  </inputs>
</tool>"#;

fn check(value: serde_json::Value) -> Result<Vec<(String, ParamValue)>, ToolInputError> {
    tool(ALL).check_inputs(&inputs(value))
}

fn message(value: serde_json::Value) -> String {
    check(value).unwrap_err().to_string()
}

#[test]
fn defaults_fill_missing_params() {
    let values = check(json!({"req": 7})).unwrap();
    assert_eq!(
        values,
        vec![
            ("n".into(), ParamValue::Integer(3)),
            ("req".into(), ParamValue::Integer(7)),
            ("f".into(), ParamValue::Float(0.5)),
            ("b".into(), ParamValue::Boolean(true)),
            ("s".into(), ParamValue::Select("y".into())),
            ("t".into(), ParamValue::Text("hello".into())),
            ("d".into(), ParamValue::Data(None)),
        ]
    );
}

#[test]
fn strings_and_json_values_are_coerced() {
    let values = check(json!({
        "n": "5", "req": " 2 ", "f": 1, "b": "no", "s": "x", "t": 42,
        "d": {"src": "hda", "id": "abc"}, "__job_resource": {"x": 1}
    }))
    .unwrap();
    assert_eq!(values[0].1, ParamValue::Integer(5));
    assert_eq!(values[1].1, ParamValue::Integer(2));
    assert_eq!(values[2].1, ParamValue::Float(1.0));
    assert_eq!(values[3].1, ParamValue::Boolean(false));
    assert_eq!(values[4].1, ParamValue::Select("x".into()));
    assert_eq!(values[5].1, ParamValue::Text("42".into()));
    assert_eq!(values[6].1, hda("abc"));
    for (given, expected) in [
        (json!(true), true),
        (json!("true"), true),
        (json!("yes"), true),
        (json!("--yes"), true),
        (json!("false"), false),
        (json!("--no"), false),
    ] {
        let values = check(json!({"req": 1, "b": given})).unwrap();
        assert_eq!(values[3].1, ParamValue::Boolean(expected), "{given}");
    }
}

#[test]
fn bad_values_name_the_param_and_what_was_expected() {
    let m = message(json!({"req": "abc"}));
    assert!(
        m.starts_with("parameter 'req': an integer is required"),
        "{m}"
    );
    let m = message(json!({}));
    assert!(m.starts_with("parameter 'req':"), "{m}");
    let m = message(json!({"req": 1, "n": 11}));
    assert!(m.contains("'n'") && m.contains("maximum 10"), "{m}");
    let m = message(json!({"req": 1, "n": -1}));
    assert!(m.contains("minimum 0"), "{m}");
    let m = message(json!({"req": 1, "f": "2.5"}));
    assert!(m.contains("'f'") && m.contains("maximum 1.0"), "{m}");
    let m = message(json!({"req": 1, "f": "pi"}));
    assert!(m.contains("a real number is required"), "{m}");
    let m = message(json!({"req": 1, "b": "maybe"}));
    assert!(m.contains("'b'") && m.contains("true or false"), "{m}");
    let m = message(json!({"req": 1, "s": "z"}));
    assert!(m.contains("'s'") && m.contains("x, y"), "{m}");
    let m = message(json!({"req": 1, "t": {"a": 1}}));
    assert!(m.contains("'t'"), "{m}");
    let m = message(json!({"req": 1, "d": {"src": "hda"}}));
    assert!(m.contains("'d'") && m.contains("src"), "{m}");
}

#[test]
fn data_params_accept_every_client_shape() {
    let cat1 = shipped().get("cat1").unwrap().clone();
    let shapes = [
        json!({"input1": {"src": "hda", "id": "a1"}}),
        json!({"input1": {"values": [{"src": "hda", "id": "a1"}]}}),
        json!({"input1": [{"src": "hda", "id": "a1"}]}),
        json!({"input1": "a1"}),
    ];
    for shape in shapes {
        let values = cat1.check_inputs(&inputs(shape.clone())).unwrap();
        assert_eq!(values[0], ("input1".into(), hda("a1")), "{shape}");
        assert_eq!(
            values[1],
            ("input2".into(), ParamValue::Data(None)),
            "{shape}"
        );
    }
    let values = cat1
        .check_inputs(&inputs(json!({"input1": "a1", "input2": {"values": []}})))
        .unwrap();
    assert_eq!(values[1].1, ParamValue::Data(None));
    let m = cat1
        .check_inputs(&inputs(json!({"input2": "b"})))
        .unwrap_err()
        .to_string();
    assert_eq!(m, "parameter 'input1': a dataset is required");
    let two = json!({"input1": {"values": [{"src": "hda", "id": "a"}, {"src": "hda", "id": "b"}]}});
    assert!(cat1.check_inputs(&inputs(two)).is_err());
}

#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let sleep = shipped().get("sleep").unwrap().clone();
    for (given, key) in [
        (json!({"a|seconds": "9", "seconds": "2"}), "a|seconds"),
        (json!({"seconds|x": "9"}), "seconds|x"),
        (json!({"unknown": [1, 2]}), "unknown"),
    ] {
        let m = sleep.check_inputs(&inputs(given)).unwrap_err().to_string();
        assert_eq!(
            m,
            format!("parameter '{key}': no such parameter in this tool")
        );
    }
    let values = sleep.check_inputs(&inputs(json!({}))).unwrap();
    assert_eq!(values[0].1, ParamValue::Integer(1));
}
