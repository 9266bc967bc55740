//! The end of a job whose process has ended, read from its directory and its output
//! files: exit code, captured output, metrics, and each output's size and metadata
//! (`crate::datatypes`, computed here, outside the database, and written with the end).

use std::path::{Component, Path};

use crate::datatypes;
use crate::db::models::{Dataset, JobInput, JobOutput};
use crate::db::queries::transitions::{End, Output};
use crate::jobs::JobsEnv;
use crate::jobs::runners::{Failure, FailureKind, JobDir, LocalRunner};
use crate::tools::{Stdio, Tool};

/// An output dataset of a job: its id and extension.
pub(super) type OutputFile = (i64, String);

/// What the job's tool says about its end (all empty when the tool is no longer loaded).
pub(super) struct ToolEnd<'a> {
    /// Its `<stdio>` rules.
    pub stdio: Option<&'a Stdio>,
    /// (dataset id, `from_work_dir`) of the outputs written in the working directory.
    pub from_work_dir: Vec<(i64, String)>,
    /// (dataset id, metadata) copied from a `metadata_source` input.
    pub copied: Vec<(i64, String)>,
    /// (dataset id, (name, value)) of the outputs' `<action type="metadata">`s.
    pub actions: Vec<(i64, Vec<(String, String)>)>,
    /// Its `package` requirements not found on PATH at load: named in the `info` of a job
    /// that fails.
    pub missing_requirements: &'a [String],
}

/// An output's size (an output the job did not write is created empty) and, for a job that
/// ended `ok`, its metadata: `copied` from its `metadata_source` input, else by its extension.
fn output(
    id: i64,
    ext: &str,
    path: &Path,
    ok: bool,
    copied: Option<String>,
    actions: &[(String, String)],
) -> Output {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len() as i64,
        Err(_) => {
            let _ = std::fs::write(path, b"");
            0
        }
    };
    let metadata = match copied {
        Some(copied) => ok.then_some(copied),
        None => ok.then(|| datatypes::metadata_json(path, ext)).flatten(),
    };
    let metadata = match (ok, actions) {
        (false, _) | (_, []) => metadata,
        (true, actions) => Some(with_actions(metadata.as_deref(), actions)),
    };
    Output {
        id,
        size,
        ext: None,
        metadata,
    }
}

/// The end of a job whose process has ended: its exit code and output from its directory,
/// the sizes of its outputs (an output the job did not write is created empty). A job that
/// failed for lack of disk space says so, naming the full place, and is logged at WARN.
/// `tool.stdio` is the tool's `<stdio>` rules (Galaxy's `check_output`): they judge a job
/// whose process ended with an exit code, and their messages go into its `info`; without the
/// tool (no longer loaded) only exit code 0 is `ok`. `from_work_dir` files are moved onto
/// their outputs first; `copied` metadata replaces the computed one.
pub(super) fn collect_end(
    env: &JobsEnv,
    dir: &JobDir,
    job_id: i64,
    token: i64,
    outputs: Vec<OutputFile>,
    failure: Option<Failure>,
    tool: ToolEnd<'_>,
) -> End {
    let ToolEnd {
        stdio,
        from_work_dir,
        copied,
        actions,
        missing_requirements,
    } = tool;
    let mut outcome = LocalRunner::collect(dir);
    let paths: Vec<_> = outputs
        .iter()
        .map(|(ds, _)| env.dataset_path(*ds))
        .collect();
    move_from_work_dir(env, dir, &from_work_dir);
    let no_space = match outcome.exit_code {
        Some(0) => None,
        _ => crate::jobs::runners::space::diagnose(dir, &paths, &outcome.stderr),
    };
    let (judged_ok, ended) = match (&failure, outcome.exit_code) {
        (Some(f), _) => (false, Some(f.message.clone())),
        (None, None) => (
            false,
            Some("the job's process ended without writing its exit code".to_string()),
        ),
        (None, Some(code)) => judge(stdio, i64::from(code), &outcome.stdout, &outcome.stderr),
    };
    let ended = ended.filter(|e| !e.is_empty());
    // As Galaxy runs a tool whose requirements no resolver found, with what PATH has: a
    // failure says which were missing.
    let ended = match missing_requirements {
        [] => ended,
        _ if judged_ok => ended,
        missing => {
            let names = missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let note = format!(
                "requirement {names} not found on PATH (no conda/containers here); the tool ran \
                 with what PATH has"
            );
            Some(match ended {
                Some(e) => format!("{e}\n{note}"),
                None => note,
            })
        }
    };
    if let Some(f) = failure
        .as_ref()
        .filter(|f| f.kind != FailureKind::Cancelled)
    {
        // Said where the tool's own errors are read too.
        if !outcome.stderr.is_empty() && !outcome.stderr.ends_with('\n') {
            outcome.stderr.push('\n');
        }
        outcome.stderr.push_str(&f.message);
    }
    let info = match (no_space, ended) {
        (Some(no_space), ended) => {
            log::warn!(
                "(job {job_id}) {no_space}{}",
                ended
                    .as_deref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            );
            if !outcome.stderr.is_empty() && !outcome.stderr.ends_with('\n') {
                outcome.stderr.push('\n');
            }
            outcome.stderr.push_str(&no_space);
            Some(match ended {
                Some(e) => format!("{no_space}; {e}"),
                None => no_space,
            })
        }
        (None, ended) => ended,
    };
    let ok = judged_ok;
    let outputs = outputs
        .into_iter()
        .zip(&paths)
        .map(|((id, ext), path)| {
            let copy = copied
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, m)| m.clone());
            let set = actions
                .iter()
                .find(|(a, _)| *a == id)
                .map_or(&[][..], |(_, list)| list.as_slice());
            output(id, &ext, path, ok, copy, set)
        })
        .collect();
    End {
        id: job_id,
        tok: token,
        ok,
        exit_code: outcome.exit_code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        info,
        outputs: Some(outputs),
        metrics: crate::jobs::runners::metrics::read(dir),
    }
}

