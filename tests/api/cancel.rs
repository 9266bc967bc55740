//! Cancelling a running job (`DELETE /api/jobs/{id}`) kills its process.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    Backend, Opts, TestServer, eventually, processes_with_cmdline, str_field, unique_number,
};

both_backends!(cancel_running_job);

fn cancel_running_job(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("canceller");
    let hid = server.create_history(&user.key, "cancel");

    let seconds = unique_number(900, 80_000).to_string();
    let argv = ["sleep", seconds.as_str()];
    assert!(
        processes_with_cmdline(&argv).is_empty(),
        "a `sleep {seconds}` process exists before the test started"
    );
    let run = server.run_tool(
        &user.key,
        &hid,
        "sleep",
        json!({ "seconds": seconds.parse::<u64>().unwrap() }),
    );
    let job = str_field(&run["jobs"][0], "id");
    let out = str_field(&run["outputs"][0], "id");

    server.wait_job_state(&user.key, &job, &["running"], Duration::from_secs(30));
    assert!(
        eventually(Duration::from_secs(10), || !processes_with_cmdline(&argv)
            .is_empty()),
        "job {job} is running but no process `sleep {seconds}` exists\n{}",
        server.log_tail()
    );

    let (status, body) = server
        .api
        .delete(&format!("/api/jobs/{job}"), Some(&user.key));
    assert_eq!(status, 200, "DELETE /api/jobs/{job}: {body}");

    let mut seen = Vec::new();
    let ok = eventually(Duration::from_secs(30), || {
        let state = server.job_state(&user.key, &job);
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        state == "deleted"
    });
    assert!(
        ok,
        "job {job} did not reach `deleted`; states seen: {seen:?}\n{}",
        server.log_tail()
    );
    for s in &seen {
        assert!(
            ["running", "deleting", "deleted"].contains(&s.as_str()),
            "unexpected state {s} while cancelling; states seen: {seen:?}"
        );
    }
    assert!(
        eventually(Duration::from_secs(10), || processes_with_cmdline(&argv)
            .is_empty()),
        "process `sleep {seconds}` still alive 10 s after the job was deleted: pids {:?}",
        processes_with_cmdline(&argv)
    );

    // Stays deleted: the killed process's exit must not turn it into error or ok.
    std::thread::sleep(Duration::from_secs(2));
    let j = server.job(&user.key, &job);
    assert_eq!(j["state"], "deleted", "job after cancel settled: {j}");
    let d = server.dataset(&user.key, &out);
    assert_ne!(
        d["state"], "ok",
        "output of a cancelled job must not be ok: {d}"
    );

    // Cancelling again is harmless.
    let (status, body) = server
        .api
        .delete(&format!("/api/jobs/{job}"), Some(&user.key));
    assert_eq!(status, 200, "second DELETE /api/jobs/{job}: {body}");
}
