//! Split mode: a web process and webless handler processes co-operating
//! through one database; every assignment method; takeover of a dead handler's jobs; drain
//! and reassign. Each process is the real binary.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod cluster;
mod maintenance;
mod maintenance_logs;
mod workflows;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster::{Cluster, LOCAL_JOB_CONF, assert_ledger_once, opts};
use helpers::{ADMIN_KEY, Backend, TestServer, eventually};
use serde_json::json;

/// The handlers that ran the jobs of history `hid` (from `?full=true`).
fn handlers_of(c: &Cluster, hid: &str, limit: usize) -> BTreeSet<String> {
    let (_, jobs) = c.api.get(
        &format!("/api/jobs?history_id={hid}&limit={limit}"),
        Some(ADMIN_KEY),
    );
    jobs.as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            let id = j["id"].as_str().unwrap_or_default();
            let (_, full) = c
                .api
                .get(&format!("/api/jobs/{id}?full=true"), Some(ADMIN_KEY));
            full["handler"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

fn job_conf_with(handling: &str) -> String {
    format!("{LOCAL_JOB_CONF}{handling}")
}

#[test]
fn web_and_three_handlers_run_2000_jobs_once_each() {
    let mut c = Cluster::new(Backend::Postgres, &opts(LOCAL_JOB_CONF));
    c.start_web();
    for h in ["h1", "h2", "h3"] {
        c.start_handler(h, &["job-handlers"]);
    }
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", "t", 2000, 0.0, 4);
    c.wait_terminal("ledger", 2000, Duration::from_secs(300));
    let counts = c.by_handler("ledger");
    for h in ["h1", "h2", "h3"] {
        assert!(
            counts
                .get(&(h.to_string(), "ok".to_string()))
                .copied()
                .unwrap_or(0)
                > 0,
            "{h} ran no job: {counts:?}"
        );
    }
    let total_ok: usize = counts
        .iter()
        .filter(|((_, s), _)| s == "ok")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total_ok, 2000, "{counts:?}");
    assert_ledger_once(&c.ledger(), &tags);
}

fn run_with_method(backend: Backend, method: &str) {
    let conf = job_conf_with(&format!("handling:\n  assign: [{method}]\n"));
    let mut c = Cluster::new(backend, &opts(&conf));
    c.start_web();
    c.start_handler("h1", &["job-handlers"]);
    c.start_handler("h2", &["job-handlers"]);
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", &format!("{method}-"), 30, 0.0, 2);
    let (api, key) = (&c.api, ADMIN_KEY);
    let ok = eventually(Duration::from_secs(120), || {
        let (_, jobs) = api.get(&format!("/api/jobs?history_id={hid}&limit=100"), Some(key));
        jobs.as_array()
            .is_some_and(|a| a.len() == 30 && a.iter().all(|j| j["state"] == "ok"))
    });
    assert!(ok, "{method}: not all jobs ok\n{}", c.logs());
    let handlers = handlers_of(&c, &hid, 100);
    assert!(
        handlers.iter().all(|h| h == "h1" || h == "h2"),
        "{method}: handled by {handlers:?}"
    );
    assert_ledger_once(&c.ledger(), &tags);
}

#[test]
fn db_skip_locked() {
    run_with_method(Backend::Postgres, "db-skip-locked");
}

#[test]
fn db_transaction_isolation() {
    run_with_method(Backend::Postgres, "db-transaction-isolation");
}

#[test]
fn db_transaction_isolation_sqlite() {
    run_with_method(Backend::Sqlite, "db-transaction-isolation");
}

#[test]
fn db_preassign() {
    run_with_method(Backend::Postgres, "db-preassign");
}

#[test]
fn db_preassign_sqlite() {
    run_with_method(Backend::Sqlite, "db-preassign");
}

/// mem-self and db-self: the all-in-one process assigns itself.
fn self_method(backend: Backend, method: &str) {
    let conf = job_conf_with(&format!("handling:\n  assign: [{method}]\n"));
    let server = TestServer::start(backend, opts(&conf));
    let hid = server.create_history(ADMIN_KEY, "self");
    for i in 0..10 {
        let run = server.run_tool(
            ADMIN_KEY,
            &hid,
            "ledger",
            json!({"tag": format!("s{i}"), "pause": 0}),
        );
        let id = run["jobs"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let job = server.wait_job_ok(ADMIN_KEY, &id);
        let (_, full) = server.api.get(
            &format!(
                "/api/jobs/{}?full=true",
                job["id"].as_str().unwrap_or_default()
            ),
            Some(ADMIN_KEY),
        );
        assert_eq!(full["handler"], "main", "{method}: {full}");
    }
}

#[test]
fn mem_self() {
    self_method(Backend::Sqlite, "mem-self");
    self_method(Backend::Postgres, "mem-self");
}

#[test]
fn db_self() {
    self_method(Backend::Sqlite, "db-self");
    self_method(Backend::Postgres, "db-self");
}

#[test]
fn tools_mapped_to_a_tag_or_an_id_reach_only_those_handlers() {
    let conf = job_conf_with(
        "handling:\n  processes:\n    static1: {}\ntools:\n  - id: ledger\n    handler: special\n  - id: ledger2\n    handler: static1\n",
    );
    let mut c = Cluster::new(Backend::Postgres, &opts(&conf));
    c.start_web();
    c.start_handler("plain", &["job-handlers"]);
    c.start_handler("special1", &["job-handlers.special"]);
    c.start_handler("static1", &[]);
    let hid = c.history();
    let a = c.submit_many(&hid, "ledger", "tag-", 20, 0.0, 2);
    let b = c.submit_many(&hid, "ledger2", "id-", 20, 0.0, 2);
    c.wait_terminal("ledger", 20, Duration::from_secs(120));
    c.wait_terminal("ledger2", 20, Duration::from_secs(120));
    let ledger = c.by_handler("ledger");
    assert_eq!(
        ledger.keys().cloned().collect::<Vec<_>>(),
        vec![("special1".to_string(), "ok".to_string())],
        "{ledger:?}"
    );
    let ledger2 = c.by_handler("ledger2");
    assert_eq!(
        ledger2.keys().cloned().collect::<Vec<_>>(),
        vec![("static1".to_string(), "ok".to_string())],
        "{ledger2:?}"
    );
    let all: Vec<String> = a.into_iter().chain(b).collect();
    assert_ledger_once(&c.ledger(), &all);
}

#[test]
fn a_handler_started_later_picks_up_queued_jobs() {
    let mut c = Cluster::new(Backend::Postgres, &opts(LOCAL_JOB_CONF));
    c.start_web();
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", "late-", 10, 0.0, 1);
    std::thread::sleep(Duration::from_millis(1500));
    let before = c.by_handler("ledger");
    assert_eq!(
        before.keys().cloned().collect::<Vec<_>>(),
        vec![("-".to_string(), "new".to_string())],
        "{before:?}"
    );
    c.start_handler("late", &["job-handlers"]);
    c.wait_terminal("ledger", 10, Duration::from_secs(60));
    assert_eq!(
        c.by_handler("ledger")
            .get(&("late".to_string(), "ok".to_string())),
        Some(&10)
    );
    assert_ledger_once(&c.ledger(), &tags);
}

#[test]
fn kill_9_of_a_handler_loses_no_job_and_reruns_none() {
    let mut c = Cluster::new(Backend::Postgres, &opts(LOCAL_JOB_CONF));
    c.start_web();
    for h in ["k1", "k2", "k3"] {
        c.start_handler(h, &["job-handlers"]);
    }
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", "k-", 500, 0.2, 4);
    // Wait until the victim is running jobs, then kill it without warning.
    let q = "SELECT id FROM job WHERE handler = 'k1' AND state = 'running' ORDER BY id";
    assert!(
        eventually(Duration::from_secs(60), || c.sql(q).len() >= 2),
        "k1 never ran jobs\n{}",
        c.logs()
    );
    let killed_at = Instant::now();
    c.proc("k1").kill9();
    assert!(c.proc("k1").exited());
    let orphans = c.sql(q);
    assert!(!orphans.is_empty());
    // Takeover: within 3 heartbeats (2 s each) plus one poll (0.5 s), k1 holds nothing
    // unfinished (plus slack for the checks themselves).
    let held = || {
        c.sql("SELECT count(*) FROM job WHERE handler = 'k1' AND state IN ('new', 'queued', 'running')")
    };
    assert!(
        eventually(Duration::from_secs(30), || held() == vec!["0".to_string()]),
        "k1's jobs were never taken over\n{}",
        c.logs()
    );
    let takeover = killed_at.elapsed();
    assert!(
        takeover <= Duration::from_millis(3 * 2000 + 500 + 2500),
        "takeover took {takeover:?}"
    );
    c.wait_terminal("ledger", 500, Duration::from_secs(300));
    let counts = c.by_handler("ledger");
    assert!(
        counts.keys().all(|(_, s)| s == "ok"),
        "every job ends ok: {counts:?}\n{}",
        c.logs()
    );
    for id in &orphans {
        let row = c.sql(&format!("SELECT state, handler FROM job WHERE id = {id}"));
        assert_eq!(row.len(), 1);
        assert!(
            row[0].starts_with("ok|") && !row[0].ends_with("|k1"),
            "job {id} running on k1 at the kill: {row:?}"
        );
    }
    assert_ledger_once(&c.ledger(), &tags);
}

#[test]
fn a_handler_stopped_for_good_leaves_no_job_behind() {
    let mut c = Cluster::new(Backend::Postgres, &opts(LOCAL_JOB_CONF));
    c.start_web();
    for h in ["s1", "s2"] {
        c.start_handler(h, &["job-handlers"]);
    }
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", "s-", 40, 1.5, 4);
    // s1 is running jobs and holds claimed ones; it stops cleanly (SIGTERM) and never returns.
    let running = "SELECT id FROM job WHERE handler = 's1' AND state = 'running' ORDER BY id";
    assert!(
        eventually(Duration::from_secs(60), || c.sql(running).len() >= 2),
        "s1 never ran jobs\n{}",
        c.logs()
    );
    let stopped_at = Instant::now();
    c.proc("s1").stop();
    assert!(c.proc("s1").exited());
    // Within 3 heartbeat intervals (2 s each) of its row going, plus one more interval for the
    // takeover pass to come round (and slack for the checks), s1 holds nothing unfinished.
    let held = || {
        c.sql("SELECT count(*) FROM job WHERE handler = 's1' AND state IN ('new', 'queued', 'running', 'deleting')")
    };
    assert!(
        eventually(Duration::from_secs(60), || held() == vec!["0".to_string()]),
        "s1's jobs stayed with it after it stopped: {:?}\n{}",
        c.by_handler("ledger"),
        c.logs()
    );
    let took = stopped_at.elapsed();
    assert!(
        took <= Duration::from_millis(4 * 2000 + 2500),
        "taking over a stopped handler's jobs took {took:?}"
    );
    c.wait_terminal("ledger", 40, Duration::from_secs(120));
    let counts = c.by_handler("ledger");
    assert!(
        counts.keys().all(|(_, s)| s == "ok"),
        "every job ends ok: {counts:?}\n{}",
        c.logs()
    );
    assert_ledger_once(&c.ledger(), &tags);
}

#[test]
fn drain_stops_new_work_and_reassign_hands_jobs_back() {
    let conf = "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 1\nexecution:\n  default: local\n  environments:\n    local: {runner: local}\n";
    let mut c = Cluster::new(Backend::Postgres, &opts(conf));
    c.start_web();
    c.start_handler("d1", &["job-handlers"]);
    c.start_handler("d2", &["job-handlers"]);
    // Drain d1 (admin only), then only d2 takes jobs.
    let (status, _) = c.api.post("/api/handlers/d1/drain", None, &json!({}));
    assert_eq!(status, 403);
    let (status, body) = c
        .api
        .post("/api/handlers/d1/drain", Some(ADMIN_KEY), &json!({}));
    assert_eq!(status, 200, "{body}");
    assert!(eventually(
        Duration::from_secs(10),
        || c.live_handlers()["d1"]["draining"] == true
    ));
    std::thread::sleep(Duration::from_millis(2500)); // d1 reads its flag on its next heartbeat
    let hid = c.history();
    let tags = c.submit_many(&hid, "ledger", "drain-", 10, 0.0, 1);
    c.wait_terminal("ledger", 10, Duration::from_secs(60));
    let counts = c.by_handler("ledger");
    assert_eq!(
        counts.keys().cloned().collect::<Vec<_>>(),
        vec![("d2".to_string(), "ok".to_string())],
        "{counts:?}"
    );
    assert_ledger_once(&c.ledger(), &tags);

    // d2 (one worker) is kept busy by a long job and holds 5 more, claimed but unstarted.
    let long = Cluster::submit(&c.api, &hid, "ledger2", "long", 60.0);
    assert!(eventually(Duration::from_secs(30), || c.sql(
        "SELECT count(*) FROM job WHERE tool_id = 'ledger2' AND state = 'running'"
    ) == vec![
        "1".to_string()
    ]));
    c.submit_many(&hid, "ledger2", "held-", 5, 0.0, 1);
    let held = "SELECT count(*) FROM job WHERE tool_id = 'ledger2' AND handler = 'd2' AND state = 'queued'";
    assert!(
        eventually(Duration::from_secs(30), || c.sql(held)
            == vec!["5".to_string()]),
        "{:?}",
        c.by_handler("ledger2")
    );
    let out = c.dir.run_cli(&[
        "-c",
        c.dir.config.to_str().unwrap_or_default(),
        "jobs",
        "reassign",
        "--from",
        "d2",
        "--to",
        "special",
    ]);
    assert!(
        out.status.success(),
        "jobs reassign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains('5'),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    c.start_handler("special1", &["job-handlers.special"]);
    let done = "SELECT count(*) FROM job WHERE tool_id = 'ledger2' AND handler = 'special1' AND state = 'ok'";
    assert!(
        eventually(Duration::from_secs(60), || c.sql(done)
            == vec!["5".to_string()]),
        "{:?}\n{}",
        c.by_handler("ledger2"),
        c.logs()
    );
    let (status, _) = c.api.delete(&format!("/api/jobs/{long}"), Some(ADMIN_KEY));
    assert_eq!(status, 200);
}

#[test]
fn two_all_in_one_processes_share_one_sqlite_file() {
    let mut c = Cluster::new(Backend::Sqlite, &opts(LOCAL_JOB_CONF));
    let port_b = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    c.spawn("a", &["--server-name", "a"]);
    c.spawn(
        "b",
        &[
            "--server-name",
            "b",
            "--bind",
            &format!("127.0.0.1:{port_b}"),
        ],
    );
    let url_b = format!("http://127.0.0.1:{port_b}");
    c.wait_http(&c.url.clone());
    c.wait_http(&url_b);
    let hid = c.history();
    let mut tags = Vec::new();
    std::thread::scope(|s| {
        let a = s.spawn(|| c.submit_many(&hid, "ledger", "a-", 50, 0.0, 2));
        let b = s.spawn(|| {
            let api = helpers::Api::new(&url_b);
            (0..50)
                .map(|i| {
                    let tag = format!("b-{i}");
                    Cluster::submit(&api, &hid, "ledger", &tag, 0.0);
                    tag
                })
                .collect::<Vec<_>>()
        });
        tags.extend(a.join().unwrap_or_default());
        tags.extend(b.join().unwrap_or_default());
    });
    let ok = eventually(Duration::from_secs(120), || {
        let (_, jobs) = c.api.get(
            &format!("/api/jobs?history_id={hid}&limit=500&state=ok"),
            Some(ADMIN_KEY),
        );
        jobs.as_array().map_or(0, Vec::len) == 100
    });
    assert!(ok, "not all 100 jobs ok\n{}", c.logs());
    assert_ledger_once(&c.ledger(), &tags);
    for p in &c.procs {
        assert!(
            !p.log_text().contains("database is locked"),
            "{} logged 'database is locked':\n{}",
            p.name,
            p.log_text()
        );
    }
    let handlers = handlers_of(&c, &hid, 500);
    assert_eq!(
        handlers,
        BTreeSet::from(["a".to_string(), "b".to_string()]),
        "both processes handle jobs"
    );
}

#[test]
fn concurrency_limits_and_walltime_hold_across_handlers() {
    let conf = format!(
        "{LOCAL_JOB_CONF}limits:\n  - type: registered_user_concurrent_jobs\n    value: 2\n  - type: destination_total_concurrent_jobs\n    id: local\n    value: 3\n  - type: walltime\n    value: '00:00:03'\n"
    );
    let mut c = Cluster::new(Backend::Postgres, &opts(&conf));
    c.start_web();
    c.start_handler("l1", &["job-handlers"]);
    c.start_handler("l2", &["job-handlers"]);
    let (key_a, hist_a) = c.user("ada");
    let (key_b, hist_b) = c.user("bob");
    for i in 0..8 {
        Cluster::submit_as(&c.api, &key_a, &hist_a, "ledger", &format!("a{i}"), 0.4);
        Cluster::submit_as(&c.api, &key_b, &hist_b, "ledger", &format!("b{i}"), 0.4);
    }
    let active = "SELECT coalesce(user_id, 0), count(*) FROM job WHERE state IN ('queued', 'running') GROUP BY 1";
    let done = "SELECT count(*) FROM job WHERE state IN ('ok', 'error')";
    let (mut max_user, mut max_total) = (0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(120);
    while c.sql(done) != vec!["16".to_string()] {
        assert!(
            Instant::now() < deadline,
            "jobs did not finish: {:?}\n{}",
            c.by_handler("ledger"),
            c.logs()
        );
        let rows = c.sql(active);
        let per_user: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.split('|').nth(1)?.parse().ok())
            .collect();
        max_user = max_user.max(per_user.iter().copied().max().unwrap_or(0));
        max_total = max_total.max(per_user.iter().sum());
    }
    assert!(
        max_user <= 2,
        "a user had {max_user} jobs at once (limit 2)"
    );
    assert!(
        max_total <= 3,
        "{max_total} jobs at once on `local` (limit 3)"
    );
    assert!(
        max_total >= 2,
        "the limits were never exercised ({max_total} at once)"
    );
    let counts = c.by_handler("ledger");
    assert!(counts.keys().all(|(_, s)| s == "ok"), "{counts:?}");

    // Walltime: a job running past 3 s is killed and fails, naming the limit.
    let long = Cluster::submit_as(&c.api, &key_a, &hist_a, "ledger2", "too-long", 30.0);
    assert!(eventually(Duration::from_secs(30), || c
        .api
        .get(&format!("/api/jobs/{long}"), Some(&key_a))
        .1["state"]
        == "error"));
    let (_, full) = c
        .api
        .get(&format!("/api/jobs/{long}?full=true"), Some(&key_a));
    assert!(
        full["info"]
            .as_str()
            .unwrap_or_default()
            .contains("walltime"),
        "{full}"
    );
}

/// A tool reading one dataset: the job waits while its input is being made.
const FOLLOW_TOOL: &str = r#"<tool id="follow" name="Follow" version="1.0.0">
    <command><![CDATA[cat '$input' > '$out_file1']]></command>
    <inputs>
        <param name="input" type="data" format="txt"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

#[test]
fn a_pool_job_waiting_on_its_input_is_claimed_once_the_input_is_ok() {
    let conf = format!("{LOCAL_JOB_CONF}handling:\n  assign: [db-skip-locked]\n");
    let tool_conf =
        cluster::TOOL_CONF.replace("</toolbox>", "    <tool file=\"follow.xml\"/>\n</toolbox>");
    let o = opts(&conf)
        .file("tools/follow.xml", FOLLOW_TOOL)
        .file("tools/tool_conf.xml", &tool_conf);
    let mut c = Cluster::new(Backend::Postgres, &o);
    c.start_web();
    c.start_handler("w1", &["job-handlers"]);
    let hid = c.history();
    let (status, up) = c.api.post(
        "/api/tools",
        Some(ADMIN_KEY),
        &json!({"tool_id": "ledger", "history_id": hid, "inputs": {"tag": "upstream", "pause": 2}}),
    );
    assert_eq!(status, 200, "{up}");
    let up_out = up["outputs"][0]["id"]
        .as_str()
        .expect("output id")
        .to_string();
    let (status, down) = c.api.post(
        "/api/tools",
        Some(ADMIN_KEY),
        &json!({"tool_id": "follow", "history_id": hid,
                "inputs": {"input": {"src": "hda", "id": up_out}}}),
    );
    assert_eq!(status, 200, "{down}");
    let down_job = down["jobs"][0]["id"].as_str().expect("job id").to_string();
    assert_eq!(
        c.sql("SELECT inputs_ready FROM job WHERE tool_id = 'follow'"),
        vec!["f".to_string()],
        "a job on an input still being made is not ready"
    );
    let done = eventually(Duration::from_secs(60), || {
        let (_, j) = c.api.get(&format!("/api/jobs/{down_job}"), Some(ADMIN_KEY));
        j["state"] == "ok"
    });
    assert!(done, "the waiting job did not run\n{}", c.logs());
    let order = c.sql(
        "SELECT (SELECT min(create_time) FROM job_state_history WHERE state = 'queued' \
           AND job_id = (SELECT id FROM job WHERE tool_id = 'follow')) \
         >= (SELECT max(create_time) FROM job_state_history WHERE state = 'ok' \
           AND job_id = (SELECT id FROM job WHERE tool_id = 'ledger'))",
    );
    assert_eq!(
        order,
        vec!["t".to_string()],
        "claimed only after its input was ok"
    );
    let out = down["outputs"][0]["id"]
        .as_str()
        .expect("output id")
        .to_string();
    let (_, text) = c
        .api
        .get_text(&format!("/api/datasets/{out}/display"), Some(ADMIN_KEY));
    assert_eq!(text, "upstream\n");
}
