//! The harness: a real `galaxy-server` process per test, on a fresh temp dir and a fresh
//! database (SQLite file or PostgreSQL database), spoken to over real HTTP.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The key every test server accepts as the bootstrap admin.
pub const ADMIN_KEY: &str = "test-admin-key";

/// How often waiting loops poll.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server under test; `GALAXY_TEST_SERVER_BIN` names another build (e.g. a release
/// binary for the timing figures).
pub fn server_bin() -> PathBuf {
    std::env::var_os("GALAXY_TEST_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_galaxy-server")))
}

/// A name no other test (or earlier run) uses.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_nanos() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{n:x}", nanos & 0xffff_ffff, std::process::id())
}

/// A number that differs between tests and runs (for `sleep N` command lines).
pub fn unique_number(min: u64, span: u64) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .subsec_nanos() as u64;
    let mix = nanos
        ^ (u64::from(std::process::id()) << 7)
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed) * 7919);
    min + mix % span
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

// ---------------------------------------------------------------- PostgreSQL

fn postgres_base() -> String {
    std::env::var("GALAXY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_string()
}

/// Runs one SQL statement with psql against `db` on the test PostgreSQL server.
pub fn psql(db: &str, sql: &str) -> Result<String, String> {
    let url = format!("{}/{db}", postgres_base());
    let out = Command::new("psql")
        .args([&url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A fresh PostgreSQL database, dropped (best effort) when this value is dropped.
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let name = format!("gs_test_{}", unique_suffix());
        if let Err(e) = psql("postgres", &format!("CREATE DATABASE {name}")) {
            panic!(
                "PostgreSQL is not reachable at {}: run scripts/test (it installs/starts PostgreSQL) \
                 or set GALAXY_TEST_POSTGRES.\npsql said: {e}",
                postgres_base()
            );
        }
        PgDatabase { name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", postgres_base(), self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

// ---------------------------------------------------------------- configuration

/// What a test may change in the generated configuration.
#[derive(Default, Clone)]
pub struct Opts {
    /// Raw YAML lines appended to the `galaxy:` section (indent them by two spaces).
    pub galaxy_extra: String,
    /// Replaces the `gravity:` section's body entirely (indent by two spaces); `{PORT}` is
    /// replaced by the chosen port.
    pub gravity: Option<String>,
    /// Replaces the shipped job configuration (path relative to the temp dir, or absolute).
    pub job_config_file: Option<String>,
    /// Replaces the shipped tool configuration (path relative to the temp dir, or absolute).
    pub tool_config_file: Option<String>,
    /// Files written into the temp dir before start; `{TMP}` in the content is replaced by
    /// the temp dir's path.
    pub files: Vec<(String, String)>,
    /// A database URL to use instead of a fresh database (e.g. on a private server).
    pub database_connection: Option<String>,
    /// Environment variables of every process started on this configuration.
    pub env: Vec<(String, String)>,
}

impl Opts {
    pub fn file(mut self, name: &str, content: &str) -> Opts {
        self.files.push((name.into(), content.into()));
        self
    }
    pub fn galaxy_extra(mut self, yaml: &str) -> Opts {
        self.galaxy_extra.push_str(yaml);
        if !self.galaxy_extra.ends_with('\n') {
            self.galaxy_extra.push('\n');
        }
        self
    }
    pub fn gravity(mut self, yaml: &str) -> Opts {
        self.gravity = Some(yaml.into());
        self
    }
    pub fn job_config_file(mut self, path: &str) -> Opts {
        self.job_config_file = Some(path.into());
        self
    }
    pub fn tool_config_file(mut self, path: &str) -> Opts {
        self.tool_config_file = Some(path.into());
        self
    }
    #[allow(dead_code)]
    pub fn env(mut self, key: &str, value: &str) -> Opts {
        self.env.push((key.into(), value.into()));
        self
    }
    #[allow(dead_code)]
    pub fn database_connection(mut self, url: &str) -> Opts {
        self.database_connection = Some(url.into());
        self
    }
}

/// A temp dir with a `galaxy.yml` and a fresh database, not yet served.
pub struct ConfigDir {
    pub port: u16,
    env: Vec<(String, String)>,
    pub config: PathBuf,
    pub pg: Option<PgDatabase>,
    // Declared last: removed after the database is dropped.
    pub tmp: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(backend: Backend, opts: &Opts) -> ConfigDir {
        let tmp = tempfile::Builder::new()
            .prefix("gs-test-")
            .tempdir()
            .expect("create temp dir");
        let dir = tmp.path().to_path_buf();
        let port = free_port();
        let pg = match (backend, &opts.database_connection) {
            (Backend::Postgres, None) => Some(PgDatabase::create()),
            _ => None,
        };
        let database_connection = match (&pg, &opts.database_connection) {
            (_, Some(url)) => url.clone(),
            (None, None) => format!("sqlite:///{}/universe.sqlite", dir.display()),
            (Some(db), None) => db.url(),
        };
        for (name, content) in &opts.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create dir for test file");
            }
            fs::write(&path, content.replace("{TMP}", &dir.display().to_string()))
                .expect("write test file");
        }
        let resolve = |p: &str| -> String {
            if Path::new(p).is_absolute() {
                p.to_string()
            } else {
                dir.join(p).display().to_string()
            }
        };
        let manifest = manifest_dir();
        let tool_conf = opts
            .tool_config_file
            .as_deref()
            .map(resolve)
            .unwrap_or_else(|| manifest.join("config/tool_conf.xml").display().to_string());
        let job_conf = opts
            .job_config_file
            .as_deref()
            .map(resolve)
            .unwrap_or_else(|| manifest.join("config/job_conf.yml").display().to_string());
        let gravity = opts
            .gravity
            .clone()
            .unwrap_or_else(|| "  gunicorn: {bind: \"127.0.0.1:{PORT}\", workers: 2}\n".into())
            .replace("{PORT}", &port.to_string());
        let yaml = format!(
            "gravity:\n{gravity}\
             galaxy:\n\
             \x20 database_connection: \"{database_connection}\"\n\
             \x20 tool_config_file: \"{tool_conf}\"\n\
             \x20 job_config_file: \"{job_conf}\"\n\
             \x20 file_path: \"{d}/objects\"\n\
             \x20 job_working_directory: \"{d}/jobs\"\n\
             \x20 id_secret: test-secret\n\
             \x20 bootstrap_admin_api_key: {ADMIN_KEY}\n\
             \x20 job_handler_monitor_sleep: 0.5\n\
             \x20 heartbeat_interval: 2\n\
             {extra}",
            d = dir.display(),
            extra = opts.galaxy_extra,
        );
        let config = dir.join("galaxy.yml");
        fs::write(&config, yaml).expect("write galaxy.yml");
        ConfigDir {
            port,
            env: opts.env.clone(),
            config,
            pg,
            tmp,
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// A `galaxy-server` command with cwd = the temp dir and a clean `GALAXY_CONFIG_*` env.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(server_bin());
        cmd.current_dir(self.path()).stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("GALAXY_CONFIG_") {
                cmd.env_remove(&k);
            }
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs `galaxy-server ARGS…` to completion (60 s at most).
    pub fn run_cli(&self, args: &[&str]) -> Output {
        let out_path = self.path().join(format!("cli-{}.out", unique_suffix()));
        let err_path = self.path().join(format!("cli-{}.err", unique_suffix()));
        let mut child = self
            .command()
            .args(args)
            .stdout(fs::File::create(&out_path).expect("create stdout file"))
            .stderr(fs::File::create(&err_path).expect("create stderr file"))
            .spawn()
            .expect("spawn galaxy-server");
        let status = wait_timeout(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "galaxy-server {args:?} did not exit within 60 s; stderr:\n{}",
                fs::read_to_string(&err_path).unwrap_or_default()
            )
        });
        Output {
            status,
            stdout: fs::read(&out_path).unwrap_or_default(),
            stderr: fs::read(&err_path).unwrap_or_default(),
        }
    }
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().expect("wait for child") {
            Some(status) => return Some(status),
            None if Instant::now() >= deadline => return None,
            None => std::thread::sleep(POLL),
        }
    }
}

// ---------------------------------------------------------------- the server

pub struct TestServer {
    pub url: String,
    pub api: Api,
    child: Option<Child>,
    // Declared last so it drops (database, temp dir) after the process is gone.
    pub dir: ConfigDir,
}

impl TestServer {
    pub fn start(backend: Backend, opts: Opts) -> TestServer {
        let dir = ConfigDir::new(backend, &opts);
        let url = format!("http://127.0.0.1:{}", dir.port);
        let mut server = TestServer {
            api: Api::new(&url),
            url,
            child: None,
            dir,
        };
        server.spawn();
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The whole server log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last lines of the server log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(80);
        format!(
            "---- server log ({}), last {} lines ----\n{}\n---- end of server log ----",
            self.log_path().display(),
            lines.len() - from,
            lines[from..].join("\n")
        )
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open server.log");
        let child = self
            .dir
            .command()
            .arg("-c")
            .arg(&self.dir.config)
            .args(["--mode", "all-in-one"])
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn galaxy-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "galaxy-server exited during start-up with {status}\n{}",
                    self.log_tail()
                );
            }
            if let Ok(resp) = self
                .api
                .client
                .get(format!("{}/api/version", self.url))
                .send()
                && resp.status().as_u16() == 200
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "galaxy-server did not answer 200 on /api/version within 30 s\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then wait (30 s at most) and return the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server not running");
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        match wait_timeout(&mut child, Duration::from_secs(30)) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "galaxy-server did not stop within 30 s of SIGTERM\n{}",
                    self.log_tail()
                );
            }
        }
    }

    /// SIGKILL: the process dies on the spot, as in a crash.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server not running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same config, database, directories and port.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    // ------------------------------------------------------------ API helpers

    /// Creates a user (admin key) and an API key for them.
    pub fn create_user(&self, name: &str) -> TestUser {
        let username = format!("{name}-{}", unique_suffix());
        let email = format!("{username}@example.org");
        let (status, user) = self.api.post(
            "/api/users",
            Some(ADMIN_KEY),
            &json!({"email": email, "username": username, "password": "test-password-1"}),
        );
        assert_eq!(status, 200, "POST /api/users: {user}");
        let id = str_field(&user, "id");
        let (status, key) = self.api.post(
            &format!("/api/users/{id}/api_key"),
            Some(ADMIN_KEY),
            &json!({}),
        );
        assert_eq!(status, 200, "POST /api/users/{id}/api_key: {key}");
        let key = key
            .as_str()
            .unwrap_or_else(|| panic!("api_key answer is not a JSON string: {key}"))
            .to_string();
        assert!(!key.is_empty(), "empty API key");
        TestUser {
            id,
            email,
            username,
            key,
        }
    }

    pub fn create_history(&self, key: &str, name: &str) -> String {
        let (status, h) = self
            .api
            .post("/api/histories", Some(key), &json!({ "name": name }));
        assert_eq!(status, 200, "POST /api/histories: {h}");
        assert_eq!(h["name"], name, "history name: {h}");
        str_field(&h, "id")
    }

    /// Pastes `text` into history `hid` with upload1; returns (dataset id, job id).
    pub fn paste(&self, key: &str, hid: &str, text: &str) -> (String, String) {
        let run = self.run_tool(
            key,
            hid,
            "upload1",
            json!({
                "files_0|url_paste": text,
                "files_0|type": "upload_dataset",
                "file_type": "txt",
            }),
        );
        (
            str_field(&run["outputs"][0], "id"),
            str_field(&run["jobs"][0], "id"),
        )
    }

    /// `POST /api/tools`, asserting 200 and the Galaxy run-response shape.
    pub fn run_tool(&self, key: &str, hid: &str, tool_id: &str, inputs: Value) -> Value {
        let (status, run) = self.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": tool_id, "history_id": hid, "inputs": inputs}),
        );
        assert_eq!(status, 200, "POST /api/tools ({tool_id}): {run}");
        for k in ["outputs", "jobs"] {
            assert!(
                run[k].as_array().is_some_and(|a| !a.is_empty()),
                "run response has no {k}: {run}"
            );
        }
        run
    }

    /// Runs a one-data-input tool; returns (output dataset id, job id).
    pub fn run_on(
        &self,
        key: &str,
        hid: &str,
        tool_id: &str,
        param: &str,
        dataset: &str,
    ) -> (String, String) {
        let run = self.run_tool(
            key,
            hid,
            tool_id,
            json!({ param: {"src": "hda", "id": dataset} }),
        );
        (
            str_field(&run["outputs"][0], "id"),
            str_field(&run["jobs"][0], "id"),
        )
    }

    pub fn job(&self, key: &str, job_id: &str) -> Value {
        let (status, job) = self.api.get(&format!("/api/jobs/{job_id}"), Some(key));
        assert_eq!(status, 200, "GET /api/jobs/{job_id}: {job}");
        job
    }

    pub fn job_state(&self, key: &str, job_id: &str) -> String {
        str_field(&self.job(key, job_id), "state")
    }

    /// Polls until the job's state is one of `states`; panics after `timeout`.
    pub fn wait_job_state(
        &self,
        key: &str,
        job_id: &str,
        states: &[&str],
        timeout: Duration,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let job = self.job(key, job_id);
            let state = job["state"].as_str().unwrap_or_default();
            if states.contains(&state) {
                return job;
            }
            if Instant::now() >= deadline {
                panic!(
                    "job {job_id} not in {states:?} within {timeout:?}; last: {job}\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits (60 s at most) for a terminal state and returns the job.
    pub fn wait_job(&self, key: &str, job_id: &str) -> Value {
        self.wait_job_state(key, job_id, TERMINAL_STATES, Duration::from_secs(60))
    }

    /// Waits for a job to end `ok`; panics with the full job and the log otherwise.
    pub fn wait_job_ok(&self, key: &str, job_id: &str) -> Value {
        let job = self.wait_job(key, job_id);
        if job["state"] != "ok" {
            let (_, full) = self
                .api
                .get(&format!("/api/jobs/{job_id}?full=true"), Some(key));
            panic!(
                "job {job_id} ended {}: {full}\n{}",
                job["state"],
                self.log_tail()
            );
        }
        job
    }

    pub fn dataset(&self, key: &str, id: &str) -> Value {
        let (status, d) = self.api.get(&format!("/api/datasets/{id}"), Some(key));
        assert_eq!(status, 200, "GET /api/datasets/{id}: {d}");
        d
    }

    /// The raw content of a dataset.
    pub fn display(&self, key: &str, id: &str) -> String {
        let (status, body) = self
            .api
            .get_text(&format!("/api/datasets/{id}/display"), Some(key));
        assert_eq!(status, 200, "GET /api/datasets/{id}/display: {body}");
        body
    }

    /// Asserts a dataset is `ok` with exactly `content` (size, extension, display).
    pub fn assert_dataset(&self, key: &str, id: &str, content: &str) {
        let d = self.dataset(key, id);
        assert_eq!(d["state"], "ok", "dataset {id}: {d}");
        assert_eq!(
            d["file_size"].as_u64(),
            Some(content.len() as u64),
            "file_size of dataset {id}: {d}"
        );
        assert!(
            d["file_ext"].as_str().is_some_and(|e| !e.is_empty()),
            "dataset {id} has no file_ext: {d}"
        );
        assert!(d["name"].is_string(), "dataset {id} has no name: {d}");
        assert_eq!(self.display(key, id), content, "content of dataset {id}");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
    }
}

pub const TERMINAL_STATES: &[&str] = &["ok", "error", "deleted", "paused", "stopped", "skipped"];

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub username: String,
    pub key: String,
}

/// A string field of a JSON object, or a panic showing the object.
pub fn str_field(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_string()
}

// ---------------------------------------------------------------- HTTP client

pub struct Api {
    pub base: String,
    pub client: reqwest::blocking::Client,
}

impl Api {
    /// Runs `cat1` on dataset `ds` into history `hid`: (job id, output id, output hid), or
    /// `None` when the request fails or is refused (a killed server does not panic the caller).
    pub fn try_cat1(&self, key: &str, hid: &str, ds: &str) -> Option<(String, String, i64)> {
        let resp = self
            .client
            .post(format!("{}/api/tools", self.base))
            .header("x-api-key", key)
            .json(&json!({"tool_id": "cat1", "history_id": hid,
                "inputs": {"input1": {"src": "hda", "id": ds}}}))
            .send()
            .ok()?;
        if resp.status().as_u16() != 200 {
            return None;
        }
        let run: Value = resp.json().ok()?;
        Some((
            str_field(&run["jobs"][0], "id"),
            str_field(&run["outputs"][0], "id"),
            run["outputs"][0]["hid"].as_i64().unwrap_or(-1),
        ))
    }

    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("build HTTP client"),
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder, key: Option<&str>) -> (u16, String) {
        let req = match key {
            Some(k) => req.header("x-api-key", k),
            None => req,
        };
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .unwrap_or_else(|e| panic!("reading HTTP body: {e}"));
        (status, body)
    }

    fn parse(status: u16, body: String) -> (u16, Value) {
        match serde_json::from_str(&body) {
            Ok(v) => (status, v),
            // Kept as a string so assertion messages show what came back.
            Err(_) => (status, Value::String(body)),
        }
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let (s, b) = self.get_text(path, key);
        Self::parse(s, b)
    }

    pub fn get_text(&self, path: &str, key: Option<&str>) -> (u16, String) {
        self.send(self.client.get(format!("{}{path}", self.base)), key)
    }

    pub fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let (s, b) = self.send(
            self.client.post(format!("{}{path}", self.base)).json(body),
            key,
        );
        Self::parse(s, b)
    }

    /// POST with a raw body sent as `application/json` (for malformed-JSON tests).
    pub fn post_raw(&self, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
        let (s, b) = self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
            key,
        );
        Self::parse(s, b)
    }

    pub fn delete(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let (s, b) = self.send(self.client.delete(format!("{}{path}", self.base)), key);
        Self::parse(s, b)
    }

    pub fn put(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let (s, b) = self.send(
            self.client.put(format!("{}{path}", self.base)).json(body),
            key,
        );
        Self::parse(s, b)
    }

    /// DELETE with a JSON body (as BioBlend sends `purge`).
    pub fn delete_json(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let (s, b) = self.send(
            self.client
                .delete(format!("{}{path}", self.base))
                .json(body),
            key,
        );
        Self::parse(s, b)
    }
}

/// Asserts Galaxy's error shape: the status, a non-empty `err_msg` and an integer `err_code`.
pub fn assert_error(what: &str, status: u16, body: &Value, allowed: &[u16]) {
    assert!(
        allowed.contains(&status),
        "{what}: expected HTTP {allowed:?}, got {status}: {body}"
    );
    assert!(
        body["err_msg"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what}: no non-empty err_msg in {body}"
    );
    assert!(
        body["err_code"].is_u64() || body["err_code"].is_i64(),
        "{what}: no integer err_code in {body}"
    );
}

// ---------------------------------------------------------------- processes

/// Pids of live processes whose command line is exactly `argv` (`argv[0]` compared by
/// file name, so `/bin/sleep 900` matches `["sleep", "900"]`).
pub fn processes_with_cmdline(argv: &[&str]) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.len() != argv.len() || args.is_empty() {
            continue;
        }
        let name = Path::new(&args[0])
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A zombie has an empty cmdline and is filtered above.
        if name == argv[0] && args[1..] == argv[1..] {
            found.push(pid);
        }
    }
    found
}

/// Waits until `cond` holds, polling; false on timeout.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}
