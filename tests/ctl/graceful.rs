//! `ctl graceful` while clients load the API and jobs are submitted: no request fails, every
//! job finishes, every process is replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::lifecycle::{ALL, assert_stopped, started};
use crate::support::{Ctl, alive};

#[test]
fn graceful_reload_fails_no_request_and_loses_no_job() {
    let c = Ctl::new(2);
    started(&c);
    let before = c.status();
    let hid = c.history();
    let ds = c.paste(&hid, "a\nb\n");

    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, done, failed, errors) =
            (stop.clone(), done.clone(), failed.clone(), errors.clone());
        let url = format!("{}/api/version", c.url);
        load.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            while !stop.load(Ordering::SeqCst) {
                match client.get(&url).send() {
                    Ok(r) if r.status().is_success() => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    other => {
                        failed.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut e) = errors.lock() {
                            e.push(format!("{other:?}"));
                        }
                    }
                }
            }
        }));
    }
    // Jobs keep being submitted through the reload.
    let submitter = {
        let (stop, url, hid, ds) = (stop.clone(), c.url.clone(), hid.clone(), ds.clone());
        std::thread::spawn(move || {
            let api = crate::helpers::Api::new(&url);
            let mut ids = Vec::new();
            let mut failures = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let (status, run) = api.post(
                    "/api/tools",
                    Some(crate::helpers::ADMIN_KEY),
                    &serde_json::json!({"tool_id": "cat1", "history_id": hid,
                        "inputs": {"input1": {"src": "hda", "id": ds}}}),
                );
                match run["jobs"][0]["id"].as_str() {
                    Some(id) if status == 200 => ids.push(id.to_string()),
                    _ => failures.push(format!("{status}: {run}")),
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            (ids, failures)
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    c.ok(&["graceful"]);
    let took = t0.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    for t in load {
        let _ = t.join();
    }
    let (jobs, submit_failures) = submitter.join().expect("submitter");
    let (done, failed) = (done.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!(
        "graceful took {took:?}: {done} requests ok, {failed} failed, {} jobs",
        jobs.len()
    );
    assert_eq!(
        failed,
        0,
        "failed requests during graceful: {:?}\n{}",
        errors
            .lock()
            .map(|e| e.iter().take(5).cloned().collect::<Vec<_>>()),
        c.logs()
    );
    assert!(
        submit_failures.is_empty(),
        "job submissions failed: {submit_failures:?}"
    );
    assert!(
        done > 100,
        "too little load to mean anything: {done} requests"
    );
    assert!(jobs.len() >= 5, "too few jobs submitted: {}", jobs.len());
    for j in &jobs {
        assert_eq!(
            c.wait_job(j, Duration::from_secs(90)),
            "ok",
            "job {j} after graceful\n{}",
            c.logs()
        );
    }
    // Every process was replaced.
    let after = c.status();
    for n in ALL {
        assert_ne!(
            before[n].pid, after[n].pid,
            "{n} was not reloaded: {after:?}"
        );
        assert!(
            after[n].pid.is_some_and(alive),
            "{n} is not running: {after:?}"
        );
    }
    let mut pids: Vec<u32> = after.values().filter_map(|r| r.pid).collect();
    pids.extend(before.values().filter_map(|r| r.pid));
    assert_stopped(&c, &pids);
}
