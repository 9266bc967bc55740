//! The handler snippets of Galaxy's scaling page (tests/fixtures/scaling/): `ctl` runs the
//! processes they describe, and jobs go where the page says. The page's tool ids `test1`,
//! `test2`, `test3` stand for shipped tools (`cat1`, `sort1`, `wc_gnu`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, Api, Backend, ConfigDir, Opts, eventually, manifest_dir};
use crate::support::Ctl;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join("tests/fixtures/scaling").join(name))
        .expect("read fixture")
}

/// A ctl configuration on PostgreSQL: web on a port, the page's `handlers` snippet (if any)
/// and its job conf (if any), with the page's tool ids replaced.
fn page_config(handlers: Option<&str>, job_conf: Option<&str>) -> Ctl {
    let mut gravity =
        "  state_dir: state\n  gunicorn:\n    bind: \"127.0.0.1:{PORT}\"\n".to_string();
    if let Some(h) = handlers {
        gravity.push_str(fixture(h).strip_prefix("gravity:\n").expect("gravity:"));
    }
    let mut opts = Opts::default().gravity(&gravity);
    if let Some(j) = job_conf {
        let xml = fixture(j)
            .replace("\"test1\"", "\"cat1\"")
            .replace("\"test2\"", "\"sort1\"")
            .replace("\"test3\"", "\"wc_gnu\"");
        opts = opts
            .file("job_conf.xml", &xml)
            .job_config_file("job_conf.xml");
    }
    let dir = ConfigDir::new(Backend::Postgres, &opts);
    let url = format!("http://127.0.0.1:{}", dir.port);
    Ctl {
        api: Api::new(&url),
        url,
        sock: PathBuf::from("/nonexistent"),
        state_dir: dir.path().join("state"),
        dir,
    }
}

/// Runs `tool` on a pasted dataset and returns the handler that ran its job.
fn handler_of(c: &Ctl, hid: &str, ds: &str, tool: &str) -> String {
    let inputs = match tool {
        "cat1" | "wc_gnu" => json!({"input1": {"src": "hda", "id": ds}}),
        "sleep" => json!({"seconds": 0}),
        _ => json!({"input": {"src": "hda", "id": ds}}),
    };
    let run = c.run(hid, tool, inputs);
    let job = run["jobs"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        c.wait_job(&job, Duration::from_secs(60)),
        "ok",
        "{tool}\n{}",
        c.logs()
    );
    let (_, full): (u16, Value) = c
        .api
        .get(&format!("/api/jobs/{job}?full=true"), Some(ADMIN_KEY));
    full["handler"].as_str().unwrap_or_default().to_string()
}

#[test]
fn dynamic_handlers_and_a_special_pool_as_the_page_says() {
    let c = page_config(Some("handlers.yml"), Some("job_conf_dynamic.xml"));
    let list = c.ok(&["list"]);
    assert!(
        list.contains("handler_0,handler_1,handler_2")
            && list.contains("job-handlers,workflow-schedulers"),
        "3 processes in job-handlers and workflow-schedulers:\n{list}"
    );
    assert!(
        list.contains("special_0") && list.contains("job-handlers.special"),
        "{list}"
    );
    c.ok(&["start"]);
    c.wait_web();
    // "3 processes will act as job handlers and workflow schedulers": status shows their
    // pools, and /api/handlers says which schedule workflows.
    let status = c.ok(&["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("handler_0") && l.contains("job-handlers,workflow-schedulers")),
        "{status}"
    );
    let live = eventually(Duration::from_secs(30), || {
        let (_, handlers): (u16, Value) = c.api.get("/api/handlers", Some(ADMIN_KEY));
        let rows = handlers.as_array().cloned().unwrap_or_default();
        let schedules = |name: &str| {
            rows.iter()
                .find(|h| h["server_name"] == name)
                .map(|h| h["schedules_workflows"] == true)
        };
        (0..3).all(|i| schedules(&format!("handler_{i}")) == Some(true))
            && schedules("special_0") == Some(false)
    });
    assert!(
        live,
        "handler_0..2 schedule workflows, special_0 does not\n{}",
        c.logs()
    );
    let hid = c.history();
    let ds = c.paste(&hid, "2\n1\n");
    // test1 (cat1) is mapped to the `special` tag: only special_0 handles it.
    for _ in 0..3 {
        assert_eq!(handler_of(&c, &hid, &ds, "cat1"), "special_0");
    }
    // Everything else goes to the default handlers.
    for tool in ["sort1", "wc_gnu", "sort1"] {
        let h = handler_of(&c, &hid, &ds, tool);
        assert!(h.starts_with("handler_"), "{tool} ran on {h}");
    }
    c.ok(&["stop"]);
}

#[test]
fn static_handlers_with_tags_as_the_page_says() {
    let c = page_config(None, Some("job_conf_static.xml"));
    let list = c.ok(&["list"]);
    for (h, pool) in [
        ("handler1", "job-handlers"),
        ("handler3", "job-handlers.nodefault"),
        ("handler5", "job-handlers.special"),
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(h) && l.trim_end().ends_with(pool)),
            "{h} in {pool}:\n{list}"
        );
    }
    c.ok(&["start"]);
    c.wait_web();
    let hid = c.history();
    let ds = c.paste(&hid, "2\n1\n");
    // test1 → handler3 (by id), test2 → the `special` tag, test3 → handler2.
    assert_eq!(handler_of(&c, &hid, &ds, "cat1"), "handler3");
    let special = handler_of(&c, &hid, &ds, "sort1");
    assert!(
        ["handler4", "handler5"].contains(&special.as_str()),
        "{special}"
    );
    assert_eq!(handler_of(&c, &hid, &ds, "wc_gnu"), "handler2");
    // Unmapped tools: the untagged handlers only (handler3 is tagged, so it never does).
    for _ in 0..4 {
        let h = handler_of(&c, &hid, &ds, "sleep");
        assert!(
            ["handler1", "handler2"].contains(&h.as_str()),
            "sleep ran on {h}"
        );
    }
    c.ok(&["stop"]);
}

#[test]
fn handler_names_from_a_template_with_their_environment() {
    let c = page_config(Some("handlers_template.yml"), None);
    let list = c.ok(&["list"]);
    assert!(list.contains("handler0,handler1"), "{list}");
    assert!(
        list.contains("sge_0") && list.contains("job-handlers.sge"),
        "{list}"
    );
    let show = c.ok(&["show", "handler"]);
    assert_eq!(
        show.matches("GALAXY_HANDLER_ROLE=worker").count(),
        2,
        "{show}"
    );
    assert!(
        show.contains("--pool job-handlers --pool workflow-schedulers"),
        "Gravity's default pools:\n{show}"
    );
    let show = c.ok(&["show", "sge_0"]);
    assert!(show.contains("SGE_ROOT=/opt/sge"), "{show}");
}
