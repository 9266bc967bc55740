//! Forms found in Galaxy-written tools (the Tool Shed's text-processing wrappers) that load,
//! check and render as Galaxy has them.

use serde_json::json;

use super::render::{paths, render_cmd};
use super::{inputs, tool};
use crate::tools::ParamValue;

const FORMS: &str = r#"<tool id="forms" name="Forms">
  <required_files><include path="helper.py"/></required_files>
  <command><![CDATA[
#if $start and $end:
  -k ${start},${end}
#elif $start:
  -k ${start}
#end if
#for $i, $w in enumerate($words.split(), start=1):
  $i:$w
#end for
style=[$style] order=[$order] col=$c1 ratio=$ratio > '$out'
  ]]></command>
  <inputs>
    <param argument="--f1" type="data" format="tabular"/>
    <param argument="--c1" type="data_column" data_ref="f1"/>
    <param name="start" type="integer" min="1" optional="true"/>
    <param name="end" type="integer" min="1" optional="true"/>
    <param name="ratio" type="float" optional="true"/>
    <param name="words" type="text" value="a b"/>
    <param name="style" type="select">
      <option value="n">numeric</option>
      <option value="">alphabetical</option>
    </param>
    <param name="order" type="select" value="descending">
      <option value="">ascending</option>
      <option value="r" selected="true">descending</option>
    </param>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
</tool>"#;

fn rendered(given: serde_json::Value) -> String {
    let t = tool(FORMS);
    let values = t.check_inputs(&inputs(given)).unwrap();
    let data = paths(&[("f1", "/in")]);
    render_cmd(&t, &values, &data, &paths(&[("out", "/o")]))
}

#[test]
fn optional_numbers_without_a_value_are_none() {
    let t = tool(FORMS);
    let values = t
        .check_inputs(&inputs(json!({"f1": "1", "c1": "2"})))
        .unwrap();
    let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("start"), Some(ParamValue::Empty));
    assert_eq!(get("ratio"), Some(ParamValue::Empty));
    let command = rendered(json!({"f1": "1", "c1": "2", "start": ""}));
    assert!(!command.contains("-k"), "{command}");
    assert!(command.contains("ratio= >"), "{command}");
    let command = rendered(json!({"f1": "1", "c1": "2", "start": 3, "ratio": 0.5}));
    assert!(command.contains("-k 3 "), "{command}");
    assert!(command.contains("ratio=0.5"), "{command}");
    let command = rendered(json!({"f1": "1", "c1": "2", "start": "3", "end": "4"}));
    assert!(command.contains("-k 3,4 "), "{command}");
}

#[test]
fn an_empty_option_is_a_value_and_a_select_value_naming_no_option_is_ignored() {
    // No `style` given: the first option; `order`'s value="descending" names no option, so
    // its `selected` one is the default.
    let command = rendered(json!({"f1": "1", "c1": "2"}));
    assert!(command.contains("style=[n] order=[r]"), "{command}");
    // An explicit "" picks `<option value="">`, not the default.
    let command = rendered(json!({"f1": "1", "c1": "2", "style": "", "order": ""}));
    assert!(command.contains("style=[] order=[]"), "{command}");
}

#[test]
fn argument_named_data_params_are_data_refs_and_enumerate_takes_start() {
    let command = rendered(json!({"f1": "1", "c1": "2", "words": "x y"}));
    assert!(command.contains("1:x 2:y"), "{command}");
    assert!(command.contains("col=2"), "{command}");
}

