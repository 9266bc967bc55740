//! PostgreSQL crashes (`pg_ctl stop -m immediate`: WAL not yet flushed is lost) while
//! clients submit jobs into one history: every job a client was told about is there after
//! the restart with its outputs, and no hid is ever handed out twice (the hids are reserved
//! by a statement that does not wait for the flush; the job's own durable commit must carry
//! the reservation to disk).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{ADMIN_KEY, Api, Backend, Opts, TestServer, eventually};
use crate::private_pg::PrivatePg;

const JOB_CONF: &str = "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 4\nexecution:\n  default: local\n  environments:\n    local: {runner: local}\nhandling:\n  assign: [db-skip-locked]\ntools:\n  - id: cat1\n    handler: nobody\n";

#[test]
fn a_database_crash_loses_no_answered_job_and_reuses_no_hid() {
    let pg = PrivatePg::start();
    // cat1 waits for a pool no process serves: nothing but the submissions commits, so no
    // other durable commit flushes the WAL behind them (a job committed without waiting for
    // the flush would be lost).
    let server = TestServer::start(
        Backend::Postgres,
        Opts::default()
            .database_connection(&pg.url())
            .file("job_conf.yml", JOB_CONF)
            .job_config_file("job_conf.yml"),
    );
    let hid = server.create_history(ADMIN_KEY, "crash");
    let (ds, up) = server.paste(ADMIN_KEY, &hid, "durable\n");
    server.wait_job_ok(ADMIN_KEY, &up);

    let answered: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url.clone();
    std::thread::scope(|s| {
        for _ in 0..8 {
            let (answered, stop, hid, ds, url) = (answered.clone(), stop.clone(), &hid, &ds, &url);
            s.spawn(move || {
                let api = Api::new(url);
                while !stop.load(Ordering::SeqCst) {
                    if let Some(created) = api.try_cat1(ADMIN_KEY, hid, ds) {
                        answered.lock().expect("lock").push(created);
                    }
                }
            });
        }
        let enough = eventually(Duration::from_secs(60), || {
            answered.lock().expect("lock").len() >= 150
        });
        assert!(enough, "submissions too slow");
        pg.crash_server();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
    });
    let answered = answered.lock().expect("lock").clone();
    pg.start_server();

    // Every answered job is there, with its output.
    let back = eventually(Duration::from_secs(60), || {
        server.api.get("/api/histories", Some(ADMIN_KEY)).0 == 200
    });
    assert!(back, "the API did not come back after the database restart");
    let mut lost = Vec::new();
    for (job, out, _) in &answered {
        let (status, j) = server.api.get(&format!("/api/jobs/{job}"), Some(ADMIN_KEY));
        let (dstatus, _) = server
            .api
            .get(&format!("/api/datasets/{out}"), Some(ADMIN_KEY));
        if status != 200 || dstatus != 200 || j["state"] != "new" {
            lost.push((job.clone(), status, dstatus, j["state"].clone()));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} jobs answered before the crash are gone or changed: {lost:?}",
        lost.len(),
        answered.len()
    );
    // Submissions after the restart get hids no dataset of the history has.
    let api = Api::new(&server.url);
    let mut fresh = Vec::new();
    for _ in 0..20 {
        let created = api
            .try_cat1(ADMIN_KEY, &hid, &ds)
            .expect("submit after the restart");
        fresh.push(created);
    }
    let (status, contents) = server
        .api
        .get(&format!("/api/histories/{hid}/contents"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{contents}");
    let hids: Vec<i64> = contents
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["hid"].as_i64()).collect())
        .unwrap_or_default();
    let unique: BTreeSet<i64> = hids.iter().copied().collect();
    assert_eq!(unique.len(), hids.len(), "a hid is used twice: {hids:?}");
    assert_eq!(fresh.len(), 20);
}
