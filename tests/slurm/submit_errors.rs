//! A submission Slurm refuses fails that job alone, with Slurm's words.

use std::time::Duration;

use serde_json::json;

use crate::cluster::SlurmCluster;
use crate::helpers::{ADMIN_KEY, Backend, TestServer};
use crate::support::{assert_on_slurm, full, hda, job_conf, opts, paste, run, wait_state};

#[test]
fn a_bad_native_specification_fails_only_that_job_with_slurms_message() {
    let slurm = SlurmCluster::start();
    let conf = job_conf(&[], &[("cat1", "badspec")]);
    let server = TestServer::start(Backend::Sqlite, opts(&slurm, &conf));
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "badspec");
    let d = paste(api, &hid, "b\nc\na\n");
    let (bad, _) = run(api, &hid, "cat1", json!({"input1": hda(&d)}));
    let (good, out) = run(api, &hid, "sort1", json!({"input": hda(&d)}));

    let failed = wait_state(
        api,
        &bad,
        &["ok", "error", "deleted", "paused"],
        Duration::from_secs(60),
    )
    .unwrap_or_else(|| {
        panic!(
            "job {bad} never ended: {}\n{}",
            full(api, &bad),
            server.log_tail()
        )
    });
    assert_eq!(failed["state"], "error", "{failed}");
    let said = format!(
        "{} {}",
        failed["info"].as_str().unwrap_or_default(),
        failed["stderr"].as_str().unwrap_or_default()
    )
    .to_lowercase();
    assert!(
        said.contains("invalid partition"),
        "Slurm's message in info/stderr: {failed}"
    );
    assert_eq!(failed["destination_id"], "badspec", "{failed}");

    server.wait_job_ok(ADMIN_KEY, &good);
    server.assert_dataset(ADMIN_KEY, &out, "a\nb\nc\n");
    let ext = assert_on_slurm(&full(api, &good), "slurm");
    let ran: Vec<String> = slurm.completions().into_iter().map(|c| c.job_id).collect();
    assert_eq!(ran, vec![ext], "only the good job ran in Slurm");

    // The server keeps going: another bad job fails the same way, another good one runs.
    let (bad2, _) = run(api, &hid, "cat1", json!({"input1": hda(&d)}));
    let (good2, _) = run(api, &hid, "sort1", json!({"input": hda(&d)}));
    server.wait_job_ok(ADMIN_KEY, &good2);
    let failed2 = server.wait_job(ADMIN_KEY, &bad2);
    assert_eq!(failed2["state"], "error", "{failed2}");
}
