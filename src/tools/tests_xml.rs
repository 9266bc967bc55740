//! A tool's `<tests>` as written, read the way Galaxy's `parse_tests_to_dict` reads them:
//! `<param>` (nested in `<conditional>`/`<repeat>`/`<section>`, whose names become `|`
//! prefixes), `<output>` with its comparison attributes and `<assert_contents>`, and
//! `<assert_stdout>`/`<assert_stderr>`/`<assert_command>`. Constructs this server cannot run
//! (collections, composite data, discovered datasets, extra files) do not stop the tool from
//! loading: the test carries an error, which `/api/tools/{id}/test_data` reports as Galaxy
//! reports an invalid test.

use serde_json::{Map, Value, json};

use super::dom::Element;
use super::xml::Ctx;

/// One `<test>`.
#[derive(Debug, Clone, Default)]
pub struct ToolTest {
    /// `<param>`s, names prefixed with their groups (`cond|p`, `rep_0|p`).
    pub params: Vec<TestParam>,
    /// `<output>`s: `{"name", "value", "attributes"}` as Galaxy's test dicts have them.
    pub outputs: Vec<Value>,
    pub expect_num_outputs: Option<String>,
    pub expect_exit_code: Option<String>,
    pub expect_failure: bool,
    pub expect_test_failure: bool,
    pub maxseconds: Option<String>,
    /// Assertion lists (`{"tag", "attributes", "children"}`) of `<assert_command>`,
    /// `<assert_command_version>`, `<assert_stdout>` and `<assert_stderr>`.
    pub command: Option<Value>,
    pub command_version: Option<Value>,
    pub stdout: Option<Value>,
    pub stderr: Option<Value>,
    /// Why this test cannot run here (file, line and construct).
    pub error: Option<String>,
}

/// One test `<param>`: its prefixed name, its value (a string, a list for `values`, JSON for
/// `value_json`, null) and its other attributes with `metadata`, `composite_data` and
/// `edit_attributes`.
#[derive(Debug, Clone)]
pub struct TestParam {
    pub name: String,
    pub value: Value,
    pub attributes: Map<String, Value>,
}

/// Galaxy's `string_as_bool`.
pub(crate) fn string_as_bool(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "1"
    )
}

pub(crate) fn parse_tests(cx: &Ctx<'_>, tests: &Element) -> Vec<ToolTest> {
    tests
        .children
        .iter()
        .filter(|c| c.name == "test")
        .map(|t| parse_test(cx, t))
        .collect()
}

fn parse_test(cx: &Ctx<'_>, el: &Element) -> ToolTest {
    let mut test = ToolTest {
        expect_num_outputs: el.attr("expect_num_outputs").map(str::to_string),
        expect_exit_code: el.attr("expect_exit_code").map(str::to_string),
        expect_failure: el.attr("expect_failure").is_some_and(string_as_bool),
        expect_test_failure: el.attr("expect_test_failure").is_some_and(string_as_bool),
        maxseconds: el.attr("maxseconds").map(str::to_string),
        ..ToolTest::default()
    };
    let mut problem: Problem<'_> = None;
    collect_params(el, "", &mut test.params, &mut problem);
    for child in &el.children {
        match child.name.as_str() {
            "output" => match parse_output(child) {
                Ok(o) => test.outputs.push(o),
                Err(message) => {
                    problem.get_or_insert((child, "<output>".into(), message));
                }
            },
            "output_collection" => {
                let message = "output collections are not supported";
                problem.get_or_insert((child, "<output_collection>".into(), message));
            }
            "assert_stdout" => test.stdout = Some(assert_list(child)),
            "assert_stderr" => test.stderr = Some(assert_list(child)),
            "assert_command" => test.command = Some(assert_list(child)),
            "assert_command_version" => test.command_version = Some(assert_list(child)),
            _ => {}
        }
    }
    if let Some((at, construct, message)) = problem {
        let (file, line) = cx.locate(at, at.pos);
        test.error = Some(format!("{}:{line}: {construct}: {message}", file.display()));
    }
    test
}

/// The first construct of a test the server cannot run: element, construct, why.
type Problem<'e> = Option<(&'e Element, String, &'static str)>;

/// Galaxy's `__expand_input_elems`: this level's params, then those of its repeats (numbered
/// per name), conditionals and sections, each with its prefix.
fn collect_params<'e>(
    el: &'e Element,
    prefix: &str,
    out: &mut Vec<TestParam>,
    problem: &mut Problem<'e>,
) {
    let join = |name: &str| match prefix {
        "" => name.to_string(),
        p => format!("{p}|{name}"),
    };
    for child in el.children.iter().filter(|c| c.name == "param") {
        match parse_param(child, join(child.attr("name").unwrap_or_default())) {
            Ok(p) => out.push(p),
            Err(message) => {
                problem.get_or_insert((child, "<param>".into(), message));
            }
        }
    }
    let mut repeat_counts: Vec<(&str, usize)> = Vec::new();
    for child in el.children.iter().filter(|c| c.name == "repeat") {
        let name = child.attr("name").unwrap_or_default();
        let index = match repeat_counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                repeat_counts.push((name, 0));
                0
            }
        };
        collect_params(child, &join(&format!("{name}_{index}")), out, problem);
    }
    for kind in ["conditional", "section"] {
        for child in el.children.iter().filter(|c| c.name == kind) {
            collect_params(
                child,
                &join(child.attr("name").unwrap_or_default()),
                out,
                problem,
            );
        }
    }
}

