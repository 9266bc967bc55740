//! Several `galaxy-server` processes on one configuration and database: a web process and
//! webless handlers, each its own OS process.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, Api, Backend, ConfigDir, Opts, psql, str_field, wait_timeout};

/// A tool with no inputs that appends its `tag` to a shared ledger file when it starts, so a
/// job that ran twice shows up twice.
pub const LEDGER_TOOL: &str = r#"<tool id="ledger" name="Ledger" version="1.0.0">
    <command><![CDATA[
echo "$tag" >> '{TMP}/ledger.txt' && sleep $pause && echo "$tag" > '$out_file1'
    ]]></command>
    <inputs>
        <param name="tag" type="text" value="none"/>
        <param name="pause" type="float" value="0"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

pub const TOOL_CONF: &str = r#"<toolbox>
    <tool file="ledger.xml"/>
    <tool file="ledger2.xml"/>
</toolbox>
"#;

/// Options with the ledger tools (`ledger`, and `ledger2`, the same under another id) and
/// the job configuration `job_conf` (YAML).
pub fn opts(job_conf: &str) -> Opts {
    Opts::default()
        .file("tools/ledger.xml", LEDGER_TOOL)
        .file(
            "tools/ledger2.xml",
            &LEDGER_TOOL.replace("id=\"ledger\"", "id=\"ledger2\""),
        )
        .file("tools/tool_conf.xml", TOOL_CONF)
        .file("job_conf.yml", job_conf)
        .tool_config_file("tools/tool_conf.xml")
        .job_config_file("job_conf.yml")
}

pub const LOCAL_JOB_CONF: &str = "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 4\nexecution:\n  default: local\n  environments:\n    local: {runner: local}\n";

pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    /// SIGTERM (a clean stop), then waits for the exit (30 s at most).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            if wait_timeout(&mut c, Duration::from_secs(30)).is_none() {
                let _ = c.kill();
                let _ = c.wait();
                panic!("{} did not stop within 30 s of SIGTERM", self.name);
            }
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            if wait_timeout(&mut c, Duration::from_secs(10)).is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

pub struct Cluster {
    pub api: Api,
    pub url: String,
    pub procs: Vec<Proc>,
    // Last: dropped after the processes.
    pub dir: ConfigDir,
}

impl Cluster {
    pub fn new(backend: Backend, opts: &Opts) -> Cluster {
        let dir = ConfigDir::new(backend, opts);
        let url = format!("http://127.0.0.1:{}", dir.port);
        Cluster {
            api: Api::new(&url),
            url,
            procs: Vec::new(),
            dir,
        }
    }

    /// Starts `galaxy-server -c CONFIG ARGS…` named `name` (its log in the temp dir).
    pub fn spawn(&mut self, name: &str, args: &[&str]) -> usize {
        self.spawn_env(name, args, &[])
    }

