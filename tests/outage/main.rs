//! The database goes away and comes back: jobs in a live handler's hands all reach their end,
//! none runs twice, and while it is away the API answers 503 at once instead of hanging.
//! Each test runs its own PostgreSQL server (initdb in a temp dir, on a unix socket), never
//! the machine's shared one.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[allow(dead_code)]
#[path = "../split/cluster.rs"]
mod cluster;

mod crash;
mod private_pg;

#[path = "../split/maintenance_logs.rs"]
mod maintenance_logs;

mod maintenance;

use std::time::{Duration, Instant};

use cluster::{Cluster, assert_ledger_once, opts};
use helpers::{ADMIN_KEY, Api, Backend, str_field};
use private_pg::PrivatePg;
use serde_json::json;

/// `heartbeat_interval` of the generated configuration (tests/api/helpers.rs).
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Eight jobs run at a time, so that with twelve some run during the outage and some wait
/// for a worker until after it.
const JOB_CONF: &str = "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 8\nexecution:\n  default: local\n  environments:\n    local: {runner: local}\n";

fn job_states(pg: &PrivatePg) -> String {
    pg.query("SELECT state || ':' || count(*) FROM job GROUP BY state ORDER BY state")
        .unwrap_or_default()
        .replace('\n', " ")
}

/// A request during the outage: how long it took, its status, `Retry-After` and body.
fn timed(
    api: &Api,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (Duration, u16, Option<String>, String) {
    let url = format!("{}{path}", api.base);
    let req = match method {
        "POST" => api.client.post(url).json(body.unwrap_or(&json!({}))),
        _ => api.client.get(url),
    };
    let t0 = Instant::now();
    let resp = req
        .header("x-api-key", ADMIN_KEY)
        .send()
        .unwrap_or_else(|e| panic!("{method} {path} during the outage: {e}"));
    let took = t0.elapsed();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (took, status, retry, resp.text().unwrap_or_default())
}

fn count_lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn jobs_survive_a_database_restart_and_the_api_fails_fast_meanwhile() {
    let pg = PrivatePg::start();
    let options = opts(JOB_CONF).database_connection(&pg.url());
    let mut c = Cluster::new(Backend::Postgres, &options);
    c.start_web();
    c.start_handler("handler0", &["job-handlers"]);
    let hid = c.history();

    // Twelve 3-second jobs; the database stops 1.5 s later for ~20 s.
    let tags = c.submit_many(&hid, "ledger", "outage", 12, 3.0, 4);
    std::thread::sleep(Duration::from_millis(1500));
    pg.stop_server();
    let stopped = Instant::now();

    // During the outage: 503 within 2 s with Galaxy's error JSON and Retry-After, no driver
    // text; the version route and the health route still answer.
    std::thread::sleep(Duration::from_secs(1));
    let submit =
        json!({"tool_id": "ledger", "history_id": hid, "inputs": {"tag": "during", "pause": 0}});
    for (method, path, body) in [
        ("GET", "/api/jobs", None),
        ("GET", "/api/histories", None),
        ("POST", "/api/tools", Some(&submit)),
        ("GET", "/api/handlers", None),
    ] {
        let (took, status, retry, body) = timed(&c.api, method, path, body);
        assert_eq!(status, 503, "{method} {path} during the outage: {body}");
        assert!(
            took <= Duration::from_secs(2),
            "{method} {path} took {took:?} to answer 503"
        );
        assert!(retry.is_some(), "{method} {path}: no Retry-After header");
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{method} {path}: 503 body is not JSON ({e}): {body}"));
        assert_eq!(v["err_code"], 503001, "{body}");
        for driver_words in [
            "pool",
            "timed out",
            "terminating",
            "refused",
            "SELECT",
            "socket",
            "diesel",
            "postgres",
        ] {
            assert!(
                !body.to_lowercase().contains(&driver_words.to_lowercase()),
                "{method} {path}: the 503 tells the driver's words ({driver_words}): {body}"
            );
        }
    }
    let (status, _) = c.api.get("/api/version", None);
    assert_eq!(status, 200, "/api/version during the outage");
    let (took, status, retry, body) = timed(&c.api, "GET", "/api/health", None);
    assert_eq!(status, 503, "/api/health during the outage: {body}");
    assert!(took <= Duration::from_secs(2), "/api/health took {took:?}");
    assert!(retry.is_some(), "/api/health: no Retry-After");
    assert!(
        body.contains("unreachable"),
        "/api/health does not say what is down: {body}"
    );

    // Back after ~20 s.
    let outage = Duration::from_secs(20);
    std::thread::sleep(outage.saturating_sub(stopped.elapsed()));
    let during = job_states(&pg);
    pg.start_server();
    let back = Instant::now();

    // Every job ends `ok`: those whose process ended during the outage within 2 heartbeat
    // intervals, the ones still waiting for a worker one run (3 s) later.
    let deadline = 2 * HEARTBEAT + Duration::from_secs(3);
    let all_ok = helpers::eventually(deadline + Duration::from_secs(30), || {
        pg.query("SELECT count(*) FROM job WHERE tool_id = 'ledger' AND state = 'ok'")
            .is_some_and(|n| n == "12")
    });
    let took = back.elapsed();
    eprintln!("all jobs ok {took:?} after the database came back (during the outage: {during})");
    assert!(
        all_ok,
        "jobs stuck after the database came back: {} (during the outage: {during})\n{}",
        job_states(&pg),
        c.logs()
    );
    assert!(
        took <= deadline,
        "the jobs took {took:?} after the database came back to end (at most {deadline:?}); during the outage: {during}\n{}",
        c.logs()
    );
    assert_ledger_once(&c.ledger(), &tags);
    for tag in &tags {
        let n = pg
            .query(&format!(
                "SELECT count(*) FROM job_state_history h JOIN job j ON j.id = h.job_id \
                 WHERE j.params LIKE '%\"{tag}\"%' AND h.state = 'ok'"
            ))
            .unwrap_or_default();
        assert_eq!(n, "1", "job {tag} ended ok {n} times");
    }

    // The service is normal again, and each process logged the outage once and its end once.
    assert!(
        helpers::eventually(Duration::from_secs(5), || c.api.get("/api/health", None).0
            == 200),
        "/api/health is not 200 after the database came back"
    );
    let job = Cluster::submit(&c.api, &hid, "ledger", "after", 0.0);
    let (status, v) = c.api.get(&format!("/api/jobs/{job}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "{v}");
    assert_eq!(str_field(&v, "tool_id"), "ledger");
    for p in &c.procs {
        let log = p.log_text();
        assert_eq!(
            count_lines(&log, "database unreachable"),
            1,
            "{} did not log the outage exactly once:\n{log}",
            p.name
        );
        assert_eq!(
            count_lines(&log, "database reachable again"),
            1,
            "{} did not log the outage's end exactly once:\n{log}",
            p.name
        );
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") && !l.contains("database unreachable"))
            .collect();
        assert!(
            errors.is_empty(),
            "{} logged errors beyond the outage itself:\n{}",
            p.name,
            errors.join("\n")
        );
    }
}
