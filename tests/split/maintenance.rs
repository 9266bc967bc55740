//! The maintenance role (celery-beat's job) with several processes on one PostgreSQL
//! database: one holder at a time, each periodic task once per period, takeover after
//! `kill -9` of the holder, and a clean stop that hands the role over at once.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::cluster::Cluster;
use crate::helpers::{Backend, Opts, eventually};

/// Every task each second (database upkeep does not run on PostgreSQL); leases of 3 × 0.5 s.
fn every_second() -> Opts {
    Opts::default()
        .galaxy_extra(
            "  enable_failed_jobs_working_directory_cleanup: true\n  \
             failed_jobs_working_directory_cleanup_interval: 1\n  \
             purge_deleted_datasets_after_days: 30\n  \
             purge_deleted_datasets_interval: 1\n  \
             prune_worker_processes_interval: 1\n",
        )
        .env("GALAXY_CONFIG_HEARTBEAT_INTERVAL", "0.5")
}

const TASKS: [&str; 3] = [
    "cleanup_jwds",
    "purge_deleted_datasets",
    "prune_worker_processes",
];

/// The runs each process's log shows: (task, time, process).
fn runs(c: &Cluster) -> Vec<(String, NaiveDateTime, String)> {
    let mut out = Vec::new();
    for p in &c.procs {
        for line in p.log_text().lines() {
            let Some(rest) = line.split("maintenance: running `").nth(1) else {
                continue;
            };
            let task = rest.split('`').next().unwrap_or_default().to_string();
            // `module LEVEL YYYY-MM-DD HH:MM:SS,mmm [...]`
            let words: Vec<&str> = line.split_whitespace().collect();
            let stamp = format!("{} {}", words[2], words[3]);
            let at = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S,%3f")
                .unwrap_or_else(|e| panic!("{stamp}: {e}"));
            out.push((task, at, p.name.clone()));
        }
    }
    out.sort_by_key(|r| r.1);
    out
}

/// Asserts that no task ran twice within one period (1 s), across all processes, and returns
/// the runs by task.
fn assert_once_per_period(c: &Cluster) -> BTreeMap<String, Vec<(NaiveDateTime, String)>> {
    let mut by_task: BTreeMap<String, Vec<(NaiveDateTime, String)>> = BTreeMap::new();
    for (task, at, p) in runs(c) {
        by_task.entry(task).or_default().push((at, p));
    }
    for (task, list) in &by_task {
        for w in list.windows(2) {
            let gap = (w[1].0 - w[0].0).num_milliseconds();
            // The claim needs the last run to be a full period old; the log line follows
            // the claim by a few milliseconds.
            assert!(
                gap >= 950,
                "{task} ran twice within one period: {:?} then {:?}\n{}",
                w[0],
                w[1],
                c.logs()
            );
        }
    }
    by_task
}

/// The lease's holder and token, from the database.
fn lease(c: &Cluster) -> (String, i64) {
    let row = c.sql("SELECT holder, token FROM maintenance_lease");
    let (h, t) = row[0].split_once('|').expect("holder|token");
    (h.to_string(), t.parse().expect("token"))
}

fn holds(c: &Cluster, name: &str) -> bool {
    c.procs
        .iter()
        .find(|p| p.name == name)
        .is_some_and(|p| p.log_text().contains("holds the maintenance role"))
}