/// Whether a job that exited with `code` is `ok`, and what its `info` says: the tool's rules
/// (their messages, one per line, also for a job that stays `ok` on a warning), or, without
/// the tool, exit code 0.
fn judge(stdio: Option<&Stdio>, code: i64, stdout: &str, stderr: &str) -> (bool, Option<String>) {
    let Some(stdio) = stdio else {
        return match code {
            0 => (true, None),
            _ => (false, Some(format!("exit code {code}"))),
        };
    };
    let outcome = stdio.judge(code, stdout, stderr);
    let mut info = outcome.messages.join("\n");
    if outcome.failed && info.is_empty() {
        // Galaxy's legacy check (no profile, no <stdio>): anything on stderr fails.
        info = match code {
            0 => "the tool wrote to standard error (a tool without <stdio> or profile fails on it)"
                .to_string(),
            _ => format!("exit code {code}"),
        };
    }
    (!outcome.failed, Some(info))
}

/// The outputs of `tool` that the job writes in its working directory: (dataset id,
/// `from_work_dir`), from the job's outputs by name.
pub(super) fn from_work_dir(tool: &Tool, named: &[(JobOutput, Dataset)]) -> Vec<(i64, String)> {
    tool.outputs
        .iter()
        .filter_map(|o| {
            let path = o.from_work_dir.as_ref()?;
            let (_, ds) = named.iter().find(|(link, _)| link.name == o.name)?;
            Some((ds.id, path.clone()))
        })
        .collect()
}

/// Moves each `from_work_dir` file of the job's working directory (where its command ran)
/// onto its output's path, before the sizes are read. As Galaxy's `__copy_if_exists_command`,
/// a file that is missing leaves the output as the command wrote it (a tool may write the
/// output itself); a path leaving the working directory is skipped (logged, as Galaxy does).
fn move_from_work_dir(env: &JobsEnv, dir: &JobDir, moves: &[(i64, String)]) {
    for (id, relative) in moves {
        let inside = Path::new(relative)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            log::warn!("from_work_dir '{relative}' leaves the working directory: not copied");
            continue;
        }
        let source = dir.working().join(relative);
        if !source.is_file() {
            log::debug!("from_work_dir '{relative}' not written: the output is kept as is");
            continue;
        }
        let dest = env.dataset_path(*id);
        if std::fs::rename(&source, &dest).is_err()
            && let Err(e) = std::fs::copy(&source, &dest)
        {
            log::warn!("from_work_dir '{relative}': cannot copy onto its output: {e}");
        }
    }
}

/// The outputs' metadata actions: (dataset id, (name, value)), from the job's outputs by name.
pub(super) fn metadata_actions(
    tool: &Tool,
    named: &[(JobOutput, Dataset)],
) -> Vec<(i64, Vec<(String, String)>)> {
    tool.outputs
        .iter()
        .filter(|o| !o.metadata_actions.is_empty())
        .filter_map(|o| {
            let (_, ds) = named.iter().find(|(link, _)| link.name == o.name)?;
            Some((ds.id, o.metadata_actions.clone()))
        })
        .collect()
}

/// `metadata` (JSON text, or none) with each action's value set, typed as Galaxy's metadata
/// elements are: `column_names` a list (split on `,`), the `…Col` columns and counts integers.
fn with_actions(metadata: Option<&str>, actions: &[(String, String)]) -> String {
    let mut map: serde_json::Map<String, serde_json::Value> = metadata
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    for (name, value) in actions {
        let counted = name.ends_with("Col")
            || matches!(name.as_str(), "columns" | "data_lines" | "comment_lines");
        let typed = match value.trim().parse::<i64>() {
            _ if name == "column_names" => value.split(',').map(|s| s.trim()).collect(),
            Ok(n) if counted => serde_json::Value::from(n),
            _ => serde_json::Value::from(value.as_str()),
        };
        map.insert(name.clone(), typed);
    }
    serde_json::Value::Object(map).to_string()
}

/// `metadata_source`: (output dataset id, metadata) for each output whose named input has
/// metadata and the output's extension, as Galaxy copies it then instead of computing it.
pub(super) fn metadata_from(
    tool: &Tool,
    named: &[(JobOutput, Dataset)],
    inputs: &[(JobInput, Dataset)],
) -> Vec<(i64, String)> {
    tool.outputs
        .iter()
        .filter_map(|o| {
            let source = o.metadata_source.as_ref()?;
            let (_, out) = named.iter().find(|(link, _)| link.name == o.name)?;
            let (_, input) = inputs.iter().find(|(link, _)| link.name == *source)?;
            let metadata = input.metadata.clone()?;
            (input.extension == out.extension).then_some((out.id, metadata))
        })
        .collect()
}
