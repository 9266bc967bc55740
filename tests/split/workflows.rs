//! Workflow scheduling across processes on PostgreSQL: a web process, schedulers in the
//! `workflow-schedulers` pool and job handlers in `job-handlers`. The scheduler creates the
//! step jobs, the job handlers run them, a job handler never schedules; a scheduler killed
//! with `kill -9` in the middle of a scheduling transaction leaves its invocations to a live
//! scheduler, and every step's job exists exactly once.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::{Cluster, LOCAL_JOB_CONF};
use crate::helpers::{ADMIN_KEY, Backend, Opts, eventually, str_field};

fn opts() -> Opts {
    Opts::default()
        .file("job_conf.yml", LOCAL_JOB_CONF)
        .job_config_file("job_conf.yml")
}

/// A workflow of one input and `n` tool steps: sort1 after sort1, each reading the previous
/// step's output.
pub fn chain(n: usize) -> Value {
    let mut steps = serde_json::Map::new();
    steps.insert(
        "0".into(),
        json!({"id": 0, "type": "data_input", "label": "in", "tool_state": "{}",
               "input_connections": {}}),
    );
    for i in 1..=n {
        let from = if i == 1 {
            json!({"id": 0, "output_name": "output"})
        } else {
            json!({"id": i - 1, "output_name": "out_file1"})
        };
        steps.insert(
            i.to_string(),
            json!({"id": i, "type": "tool", "tool_id": "sort1", "label": format!("sort {i}"),
                   "tool_state": "{\"order\": \"ascending\"}",
                   "input_connections": {"input": from}}),
        );
    }
    json!({"a_galaxy_workflow": "true", "format-version": "0.1",
           "name": format!("chain of {n}"), "steps": steps})
}

fn import(c: &Cluster, doc: &Value) -> String {
    let (status, w) = c.api.post(
        "/api/workflows/upload",
        Some(ADMIN_KEY),
        &json!({"workflow": doc}),
    );
    assert_eq!(status, 200, "import: {w}");
    str_field(&w, "id")
}

fn upload(c: &Cluster, hid: &str, text: &str) -> String {
    let (status, run) = c.api.post(
        "/api/tools",
        Some(ADMIN_KEY),
        &json!({"tool_id": "upload1", "history_id": hid,
                "inputs": {"files_0|url_paste": text, "files_0|type": "upload_dataset",
                           "file_type": "txt"}}),
    );
    assert_eq!(status, 200, "upload: {run}");
    str_field(&run["outputs"][0], "id")
}

fn invoke(c: &Cluster, wf: &str, hid: &str, data: &str) -> String {
    let (status, inv) = c.api.post(
        &format!("/api/workflows/{wf}/invocations"),
        Some(ADMIN_KEY),
        &json!({"history_id": hid, "inputs": {"0": {"src": "hda", "id": data}}}),
    );
    assert_eq!(status, 200, "invoke: {inv}");
    str_field(&inv, "id")
}

fn count(c: &Cluster, sql: &str) -> i64 {
    c.sql(sql)
        .first()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("{sql}: no count"))
}

#[test]
fn scheduler_creates_the_jobs_and_job_handlers_run_them() {
    let mut c = Cluster::new(Backend::Postgres, &opts());
    c.start_web();
    c.start_handler("sched", &["workflow-schedulers"]);
    c.start_handler("h1", &["job-handlers"]);
    c.start_handler("h2", &["job-handlers"]);
    let hid = c.history();
    let data = upload(&c, &hid, "pear\napple\nfig\n");
    let wf = import(&c, &chain(3));
    let invocations: Vec<String> = (0..10).map(|_| invoke(&c, &wf, &hid, &data)).collect();
    let all_ok = eventually(Duration::from_secs(180), || {
        count(
            &c,
            "SELECT count(*) FROM job WHERE tool_id = 'sort1' AND state = 'ok'",
        ) == 30
    });
    assert!(all_ok, "30 step jobs never all ok\n{}", c.logs());
    for id in &invocations {
        let (_, inv) = c
            .api
            .get(&format!("/api/invocations/{id}"), Some(ADMIN_KEY));
        assert_eq!(inv["state"], "scheduled", "{inv}");
    }
    // Only the scheduler scheduled; only the job handlers ran jobs.
    assert_eq!(
        c.sql("SELECT DISTINCT handler FROM workflow_invocation"),
        vec!["sched".to_string()]
    );
    let runners = c.sql("SELECT DISTINCT handler FROM job WHERE tool_id = 'sort1' ORDER BY 1");
    assert!(
        !runners.is_empty() && runners.iter().all(|h| h == "h1" || h == "h2"),
        "step jobs ran on {runners:?}"
    );
    let handlers = c.live_handlers();
    assert_eq!(
        handlers["sched"]["schedules_workflows"], true,
        "{handlers:?}"
    );
    assert_eq!(handlers["sched"]["jobs_held"], 0, "{handlers:?}");
    // The last step's output is the sorted input.
    let (_, inv) = c.api.get(
        &format!("/api/invocations/{}", invocations[0]),
        Some(ADMIN_KEY),
    );
    let last = inv["steps"][3]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, outputs) = c
        .api
        .get(&format!("/api/jobs/{last}/outputs"), Some(ADMIN_KEY));
    let out = str_field(&outputs[0]["dataset"], "id");
    let text = c
        .api
        .client
        .get(format!(
            "{}/api/datasets/{out}/display?key={ADMIN_KEY}",
            c.url
        ))
        .send()
        .and_then(|r| r.text())
        .unwrap_or_default();
    assert_eq!(text, "apple\nfig\npear\n");
}

