//! Tools mapped to environments: which runner ran a job, what it reports, and how often the
//! runner asks Slurm.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use crate::cluster::{GalaxyJobName, SlurmCluster};
use crate::helpers::{ADMIN_KEY, Api, Backend, TestServer};
use crate::support::{assert_on_slurm, full, hda, job_conf, opts, paste, run, slurm_calls};

/// `GET /api/jobs/{id}/metrics`: name → raw value (Galaxy's list of
/// `{name, plugin, title, value, raw_value}`).
fn job_metrics(api: &Api, job: &str) -> std::collections::BTreeMap<String, Value> {
    let (status, list) = api.get(&format!("/api/jobs/{job}/metrics"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "GET /api/jobs/{job}/metrics: {list}");
    list.as_array()
        .unwrap_or_else(|| panic!("metrics of job {job} are not a list: {list}"))
        .iter()
        .map(|m| {
            let name = m["name"]
                .as_str()
                .unwrap_or_else(|| panic!("metric without a name: {m}"))
                .to_string();
            let raw = if m["raw_value"].is_null() {
                m["value"].clone()
            } else {
                m["raw_value"].clone()
            };
            (name, raw)
        })
        .collect()
}

fn number(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn a_tool_mapped_to_slurm_runs_there_while_another_runs_locally() {
    let slurm = SlurmCluster::start();
    let conf = job_conf(&[], &[("sort1", "local")]);
    let server = TestServer::start(Backend::Sqlite, opts(&slurm, &conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "mapping");
    let d = paste(api, &hid, "pear\napple\nfig\n");

    let squeue_before = slurm_calls(api, "squeue");
    let sbatch_before = slurm_calls(api, "sbatch");
    let started = Instant::now();
    let cats: Vec<(String, String)> = (0..10)
        .map(|_| run(api, &hid, "cat1", json!({"input1": hda(&d)})))
        .collect();
    let sorts: Vec<(String, String)> = (0..10)
        .map(|_| run(api, &hid, "sort1", json!({"input": hda(&d)})))
        .collect();
    for (job, _) in cats.iter().chain(&sorts) {
        server.wait_job_ok(ADMIN_KEY, job);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let squeue = slurm_calls(api, "squeue") - squeue_before;
    let sbatch = slurm_calls(api, "sbatch") - sbatch_before;
    // One handler, poll_interval 0.5 s: at most one squeue per poll for all its jobs.
    assert!(
        squeue >= 1.0 && squeue <= elapsed / 0.5 + 2.0,
        "{squeue} squeue calls in {elapsed:.1} s for 10 jobs (poll interval 0.5 s)"
    );
    assert!(sbatch >= 10.0, "{sbatch} sbatch calls for 10 Slurm jobs");

    let mut instances = BTreeSet::new();
    let mut slurm_ids = BTreeSet::new();
    for (job, out) in &cats {
        let f = full(api, job);
        let ext = assert_on_slurm(&f, "slurm");
        let done = slurm
            .completion(&ext)
            .unwrap_or_else(|| panic!("Slurm job {ext} of {job} not in jobcomp.log: {f}"));
        assert_eq!(done.state, "COMPLETED", "{done:?}");
        let name = GalaxyJobName::parse(&done.name)
            .unwrap_or_else(|| panic!("Slurm job name {:?}", done.name));
        assert_eq!(name.attempt, 1, "{done:?}");
        instances.insert(name.instance);
        slurm_ids.insert(ext);
        server.assert_dataset(ADMIN_KEY, out, "pear\napple\nfig\n");
    }
    assert_eq!(
        instances.len(),
        1,
        "one server, one instance: {instances:?}"
    );
    assert_eq!(slurm_ids.len(), 10);
    for (job, out) in &sorts {
        let f = full(api, job);
        assert!(
            f["job_runner_name"]
                .as_str()
                .is_some_and(|r| r.starts_with("local:")),
            "sort1 runs locally: {f}"
        );
        assert_eq!(f["destination_id"], "local", "{f}");
        server.assert_dataset(ADMIN_KEY, out, "apple\nfig\npear\n");
    }
    let completed: BTreeSet<String> = slurm.completions().into_iter().map(|c| c.job_id).collect();
    assert_eq!(completed, slurm_ids, "only the cat1 jobs went to Slurm");

    // Galaxy's core job metrics, for a Slurm job and a local one.
    for job in [&cats[0].0, &sorts[0].0] {
        let m = job_metrics(api, job);
        for name in [
            "runtime_seconds",
            "start_epoch",
            "end_epoch",
            "galaxy_slots",
        ] {
            assert!(m.contains_key(name), "job {job} has no {name}: {m:?}");
        }
        assert!(number(&m["runtime_seconds"]) >= 0.0, "{m:?}");
        assert!(
            number(&m["end_epoch"]) >= number(&m["start_epoch"]),
            "{m:?}"
        );
        assert!(number(&m["galaxy_slots"]) >= 1.0, "{m:?}");
    }
}

/// Galaxy's CLI runner with the Slurm job plugin on the local shell is the Slurm runner under
/// another name.
#[test]
fn the_cli_runner_with_the_slurm_job_plugin_submits_to_slurm() {
    let slurm = SlurmCluster::start();
    let conf = "runners:\n\
                \x20 local: {load: galaxy.jobs.runners.local:LocalJobRunner, workers: 4}\n\
                \x20 cli: {load: galaxy.jobs.runners.cli:ShellJobRunner, workers: 4}\n\
                execution:\n\
                \x20 default: cluster\n\
                \x20 environments:\n\
                \x20   cluster: {runner: cli, job_plugin: Slurm, shell_plugin: LocalShell}\n\
                \x20   local: {runner: local}\n";
    let server = TestServer::start(Backend::Sqlite, opts(&slurm, conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "cli");
    let d = paste(api, &hid, "b\na\n");
    let (job, out) = run(api, &hid, "sort1", json!({"input": hda(&d)}));
    server.wait_job_ok(ADMIN_KEY, &job);
    server.assert_dataset(ADMIN_KEY, &out, "a\nb\n");
    let f = full(api, &job);
    assert_eq!(f["destination_id"], "cluster", "{f}");
    let ext = crate::support::external_id(&f);
    let done = slurm
        .completion(&ext)
        .unwrap_or_else(|| panic!("Slurm job {ext} not in jobcomp.log: {f}"));
    assert_eq!(done.state, "COMPLETED");
    assert!(GalaxyJobName::parse(&done.name).is_some(), "{done:?}");
    assert_eq!(slurm.completions().len(), 1);
}
