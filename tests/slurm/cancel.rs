//! Slurm's job states seen through the API, and cancelling a job Slurm is running.

use std::time::Duration;

use serde_json::json;

use crate::cluster::SlurmCluster;
use crate::helpers::{
    ADMIN_KEY, Backend, TestServer, eventually, processes_with_cmdline, unique_number,
};
use crate::support::{external_id, full, job_conf, opts, run, slurm_calls, state, wait_state};

#[test]
fn cancelling_a_running_slurm_job_cancels_it_in_slurm_and_leaves_no_process() {
    let slurm = SlurmCluster::start();
    let server = TestServer::start(Backend::Sqlite, opts(&slurm, &job_conf(&[], &[])));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "cancel");
    let secs = unique_number(300, 600);
    let argv = ["sleep", &secs.to_string()].map(String::from);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (job, _) = run(api, &hid, "sleep", json!({"seconds": secs}));

    let running = wait_state(api, &job, &["running"], Duration::from_secs(60))
        .unwrap_or_else(|| panic!("job {job} never running\n{}", server.log_tail()));
    let ext = external_id(&running);
    assert!(
        eventually(Duration::from_secs(20), || {
            slurm.state_of(&ext).as_deref() == Some("RUNNING")
                && !processes_with_cmdline(&argv).is_empty()
        }),
        "Slurm job {ext}: {:?}, processes {:?}",
        slurm.state_of(&ext),
        processes_with_cmdline(&argv)
    );

    let scancel_before = slurm_calls(api, "scancel");
    let (status, body) = api.delete(&format!("/api/jobs/{job}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "DELETE /api/jobs/{job}: {body}");
    let deleted = wait_state(api, &job, &["deleted"], Duration::from_secs(30));
    assert!(
        deleted.is_some(),
        "job {job} is {} after cancel: {}\n{}",
        state(api, &job),
        full(api, &job),
        server.log_tail()
    );
    assert!(
        eventually(Duration::from_secs(30), || slurm.state_of(&ext).as_deref()
            == Some("CANCELLED")),
        "Slurm job {ext} is {:?}, not CANCELLED",
        slurm.state_of(&ext)
    );
    assert!(
        eventually(Duration::from_secs(15), || processes_with_cmdline(&argv)
            .is_empty()),
        "`sleep {secs}` still runs: {:?}",
        processes_with_cmdline(&argv)
    );
    assert!(slurm_calls(api, "scancel") - scancel_before >= 1.0);
    // It stays cancelled.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(state(api, &job), "deleted");
    assert_eq!(slurm.completions().len(), 1, "{:?}", slurm.completions());
}

/// A held job is PENDING in Slurm and `queued` in Galaxy; released, it is RUNNING and
/// `running`, then `ok`.
#[test]
fn pending_is_queued_and_running_is_running() {
    let slurm = SlurmCluster::start();
    let conf = job_conf(
        &["held: {runner: slurm, native_specification: \"--hold\"}"],
        &[("sleep", "held")],
    );
    let server = TestServer::start(Backend::Sqlite, opts(&slurm, &conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "states");
    let (job, out) = run(api, &hid, "sleep", json!({"seconds": 3}));

    let mut ext = String::new();
    assert!(
        eventually(Duration::from_secs(30), || {
            let f = full(api, &job);
            match f["job_runner_external_id"].as_str() {
                Some(id) if !id.is_empty() => {
                    ext = id.to_string();
                    true
                }
                _ => false,
            }
        }),
        "job {job} never got a Slurm job id: {}\n{}",
        full(api, &job),
        server.log_tail()
    );
    assert_eq!(slurm.state_of(&ext).as_deref(), Some("PENDING"));
    // Several polls later, still queued.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(slurm.state_of(&ext).as_deref(), Some("PENDING"));
    assert_eq!(state(api, &job), "queued", "{}", full(api, &job));

    let out_release = slurm.run("scontrol", &["release", &ext]);
    assert!(out_release.status.success(), "scontrol release {ext}");
    let running = wait_state(api, &job, &["running"], Duration::from_secs(30));
    assert!(
        running.is_some(),
        "job {job} never running after release: {}\n{}",
        full(api, &job),
        server.log_tail()
    );
    let s = slurm.state_of(&ext).unwrap_or_default();
    assert!(
        ["RUNNING", "COMPLETING", "COMPLETED"].contains(&s.as_str()),
        "Slurm says {s} while Galaxy says running"
    );
    server.wait_job_ok(ADMIN_KEY, &job);
    server.assert_dataset(ADMIN_KEY, &out, "slept 3\n");
    let f = full(api, &job);
    assert_eq!(f["destination_id"], "held", "{f}");
    assert_eq!(external_id(&f), ext);
}
