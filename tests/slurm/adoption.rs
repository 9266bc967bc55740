//! Slurm jobs outlive their handler: a survivor adopts a killed handler's jobs, and a handler
//! coming back finishes a job Slurm has already forgotten from its exit-code file.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::cluster::{GalaxyJobName, SlurmCluster};
use crate::helpers::{ADMIN_KEY, Api, Backend, TestServer, eventually};
use crate::split::Cluster;
use crate::support::{
    assert_on_slurm, assert_submitted_once, full, job_conf, opts, run, split_opts, wait_state,
};

#[test]
fn kill_9_of_a_handler_with_50_slurm_jobs_loses_none_and_submits_none_twice() {
    let slurm = SlurmCluster::start();
    let mut c = Cluster::new(Backend::Postgres, &split_opts(&slurm));
    c.start_web();
    c.start_handler("k1", &["job-handlers"]);
    c.start_handler("k2", &["job-handlers"]);
    let hid = c.history();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (url, hid) = (c.url.clone(), hid.clone());
            s.spawn(move || {
                let api = Api::new(&url);
                for _ in 0..25 {
                    run(&api, &hid, "sleep", json!({"seconds": 2}));
                }
            });
        }
    });

    // k1 has jobs in Slurm (queued or running there); kill it without warning.
    let held = "SELECT id FROM job WHERE handler = 'k1' AND state IN ('queued', 'running') \
                AND job_runner_external_id IS NOT NULL ORDER BY id";
    assert!(
        eventually(Duration::from_secs(60), || c.sql(held).len() >= 3),
        "k1 never had Slurm jobs: {:?}\n{}",
        c.by_handler("sleep"),
        c.logs()
    );
    c.proc("k1").kill9();
    let orphans = c
        .sql("SELECT id FROM job WHERE handler = 'k1' AND state NOT IN ('ok', 'error', 'deleted')");
    assert!(!orphans.is_empty());

    c.wait_terminal("sleep", 50, Duration::from_secs(180));
    let counts = c.by_handler("sleep");
    assert!(
        counts.keys().all(|(_, s)| s == "ok"),
        "every job ends ok: {counts:?}\n{}",
        c.logs()
    );
    for id in &orphans {
        let row = c.sql(&format!("SELECT state, handler FROM job WHERE id = {id}"));
        assert_eq!(
            row,
            vec!["ok|k2".to_string()],
            "job {id}, k1's at the kill, adopted by k2"
        );
    }
    // Slurm's record: every Galaxy job submitted exactly once, under the id recorded.
    let rows = c.sql("SELECT id, job_runner_external_id FROM job WHERE tool_id = 'sleep'");
    let mut ids = BTreeSet::new();
    for row in &rows {
        let (id, ext) = row.split_once('|').expect("id|external id");
        let id: i64 = id.parse().expect("job id");
        ids.insert(id);
        let done = slurm
            .completion(ext)
            .unwrap_or_else(|| panic!("job {id}: Slurm job {ext:?} not in jobcomp.log"));
        assert_eq!(done.state, "COMPLETED", "job {id}: {done:?}");
        assert_eq!(
            GalaxyJobName::parse(&done.name).map(|n| n.job_id),
            Some(id),
            "{done:?}"
        );
    }
    assert_eq!(ids.len(), 50);
    assert_submitted_once(&slurm, &ids);
    assert_eq!(slurm.completions().len(), 50, "Slurm ran exactly 50 jobs");
}

#[test]
fn a_job_slurm_has_forgotten_is_finished_from_its_exit_code_file() {
    let slurm = SlurmCluster::with_min_job_age(2);
    let mut server = TestServer::start(Backend::Sqlite, opts(&slurm, &job_conf(&[], &[])));
    let hid = server.create_history(ADMIN_KEY, "aged-out");
    let (job, out) = run(&server.api, &hid, "sleep", json!({"seconds": 4}));
    let running = wait_state(&server.api, &job, &["running"], Duration::from_secs(60))
        .unwrap_or_else(|| panic!("job {job} never running\n{}", server.log_tail()));
    let ext = crate::support::external_id(&running);

    // The handler stops cleanly while Slurm runs the job…
    let status = server.stop();
    assert!(status.success(), "galaxy-server stopped with {status}");
    // …which ends, and ages out of Slurm's memory.
    let done = slurm.wait_completion(&ext, Duration::from_secs(60));
    assert_eq!(done.state, "COMPLETED", "{done:?}");
    assert!(
        eventually(Duration::from_secs(40), || slurm
            .scontrol_job(&ext)
            .is_none()
            && slurm.squeue().iter().all(|q| q.job_id != ext)),
        "Slurm job {ext} never aged out (MinJobAge=2)"
    );

    server.start_again();
    server.wait_job_ok(ADMIN_KEY, &job);
    server.assert_dataset(ADMIN_KEY, &out, "slept 4\n");
    assert_eq!(assert_on_slurm(&full(&server.api, &job), "slurm"), ext);
    assert_eq!(slurm.completions().len(), 1, "never resubmitted");
}
