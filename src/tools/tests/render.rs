use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;

use super::{inputs, shipped, tool};
use crate::tools::scope::{DatasetInfo, JobValues};
use crate::tools::{ParamValue, Tool};

/// Renders `tool`'s command with these values, input paths and output paths.
pub(super) fn render_cmd(
    tool: &Tool,
    values: &[(String, ParamValue)],
    data: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let info = |m: &BTreeMap<String, String>| -> BTreeMap<String, DatasetInfo> {
        m.iter()
            .map(|(k, path)| {
                let ds = DatasetInfo {
                    path: path.clone(),
                    ext: "txt".into(),
                    name: k.clone(),
                    ..DatasetInfo::default()
                };
                (k.clone(), ds)
            })
            .collect()
    };
    let job = JobValues {
        values,
        inputs: info(data),
        outputs: info(outputs),
        ..JobValues::default()
    };
    tool.render(&job).unwrap().command
}

pub(super) fn paths(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const ECHO: &str = r#"<tool id="echo" name="Echo">
  <command><![CDATA[echo '$text' $n ${x} $flag "\$HOME" \${PATH} \$n $1 $$ > '$out']]></command>
  <inputs>
    <param name="text" type="text"/>
    <param name="n" type="integer" value="1"/>
    <param name="x" type="float" value="2"/>
    <param name="flag" type="boolean" truevalue="-v" falsevalue=""/>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
</tool>"#;

#[test]
fn placeholders_are_replaced_and_shell_variables_survive() {
    let t = tool(ECHO);
    let values = t
        .check_inputs(&inputs(
            json!({"text": "a'; rm -rf / $(x) `y` | & > <", "flag": true}),
        ))
        .unwrap();
    let command = render_cmd(
        &t,
        &values,
        &BTreeMap::new(),
        &paths(&[("out", "/o/1.dat")]),
    );
    assert_eq!(
        command,
        "echo 'a__sq__X rm -rf / X(x) XyX X X __gt__ __lt__' 1 2.0 -v \"$HOME\" ${PATH} $n $1 $$ \
         > '/o/1.dat'"
    );
}

/// Runs a rendered command with bash in `dir`, returns the output file's content.
fn run(tool: &Tool, given: serde_json::Value, files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut data = BTreeMap::new();
    for (name, content) in files {
        let path = dir.path().join(format!("{name}.dat"));
        std::fs::write(&path, content).unwrap();
        data.insert(name.to_string(), path.display().to_string());
    }
    let given = inputs(given);
    let values = tool.check_inputs(&given).unwrap();
    let out = dir.path().join("out.dat");
    let outputs = paths(&[("out_file1", &out.display().to_string())]);
    let command = render_cmd(tool, &values, &data, &outputs);
    let status = Command::new("bash")
        .arg("-c")
        .arg(&command)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{command}");
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn shipped_tools_run() {
    let toolbox = shipped();
    let cat1 = toolbox.get("cat1").unwrap();
    let one = json!({"input1": "1"});
    assert_eq!(run(cat1, one, &[("input1", "a\n")]), "a\n");
    let two = json!({"input1": "1", "input2": "2"});
    assert_eq!(
        run(cat1, two, &[("input1", "a\n"), ("input2", "b\n")]),
        "a\nb\n"
    );
    let sort1 = toolbox.get("sort1").unwrap();
    assert_eq!(
        run(sort1, json!({"input": "1"}), &[("input", "b\nc\na\n")]),
        "a\nb\nc\n"
    );
    let desc = json!({"input": "1", "order": "descending"});
    assert_eq!(run(sort1, desc, &[("input", "b\nc\na\n")]), "c\nb\na\n");
    let wc = toolbox.get("wc_gnu").unwrap();
    let counts = run(
        wc,
        json!({"input1": "1"}),
        &[("input1", "one two\nthree\n")],
    );
    assert_eq!(counts, "#lines\twords\tcharacters\n2\t3\t14\n");
    let sleep = toolbox.get("sleep").unwrap();
    assert_eq!(run(sleep, json!({"seconds": 0}), &[]), "slept 0\n");
}

#[test]
fn absent_optional_data_is_false_and_select_is_sanitized() {
    let toolbox = shipped();
    let cat1 = toolbox.get("cat1").unwrap();
    let values = vec![
        ("input1".to_string(), ParamValue::Data(None)),
        ("input2".to_string(), ParamValue::Data(None)),
    ];
    let outputs = paths(&[("out_file1", "/o")]);
    let command = render_cmd(cat1, &values, &paths(&[("input1", "/in")]), &outputs);
    assert_eq!(command, "cat '/in' > '/o'");
    let sort1 = toolbox.get("sort1").unwrap();
    let values = vec![("order".to_string(), ParamValue::Select("x'y".into()))];
    let command = render_cmd(sort1, &values, &BTreeMap::new(), &BTreeMap::new());
    assert!(command.contains("'x__sq__y'"), "{command}");
}

#[test]
fn new_param_types_render_as_galaxy_writes_them() {
    let t = tool(
        r#"<tool id="cols" name="Cols">
  <command><![CDATA[cut -f $c,$many --color=$shade --tag=$tag $inputs > '$out']]></command>
  <inputs>
    <param name="inputs" type="data" multiple="true"/>
    <param name="c" type="data_column" data_ref="inputs"/>
    <param name="many" type="data_column" data_ref="inputs" multiple="true"/>
    <param name="shade" type="color"/>
    <param name="tag" type="hidden" value="a b"/>
  </inputs>
  <outputs><data name="out" format="txt"/></outputs>
</tool>"#,
    );
    let values = t
        .check_inputs(&inputs(json!({
            "inputs": [{"src": "hda", "id": "x"}, {"src": "hda", "id": "y"}],
            "many": ["2", "4"], "shade": "#A0b0C0"
        })))
        .unwrap();
    let refs = crate::tools::data_inputs(&values);
    let names: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["inputs1", "inputs2"]);
    let data = paths(&[("inputs1", "/d/1.dat"), ("inputs2", "/d/2.dat")]);
    let command = render_cmd(&t, &values, &data, &paths(&[("out", "/o/1.dat")]));
    assert_eq!(
        command,
        "cut -f 1,2,4 --color=#a0b0c0 --tag=a b /d/1.dat,/d/2.dat > '/o/1.dat'"
    );
}
