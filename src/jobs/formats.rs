//! The format of each output of a tool run, decided at creation as Galaxy's
//! `determine_output_format` does: `format_source` (the named data input's format), else
//! `format="input"` (the first data input's), else `format`; then the first
//! `<change_format><when>` whose param has the checked value.

use std::collections::BTreeMap;

use crate::db::models::Dataset;
use crate::tools::{OutputDef, ParamValue, Tool};

/// The formats of `tool`'s outputs, in order, for a run with the checked `values` and
/// `inputs` (data param name, dataset id), `found` the input datasets by id
/// (`naming::input_datasets`). A source that names no given input keeps the output's own
/// format (`data` when it has none).
pub fn output_formats(
    tool: &Tool,
    values: &[(String, ParamValue)],
    inputs: &[(String, i64)],
    found: &BTreeMap<i64, Dataset>,
) -> Vec<String> {
    let exts: Vec<(String, String)> = inputs
        .iter()
        .filter_map(|(name, id)| Some((name.clone(), found.get(id)?.extension.clone())))
        .collect();
    tool.outputs
        .iter()
        .map(|o| output_format(o, values, &exts))
        .collect()
}

/// Like [`output_formats`], with the inputs' extensions given as (data param name,
/// extension) instead of read from the database (a workflow step whose inputs are created in
/// the same transaction).
pub fn output_formats_from(
    tool: &Tool,
    values: &[(String, ParamValue)],
    exts: &[(String, String)],
) -> Vec<String> {
    tool.outputs
        .iter()
        .map(|o| output_format(o, values, exts))
        .collect()
}

fn output_format(
    out: &OutputDef,
    values: &[(String, ParamValue)],
    exts: &[(String, String)],
) -> String {
    let source = match (&out.format_source, out.format.as_str()) {
        (Some(name), _) => exts.iter().find(|(n, _)| n == name),
        (None, "input") => exts.first(),
        (None, _) => None,
    };
    let mut format = match (source, out.format.as_str()) {
        (Some((_, ext)), _) => ext.clone(),
        (None, "input") => "data".to_string(),
        (None, own) => own.to_string(),
    };
    if let Some(when) = out.change_format.iter().find(|w| {
        values
            .iter()
            .find(|(key, _)| *key == w.input)
            .is_some_and(|(_, v)| as_text(v).as_deref() == Some(w.value.as_str()))
    }) {
        format = when.format.clone();
    }
    format
}

/// A param's value as Python's `str` shows it, for `<when value>`.
fn as_text(value: &ParamValue) -> Option<String> {
    match value {
        ParamValue::Text(s) | ParamValue::Select(s) => Some(s.clone()),
        ParamValue::Integer(i) => Some(i.to_string()),
        ParamValue::Float(f) => Some(f.to_string()),
        ParamValue::Boolean(b) => Some(if *b { "True" } else { "False" }.to_string()),
        ParamValue::Empty => Some("None".to_string()),
        ParamValue::SelectList(list) => Some(list.join(",")),
        ParamValue::Data(_) | ParamValue::DataList(_) | ParamValue::Columns(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ChangeFormat;

    fn def(format: &str, source: Option<&str>, when: &[(&str, &str, &str)]) -> OutputDef {
        OutputDef {
            name: "out".into(),
            format: format.into(),
            label: None,
            format_source: source.map(str::to_string),
            metadata_source: None,
            from_work_dir: None,
            filters: Vec::new(),
            metadata_actions: Vec::new(),
            change_format: when
                .iter()
                .map(|(input, value, format)| ChangeFormat {
                    input: input.to_string(),
                    value: value.to_string(),
                    format: format.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn formats_follow_galaxy_rules() {
        let exts = [
            ("a".to_string(), "tabular".to_string()),
            ("b".to_string(), "fasta".to_string()),
        ];
        let values = [
            ("kind".to_string(), ParamValue::Select("csv".into())),
            ("flag".to_string(), ParamValue::Boolean(true)),
        ];
        assert_eq!(output_format(&def("txt", None, &[]), &values, &exts), "txt");
        assert_eq!(
            output_format(&def("input", None, &[]), &values, &exts),
            "tabular"
        );
        assert_eq!(
            output_format(&def("input", None, &[]), &values, &[]),
            "data"
        );
        let source = def("txt", Some("b"), &[]);
        assert_eq!(output_format(&source, &values, &exts), "fasta");
        let missing = def("txt", Some("zz"), &[]);
        assert_eq!(output_format(&missing, &values, &exts), "txt");
        let when = def(
            "txt",
            None,
            &[("kind", "tab", "tabular"), ("kind", "csv", "csv")],
        );
        assert_eq!(output_format(&when, &values, &exts), "csv");
        let flag = def("txt", None, &[("flag", "True", "bed")]);
        assert_eq!(output_format(&flag, &values, &exts), "bed");
        let none = def("txt", None, &[("kind", "tsv", "tabular")]);
        assert_eq!(output_format(&none, &values, &exts), "txt");
    }
}
