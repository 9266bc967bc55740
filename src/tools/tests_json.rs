//! A tool's tests as `GET /api/tools/{id}/test_data` serves them: Galaxy's processed test
//! dicts (`ToolTestDescription.to_dict`), the test params matched against the tool's inputs
//! as Galaxy's `_process_raw_inputs` matches them: flat `cond|p`/`rep_0|p` keys, a
//! conditional's case from its test param, data params listed in `required_files`, select
//! labels turned into values and booleans into `true`/`false` for tools of profile 24.1 and
//! older.

use serde_json::{Map, Value, json};

use super::tests_xml::{TestParam, ToolTest, string_as_bool};
use super::{Input, Param, ParamKind, Tool};

/// One step of a param's place: a group or param name, with a repeat instance's index.
#[derive(Clone)]
struct Seg {
    name: String,
    index: Option<usize>,
}

impl Seg {
    fn key(&self) -> String {
        match self.index {
            Some(i) => format!("{}_{i}", self.name),
            None => self.name.clone(),
        }
    }
}

fn for_state(place: &[Seg]) -> String {
    place.iter().map(Seg::key).collect::<Vec<_>>().join("|")
}

/// The names a test param may have for this place: the full `a|b|c`, and (older profiles)
/// every shorter suffix, as Galaxy's `ParamContext.param_names`.
fn param_names(place: &[Seg], unqualified: bool) -> Vec<String> {
    let Some((last, parents)) = place.split_last() else {
        return Vec::new();
    };
    if !unqualified {
        return vec![for_state(place)];
    }
    let mut names: Vec<String> = param_names(parents, true)
        .into_iter()
        .map(|p| format!("{p}|{}", last.key()))
        .collect();
    names.push(last.key());
    names
}

struct Processing {
    raw: Vec<TestParam>,
    unqualified: bool,
    required_files: Vec<Value>,
}

impl Processing {
    /// Takes the test param for `place` (the last one of a name wins, as in Galaxy).
    fn extract(&mut self, place: &[Seg]) -> Option<TestParam> {
        for name in param_names(place, self.unqualified) {
            if let Some(i) = self.raw.iter().rposition(|p| p.name == name) {
                return Some(self.raw.remove(i));
            }
        }
        None
    }

    fn level(&mut self, inputs: &[Input], parent: &[Seg]) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for input in inputs {
            let mut place = parent.to_vec();
            place.push(Seg {
                name: input.name().to_string(),
                index: None,
            });
            match input {
                Input::Param(p) => {
                    if let Some(raw) = self.extract(&place) {
                        out.insert(for_state(&place), self.param(p, &for_state(&place), raw)?);
                    }
                }
                Input::Section(s) => out.extend(self.level(&s.inputs, &place)?),
                Input::Repeat(r) => {
                    for index in 0.. {
                        if let Some(last) = place.last_mut() {
                            last.index = Some(index);
                        }
                        let found = self.level(&r.inputs, &place)?;
                        if found.is_empty() {
                            break;
                        }
                        out.extend(found);
                    }
                }
                Input::Conditional(c) => {
                    let mut test_place = place.clone();
                    test_place.push(Seg {
                        name: c.test.name.clone(),
                        index: None,
                    });
                    let declared = self.extract(&test_place);
                    let declared_value = declared.as_ref().and_then(|d| d.value.as_str());
                    let Some(case) = c.cases.iter().find(|case| {
                        case_matches(&c.test, &case.value, declared_value, self.unqualified)
                    }) else {
                        continue;
                    };
                    out.extend(self.level(&case.inputs, &place)?);
                    if declared_value.is_some() {
                        let value = simple_value(&c.test, json!([case.value]), self.unqualified);
                        out.insert(for_state(&test_place), value);
                    }
                }
            }
        }
        Ok(out)
    }

    fn param(&mut self, p: &Param, key: &str, raw: TestParam) -> Result<Value, String> {
        let value = match (&p.kind, raw.value) {
            (ParamKind::Text | ParamKind::Hidden | ParamKind::Color, v) => return Ok(v),
            (_, Value::String(s)) => json!(s.split(',').collect::<Vec<_>>()),
            (_, v) => v,
        };
        if !matches!(p.kind, ParamKind::Data { .. }) {
            return Ok(simple_value(p, value, self.unqualified));
        }
        let files: Vec<String> = match &value {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("{key}: dataset names must be strings"))?,
            other => return Err(format!("{key}: unexpected value {other}")),
        };
        if files.is_empty() && !p.optional {
            return Err(format!(
                "{key} is not optional. You must provide a valid filename."
            ));
        }
        let extra = Value::Object(raw.attributes);
        for file in &files {
            let entry = json!([file, extra]);
            if !self.required_files.contains(&entry) {
                self.required_files.push(entry);
            }
        }
        Ok(json!(files))
    }
}

