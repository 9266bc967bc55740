//! The dashboard in a real headless Chromium driven through chromedriver: it loads,
//! takes the API key once, shows the live handler, runs a tool through its form, shows the
//! job reach `ok` and, when its id is clicked, its details and metrics. A screenshot is saved to `target/dashboard-screenshot.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test` installs them); without
//! them the test fails saying so.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{Backend, Opts, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(30);

fn require(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver; scripts/test does it)"
    );
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let ready = helpers::eventually(Duration::from_secs(20), || {
            reqwest::blocking::get(&status).is_ok_and(|r| r.status().is_success())
        });
        assert!(ready, "chromedriver did not answer on {status}");
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| helpers::manifest_dir().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        helpers::manifest_dir().join(target)
    };
    target.join("dashboard-screenshot.png")
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1100"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("WebDriver session with {CHROMIUM}: {e}"))
}

/// Waits until `css` matches an element; panics with `what` and the page's error box.
async fn wait_for(c: &Client, css: &str, what: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            return e;
        }
        if Instant::now() > deadline {
            let error = match c.find(Locator::Css("#error")).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("{what}: nothing matched `{css}` within {WAIT:?} (page error: {error:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[test]
fn dashboard_runs_a_job_and_shows_it_reach_ok() {
    require(CHROMIUM);
    require(CHROMEDRIVER);
    let server = TestServer::start(Backend::Sqlite, Opts::default());
    let user = server.create_user("dashboard");
    let hid = server.create_history(&user.key, "dashboard history");
    let (dataset, _) = server.paste(&user.key, &hid, "pear\napple\nfig\n");
    // A workflow invocation (input → sort1 → cat1 of two branches → wc_gnu) for the
    // invocations table.
    let ga: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            helpers::manifest_dir().join("tests/fixtures/workflows/four_steps.ga"),
        )
        .expect("four_steps.ga"),
    )
    .expect("JSON");
    let (status, wf) = server.api.post(
        "/api/workflows/upload",
        Some(&user.key),
        &serde_json::json!({"workflow": ga}),
    );
    assert_eq!(status, 200, "import: {wf}");
    let (status, inv) = server.api.post(
        &format!(
            "/api/workflows/{}/invocations",
            wf["id"].as_str().unwrap_or_default()
        ),
        Some(&user.key),
        &serde_json::json!({"history_id": hid, "inputs": {"0": {"src": "hda", "id": dataset}}}),
    );
    assert_eq!(status, 200, "invoke: {inv}");
    let invocation = inv["id"].as_str().unwrap_or_default().to_string();
    let driver = Driver::start();
    let url = format!("{}/", server.url);
    let key = user.key.clone();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let job_id = rt.block_on(async {
        let c = browser(&driver).await;
        c.goto(&url).await.expect("open the dashboard");
        assert_eq!(
            c.title().await.expect("title"),
            "galaxy-server dashboard",
            "the page at / is the dashboard"
        );

        // The key, typed once.
        let input = wait_for(&c, "#api-key", "the key field").await;
        input.send_keys(&key).await.expect("type the key");
        c.find(Locator::Css("#save-key"))
            .await
            .expect("the key button")
            .click()
            .await
            .expect("submit the key");

        // The live handler of this all-in-one process.
        let row = wait_for(&c, "#handlers tr[data-server-name]", "a live process").await;
        let row_text = row.text().await.expect("handler row");
        assert!(
            row_text.contains("job-handlers") && row_text.contains("all-in-one"),
            "the live process shows its mode and pools: {row_text:?}"
        );
        assert!(
            text(&c, "#handlers td.age").await.ends_with(" s"),
            "heartbeat age shown"
        );

        // The invocation with its steps' jobs, each followed to ok; the scheduler's column.
        let done = format!("#invocations tr[data-invocation-id='{invocation}'][data-state='scheduled']");
        wait_for(&c, &done, "the invocation, scheduled").await;
        for step in 1..=3 {
            let css = format!(
                "#invocations tr[data-invocation-id='{invocation}'] span.step[data-step='{step}'][data-state='ok']"
            );
            wait_for(&c, &css, "a step of the invocation shown ok").await;
        }
        assert_eq!(
            text(&c, "#handlers td.invocations").await,
            "0",
            "invocations held by the all-in-one scheduler, none once scheduled"
        );

        // Run sort1 on the pasted dataset through the form.
        wait_for(
            &c,
            "#run-tool option[value='sort1']",
            "sort1 in the tool list",
        )
        .await;
        c.find(Locator::Css("#run-history"))
            .await
            .expect("history select")
            .select_by_value(&hid)
            .await
            .expect("pick the history");
        c.find(Locator::Css("#run-tool"))
            .await
            .expect("tool select")
            .select_by_value("sort1")
            .await
            .expect("pick sort1");
        let option = format!("#param-input option[value='{dataset}']");
        wait_for(&c, &option, "the pasted dataset offered as sort1's input").await;
        c.find(Locator::Css("#param-input"))
            .await
            .expect("input select")
            .select_by_value(&dataset)
            .await
            .expect("pick the dataset");
        c.find(Locator::Css("#run-submit"))
            .await
            .expect("run button")
            .click()
            .await
            .expect("run");
        let status = wait_for(
            &c,
            "#run-status[data-job-id]:not([data-job-id=''])",
            "a submitted job",
        )
        .await;
        let job_id = status
            .attr("data-job-id")
            .await
            .expect("job id attribute")
            .unwrap_or_default();
        assert!(!job_id.is_empty(), "the form names the submitted job");

        // The jobs table follows it to ok without a reload; the counts follow too.
        let done = format!("#jobs tr[data-job-id='{job_id}'][data-state='ok']");
        wait_for(&c, &done, "the submitted job shown as ok").await;
        let ok_count: i64 = text(&c, "#counts li[data-state='ok'] .n")
            .await
            .parse()
            .unwrap_or(0);
        assert!(
            ok_count >= 2,
            "the ok count includes the paste and the sort: {ok_count}"
        );

        // Its details and metrics, when its id is clicked.
        c.find(Locator::Css(&format!(
            "#jobs tr[data-job-id='{job_id}'] button.show-job"
        )))
        .await
        .expect("the job's id button")
        .click()
        .await
        .expect("show the job");
        wait_for(
            &c,
            &format!("#job-detail[data-job-id='{job_id}'][data-state='ok']"),
            "the job's details",
        )
        .await;
        let runtime = wait_for(
            &c,
            "#job-metrics tr[data-metric='runtime_seconds']",
            "the job's run time among its metrics",
        )
        .await;
        let runtime = runtime.text().await.expect("run time row");
        assert!(
            runtime.contains("Job Runtime (Wall Clock)") && runtime.contains("second"),
            "run time shown as Galaxy does: {runtime:?}"
        );
        assert_eq!(
            text(&c, "#job-metrics tr[data-metric='galaxy_slots'] td.value").await,
            "1",
            "cores allocated"
        );
        let fields = text(&c, "#job-fields").await;
        assert!(
            fields.contains("local:///") && fields.contains("sort"),
            "runner and command line among the details: {fields:?}"
        );

        let png = c.screenshot().await.expect("screenshot");
        let path = screenshot_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("target dir");
        }
        std::fs::write(&path, png).expect("save the screenshot");

        // The key is remembered: a reload shows the data without typing it again.
        c.goto(&url).await.expect("reload");
        wait_for(
            &c,
            "#handlers tr[data-server-name]",
            "the dashboard after a reload",
        )
        .await;
        c.close().await.expect("close the browser");
        job_id
    });

    let job = server.wait_job_ok(&user.key, &job_id);
    assert_eq!(job["tool_id"], "sort1", "{job}");
    let outputs = server
        .api
        .get(&format!("/api/jobs/{job_id}?full=true"), Some(&user.key))
        .1;
    let out = outputs["outputs"]["out_file1"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("sort1's output in {outputs}"))
        .to_string();
    server.assert_dataset(&user.key, &out, "apple\nfig\npear\n");
}
