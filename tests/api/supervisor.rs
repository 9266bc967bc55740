//! The job-handler actor owns its monitor loop: when a pass panics, the actor stops, its
//! supervisor restarts it, and the new loop goes on claiming and running jobs.

use std::time::Duration;

use crate::helpers::{Backend, Opts, TestServer, eventually};

both_backends!(a_panicking_monitor_pass_restarts_the_handler_and_jobs_still_run);

fn a_panicking_monitor_pass_restarts_the_handler_and_jobs_still_run(backend: Backend) {
    // The third pass panics: the server has started, its handler has made two passes.
    let server = TestServer::start(
        backend,
        Opts::default().env("GALAXY_SERVER_FAULTS", "monitor-pass-panic@3"),
    );
    assert!(
        eventually(Duration::from_secs(20), || server
            .log()
            .contains("restarting")),
        "the handler actor was not restarted after its monitor pass panicked\n{}",
        server.log_tail()
    );
    assert!(
        server.log().contains("injected fault: monitor-pass-panic"),
        "the injected panic did not happen\n{}",
        server.log_tail()
    );
    let user = server.create_user("survivor");
    let hid = server.create_history(&user.key, "after a panic");
    let (data, upload) = server.paste(&user.key, &hid, "b\na\n");
    server.wait_job_ok(&user.key, &upload);
    let (out, job) = server.run_on(&user.key, &hid, "sort1", "input", &data);
    server.wait_job_ok(&user.key, &job);
    server.assert_dataset(&user.key, &out, "a\nb\n");
    assert_eq!(
        server
            .log()
            .matches("injected fault: monitor-pass-panic")
            .count(),
        1,
        "the fault fired more than once\n{}",
        server.log_tail()
    );
}