/// Galaxy's `_process_simple_value`: select labels to values, booleans to `true`/`false`.
fn simple_value(p: &Param, value: Value, legacy: bool) -> Value {
    match &p.kind {
        ParamKind::Select { options, .. } => {
            let map = |v: &Value| -> Value {
                let Some(s) = v.as_str() else {
                    return v.clone();
                };
                let is_value = options.iter().any(|(value, _, _)| value == s);
                match options.iter().find(|(_, label, _)| label == s) {
                    Some((value, _, _)) if legacy && !is_value => json!(value),
                    _ => v.clone(),
                }
            };
            match &value {
                Value::Array(items) => Value::Array(items.iter().map(map).collect()),
                other => map(other),
            }
        }
        ParamKind::Boolean {
            truevalue,
            falsevalue,
        } => {
            let one = |v: &Value| -> Value {
                let s = v.as_str().unwrap_or_default();
                if legacy && s == truevalue {
                    json!(true)
                } else if legacy && s == falsevalue {
                    json!(false)
                } else if p.optional && s.trim().is_empty() {
                    Value::Null
                } else {
                    json!(string_as_bool(s))
                }
            };
            match &value {
                Value::Array(items) => json!([items.first().map(one).unwrap_or(Value::Null)]),
                other => one(other),
            }
        }
        _ => value,
    }
}

/// Whether a conditional's case `when` is the one the test chose (or the default).
fn case_matches(test: &Param, when: &str, declared: Option<&str>, legacy: bool) -> bool {
    match &test.kind {
        ParamKind::Boolean { .. } => {
            let query = match declared {
                Some(d) => simple_value(test, json!(d), legacy),
                None => json!(test.value.as_deref().is_some_and(string_as_bool)),
            };
            simple_value(test, json!(when), legacy) == query
        }
        ParamKind::Select { options, .. } => match declared {
            Some(d) => when == d,
            None => {
                let default = options
                    .iter()
                    .find(|(_, _, selected)| *selected)
                    .or(options.first());
                default.is_some_and(|(value, _, _)| value == when)
            }
        },
        _ => false,
    }
}

/// Profiles up to 24.1 allow unqualified names, select labels and boolean true/false values.
fn legacy_profile(tool: &Tool) -> bool {
    let Some(profile) = tool.profile.as_deref() else {
        return true;
    };
    let mut parts = profile.split('.').map(|p| p.trim().parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(year), month) => (year, month.unwrap_or(0)) <= (24, 1),
        _ => false,
    }
}

impl Tool {
    /// Galaxy's test dicts for this tool's `<tests>`, in order.
    pub fn test_dicts(&self) -> Vec<Value> {
        self.tests
            .iter()
            .enumerate()
            .map(|(i, t)| self.test_dict(i, t))
            .collect()
    }

    fn test_dict(&self, index: usize, test: &ToolTest) -> Value {
        let maxseconds = test
            .maxseconds
            .as_deref()
            .and_then(|m| m.trim().parse::<i64>().ok());
        let invalid = |exception: String| {
            json!({
                "tool_id": self.id, "tool_version": self.version, "test_index": index,
                "name": format!("Test-{}", index + 1), "inputs": {}, "outputs": [],
                "output_collections": [], "required_files": [], "required_data_tables": [],
                "required_loc_files": [], "error": true, "exception": exception,
                "maxseconds": maxseconds,
            })
        };
        if let Some(e) = &test.error {
            return invalid(e.clone());
        }
        let mut processing = Processing {
            raw: test.params.clone(),
            unqualified: legacy_profile(self),
            required_files: Vec::new(),
        };
        let inputs = match processing.level(&self.inputs, &[]) {
            Ok(inputs) => inputs,
            Err(e) => return invalid(e),
        };
        let num_outputs = test
            .expect_num_outputs
            .as_deref()
            .and_then(|n| n.trim().parse::<i64>().ok())
            .filter(|n| *n != 0);
        json!({
            "inputs": inputs,
            "outputs": test.outputs,
            "output_collections": [],
            "num_outputs": num_outputs,
            "command_line": test.command,
            "command_version": test.command_version,
            "stdout": test.stdout,
            "stderr": test.stderr,
            "expect_exit_code": test.expect_exit_code,
            "expect_failure": test.expect_failure,
            "expect_test_failure": test.expect_test_failure,
            "name": format!("Test-{}", index + 1),
            "test_index": index,
            "tool_id": self.id,
            "tool_version": self.version,
            "required_files": processing.required_files,
            "required_data_tables": [],
            "required_loc_files": [],
            "maxseconds": maxseconds,
            "error": false,
            "exception": null,
        })
    }
}
