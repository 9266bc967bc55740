//! The tree of a tool's inputs (params inside conditionals, repeats and sections) and the
//! checked state a run's inputs become.
//!
//! Flat keys are Galaxy's: `cond|param`, `sect|param`, `rep_0|param` (repeat instances
//! numbered from 0), nested as deep as the groups are.

use super::{DataRef, Param, ParamValue};

/// One entry of `<inputs>` (or of a group inside it).
#[derive(Debug, Clone)]
pub enum Input {
    Param(Param),
    Conditional(Conditional),
    Repeat(Repeat),
    Section(Section),
}

/// `<conditional name>`: a test param (select or boolean) choosing one `<when>`.
#[derive(Debug, Clone)]
pub struct Conditional {
    pub name: String,
    pub test: Param,
    /// One case per `<when value>`, plus an empty case for each option of the test param
    /// without a `<when>` (as Galaxy adds them).
    pub cases: Vec<Case>,
}

/// `<when value>` of a conditional.
#[derive(Debug, Clone)]
pub struct Case {
    pub value: String,
    pub inputs: Vec<Input>,
}

/// `<repeat name title min max default>`.
#[derive(Debug, Clone)]
pub struct Repeat {
    pub name: String,
    pub title: String,
    pub help: String,
    pub min: usize,
    /// `None`: unbounded.
    pub max: Option<usize>,
    /// Instances the form starts with (at least `min`).
    pub default: usize,
    pub inputs: Vec<Input>,
}

/// `<section name title expanded>`.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub title: String,
    pub help: String,
    pub expanded: bool,
    pub inputs: Vec<Input>,
}

/// Calls `f` on every param of `inputs`, in groups too (a conditional's test param included).
pub(crate) fn each_param_mut(inputs: &mut [Input], f: &mut dyn FnMut(&mut Param)) {
    for input in inputs {
        match input {
            Input::Param(p) => f(p),
            Input::Conditional(c) => {
                f(&mut c.test);
                for case in &mut c.cases {
                    each_param_mut(&mut case.inputs, f);
                }
            }
            Input::Repeat(r) => each_param_mut(&mut r.inputs, f),
            Input::Section(s) => each_param_mut(&mut s.inputs, f),
        }
    }
}

impl Input {
    pub fn name(&self) -> &str {
        match self {
            Input::Param(p) => &p.name,
            Input::Conditional(c) => &c.name,
            Input::Repeat(r) => &r.name,
            Input::Section(s) => &s.name,
        }
    }
}

/// The column count of a dataset when its metadata is known; `None` when it is not (then
/// any positive column is accepted).
pub type ColumnCount<'a> = &'a dyn Fn(&DataRef) -> Option<usize>;

/// A checked run state: one entry per declared input of a level, in declaration order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamState(pub Vec<(String, StateValue)>);

/// The value of one input in a [`ParamState`].
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    Value(ParamValue),
    /// The chosen case (index into `Conditional::cases`) and its state, the test param
    /// first; the other cases' params are dropped.
    Conditional {
        case: usize,
        state: ParamState,
    },
    Repeat(Vec<ParamState>),
    Section(ParamState),
}

impl ParamState {
    pub fn get(&self, name: &str) -> Option<&StateValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The leaf values under their flat keys (`cond|p`, `rep_0|p`, `sect|p`), in order: how
    /// a job row stores its parameters, as Galaxy's flat API keys.
    pub fn flatten(&self) -> Vec<(String, ParamValue)> {
        let mut out = Vec::new();
        self.flatten_into("", &mut out);
        out
    }

    fn flatten_into(&self, prefix: &str, out: &mut Vec<(String, ParamValue)>) {
        for (name, value) in &self.0 {
            match value {
                StateValue::Value(v) => out.push((format!("{prefix}{name}"), v.clone())),
                StateValue::Conditional { state, .. } | StateValue::Section(state) => {
                    state.flatten_into(&format!("{prefix}{name}|"), out);
                }
                StateValue::Repeat(instances) => {
                    for (i, state) in instances.iter().enumerate() {
                        state.flatten_into(&format!("{prefix}{name}_{i}|"), out);
                    }
                }
            }
        }
    }
}

/// Splits a repeat instance key `name_3` into (`name`, 3).
pub(crate) fn repeat_index(key: &str) -> Option<(&str, usize)> {
    let (name, index) = key.rsplit_once('_')?;
    if name.is_empty() || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name, index.parse().ok()?))
}

/// The param at a flat key, looking through every case of a conditional.
pub(crate) fn find_param<'a>(inputs: &'a [Input], key: &str) -> Option<&'a Param> {
    let (head, rest) = match key.split_once('|') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    };
    let exact = inputs.iter().find(|i| i.name() == head);
    match (exact, rest) {
        (Some(Input::Param(p)), None) => Some(p),
        (Some(Input::Section(s)), Some(rest)) => find_param(&s.inputs, rest),
        (Some(Input::Conditional(c)), Some(rest)) if rest == c.test.name => Some(&c.test),
        (Some(Input::Conditional(c)), Some(rest)) => c
            .cases
            .iter()
            .find_map(|case| find_param(&case.inputs, rest)),
        (None, Some(rest)) => {
            let (name, _) = repeat_index(head)?;
            match inputs.iter().find(|i| i.name() == name) {
                Some(Input::Repeat(r)) => find_param(&r.inputs, rest),
                _ => None,
            }
        }
        _ => None,
    }
}
