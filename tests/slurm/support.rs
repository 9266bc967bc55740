//! What the Slurm runner's tests share: the job configuration, runs of the sample tools, and
//! reading a job's runner fields and `/metrics`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::SlurmCluster;
use crate::helpers::{ADMIN_KEY, Api, Opts, str_field};

/// Galaxy's YAML job configuration: the local and Slurm runners, `slurm` the default
/// environment, `local`, `short` (local, 2 s walltime, resubmitted to `slurm` when it is
/// reached) and `badspec` (a partition Slurm does not have); `extra_envs` are more
/// environment entries (`name: {…}` lines) and `tools` the `tools:` mappings (tool id,
/// environment).
pub fn job_conf(extra_envs: &[&str], tools: &[(&str, &str)]) -> String {
    let mut conf = String::from(
        "runners:\n\
         \x20 local: {load: galaxy.jobs.runners.local:LocalJobRunner, workers: 4}\n\
         \x20 slurm: {load: galaxy.jobs.runners.slurm:SlurmJobRunner, workers: 4, poll_interval: 0.5}\n\
         execution:\n\
         \x20 default: slurm\n\
         \x20 environments:\n\
         \x20   slurm: {runner: slurm, native_specification: \"--ntasks=1\"}\n\
         \x20   local: {runner: local}\n\
         \x20   short: {runner: local, walltime: \"00:00:02\", resubmit: [{condition: walltime_reached, environment: slurm}]}\n\
         \x20   badspec: {runner: slurm, native_specification: \"--partition=does-not-exist\"}\n",
    );
    for e in extra_envs {
        conf.push_str(&format!("    {e}\n"));
    }
    if !tools.is_empty() {
        conf.push_str("tools:\n");
        for (id, env) in tools {
            conf.push_str(&format!("  - {{id: {id}, environment: {env}}}\n"));
        }
    }
    conf
}

/// Options for servers on `cluster` with job configuration `conf` and the shipped tools.
pub fn opts(cluster: &SlurmCluster, conf: &str) -> Opts {
    cluster.opts(
        Opts::default()
            .file("job_conf.yml", conf)
            .job_config_file("job_conf.yml"),
    )
}

/// Options for a web process and handlers on `cluster` with the default job configuration
/// (everything on `slurm`): three processes on one PostgreSQL server while other tests run,
/// so each keeps a smaller pool of connections.
pub fn split_opts(cluster: &SlurmCluster) -> Opts {
    opts(cluster, &job_conf(&[], &[])).galaxy_extra("  database_engine_option_pool_size: 3")
}

/// Pastes `text` into history `hid` (upload1, finished in the request); the dataset id.
pub fn paste(api: &Api, hid: &str, text: &str) -> String {
    let (status, run) = api.post(
        "/api/tools",
        Some(ADMIN_KEY),
        &json!({"tool_id": "upload1", "history_id": hid, "inputs": {
            "files_0|url_paste": text, "files_0|type": "upload_dataset", "file_type": "txt"}}),
    );
    assert_eq!(status, 200, "upload1: {run}");
    str_field(&run["outputs"][0], "id")
}

/// Runs `tool` with `inputs`; (job id, first output's id).
pub fn run(api: &Api, hid: &str, tool: &str, inputs: Value) -> (String, String) {
    let (status, run) = api.post(
        "/api/tools",
        Some(ADMIN_KEY),
        &json!({"tool_id": tool, "history_id": hid, "inputs": inputs}),
    );
    assert_eq!(status, 200, "run {tool}: {run}");
    (
        str_field(&run["jobs"][0], "id"),
        str_field(&run["outputs"][0], "id"),
    )
}

pub fn hda(id: &str) -> Value {
    json!({"src": "hda", "id": id})
}

/// `GET /api/jobs/{id}?full=true` (admin).
pub fn full(api: &Api, job: &str) -> Value {
    let (status, j) = api.get(&format!("/api/jobs/{job}?full=true"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "GET /api/jobs/{job}?full=true: {j}");
    j
}

pub fn state(api: &Api, job: &str) -> String {
    let (status, j) = api.get(&format!("/api/jobs/{job}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "GET /api/jobs/{job}: {j}");
    j["state"].as_str().unwrap_or_default().to_string()
}

/// Polls until job `job` is in one of `states`; the full job, or None after `timeout`.
pub fn wait_state(api: &Api, job: &str, states: &[&str], timeout: Duration) -> Option<Value> {
    let mut last = None;
    crate::helpers::eventually(timeout, || {
        let s = state(api, job);
        let hit = states.contains(&s.as_str());
        if hit {
            last = Some(full(api, job));
        }
        hit
    });
    last
}

/// The Slurm job id galaxy-server recorded for a job (`job_runner_external_id` of
/// `?full=true`).
pub fn external_id(full: &Value) -> String {
    let id = full["job_runner_external_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no job_runner_external_id in {full}"));
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "job_runner_external_id is not a Slurm job id: {full}"
    );
    id.to_string()
}

/// Asserts a finished job ran through the Slurm runner in environment `env`, and returns
/// its Slurm job id.
pub fn assert_on_slurm(full: &Value, env: &str) -> String {
    let runner = full["job_runner_name"].as_str().unwrap_or_default();
    assert!(
        runner.starts_with("slurm://"),
        "job_runner_name of a Slurm job: {full}"
    );
    assert_eq!(full["destination_id"], env, "destination_id: {full}");
    external_id(full)
}

/// The value of a counter (all label sets with `label` summed) in Prometheus text.
pub fn counter(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let matches = (series == name && label.is_empty())
                || (series.starts_with(&format!("{name}{{")) && series.contains(label));
            matches.then(|| value.trim().parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// `galaxy_server_slurm_calls_total{command="…"}` from `/metrics`.
pub fn slurm_calls(api: &Api, command: &str) -> f64 {
    let (status, text) = api.get_text("/metrics", None);
    assert_eq!(status, 200, "GET /metrics: {text}");
    counter(
        &text,
        "galaxy_server_slurm_calls_total",
        &format!("command=\"{command}\""),
    )
}

/// Asserts every Galaxy job in `ids` was submitted to Slurm exactly once (attempt 1), that
/// Slurm ran nothing else of galaxy-server's.
pub fn assert_submitted_once(cluster: &SlurmCluster, ids: &BTreeSet<i64>) {
    let by_job = cluster.galaxy_completions();
    let twice: Vec<_> = by_job
        .iter()
        .filter(|(_, subs)| subs.len() != 1)
        .map(|(id, subs)| {
            (
                id,
                subs.iter()
                    .map(|(a, c)| format!("attempt {a}: Slurm job {} {}", c.job_id, c.state))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert!(
        twice.is_empty(),
        "Galaxy jobs submitted to Slurm more than once: {twice:?}"
    );
    let missing: Vec<_> = ids.iter().filter(|id| !by_job.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} Galaxy job(s) never finished in Slurm (jobcomp.log): {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let extra: Vec<_> = by_job.keys().filter(|id| !ids.contains(id)).collect();
    assert!(extra.is_empty(), "Slurm ran other Galaxy jobs: {extra:?}");
    for (id, subs) in &by_job {
        assert_eq!(subs[0].0, 1, "Galaxy job {id}: first attempt is 1");
    }
}