fn parse_param(el: &Element, name: String) -> Result<TestParam, &'static str> {
    let mut attributes: Map<String, Value> = el
        .attrs
        .iter()
        .filter(|(k, _)| k != "name")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let value = if let Some(values) = el.attr("values") {
        Value::Array(values.split(',').map(|v| json!(v)).collect())
    } else if let Some(v) = el.attr("value") {
        json!(v)
    } else if let Some(raw) = el.attr("value_json") {
        serde_json::from_str(raw).map_err(|_| "value_json is not JSON")?
    } else if let Some(location) = el.attr("location") {
        json!(location.rsplit('/').next().unwrap_or(location))
    } else {
        Value::Null
    };
    let mut metadata = Map::new();
    let mut edits = Vec::new();
    for child in &el.children {
        match child.name.as_str() {
            "metadata" => {
                let key = child.attr("name").unwrap_or_default().to_string();
                metadata.insert(key, json!(child.attr("value")));
            }
            "edit_attributes" => edits.push(json!({
                "type": child.attr("type"),
                "value": child.attr("value"),
            })),
            "composite_data" => return Err("composite data inputs are not supported"),
            "collection" => return Err("collection inputs are not supported"),
            _ => {}
        }
    }
    attributes.insert("metadata".into(), Value::Object(metadata));
    attributes.insert("composite_data".into(), json!([]));
    attributes.insert("edit_attributes".into(), Value::Array(edits));
    Ok(TestParam {
        name,
        value,
        attributes,
    })
}

/// Galaxy's `__parse_output_elem` and `__parse_test_attributes`.
fn parse_output(el: &Element) -> Result<Value, &'static str> {
    let name = el.attr("name").ok_or("a test output needs a 'name'")?;
    let location = el.attr("location");
    let file = el
        .attr("file")
        .or_else(|| el.attr("value"))
        .or_else(|| location.and_then(|l| l.rsplit('/').next()));
    let number = |key: &str, default: f64| -> Result<f64, &'static str> {
        el.attr(key)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| "a numeric attribute is not a number")
            })
            .unwrap_or(Ok(default))
    };
    let integer = |key: &str| -> Result<Option<i64>, &'static str> {
        el.attr(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| "a count is not an integer")
            })
            .transpose()
    };
    let mut attributes = Map::new();
    if let Some(raw) = el.attr("value_json") {
        let object: Value = serde_json::from_str(raw).map_err(|_| "value_json is not JSON")?;
        attributes.insert("object".into(), object);
    }
    let compare = el.attr("compare").unwrap_or("diff").to_ascii_lowercase();
    attributes.insert("compare".into(), json!(compare));
    attributes.insert(
        "lines_diff".into(),
        json!(integer("lines_diff")?.unwrap_or(0)),
    );
    attributes.insert("delta".into(), json!(integer("delta")?.unwrap_or(10_000)));
    let delta_frac = el
        .attr("delta_frac")
        .map(|_| number("delta_frac", 0.0))
        .transpose()?;
    attributes.insert("delta_frac".into(), json!(delta_frac));
    let flag = |key: &str| el.attr(key).is_some_and(string_as_bool);
    attributes.insert("sort".into(), json!(flag("sort")));
    attributes.insert("decompress".into(), json!(flag("decompress")));
    attributes.insert("metric".into(), json!(el.attr("metric").unwrap_or("mae")));
    attributes.insert("eps".into(), json!(number("eps", 0.01)?));
    attributes.insert("pin_labels".into(), json!(el.attr("pin_labels")));
    attributes.insert("location".into(), json!(location));
    attributes.insert("count".into(), json!(integer("count")?));
    if let Some(ftype) = el.attr("ftype") {
        attributes.insert("ftype".into(), json!(ftype));
    }
    let mut metadata = Map::new();
    let mut asserts = None;
    for child in &el.children {
        match child.name.as_str() {
            "assert_contents" => asserts = Some(assert_list(child)),
            "metadata" => {
                let key = child.attr("name").unwrap_or_default().to_string();
                metadata.insert(key, json!(child.attr("value")));
            }
            "extra_files" => return Err("extra files are not supported"),
            "discovered_dataset" => return Err("discovered datasets are not supported"),
            "element" => return Err("collection elements are not supported"),
            _ => {}
        }
    }
    let (md5, checksum) = (el.attr("md5"), el.attr("checksum"));
    let has_object = attributes.contains_key("object");
    let checks_nothing = asserts.is_none()
        && file.is_none()
        && metadata.is_empty()
        && md5.is_none()
        && checksum.is_none()
        && !has_object;
    if checks_nothing {
        return Err("the test output defines nothing to check");
    }
    attributes.insert("assert_list".into(), asserts.unwrap_or(Value::Null));
    attributes.insert("extra_files".into(), json!([]));
    attributes.insert("metadata".into(), Value::Object(metadata));
    attributes.insert("md5".into(), json!(md5));
    attributes.insert("checksum".into(), json!(checksum));
    attributes.insert("elements".into(), json!({}));
    attributes.insert("primary_datasets".into(), json!({}));
    Ok(json!({"name": name, "value": file, "attributes": attributes}))
}

/// The children of an assertion element, each `{"tag", "attributes", "children"}`.
fn assert_list(el: &Element) -> Value {
    Value::Array(el.children.iter().map(assertion).collect())
}

fn assertion(el: &Element) -> Value {
    let attributes: Map<String, Value> = el
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "tag": el.name,
        "attributes": attributes,
        "children": el.children.iter().map(assertion).collect::<Vec<_>>(),
    })
}
