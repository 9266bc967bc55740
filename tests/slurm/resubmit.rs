//! Resubmission: a job over its local walltime goes to Slurm as attempt 2.

use std::time::Duration;

use serde_json::json;

use crate::cluster::SlurmCluster;
use crate::helpers::{ADMIN_KEY, Backend, TestServer, psql};
use crate::support::{assert_on_slurm, full, job_conf, opts, run, wait_state};

#[test]
fn a_job_over_its_local_walltime_is_resubmitted_to_slurm_and_ends_ok() {
    let slurm = SlurmCluster::start();
    let conf = job_conf(&[], &[("sleep", "short")]);
    let server = TestServer::start(Backend::Postgres, opts(&slurm, &conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "resubmit");
    let (job, out) = run(api, &hid, "sleep", json!({"seconds": 10}));

    let done = wait_state(
        api,
        &job,
        &["ok", "error", "deleted", "paused"],
        Duration::from_secs(90),
    )
    .unwrap_or_else(|| {
        panic!(
            "job {job} never ended: {}\n{}",
            full(api, &job),
            server.log_tail()
        )
    });
    assert_eq!(done["state"], "ok", "{done}\n{}", server.log_tail());
    server.assert_dataset(ADMIN_KEY, &out, "slept 10\n");
    let ext = assert_on_slurm(&done, "slurm");

    let db = &server.dir.pg.as_ref().expect("PostgreSQL").name;
    let id: i64 = psql(db, "SELECT id FROM job WHERE tool_id = 'sleep'")
        .expect("psql")
        .trim()
        .parse()
        .expect("one sleep job");
    // Slurm saw attempt 2 only (attempt 1 ran locally), under the recorded id.
    let by_job = slurm.galaxy_completions();
    let subs = by_job.get(&id).unwrap_or_else(|| {
        panic!(
            "Galaxy job {id} not in jobcomp.log: {:?}",
            slurm.completions()
        )
    });
    assert_eq!(subs.len(), 1, "{subs:?}");
    let (attempt, c) = &subs[0];
    assert_eq!(*attempt, 2, "the Slurm submission is attempt 2: {c:?}");
    assert_eq!(c.job_id, ext);
    assert_eq!(c.state, "COMPLETED");
    assert_eq!(by_job.len(), 1, "{by_job:?}");

    // The state history shows both attempts: it ran twice, and ended ok.
    let history: Vec<String> = psql(
        db,
        &format!(
            "SELECT state FROM job_state_history WHERE job_id = {id} ORDER BY create_time, id"
        ),
    )
    .expect("psql")
    .lines()
    .map(str::to_string)
    .collect();
    assert!(
        history.iter().filter(|s| *s == "running").count() >= 2,
        "two attempts in the state history: {history:?}"
    );
    assert_eq!(
        history.last().map(String::as_str),
        Some("ok"),
        "{history:?}"
    );
}