#[test]
fn kill_9_of_a_scheduler_mid_transaction_creates_every_step_once() {
    const N: usize = 100;
    const STEPS: i64 = 5;
    let mut c = Cluster::new(Backend::Postgres, &opts());
    c.start_web();
    // The 20th invocation the victim schedules never commits: it is killed inside it.
    c.start_handler_env(
        "victim",
        &["workflow-schedulers"],
        &[("GALAXY_SERVER_FAULTS", "scheduler-stall-in-transaction@20")],
    );
    c.start_handler("h1", &["job-handlers"]);
    let hid = c.history();
    let data = upload(&c, &hid, "b\na\n");
    let wf = import(&c, &chain(STEPS as usize));
    for _ in 0..N {
        invoke(&c, &wf, &hid, &data);
    }
    let stalled = eventually(Duration::from_secs(60), || {
        c.proc("victim")
            .log_text()
            .contains("fault: stalling before the commit")
    });
    assert!(stalled, "the victim never reached its fault\n{}", c.logs());
    let held_by_victim = count(
        &c,
        "SELECT count(*) FROM workflow_invocation WHERE handler = 'victim' AND state = 'ready'",
    );
    assert!(
        held_by_victim >= 1,
        "the victim holds the stalled invocation"
    );
    let handlers = c.live_handlers();
    assert!(
        handlers["victim"]["invocations_held"].as_i64().unwrap_or(0) >= 1,
        "/api/handlers shows what the victim holds: {handlers:?}"
    );
    c.start_handler("rescuer", &["workflow-schedulers"]);
    c.proc("victim").kill9();
    let killed = Instant::now();
    let done = eventually(Duration::from_secs(120), || {
        count(
            &c,
            "SELECT count(*) FROM workflow_invocation WHERE state = 'scheduled'",
        ) == N as i64
    });
    assert!(
        done,
        "not every invocation was scheduled: {:?}\n{}",
        c.sql("SELECT state, handler, count(*) FROM workflow_invocation GROUP BY 1, 2"),
        c.logs()
    );
    println!(
        "all {N} invocations scheduled {:.1} s after the kill ({held_by_victim} held by the victim)",
        killed.elapsed().as_secs_f64()
    );
    // Exactly one job per tool step, every job belonging to a step.
    assert_eq!(
        count(&c, "SELECT count(*) FROM job WHERE tool_id = 'sort1'"),
        N as i64 * STEPS
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM workflow_invocation_step WHERE job_id IS NOT NULL"
        ),
        N as i64 * STEPS
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM (SELECT invocation_id FROM workflow_invocation_step \
             GROUP BY invocation_id HAVING count(*) <> 6) AS odd"
        ),
        0
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM job j WHERE tool_id = 'sort1' AND NOT EXISTS \
             (SELECT 1 FROM workflow_invocation_step s WHERE s.job_id = j.id)"
        ),
        0,
        "a job outside every step"
    );
    // The rescuer scheduled what the victim held.
    assert!(
        count(
            &c,
            "SELECT count(*) FROM workflow_invocation WHERE handler = 'rescuer'"
        ) >= held_by_victim,
        "{:?}",
        c.sql("SELECT handler, count(*) FROM workflow_invocation GROUP BY 1")
    );
}

#[test]
fn job_handlers_schedule_while_no_workflow_scheduler_is_live() {
    let mut c = Cluster::new(Backend::Postgres, &opts());
    c.start_web();
    c.start_handler("h1", &["job-handlers"]);
    let hid = c.history();
    let data = upload(&c, &hid, "b\na\n");
    let wf = import(&c, &chain(2));
    for _ in 0..3 {
        invoke(&c, &wf, &hid, &data);
    }
    let by = "SELECT handler, count(*) FROM workflow_invocation WHERE state = 'scheduled' GROUP BY 1 ORDER BY 1";
    let ok = eventually(Duration::from_secs(30), || {
        c.sql(by) == vec!["h1|3".to_string()]
    });
    assert!(
        ok,
        "the job handler did not schedule: {:?}\n{}",
        c.sql(by),
        c.logs()
    );
    // Once a workflow scheduler is live, new invocations are its own.
    c.start_handler("sched", &["workflow-schedulers"]);
    for _ in 0..3 {
        invoke(&c, &wf, &hid, &data);
    }
    let ok = eventually(Duration::from_secs(30), || {
        c.sql(by) == vec!["h1|3".to_string(), "sched|3".to_string()]
    });
    assert!(ok, "{:?}\n{}", c.sql(by), c.logs());
    assert_eq!(
        c.sql("SELECT DISTINCT pool FROM workflow_invocation ORDER BY 1"),
        vec![
            "job-handlers".to_string(),
            "workflow-schedulers".to_string()
        ]
    );
}
