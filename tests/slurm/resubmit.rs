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

/// Slurm's own time limit: attempt 1 in `slurm_short` (1 minute, Slurm's smallest; its `env`
/// entry sleeps past it) ends `TIMEOUT` in Slurm, and the rule sends the job to `slurm`,
/// where it runs as attempt 2 and ends ok. Slurm's records show both submissions.
#[test]
fn a_slurm_timeout_is_resubmitted_to_another_environment() {
    let slurm = SlurmCluster::start();
    let short = "slurm_short: {runner: slurm, walltime: \"00:00:20\", env: [{execute: \"sleep 600\"}], \
                 resubmit: [{condition: \"walltime_reached and attempt < 2\", environment: slurm, delay: 1}]}";
    let conf = job_conf(&[short], &[("sleep", "slurm_short")]);
    let server = TestServer::start(Backend::Postgres, opts(&slurm, &conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "timeout");
    let (job, out) = run(api, &hid, "sleep", json!({"seconds": 1}));

    let done = wait_state(
        api,
        &job,
        &["ok", "error", "deleted", "paused"],
        Duration::from_secs(200),
    )
    .unwrap_or_else(|| {
        panic!(
            "job {job} never ended: {}\n{}",
            full(api, &job),
            server.log_tail()
        )
    });
    assert_eq!(done["state"], "ok", "{done}\n{}", server.log_tail());
    server.assert_dataset(ADMIN_KEY, &out, "slept 1\n");
    let ext = assert_on_slurm(&done, "slurm");

    let db = &server.dir.pg.as_ref().expect("PostgreSQL").name;
    let id: i64 = psql(db, "SELECT id FROM job WHERE tool_id = 'sleep'")
        .expect("psql")
        .trim()
        .parse()
        .expect("one sleep job");
    let by_job = slurm.galaxy_completions();
    let subs = by_job.get(&id).unwrap_or_else(|| {
        panic!(
            "Galaxy job {id} not in jobcomp.log: {:?}",
            slurm.completions()
        )
    });
    let states: Vec<(u32, String)> = subs.iter().map(|(a, c)| (*a, c.state.clone())).collect();
    assert_eq!(
        states,
        vec![(1, "TIMEOUT".to_string()), (2, "COMPLETED".to_string())],
        "attempt 1 timed out in Slurm, attempt 2 completed: {subs:?}"
    );
    assert_eq!(subs[1].1.job_id, ext);
    let info = psql(
        db,
        &format!("SELECT info FROM job_state_history WHERE job_id = {id} AND info IS NOT NULL"),
    )
    .expect("psql");
    assert!(
        info.contains("walltime") && info.contains("attempt 2"),
        "the state history says why: {info}"
    );
}
