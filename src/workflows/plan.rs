//! Planning an invocation's scheduling: each tool step's job (values, inputs from the
//! invocation's datasets or earlier steps' outputs, output formats and names, assignment),
//! in dependency order, for the one transaction of `db::queries::invocations::schedule`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ga::{PostJobAction, StepKind};
use super::scheduler::Scheduler;
use super::{WorkflowError, parse_placeholder, step_values};
use crate::db::DbConn;
use crate::db::queries::datasets;
use crate::db::queries::invocations::{self as q, PlannedJob, PlannedOutput, Schedule, Source};
use crate::jobs::JobError;
use crate::jobs::assign::Assignment;

impl Scheduler {
    /// The jobs of an invocation's tool steps, each with its values, inputs, outputs and
    /// assignment. Outer error: the database; inner: the invocation cannot be scheduled.
    pub(super) fn plan(
        &self,
        c: &mut DbConn,
        id: i64,
        token: i64,
    ) -> Result<Result<Schedule, WorkflowError>, JobError> {
        let inv = q::find_invocation(c, id)?
            .ok_or_else(|| JobError::Internal(format!("invocation {id} not found")))?;
        let w = self.workflow(c, inv.workflow_id)?;
        let (wf, order) = (&w.0, &w.1);
        let inputs: HashMap<usize, i64> = serde_json::from_str::<HashMap<String, i64>>(&inv.inputs)
            .map_err(|e| JobError::Internal(format!("invocation {id} inputs: {e}")))?
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
            .collect();
        let mut stored =
            serde_json::from_str::<HashMap<String, Map<String, Value>>>(&inv.parameters)
                .map_err(|e| JobError::Internal(format!("invocation {id} parameters: {e}")))?;
        let replacements = stored.remove(super::REPLACEMENTS_KEY).unwrap_or_default();
        let parameters: HashMap<usize, Map<String, Value>> = stored
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
            .collect();
        let ids: Vec<i64> = inputs.values().copied().collect();
        let exts: HashMap<i64, String> = datasets::find_datasets(c, &ids)?
            .into_iter()
            .map(|d| (d.id, d.extension))
            .collect();
        let mut jobs: Vec<PlannedJob> = Vec::new();
        // Step order index → index in `jobs`.
        let mut job_of: HashMap<usize, usize> = HashMap::new();
        let mut assignments: HashMap<String, (Assignment, String)> = HashMap::new();
        for &i in order {
            let step = &wf.steps[i];
            let StepKind::Tool { tool_id, .. } = &step.kind else {
                continue;
            };
            let Some(tool) = self.env.toolbox.get(tool_id) else {
                return Ok(Err(WorkflowError::at(
                    step,
                    format!("tool '{tool_id}' is not installed on this server"),
                )));
            };
            let values = match step_values(tool, step, parameters.get(&i)) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            let mut links: Vec<(String, Source)> = Vec::new();
            let mut input_exts: Vec<(String, String)> = Vec::new();
            for (name, r) in crate::tools::data_inputs(&values) {
                let Some((src, output)) = parse_placeholder(&r.id) else {
                    continue;
                };
                if matches!(wf.steps[src].kind, StepKind::DataInput { .. }) {
                    let Some(&ds) = inputs.get(&src) else {
                        continue;
                    };
                    links.push((name.clone(), Source::Dataset(ds)));
                    input_exts.push((name, exts.get(&ds).cloned().unwrap_or_default()));
                } else {
                    let Some(&j) = job_of.get(&src) else {
                        return Ok(Err(WorkflowError::at(
                            step,
                            format!("step {src} has no job"),
                        )));
                    };
                    let Some(o) = jobs[j].outputs.iter().position(|x| x.name == output) else {
                        return Ok(Err(WorkflowError::at(
                            step,
                            format!(
                                "output '{output}' of step {src} is not created (its filter is false)"
                            ),
                        )));
                    };
                    input_exts.push((name.clone(), jobs[j].outputs[o].ext.clone()));
                    links.push((name, Source::Step { job: j, output: o }));
                }
            }
            let formats = crate::jobs::formats::output_formats_from(tool, &values, &input_exts);
            let kept = tool.kept_outputs(&values);
            let outputs: Vec<PlannedOutput> = tool
                .outputs
                .iter()
                .zip(formats)
                .zip(kept)
                .filter(|(_, (keep, _))| *keep)
                .map(|((o, ext), _)| {
                    let rename = step.post_job_actions.iter().find_map(|p| match p {
                        PostJobAction::Rename {
                            output_name,
                            newname,
                        } if *output_name == o.name => {
                            Some(super::replace_params(newname, &replacements))
                        }
                        _ => None,
                    });
                    let hidden = step.post_job_actions.iter().any(|p| {
                        matches!(p, PostJobAction::Hide { output_name } if *output_name == o.name)
                    });
                    PlannedOutput {
                        name: o.name.clone(),
                        ext,
                        dataset_name: rename.or_else(|| o.label.clone()),
                        visible: !hidden,
                    }
                })
                .collect();
            if !assignments.contains_key(tool_id) {
                let a = self.env.assigner.assign(&self.env.job_conf, c, tool_id)?;
                let d = crate::jobs::limits::destination_for_tool(&self.env.job_conf, tool_id);
                assignments.insert(tool_id.clone(), (a, d));
            }
            let Some((assignment, destination)) = assignments.get(tool_id) else {
                continue;
            };
            job_of.insert(i, jobs.len());
            jobs.push(PlannedJob {
                order_index: i as i32,
                tool_id: tool.id.clone(),
                tool_version: tool.version.clone(),
                tool_name: tool.name.clone(),
                params: crate::jobs::submit::params_json(&values),
                handler: assignment.handler().map(str::to_string),
                handler_tag: assignment.tag().map(str::to_string),
                destination_id: Some(destination.clone()),
                inputs: links,
                outputs,
            });
        }
        Ok(Ok(Schedule {
            invocation_id: id,
            claim_token: token,
            handler: self.shared.name.clone(),
            history_id: inv.history_id,
            user_id: inv.user_id,
            input_steps: inputs.iter().map(|(k, v)| (*k as i32, *v)).collect(),
            jobs,
            stall_before_commit: false,
        }))
    }
}
