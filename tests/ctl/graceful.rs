//! `ctl graceful` while clients load the API and jobs are submitted: no request fails, every
//! job finishes, every process is replaced; and twenty reloads in a row under clients that open
//! a new connection per request and clients that keep theirs alive, with every `POST
//! /api/tools` answered creating exactly one job.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::{ADMIN_KEY, eventually};
use crate::lifecycle::{ALL, assert_stopped, started};
use crate::load::{Client, Connection, Outcome};
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

const RELOADS: usize = 20;

#[test]
fn graceful_twenty_reloads_drop_no_request_and_create_each_job_once() {
    let c = Ctl::new(1);
    c.ok(&["start"]);
    c.wait_web();
    let names = ["main", "handler_0", "static1"];
    let running = eventually(Duration::from_secs(30), || {
        let st = c.status();
        names
            .iter()
            .all(|n| st.get(*n).is_some_and(|r| r.state == "running"))
    });
    assert!(running, "not every process runs: {:?}", c.status());
    let hid = c.history();
    let ds = c.paste(&hid, "a\n");
    let run = serde_json::json!({"tool_id": "cat1", "history_id": hid,
        "inputs": {"input1": {"src": "hda", "id": ds}}})
    .to_string();

    let ms = Duration::from_millis;
    let port = c.dir.port;
    let get = |connection, think: Vec<Duration>| Client {
        port,
        connection,
        method: "GET",
        path: "/api/jobs?limit=20".into(),
        body: None,
        think,
        slow_body: None,
    };
    let post = |connection, think: Vec<Duration>| Client {
        port,
        connection,
        method: "POST",
        path: "/api/tools".into(),
        body: Some(run.clone()),
        think,
        slow_body: None,
    };
    let mut clients = vec![
        ("GET, new connections", get(Connection::New, vec![])),
        ("GET, new connections", get(Connection::New, vec![])),
        ("GET, keep-alive", get(Connection::KeepAlive, vec![])),
        (
            "GET, keep-alive with pauses",
            get(
                Connection::KeepAlive,
                vec![ms(0), ms(30), ms(120), ms(400), ms(1800)],
            ),
        ),
        (
            "POST, new connections",
            post(Connection::New, vec![ms(150)]),
        ),
        (
            "POST, keep-alive with pauses",
            post(Connection::KeepAlive, vec![ms(20), ms(250)]),
        ),
    ];
    // A body half sent when the old process starts handing over.
    clients.push((
        "POST, keep-alive, body sent in two halves",
        Client {
            slow_body: Some(ms(300)),
            ..post(Connection::KeepAlive, vec![])
        },
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = clients
        .into_iter()
        .map(|(what, client)| (what, client.spawn(stop.clone())))
        .collect();

    let t0 = Instant::now();
    let mut pid = c.status()["main"].pid;
    for i in 0..RELOADS {
        c.ok(&["graceful"]);
        let now = c.status()["main"].pid;
        assert!(
            now.is_some() && now != pid,
            "reload {i}: the web process was not replaced ({pid:?} -> {now:?})\n{}",
            c.logs()
        );
        pid = now;
    }
    let took = t0.elapsed();
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<(&str, Outcome)> = threads
        .into_iter()
        .map(|(what, t)| (what, t.join().expect("client thread")))
        .collect();

    let mut report = String::new();
    for (what, o) in &outcomes {
        report.push_str(&format!(
            "{what}: {} ok, {} failed {:?}\n",
            o.ok,
            o.failures.len(),
            o.failures.iter().take(5).collect::<Vec<_>>()
        ));
    }
    eprintln!("{RELOADS} reloads in {took:?}:\n{report}");
    let failed: usize = outcomes.iter().map(|(_, o)| o.failures.len()).sum();
    assert_eq!(
        failed, 0,
        "requests failed during {RELOADS} reloads:\n{report}"
    );
    for (what, o) in &outcomes {
        assert!(o.ok >= 30, "too little load to mean anything:\n{report}");
        if what.starts_with("POST") {
            assert_eq!(o.jobs.len(), o.ok, "{what}");
        }
    }

    // Every answered POST created its job, and nothing else created one.
    let answered: Vec<&String> = outcomes.iter().flat_map(|(_, o)| &o.jobs).collect();
    let unique: BTreeSet<&String> = answered.iter().copied().collect();
    assert_eq!(unique.len(), answered.len(), "a job id was answered twice");
    let (status, listed) = c.api.get(
        &format!("/api/jobs?history_id={hid}&tool_id=cat1&limit=10000"),
        Some(ADMIN_KEY),
    );
    assert_eq!(status, 200, "{listed}");
    let listed: BTreeSet<String> = listed
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|j| j["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let answered: BTreeSet<String> = unique.into_iter().cloned().collect();
    let lost: Vec<_> = answered.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&answered).collect();
    assert!(
        lost.is_empty() && extra.is_empty(),
        "jobs answered but not stored: {lost:?}; jobs stored but never answered: {extra:?}"
    );
}