#[test]
fn maintenance_role_runs_each_task_once_per_period_and_moves_on_kill_9() {
    let mut c = Cluster::new(Backend::Postgres, &every_second());
    c.spawn(
        "m1",
        &[
            "--mode",
            "handler",
            "--server-name",
            "m1",
            "--pool",
            "maintenance",
        ],
    );
    assert!(
        eventually(Duration::from_secs(30), || holds(&c, "m1")),
        "m1 never took the maintenance role\n{}",
        c.logs()
    );
    c.spawn(
        "m2",
        &[
            "--mode",
            "handler",
            "--server-name",
            "m2",
            "--pool",
            "maintenance",
        ],
    );
    std::thread::sleep(Duration::from_secs(6));

    // One holder; every task ran about once a second, never twice in a second.
    assert!(!holds(&c, "m2"), "two holders at once\n{}", c.logs());
    let (holder, token) = lease(&c);
    assert_eq!(holder, "m1");
    let by_task = assert_once_per_period(&c);
    for t in TASKS {
        let n = by_task.get(t).map_or(0, Vec::len);
        assert!(
            (5..=9).contains(&n),
            "{t} ran {n} times in ~6.5 s\n{}",
            c.logs()
        );
        assert!(by_task[t].iter().all(|(_, p)| p == "m1"));
    }
    // The database's count of runs agrees with the logs: no run went unlogged or twice.
    for row in c.sql("SELECT name, runs FROM maintenance_task ORDER BY name") {
        let (name, n) = row.split_once('|').expect("name|runs");
        let logged = by_task.get(name).map_or(0, Vec::len) as i64;
        let n: i64 = n.parse().expect("runs");
        // A run claimed between the query and reading the logs may not be logged yet.
        assert!(
            n == logged || n == logged + 1,
            "{name}: {n} runs, {logged} logged"
        );
    }

    // kill -9 of the holder: after its lease runs out (1.5 s), m2 takes over and runs the
    // next periods, under the next token.
    let killed_at = chrono::Utc::now().naive_utc();
    c.proc("m1").kill9();
    assert!(
        eventually(Duration::from_secs(10), || holds(&c, "m2")),
        "m2 never took over\n{}",
        c.logs()
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            let r = runs(&c);
            TASKS
                .iter()
                .all(|t| r.iter().any(|(task, _, p)| task == t && p == "m2"))
        }),
        "m2 did not run every task after the takeover\n{}",
        c.logs()
    );
    let (holder, token2) = lease(&c);
    assert_eq!((holder.as_str(), token2), ("m2", token + 1));
    let by_task = assert_once_per_period(&c);
    for t in TASKS {
        let first_m2 = by_task[t].iter().find(|(_, p)| p == "m2").expect("m2 ran");
        assert!(
            first_m2.0 > killed_at,
            "{t}: m2 ran before m1 was killed\n{}",
            c.logs()
        );
    }

    // A clean stop gives the lease up: a process started then takes it at once.
    c.proc("m2").stop();
    let stopped = std::time::Instant::now();
    c.spawn(
        "m3",
        &[
            "--mode",
            "handler",
            "--server-name",
            "m3",
            "--pool",
            "maintenance",
        ],
    );
    assert!(
        eventually(Duration::from_secs(20), || holds(&c, "m3")),
        "m3 never took the role\n{}",
        c.logs()
    );
    assert!(
        c.proc("m2")
            .log_text()
            .contains("gave the maintenance role up"),
        "{}",
        c.logs()
    );
    assert_eq!(lease(&c), ("m3".to_string(), token2 + 1));
    // Well within a lease time of 1.5 s after the process is up (start-up included).
    assert!(stopped.elapsed() < Duration::from_secs(15));
    assert_once_per_period(&c);
}

#[test]
fn a_plain_handler_does_not_compete_and_the_web_process_shows_the_holder() {
    let mut c = Cluster::new(Backend::Postgres, &every_second());
    // The handler starts first: were it a candidate, it would take the role.
    c.spawn(
        "h1",
        &[
            "--mode",
            "handler",
            "--server-name",
            "h1",
            "--pool",
            "job-handlers",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    c.start_web();
    assert!(
        eventually(Duration::from_secs(20), || holds(&c, "main")),
        "the web process never took the role\n{}",
        c.logs()
    );
    assert!(!holds(&c, "h1"));
    assert!(
        eventually(Duration::from_secs(10), || {
            let h = c.live_handlers();
            h.get("main").is_some_and(|m| m["maintenance"] == true)
                && h.get("h1").is_some_and(|m| m["maintenance"] == false)
        }),
        "/api/handlers does not show the holder: {:?}",
        c.live_handlers()
    );
    let (status, m) = c
        .api
        .get("/api/maintenance", Some(crate::helpers::ADMIN_KEY));
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["holder"]["server_name"], "main", "{m}");
    assert!(
        m["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "cleanup_jwds")),
        "{m}"
    );
}