#[test]
fn cheetah_labels_render_with_the_inputs_tool_and_on_string() {
    let t = tool(
        r##"<tool id="lab" name="Lab" version="2.1">
  <command>true</command>
  <inputs>
    <param name="input" type="data"/>
    <param name="mode" type="select"><option value="fast">F</option></param>
  </inputs>
  <outputs>
    <data name="a" format="txt" label="${tool.name} ${tool.version} on ${on_string}: $mode"/>
    <data name="b" format="txt" label="plain"/>
    <data name="c" format="txt"/>
    <data name="d" format="txt" label="#if $mode == 'fast'#quick#else#slow#end if# $input.name"/>
  </outputs>
</tool>"##,
    );
    let values = t.check_inputs(&inputs(json!({"input": "1"}))).unwrap();
    let mut job = crate::tools::scope::JobValues {
        values: &values,
        ..Default::default()
    };
    let ds = crate::tools::scope::DatasetInfo {
        name: "reads.txt".into(),
        ext: "txt".into(),
        ..Default::default()
    };
    job.inputs.insert("input".into(), ds);
    assert_eq!(
        t.output_labels(&job, "data 3"),
        vec![
            Some("Lab 2.1 on data 3: fast".to_string()),
            Some("plain".to_string()),
            None,
            Some("quick reads.txt".to_string()),
        ]
    );
}

