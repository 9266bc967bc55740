//! Many clients submitting at once into the same history: every job created once, with
//! distinct outputs and hids, and every output right; and a crash right after answering
//! submissions loses none of the jobs the clients were told about.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::{Api, Backend, Opts, TestServer, str_field};

both_backends!(
    concurrent_submissions_create_each_job_once,
    a_crash_after_answering_loses_no_job
);

fn concurrent_submissions_create_each_job_once(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("submitter");
    let key = user.key.clone();
    let hid = server.create_history(&key, "many at once");
    let (ds, up) = server.paste(&key, &hid, "same\ncontent\n");
    server.wait_job_ok(&key, &up);
    let done: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let (threads, each) = (12, 20);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (done, key, hid, ds, url) = (done.clone(), &key, &hid, &ds, &server.url);
            s.spawn(move || {
                let api = Api::new(url);
                for _ in 0..each {
                    let created = api.try_cat1(key, hid, ds).expect("a submission refused");
                    done.lock().expect("lock").push(created);
                }
            });
        }
    });
    let done = done.lock().expect("lock").clone();
    assert_eq!(done.len(), threads * each);
    let jobs: BTreeSet<&String> = done.iter().map(|d| &d.0).collect();
    let outputs: BTreeSet<&String> = done.iter().map(|d| &d.1).collect();
    let hids: BTreeSet<i64> = done.iter().map(|d| d.2).collect();
    assert_eq!(jobs.len(), done.len(), "a job id answered twice");
    assert_eq!(outputs.len(), done.len(), "an output answered twice");
    assert_eq!(hids.len(), done.len(), "two outputs share a hid: {hids:?}");
    // The history holds exactly these jobs: none created twice, none missing.
    let (status, listed) = server.api.get(
        &format!("/api/jobs?history_id={hid}&tool_id=cat1&limit=10000"),
        Some(&key),
    );
    assert_eq!(status, 200, "{listed}");
    let listed: BTreeSet<String> = listed
        .as_array()
        .map(|a| a.iter().map(|j| str_field(j, "id")).collect())
        .unwrap_or_default();
    let answered: BTreeSet<String> = jobs.into_iter().cloned().collect();
    assert_eq!(listed, answered);
    for (job, out, _) in &done {
        server.wait_job_ok(&key, job);
        server.assert_dataset(&key, out, "same\ncontent\n");
    }
    // Listing by state answers from the history's jobs in that state only.
    let (status, left) = server.api.get(
        &format!("/api/jobs?history_id={hid}&state=new,queued,running&limit=1"),
        Some(&key),
    );
    assert_eq!(status, 200);
    assert_eq!(left, json!([]));
}

fn a_crash_after_answering_loses_no_job(backend: Backend) {
    let mut server = TestServer::start(backend, Opts::default());
    let user = server.create_user("crasher");
    let key = user.key.clone();
    let hid = server.create_history(&key, "crash");
    let (ds, up) = server.paste(&key, &hid, "kept\n");
    server.wait_job_ok(&key, &up);
    let answered: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = server.url.clone();
    std::thread::scope(|s| {
        for _ in 0..6 {
            let (answered, stop, key, hid, ds, url) =
                (answered.clone(), stop.clone(), &key, &hid, &ds, &url);
            s.spawn(move || {
                let api = Api::new(url);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    match api.try_cat1(key, hid, ds) {
                        Some(created) => answered.lock().expect("lock").push(created),
                        None => break,
                    }
                }
            });
        }
        // Kill the server while the submissions pour in.
        let enough = crate::helpers::eventually(std::time::Duration::from_secs(60), || {
            answered.lock().expect("lock").len() >= 60
        });
        assert!(enough, "submissions too slow");
        server.kill9();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let answered = answered.lock().expect("lock").clone();
    server.start_again();
    for (job, out, _) in &answered {
        let (status, j): (u16, Value) = server.api.get(&format!("/api/jobs/{job}"), Some(&key));
        assert_eq!(
            status, 200,
            "job {job} answered before the crash is gone: {j}"
        );
        server.wait_job_ok(&key, job);
        server.assert_dataset(&key, out, "kept\n");
    }
    // New submissions after the restart get hids no answered output had.
    let api = Api::new(&server.url);
    let before: BTreeSet<i64> = answered.iter().map(|a| a.2).collect();
    for _ in 0..5 {
        let (job, _, h) = api.try_cat1(&key, &hid, &ds).expect("submit after restart");
        assert!(!before.contains(&h), "hid {h} handed out twice");
        server.wait_job_ok(&key, &job);
    }
}
