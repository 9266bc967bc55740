//! The names of a run's output datasets, as Galaxy's `get_output_name`: the output's `label`
//! (Cheetah rendered with the run's inputs, `$tool` and `$on_string`), else "<tool> on
//! <on_string>", else the tool's name. `on_string` is Galaxy's `on_text_for_names`: the
//! inputs as `data <hid>`, last first, without repeats ("data 2 and data 1").

use std::collections::BTreeMap;

use crate::db::DbConn;
use crate::db::models::Dataset;
use crate::db::queries::datasets;
use crate::tools::scope::{DatasetInfo, JobValues};
use crate::tools::{ParamValue, Tool};

use super::{JobError, JobsEnv};

/// The input datasets of one or more runs, by id: one query for all of them.
pub fn input_datasets<'a>(
    conn: &mut DbConn,
    inputs: impl IntoIterator<Item = &'a (String, i64)>,
) -> Result<BTreeMap<i64, Dataset>, JobError> {
    let mut ids: Vec<i64> = inputs.into_iter().map(|(_, id)| *id).collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(datasets::find_datasets(conn, &ids)?
        .into_iter()
        .map(|d| (d.id, d))
        .collect())
}

/// What the templates see of a dataset (Galaxy's `DatasetFilenameWrapper`).
pub fn dataset_info(env: &JobsEnv, ds: &Dataset) -> DatasetInfo {
    DatasetInfo {
        path: env.dataset_path(ds.id).to_string_lossy().into_owned(),
        ext: ds.extension.clone(),
        name: ds.name.clone(),
        id: ds.id,
        hid: ds.hid,
        metadata: ds
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default(),
        datatypes: crate::datatypes::registry::ancestry(&ds.extension)
            .into_iter()
            .map(str::to_string)
            .collect(),
        ..DatasetInfo::default()
    }
}

/// Galaxy's `on_text_for_names` over `data <hid>` of the inputs, in reverse order.
pub fn on_string(hids: &[i64]) -> String {
    let mut names: Vec<String> = Vec::new();
    for hid in hids.iter().rev() {
        let name = format!("data {hid}");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c] => format!("{a}, {b}, and {c}"),
        [a, b, ..] => format!("{a}, {b}, and others"),
    }
}

/// A run's output datasets: (output name, dataset name, format), `formats` in the tool's
/// order; `found` holds the input datasets by id (see [`input_datasets`]).
pub fn output_names(
    env: &JobsEnv,
    tool: &Tool,
    values: &[(String, ParamValue)],
    inputs: &[(String, i64)],
    found: &BTreeMap<i64, Dataset>,
    formats: Vec<String>,
) -> Vec<(String, String, String)> {
    let hids: Vec<i64> = inputs
        .iter()
        .filter_map(|(_, id)| found.get(id).map(|d| d.hid))
        .collect();
    let on = on_string(&hids);
    let labels = if tool.templates.labels.is_empty() {
        tool.outputs.iter().map(|o| o.label.clone()).collect()
    } else {
        let job = JobValues {
            values,
            inputs: inputs
                .iter()
                .filter_map(|(name, id)| Some((name.clone(), dataset_info(env, found.get(id)?))))
                .collect(),
            ..JobValues::default()
        };
        tool.output_labels(&job, &on)
    };
    tool.outputs
        .iter()
        .zip(labels)
        .zip(formats)
        .map(|((o, label), format)| {
            let name = match label {
                Some(label) => label,
                None if on.is_empty() => tool.name.clone(),
                None => format!("{} on {on}", tool.name),
            };
            (o.name.clone(), name, format)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::on_string;

    #[test]
    fn on_string_is_galaxys() {
        assert_eq!(on_string(&[]), "");
        assert_eq!(on_string(&[4]), "data 4");
        assert_eq!(on_string(&[1, 2]), "data 2 and data 1");
        assert_eq!(on_string(&[1, 1]), "data 1");
        assert_eq!(on_string(&[1, 2, 3]), "data 3, data 2, and data 1");
        assert_eq!(on_string(&[1, 2, 3, 4]), "data 4, data 3, and others");
    }
}