    /// Like [`Cluster::spawn`], with environment variables of this process only.
    pub fn spawn_env(&mut self, name: &str, args: &[&str], env: &[(&str, &str)]) -> usize {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let child = self
            .dir
            .command()
            .arg("-c")
            .arg(&self.dir.config)
            .args(args)
            .envs(env.iter().copied())
            .stdout(file.try_clone().expect("clone log"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn galaxy-server");
        self.procs.push(Proc {
            name: name.to_string(),
            child: Some(child),
            log,
        });
        self.procs.len() - 1
    }

    /// The web process (`--mode web`, server name `main`), waited for until it answers.
    pub fn start_web(&mut self) {
        self.spawn("main", &["--mode", "web"]);
        self.wait_http(&self.url.clone());
    }

    pub fn wait_http(&self, url: &str) {
        let api = Api::new(url);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = api.client.get(format!("{url}/api/version")).send()
                && r.status().as_u16() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{url} did not answer within 30 s\n{}",
                self.logs()
            );
            assert!(
                !self.procs.iter().any(|p| p.child.is_none()),
                "a process exited\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A webless handler joining `pools`; waits until `/api/handlers` lists it.
    pub fn start_handler(&mut self, name: &str, pools: &[&str]) -> usize {
        self.start_handler_env(name, pools, &[])
    }

    /// Like [`Cluster::start_handler`], with environment variables of this process only.
    pub fn start_handler_env(&mut self, name: &str, pools: &[&str], env: &[(&str, &str)]) -> usize {
        let mut args = vec!["--mode", "handler", "--server-name", name];
        for p in pools {
            args.push("--pool");
            args.push(p);
        }
        let i = self.spawn_env(name, &args, env);
        let ok = crate::helpers::eventually(Duration::from_secs(30), || {
            self.live_handlers().contains_key(name)
        });
        assert!(
            ok,
            "handler {name} never appeared in /api/handlers\n{}",
            self.logs()
        );
        i
    }

    pub fn proc(&mut self, name: &str) -> &mut Proc {
        self.procs
            .iter_mut()
            .find(|p| p.name == name)
            .expect("no such process")
    }

    /// `/api/handlers`, by server name.
    pub fn live_handlers(&self) -> BTreeMap<String, Value> {
        let (status, list) = self.api.get("/api/handlers", Some(ADMIN_KEY));
        if status != 200 {
            return BTreeMap::new();
        }
        list.as_array()
            .map(|a| {
                a.iter()
                    .map(|h| (str_field(h, "server_name"), h.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn logs(&self) -> String {
        self.procs
            .iter()
            .map(|p| {
                let text = p.log_text();
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(30);
                format!("---- {} ----\n{}", p.name, lines[from..].join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn db(&self) -> &str {
        &self.dir.pg.as_ref().expect("a PostgreSQL cluster").name
    }

    /// One SQL query's rows (PostgreSQL), `|`-separated columns.
    pub fn sql(&self, q: &str) -> Vec<String> {
        psql(self.db(), q)
            .unwrap_or_else(|e| panic!("psql {q}: {e}"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn history(&self) -> String {
        let (status, h) =
            self.api
                .post("/api/histories", Some(ADMIN_KEY), &json!({"name": "split"}));
        assert_eq!(status, 200, "{h}");
        str_field(&h, "id")
    }

    /// A new user's API key and a history of theirs.
    pub fn user(&self, name: &str) -> (String, String) {
        let (status, user) = self.api.post(
            "/api/users",
            Some(ADMIN_KEY),
            &json!({"email": format!("{name}@example.org"), "username": name, "password": "secret-password"}),
        );
        assert_eq!(status, 200, "{user}");
        let (status, key) = self.api.post(
            &format!("/api/users/{}/api_key", str_field(&user, "id")),
            Some(ADMIN_KEY),
            &json!({}),
        );
        assert_eq!(status, 200, "{key}");
        let key = key.as_str().unwrap_or_default().to_string();
        let (status, h) = self
            .api
            .post("/api/histories", Some(&key), &json!({"name": name}));
        assert_eq!(status, 200, "{h}");
        (key, str_field(&h, "id"))
    }

    /// Submits a `tool` (ledger/ledger2) job; returns its encoded id.
    pub fn submit(api: &Api, hid: &str, tool: &str, tag: &str, pause: f64) -> String {
        Cluster::submit_as(api, ADMIN_KEY, hid, tool, tag, pause)
    }

    pub fn submit_as(api: &Api, key: &str, hid: &str, tool: &str, tag: &str, pause: f64) -> String {
        let (status, run) = api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": tool, "history_id": hid, "inputs": {"tag": tag, "pause": pause}}),
        );
        assert_eq!(status, 200, "run {tool}: {run}");
        str_field(&run["jobs"][0], "id")
    }

    /// Submits `n` jobs from `threads` clients; returns their tags.
    pub fn submit_many(
        &self,
        hid: &str,
        tool: &str,
        prefix: &str,
        n: usize,
        pause: f64,
        threads: usize,
    ) -> Vec<String> {
        let tags: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        std::thread::scope(|s| {
            for chunk in tags.chunks(n.div_ceil(threads.max(1)).max(1)) {
                let url = self.url.clone();
                s.spawn(move || {
                    let api = Api::new(&url);
                    for tag in chunk {
                        Cluster::submit(&api, hid, tool, tag, pause);
                    }
                });
            }
        });
        tags
    }

    /// The ledger: how many times each tag's job started.
    pub fn ledger(&self) -> BTreeMap<String, usize> {
        let text = fs::read_to_string(self.dir.path().join("ledger.txt")).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            *counts.entry(line.to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// Waits until `n` jobs of `tool` are terminal (PostgreSQL); panics with the logs after
    /// `timeout`.
    pub fn wait_terminal(&self, tool: &str, n: usize, timeout: Duration) {
        let q = format!(
            "SELECT count(*) FROM job WHERE tool_id = '{tool}' AND state IN ('ok', 'error', 'deleted', 'paused')"
        );
        let ok = crate::helpers::eventually(timeout, || {
            self.sql(&q).first().and_then(|c| c.parse::<usize>().ok()) == Some(n)
        });
        assert!(
            ok,
            "not all {n} {tool} jobs finished: {:?}\n{}",
            self.sql("SELECT handler, state, count(*) FROM job GROUP BY 1, 2"),
            self.logs()
        );
    }

    /// Counts of jobs of `tool` by (handler, state).
    pub fn by_handler(&self, tool: &str) -> BTreeMap<(String, String), usize> {
        self.sql(&format!("SELECT coalesce(handler, '-'), state, count(*) FROM job WHERE tool_id = '{tool}' GROUP BY 1, 2"))
            .iter()
            .filter_map(|row| {
                let cols: Vec<&str> = row.split('|').collect();
                Some(((cols.first()?.to_string(), cols.get(1)?.to_string()), cols.get(2)?.parse().ok()?))
            })
            .collect()
    }
}

/// Asserts every tag started exactly once.
pub fn assert_ledger_once(ledger: &BTreeMap<String, usize>, tags: &[String]) {
    let missing: Vec<_> = tags.iter().filter(|t| !ledger.contains_key(*t)).collect();
    let twice: Vec<_> = ledger.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        missing.is_empty(),
        "{} tag(s) never ran: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(twice.is_empty(), "tags that ran more than once: {twice:?}");
    assert_eq!(ledger.len(), tags.len(), "unexpected tags in the ledger");
}
