//! Checking the `inputs` of a tool run (`POST /api/tools`) against the tool's input tree, as
//! Galaxy clients send them.
//!
//! Accepted shapes, mixed freely:
//! - flat keys, Galaxy's legacy format: `{"cond|test": "a", "cond|p": 1, "rep_0|q": "x",
//!   "sect|r": true}` (repeat instances `name_N`, numbered from 0; gaps closed up);
//! - nested objects (`input_format: "21.01"`, BioBlend): `{"cond": {"test": "a", "p": 1},
//!   "rep": [{"q": "x"}], "sect": {"r": true}}`;
//! - keys starting with `__` (`__current_case__`, `__index__`, `__job_resource`) are ignored.
//!
//! The result is a [`ParamState`]: defaults filled, a conditional's inactive cases dropped
//! (their keys accepted and ignored), repeats padded to `min` with defaults and refused above
//! `max`. A key naming no input is refused, naming the key.

use serde_json::{Map, Value};

use super::tree::repeat_index;
use super::values::check_param;
use super::{
    ColumnCount, Conditional, Input, Param, ParamKind, ParamState, ParamValue, Repeat, StateValue,
    Tool, ToolInputError,
};

/// A key (relative to the level being checked) and the value given for it.
type Entry<'a> = (String, &'a Value);

pub(crate) fn check_state(
    tool: &Tool,
    inputs: &Map<String, Value>,
    columns: ColumnCount<'_>,
) -> Result<ParamState, ToolInputError> {
    let entries = inputs.iter().map(|(k, v)| (k.clone(), v)).collect();
    let cx = Check { columns };
    cx.level(&tool.inputs, entries, "", &[])
}

fn unknown(key: &str) -> ToolInputError {
    ToolInputError::Param {
        name: key.to_string(),
        message: "no such parameter in this tool".into(),
    }
}

fn shape(key: &str, wanted: &str, got: &Value) -> ToolInputError {
    ToolInputError::Param {
        name: key.to_string(),
        message: format!("expected {wanted}, got {got}"),
    }
}

/// Where a key's first segment points in a level: an input, or an instance of a repeat.
fn resolve(inputs: &[Input], head: &str) -> Option<(usize, Option<usize>)> {
    if let Some(i) = inputs.iter().position(|i| i.name() == head) {
        return Some((i, None));
    }
    let (name, index) = repeat_index(head)?;
    let i = inputs
        .iter()
        .position(|i| matches!(i, Input::Repeat(r) if r.name == name))?;
    Some((i, Some(index)))
}

fn split(key: &str) -> (&str, Option<&str>) {
    match key.split_once('|') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    }
}

/// The entries of an object value, as entries of the level inside it.
fn object_entries<'a>(
    full: &str,
    value: &'a Value,
    out: &mut Vec<Entry<'a>>,
) -> Result<(), ToolInputError> {
    match value {
        Value::Object(map) => {
            out.extend(map.iter().map(|(k, v)| (k.clone(), v)));
            Ok(())
        }
        other => Err(shape(full, "an object of its parameters", other)),
    }
}

/// What one level's entries say about each of its inputs.
#[derive(Default)]
struct Given<'a> {
    /// For a param: its value.
    value: Option<&'a Value>,
    /// For a section or conditional: the entries inside it.
    inner: Vec<Entry<'a>>,
    /// For a repeat: (instance index, entries inside it), in the order given.
    instances: Vec<(usize, Vec<Entry<'a>>)>,
}

struct Check<'c> {
    columns: ColumnCount<'c>,
}

