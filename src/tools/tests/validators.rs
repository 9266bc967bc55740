//! `<validator>` and `<sanitizer>` in `<param>`: load, checks, rendering.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::{inputs, repo_path, tool};
use crate::tools::scope::{DatasetInfo, JobValues};
use crate::tools::{Tool, ToolError};

fn fixture() -> Tool {
    Tool::from_file(&repo_path("tests/fixtures/tools/validators.xml"), None).unwrap()
}

fn rendered(t: &Tool, given: serde_json::Value) -> String {
    let values = t.check_inputs(&inputs(given)).unwrap();
    let out = DatasetInfo {
        path: "/tmp/out.dat".into(),
        ext: "txt".into(),
        name: "out".into(),
        ..DatasetInfo::default()
    };
    let job = JobValues {
        values: &values,
        outputs: BTreeMap::from([("out".to_string(), out)]),
        ..JobValues::default()
    };
    t.render(&job).unwrap().command
}

fn load_error(body: &str) -> (String, String) {
    let xml =
        format!("<tool id=\"t\" name=\"T\"><command>true</command><inputs>{body}</inputs></tool>");
    match Tool::from_xml(&xml, Path::new("t.xml"), None) {
        Err(ToolError::Invalid {
            construct, message, ..
        }) => (construct, message),
        other => panic!("{body}: expected Invalid, got {other:?}"),
    }
}

#[test]
fn validators_refuse_bad_values_with_their_message() {
    let t = fixture();
    let message = t
        .check_inputs(&inputs(json!({"sample": "s 1; rm"})))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "parameter 'sample': a sample name is letters, digits and '_', not 's 1; rm'"
    );
    let message = t
        .check_inputs(&inputs(json!({"sample": "abcdefghijklm"})))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("Must have length of at least 1 and at most 12"),
        "{message}"
    );
    let message = t
        .check_inputs(&inputs(json!({"count": 5})))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "parameter 'count': Value ('5') must fulfill (1 <= value < 5)"
    );
    assert!(
        t.check_inputs(&inputs(json!({"count": 4, "sample": "ok_1"})))
            .is_ok()
    );
}

#[test]
fn param_sanitizers_replace_the_default_one() {
    let command = rendered(&fixture(), json!({}));
    assert_eq!(
        command,
        "echo 's1' > '/tmp/out.dat' && echo 'it'\"'\"'s' >> '/tmp/out.dat' && \
         echo 'a|b' >> '/tmp/out.dat' && echo 'xXy__sq__z' >> '/tmp/out.dat' && \
         echo 2 >> '/tmp/out.dat'"
    );
    let command = rendered(&fixture(), json!({"piped": "a;|b1"}));
    assert!(command.contains("echo 'a_|b_'"), "{command}");
}

#[test]
fn sanitize_false_writes_the_value_as_given() {
    let t = tool(
        "<tool id=\"t\" name=\"T\"><command>echo $v</command><inputs>\
         <param name=\"v\" type=\"text\"><sanitizer sanitize=\"false\"/></param>\
         </inputs></tool>",
    );
    assert_eq!(rendered(&t, json!({"v": "a;b|c"})), "echo a;b|c");
}

#[test]
fn bad_validators_and_sanitizers_are_refused_at_load() {
    let text = |inner: &str| format!("<param name=\"t\" type=\"text\">{inner}</param>");
    let cases = [
        (
            text("<validator type=\"regex\">[a-</validator>"),
            "<validator type=\"regex\">[a-</validator>",
        ),
        (
            text("<validator type=\"expression\">import os</validator>"),
            "<validator type=\"expression\">import os</validator>",
        ),
        (
            text("<validator type=\"no_options\"/>"),
            "validator type=\"no_options\"",
        ),
        (
            text("<validator type=\"unspecified_build\"/>"),
            "validator type=\"unspecified_build\"",
        ),
        (
            text("<validator type=\"in_range\" min=\"x\"/>"),
            "param min=\"x\"",
        ),
        (
            text("<validator type=\"in_range\" min=\"3\" max=\"1\"/>"),
            "validator type=\"in_range\"",
        ),
        (
            text("<validator type=\"empty_field\" negate=\"maybe\"/>"),
            "validator negate=\"maybe\"",
        ),
        (
            text("<sanitizer><valid initial=\"string.bogus\"/></sanitizer>"),
            "<valid initial=\"string.bogus\">",
        ),
        (
            text("<sanitizer><mapping><add source=\"ab\" target=\"x\"/></mapping></sanitizer>"),
            "<add source=\"ab\">",
        ),
        (
            text("<sanitizer><other/></sanitizer>"),
            "<other> in <sanitizer>",
        ),
        (text("<sanitizer/><sanitizer/>"), "<sanitizer> in <param>"),
    ];
    for (body, expected) in cases {
        let (construct, _) = load_error(&body);
        assert_eq!(construct, expected, "{body}");
    }
    let (_, message) = load_error(&text("<validator type=\"no_such\"/>"));
    assert!(message.contains("unsupported validator type"), "{message}");
}

#[test]
fn dataset_validators_are_accepted_on_data_params() {
    let t = tool(
        "<tool id=\"t\" name=\"T\"><command>cat $d</command><inputs>\
         <param name=\"d\" type=\"data\"><validator type=\"unspecified_build\"/>\
         <validator type=\"dataset_ok_validator\"/></param></inputs></tool>",
    );
    assert_eq!(t.inputs.len(), 1);
}

#[test]
fn optional_empty_params_are_not_validated() {
    let t = tool(
        "<tool id=\"t\" name=\"T\"><command>echo $v</command><inputs>\
         <param name=\"v\" type=\"text\" optional=\"true\"><validator type=\"empty_field\"/></param>\
         <param name=\"w\" type=\"text\"><validator type=\"empty_field\"/></param>\
         </inputs></tool>",
    );
    let message = t.check_inputs(&inputs(json!({}))).unwrap_err().to_string();
    assert_eq!(message, "parameter 'w': Field requires a value");
    assert!(t.check_inputs(&inputs(json!({"w": "x"}))).is_ok());
}

/// `expression`: Galaxy's `ExpressionValidator`, a Python expression over `value` (typed as
/// the param is); on a data param accepted and not checked.
#[test]
fn expression_validators_evaluate_over_value() {
    let t = tool(
        r##"<tool id="e" name="E"><command>true</command><inputs>
  <param name="sep" type="text" value=",">
    <validator type="expression" message="Must be a punctuation character"><![CDATA[value in '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~']]></validator>
  </param>
  <param name="n" type="integer" value="4">
    <validator type="expression">value % 2 == 0 and value &lt; 100</validator>
  </param>
  <param name="d" type="data" optional="true">
    <validator type="expression" message="13 columns">value.metadata.columns == 13</validator>
  </param>
</inputs></tool>"##,
    );
    assert!(t.check_inputs(&inputs(json!({"sep": "|", "n": 8}))).is_ok());
    let err = t
        .check_inputs(&inputs(json!({"sep": "a"})))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Must be a punctuation character"), "{err}");
    let err = t
        .check_inputs(&inputs(json!({"n": 3})))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Value '3' does not evaluate to True for 'value % 2 == 0 and value < 100'"),
        "{err}"
    );
    let (construct, message) = load_error(
        r#"<param name="x" type="text"><validator type="expression">len(other) > 1</validator></param>"#,
    );
    assert!(construct.contains("len(other) > 1"), "{construct}");
    assert!(message.contains("other"), "{message}");
}