#[test]
fn a_label_naming_no_input_fails_at_load() {
    let xml = r#"<tool id="lab" name="Lab">
  <command>true</command>
  <inputs><param name="x" type="text"/></inputs>
  <outputs>
    <data name="out" format="txt"
          label="$nope"/>
  </outputs>
</tool>"#;
    let err = crate::tools::Tool::from_xml(xml, std::path::Path::new("lab.xml"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lab.xml"), "{err}");
    assert!(err.contains("<data name=\"out\" label>"), "{err}");
    assert!(err.contains("$nope"), "{err}");
}

#[test]
fn options_sanitize_false_writes_every_value_as_given() {
    let xml = |options: &str| {
        format!(
            r#"<tool id="raw" name="Raw">
  <command><![CDATA[sed -r '$pattern' $c.inner > '$out']]></command>
  <inputs>
    <param name="pattern" type="text"/>
    <conditional name="c">
      <param name="kind" type="select"><option value="a">A</option></param>
      <when value="a"><param name="inner" type="text"/></when>
    </conditional>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
  {options}
</tool>"#
        )
    };
    let given = json!({"pattern": "s/'a'/\"b\"/", "c|inner": "x&y"});
    let run = |t: &crate::tools::Tool| {
        let values = t.check_inputs(&inputs(given.clone())).unwrap();
        render_cmd(t, &values, &paths(&[]), &paths(&[("out", "/o")]))
    };
    let raw = tool(&xml(r#"<options sanitize="False" refresh="True"/>"#));
    assert_eq!(run(&raw), "sed -r 's/'a'/\"b\"/' x&y > '/o'");
    let sanitized = tool(&xml(""));
    assert_eq!(
        run(&sanitized),
        "sed -r 's/__sq__a__sq__/__dq__b__dq__/' xXy > '/o'"
    );
}

#[test]
fn a_when_no_option_selects_loads_and_dynamic_options_are_refused_at_load() {
    let t = tool(
        r#"<tool id="w" name="W">
  <command>echo $c.mode</command>
  <inputs>
    <conditional name="c">
      <param name="mode" type="select"><option value="a">A</option></param>
      <when value="a"/>
      <when value="never"><param name="x" type="text"/></when>
    </conditional>
  </inputs>
  <outputs/>
</tool>"#,
    );
    assert!(t.check_inputs(&inputs(json!({"c|mode": "a"}))).is_ok());
    let xml = r#"<tool id="d" name="D">
  <command>true</command>
  <inputs>
    <param name="m" type="select">
      <options from_file="mapping.loc"><column name="value" index="0"/></options>
    </param>
  </inputs>
</tool>"#;
    let err = crate::tools::Tool::from_xml(xml, std::path::Path::new("d.xml"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("d.xml") && err.contains("<options>"), "{err}");
}

#[test]
fn multiple_selects_take_lists_render_comma_joined_and_are_optional() {
    let t = tool(
        r#"<tool id="ms" name="MS">
  <command><![CDATA[x=$pick y=$dflt #for $v in $pick.value#[$v]#end for# > '$out']]></command>
  <inputs>
    <param name="pick" type="select" multiple="true">
      <option value="a">A</option><option value="b">B</option><option value="c">C</option>
    </param>
    <param name="dflt" type="select" multiple="true" optional="false">
      <option value="p" selected="true">P</option><option value="q" selected="true">Q</option>
    </param>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
</tool>"#,
    );
    let run = |given: serde_json::Value| {
        let values = t.check_inputs(&inputs(given)).unwrap();
        render_cmd(&t, &values, &paths(&[]), &paths(&[("out", "/o")]))
    };
    assert_eq!(
        run(json!({"pick": ["c", "a"]})),
        "x=c,a y=p,q [c][a] > '/o'"
    );
    assert_eq!(
        run(json!({"pick": "b,c", "dflt": "q"})),
        "x=b,c y=q [b][c] > '/o'"
    );
    // Nothing chosen: optional by default, written `None` as Galaxy does.
    assert_eq!(run(json!({})), "x=None y=p,q  > '/o'");
    let err = t
        .check_inputs(&inputs(json!({"pick": ["a", "z"]})))
        .unwrap_err()
        .to_string();
    assert!(err.contains("'z' is not one of the options"), "{err}");
    let err = t
        .check_inputs(&inputs(json!({"dflt": []})))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least one option"), "{err}");
    let json = t.to_json(true);
    assert_eq!(json["inputs"][0]["multiple"], true, "{json}");
    assert_eq!(json["inputs"][1]["value"], json!(["p", "q"]), "{json}");
}

#[test]
fn the_interpreter_goes_in_front_of_the_rendered_commands_first_word() {
    let xml = r#"<tool id="i" name="I">
  <command interpreter="python"><![CDATA[
#if $mode == 'a':
    a.py --x $mode
#else:
    b.py
#end if
  ]]></command>
  <inputs><param name="mode" type="select"><option value="a">A</option><option value="b">B</option></param></inputs>
</tool>"#;
    let t =
        crate::tools::Tool::from_xml(xml, std::path::Path::new("/opt/tools/i.xml"), None).unwrap();
    let run = |mode: &str| {
        let values = t.check_inputs(&inputs(json!({ "mode": mode }))).unwrap();
        render_cmd(&t, &values, &paths(&[]), &paths(&[]))
    };
    assert_eq!(run("a"), "python /opt/tools/a.py --x a");
    assert_eq!(run("b"), "python /opt/tools/b.py");
}

#[test]
fn legacy_pages_are_read_as_one_level() {
    let t = tool(
        r#"<tool id="p" name="P">
  <command>echo $a $b</command>
  <inputs>
    <page><param name="a" type="data"/></page>
    <page><param name="b" type="data_column" data_ref="a"/></page>
  </inputs>
</tool>"#,
    );
    let names: Vec<&str> = t.inputs.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(t.check_inputs(&inputs(json!({"a": "1", "b": "2"}))).is_ok());
}

#[test]
fn constant_metadata_actions_load_and_others_are_refused() {
    let xml = |actions: &str| {
        format!(
            r#"<tool id="a" name="A"><command>true</command><inputs/>
  <outputs><data name="out" format="tabular"><actions>{actions}</actions></data></outputs>
</tool>"#
        )
    };
    let t = tool(&xml(
        r#"<action type="metadata" name="column_names" default="a,b"/>"#,
    ));
    assert_eq!(
        t.outputs[0].metadata_actions,
        [("column_names".to_string(), "a,b".to_string())]
    );
    for (actions, construct) in [
        (
            r#"<conditional name="x"><when value="1"/></conditional>"#,
            "<conditional> in <actions>",
        ),
        (
            r#"<action type="format" default="txt"/>"#,
            "<action type=\"format\">",
        ),
        (
            r#"<action type="metadata" name="dbkey"><option type="from_param" name="x"/></action>"#,
            "<option> in <action>",
        ),
    ] {
        match crate::tools::Tool::from_xml(&xml(actions), std::path::Path::new("a.xml"), None) {
            Err(crate::tools::ToolError::Invalid { construct: c, .. }) => {
                assert_eq!(c, construct, "{actions}")
            }
            other => panic!("{actions}: {other:?}"),
        }
    }
}
