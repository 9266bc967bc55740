//! The maintenance role (celery-beat's job) with several processes on one PostgreSQL
//! database: one holder at a time, each periodic task once per period, takeover after
//! `kill -9` of the holder, and a clean stop that hands the role over at once.

use std::time::Duration;

use crate::cluster::Cluster;
use crate::helpers::{Backend, Opts, eventually};
use crate::maintenance_logs::{assert_once_per_period, holds, runs};

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

/// The lease's holder and token, from the database.
fn lease(c: &Cluster) -> (String, i64) {
    let row = c.sql("SELECT holder, token FROM maintenance_lease");
    let (h, t) = row[0].split_once('|').expect("holder|token");
    (h.to_string(), t.parse().expect("token"))
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

/// `galaxy-server maintenance run TASK` on what each task must clean up, and leave alone.
#[test]
fn maintenance_tasks_run_by_hand_remove_only_what_is_old() {
    use crate::helpers::{ADMIN_KEY, TestServer, psql};
    let opts = Opts::default().galaxy_extra(
        "  cleanup_job: never\n  purge_deleted_datasets_after_days: 30\n  \
         failed_jobs_working_directory_cleanup_days: 5\n",
    );
    let s = TestServer::start(Backend::Postgres, opts);
    let db = s.dir.pg.as_ref().expect("PostgreSQL").name.clone();
    let sql = |q: &str| psql(&db, q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let ago = |days: u32| format!("(now() AT TIME ZONE 'UTC') - interval '{days} days'");
    let hid = s.create_history(ADMIN_KEY, "maintenance");
    let (a, _) = s.paste(ADMIN_KEY, &hid, "a\n");
    let (_, j1) = s.run_on(ADMIN_KEY, &hid, "cat1", "input1", &a);
    let (_, j2) = s.run_on(ADMIN_KEY, &hid, "cat1", "input1", &a);
    s.wait_job_ok(ADMIN_KEY, &j1);
    s.wait_job_ok(ADMIN_KEY, &j2);
    let (b, _) = s.paste(ADMIN_KEY, &hid, "b\n");
    let (c, _) = s.paste(ADMIN_KEY, &hid, "c\n");
    for d in [&b, &c] {
        let (status, v) = s.api.delete(
            &format!("/api/histories/{hid}/contents/{d}"),
            Some(ADMIN_KEY),
        );
        assert_eq!(status, 200, "{v}");
    }

    // The first cat1 job failed 10 days ago, the second ended ok as long ago.
    let jobs: Vec<i64> = sql("SELECT id FROM job WHERE tool_id = 'cat1' ORDER BY id")
        .lines()
        .map(|l| l.parse().expect("id"))
        .collect();
    sql(&format!(
        "UPDATE job SET state = 'error', update_time = {} WHERE id = {}",
        ago(10),
        jobs[0]
    ));
    sql(&format!(
        "UPDATE job SET update_time = {} WHERE id = {}",
        ago(10),
        jobs[1]
    ));
    let jobs_dir = s.dir.path().join("jobs");
    let job_dir = |id: i64| {
        jobs_dir
            .join(format!("{:03}", id / 1000))
            .join(id.to_string())
    };
    assert!(job_dir(jobs[0]).exists() && job_dir(jobs[1]).exists());
    // A spare directory unused for 10 days, and a fresh one.
    let spare = jobs_dir.join("_spare");
    for name in ["old", "fresh"] {
        std::fs::create_dir_all(spare.join(name).join("working")).expect("spare");
    }
    let touched = std::process::Command::new("touch")
        .args(["-d", "10 days ago"])
        .arg(spare.join("old"))
        .status()
        .expect("touch");
    assert!(touched.success());
    // B was deleted 40 days ago, C just now.
    let deleted: Vec<i64> = sql("SELECT id FROM dataset WHERE deleted ORDER BY id")
        .lines()
        .map(|l| l.parse().expect("id"))
        .collect();
    sql(&format!(
        "UPDATE dataset SET update_time = {} WHERE id = {}",
        ago(40),
        deleted[0]
    ));
    // A process that stopped beating 3 days ago.
    sql(&format!(
        "INSERT INTO worker_process (server_name, hostname, pid, mode, pools, start_time, \
         update_time, draining) VALUES ('gone', 'elsewhere', 1, 'handler', '[]', {0}, {0}, false)",
        ago(3)
    ));

    let config = s.dir.config.display().to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["-c", config.as_str()];
        all.extend_from_slice(args);
        s.dir.run_cli(&all)
    };
    let run = |task: &str| {
        let out = cli(&["maintenance", "run", task]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{task}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let said = run("cleanup_jwds");
    assert!(said.contains("removed 1 working directory"), "{said}");
    assert!(said.contains("1 spare directory"), "{said}");
    assert!(
        !job_dir(jobs[0]).exists(),
        "the failed job's directory is left"
    );
    assert!(job_dir(jobs[1]).exists(), "the ok job's directory went");
    assert!(!spare.join("old").exists() && spare.join("fresh").exists());

    let said = run("purge_deleted_datasets");
    assert!(said.contains("purged 1 dataset"), "{said}");
    assert_eq!(s.dataset(ADMIN_KEY, &b)["purged"], true);
    assert_eq!(s.dataset(ADMIN_KEY, &c)["purged"], false);
    let file = |id: i64| {
        s.dir
            .path()
            .join("objects")
            .join(format!("{:03}", id / 1000))
            .join(format!("dataset_{id}.dat"))
    };
    assert!(!file(deleted[0]).exists() && file(deleted[1]).exists());

    let said = run("prune_worker_processes");
    assert!(said.contains("gone"), "{said}");
    let names = sql("SELECT server_name FROM worker_process ORDER BY server_name");
    assert_eq!(names.trim(), "main");

    // The runs by hand are recorded; an unknown task is a usage error naming the tasks.
    let out = cli(&["maintenance", "status"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("maintenance role: held by main"), "{text}");
    assert!(text.contains("by hand"), "{text}");
    let out = cli(&["maintenance", "run", "cleanup"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cleanup_jwds"));
}

/// On SQLite the all-in-one process holds the role and keeps the database file tidy.
#[test]
fn sqlite_upkeep_runs_in_the_all_in_one_process() {
    use crate::helpers::{ADMIN_KEY, TestServer};
    let opts = Opts::default()
        .galaxy_extra("  database_upkeep_interval: 1\n")
        .env("GALAXY_CONFIG_HEARTBEAT_INTERVAL", "0.5");
    let s = TestServer::start(Backend::Sqlite, opts);
    assert!(
        eventually(Duration::from_secs(20), || {
            s.log()
                .matches("maintenance: `database_upkeep` done")
                .count()
                >= 2
        }),
        "database_upkeep did not run each second:\n{}",
        s.log_tail()
    );
    assert!(s.log().contains("wal_checkpoint(TRUNCATE)"));
    let (status, m) = s.api.get("/api/maintenance", Some(ADMIN_KEY));
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["holder"]["server_name"], "main", "{m}");
    let config = s.dir.config.display().to_string();
    let out = s
        .dir
        .run_cli(&["-c", &config, "maintenance", "run", "database_upkeep"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