impl Check<'_> {
    fn level(
        &self,
        inputs: &[Input],
        entries: Vec<Entry<'_>>,
        prefix: &str,
        outer: &[&ParamState],
    ) -> Result<ParamState, ToolInputError> {
        let mut given: Vec<Given<'_>> = inputs.iter().map(|_| Given::default()).collect();
        for (key, value) in entries {
            let full = format!("{prefix}{key}");
            if key.starts_with("__") {
                continue;
            }
            let (head, rest) = split(&key);
            let (index, instance) = resolve(inputs, head).ok_or_else(|| unknown(&full))?;
            let slot = &mut given[index];
            match (&inputs[index], instance, rest) {
                (Input::Param(_), None, None) => {
                    slot.value.get_or_insert(value);
                }
                (Input::Param(_), _, _) => return Err(unknown(&full)),
                (Input::Section(_) | Input::Conditional(_), None, Some(rest)) => {
                    slot.inner.push((rest.to_string(), value));
                }
                (Input::Section(_) | Input::Conditional(_), None, None) => {
                    object_entries(&full, value, &mut slot.inner)?;
                }
                (Input::Repeat(_), None, None) => match value {
                    Value::Array(items) => {
                        let base = slot.instances.len();
                        for (i, item) in items.iter().enumerate() {
                            let mut inner = Vec::new();
                            object_entries(&format!("{full}_{i}"), item, &mut inner)?;
                            slot.instances.push((base + i, inner));
                        }
                    }
                    other => return Err(shape(&full, "a list of objects", other)),
                },
                (Input::Repeat(_), Some(n), rest) => {
                    let at = match slot.instances.iter().position(|(i, _)| *i == n) {
                        Some(at) => at,
                        None => {
                            slot.instances.push((n, Vec::new()));
                            slot.instances.len() - 1
                        }
                    };
                    let inner = &mut slot.instances[at].1;
                    match rest {
                        Some(rest) => inner.push((rest.to_string(), value)),
                        None => object_entries(&full, value, inner)?,
                    }
                }
                (_, _, _) => return Err(unknown(&full)),
            }
        }
        let mut state = ParamState::default();
        for (input, given) in inputs.iter().zip(given) {
            let key = format!("{prefix}{}", input.name());
            let mut scopes = outer.to_vec();
            scopes.push(&state);
            let value = match input {
                Input::Param(param) => StateValue::Value(check_param(&key, param, given.value)?),
                Input::Section(section) => StateValue::Section(self.level(
                    &section.inputs,
                    given.inner,
                    &format!("{key}|"),
                    &scopes,
                )?),
                Input::Conditional(c) => self.conditional(c, given.inner, &key, &scopes)?,
                Input::Repeat(r) => self.repeat(r, given.instances, &key, &scopes)?,
            };
            state.0.push((input.name().to_string(), value));
        }
        let mut scopes = outer.to_vec();
        scopes.push(&state);
        for input in inputs {
            if let Input::Param(param) = input {
                self.check_columns(param, prefix, &scopes)?;
            }
        }
        Ok(state)
    }

    fn conditional(
        &self,
        c: &Conditional,
        entries: Vec<Entry<'_>>,
        key: &str,
        scopes: &[&ParamState],
    ) -> Result<StateValue, ToolInputError> {
        let test_key = format!("{key}|{}", c.test.name);
        let test_value = entries
            .iter()
            .find(|(k, _)| *k == c.test.name)
            .map(|(_, v)| *v);
        let test = check_param(&test_key, &c.test, test_value)?;
        let chosen = match (&test, &c.test.kind) {
            (ParamValue::Select(s), _) => s.clone(),
            (ParamValue::Boolean(true), ParamKind::Boolean { truevalue, .. }) => truevalue.clone(),
            (ParamValue::Boolean(false), ParamKind::Boolean { falsevalue, .. }) => {
                falsevalue.clone()
            }
            _ => String::new(),
        };
        let case = c
            .cases
            .iter()
            .position(|case| case.value == chosen)
            .ok_or_else(|| ToolInputError::Param {
                name: test_key.clone(),
                message: format!("no case of the conditional matches '{chosen}'"),
            })?;
        let inputs = &c.cases[case].inputs;
        let mut active = Vec::new();
        for (k, v) in entries {
            let (head, _) = split(&k);
            if head == c.test.name || k.starts_with("__") {
                continue;
            }
            if resolve(inputs, head).is_some() {
                active.push((k, v));
            } else if !c.cases.iter().any(|o| resolve(&o.inputs, head).is_some()) {
                return Err(unknown(&format!("{key}|{k}")));
            }
        }
        let mut state = self.level(inputs, active, &format!("{key}|"), scopes)?;
        state
            .0
            .insert(0, (c.test.name.clone(), StateValue::Value(test)));
        Ok(StateValue::Conditional { case, state })
    }

    fn repeat(
        &self,
        r: &Repeat,
        mut instances: Vec<(usize, Vec<Entry<'_>>)>,
        key: &str,
        scopes: &[&ParamState],
    ) -> Result<StateValue, ToolInputError> {
        if let Some(max) = r.max.filter(|m| instances.len() > *m) {
            return Err(ToolInputError::Param {
                name: key.to_string(),
                message: format!("at most {max} of '{}' may be given", r.title),
            });
        }
        instances.sort_by_key(|(i, _)| *i);
        while instances.len() < r.min {
            instances.push((usize::MAX, Vec::new()));
        }
        let mut states = Vec::with_capacity(instances.len());
        for (n, (_, entries)) in instances.into_iter().enumerate() {
            let prefix = format!("{key}_{n}|");
            states.push(self.level(&r.inputs, entries, &prefix, scopes)?);
        }
        Ok(StateValue::Repeat(states))
    }

    /// A `data_column` against the column count of the dataset it refers to, when known.
    fn check_columns(
        &self,
        param: &Param,
        prefix: &str,
        scopes: &[&ParamState],
    ) -> Result<(), ToolInputError> {
        let ParamKind::DataColumn { data_ref, .. } = &param.kind else {
            return Ok(());
        };
        let here = scopes.last().and_then(|s| s.get(&param.name));
        let Some(StateValue::Value(ParamValue::Columns(chosen))) = here else {
            return Ok(());
        };
        let dataset = scopes.iter().rev().find_map(|s| match s.get(data_ref) {
            Some(StateValue::Value(ParamValue::Data(Some(d)))) => Some(vec![d.clone()]),
            Some(StateValue::Value(ParamValue::DataList(list))) => Some(list.clone()),
            _ => None,
        });
        let counts = dataset
            .unwrap_or_default()
            .iter()
            .filter_map(|d| (self.columns)(d))
            .min();
        if let (Some(count), Some(&highest)) = (counts, chosen.iter().max())
            && usize::try_from(highest).is_ok_and(|h| h > count)
        {
            return Err(ToolInputError::Param {
                name: format!("{prefix}{}", param.name),
                message: format!(
                    "column {highest} is past the last column of '{data_ref}' ({count})"
                ),
            });
        }
        Ok(())
    }
}
