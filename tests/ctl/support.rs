//! A configuration for `galaxy-server ctl` (web on TCP and a unix socket, dynamic handlers
//! from `gravity.handlers`, one static handler from the job conf) and the commands around it.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, Api, Backend, ConfigDir, Opts, TERMINAL_STATES, eventually, str_field,
    unique_suffix, wait_timeout,
};

pub const JOB_CONF: &str = "runners:\n  local:\n    load: galaxy.jobs.runners.local:LocalJobRunner\n    workers: 4\nexecution:\n  default: local\n  environments:\n    local: {runner: local}\nhandling:\n  processes:\n    static1: {}\n";

/// One row of `ctl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub pid: Option<u32>,
    pub state: String,
    pub pools: String,
    pub line: String,
}

pub struct Ctl {
    pub api: Api,
    pub url: String,
    pub sock: PathBuf,
    pub state_dir: PathBuf,
    pub dir: ConfigDir,
}

fn gravity(processes: usize) -> String {
    format!(
        "  state_dir: state\n  gunicorn:\n    bind: [\"127.0.0.1:{{PORT}}\", \"unix:SOCKDIR/galaxy.sock\"]\n    workers: 2\n  handlers:\n    handler:\n      processes: {processes}\n      pools: [job-handlers]\n"
    )
}

impl Ctl {
    /// A configuration with `processes` dynamic handlers (not started).
    pub fn new(processes: usize) -> Ctl {
        let opts = Opts::default()
            .file("job_conf.yml", JOB_CONF)
            .job_config_file("job_conf.yml")
            .gravity(&gravity(processes));
        let dir = ConfigDir::new(Backend::Postgres, &opts);
        let text = fs::read_to_string(&dir.config).expect("read galaxy.yml");
        fs::write(
            &dir.config,
            text.replace("SOCKDIR", &dir.path().display().to_string()),
        )
        .expect("write galaxy.yml");
        let url = format!("http://127.0.0.1:{}", dir.port);
        Ctl {
            api: Api::new(&url),
            url,
            sock: dir.path().join("galaxy.sock"),
            state_dir: dir.path().join("state"),
            dir,
        }
    }

    /// Replaces the first `from` in galaxy.yml with `to` (which must be there).
    pub fn edit(&self, from: &str, to: &str) {
        let text = fs::read_to_string(&self.dir.config).expect("read galaxy.yml");
        assert!(text.contains(from), "galaxy.yml has no `{from}`:\n{text}");
        fs::write(&self.dir.config, text.replacen(from, to, 1)).expect("write galaxy.yml");
    }

    /// Changes the number of dynamic handlers in galaxy.yml.
    pub fn set_processes(&self, processes: usize) {
        let text = fs::read_to_string(&self.dir.config).expect("read galaxy.yml");
        let re = |n: usize| format!("      processes: {n}\n");
        let (from, _) = (1..10)
            .map(|n| (re(n), n))
            .find(|(s, _)| text.contains(s.as_str()))
            .expect("galaxy.yml has a processes line");
        fs::write(&self.dir.config, text.replace(&from, &re(processes))).expect("write");
    }

    /// `galaxy-server -c CONFIG ctl ARGS…`, to completion (120 s at most).
    pub fn ctl(&self, args: &[&str]) -> Output {
        let out = self.dir.path().join(format!("ctl-{}.out", unique_suffix()));
        let err = self.dir.path().join(format!("ctl-{}.err", unique_suffix()));
        let mut child = self
            .dir
            .command()
            .arg("-c")
            .arg(&self.dir.config)
            .arg("ctl")
            .args(args)
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn galaxy-server ctl");
        let status = wait_timeout(&mut child, Duration::from_secs(120)).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ctl {args:?} did not exit within 120 s\n{}", self.logs())
        });
        Output {
            status,
            stdout: fs::read(&out).unwrap_or_default(),
            stderr: fs::read(&err).unwrap_or_default(),
        }
    }

    /// Runs `ctl ARGS…` and asserts it succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "ctl {args:?}: {:?}\n{text}\n{}",
            out.status,
            self.logs()
        );
        text
    }

    /// `ctl status`, by process name.
    pub fn status(&self) -> BTreeMap<String, Row> {
        let text = self.ok(&["status"]);
        let names = ["main", "handler_0", "handler_1", "handler_2", "static1"];
        text.lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let name = *words.first()?;
                if !names.contains(&name) {
                    return None;
                }
                // NAME MODE PID STATE UPTIME RESTARTS POOLS
                let pid = words.get(2).and_then(|w| w.parse::<u32>().ok());
                let state = ["running", "backoff", "starting", "stopped"]
                    .into_iter()
                    .find(|s| words.contains(s))
                    .unwrap_or("?")
                    .to_string();
                Some((
                    name.to_string(),
                    Row {
                        name: name.to_string(),
                        pid,
                        state,
                        pools: words.last().copied().unwrap_or_default().to_string(),
                        line: line.to_string(),
                    },
                ))
            })
            .collect()
    }

    /// The manager's pid from its pid file.
    pub fn manager_pid(&self) -> Option<i32> {
        fs::read_to_string(self.state_dir.join("galaxy-server.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Every process log under `state_dir/log`, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = fs::read_dir(self.state_dir.join("log")) {
            for e in entries.flatten() {
                let text = fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                out.push_str(&format!("==> {} <==\n", e.path().display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    pub fn wait_web(&self) {
        let client = reqwest::blocking::Client::new();
        let url = format!("{}/api/version", self.url);
        let up = eventually(Duration::from_secs(60), || {
            client
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        assert!(up, "the web process never answered\n{}", self.logs());
    }

    pub fn history(&self) -> String {
        let (status, h) = self
            .api
            .post("/api/histories", Some(ADMIN_KEY), &json!({"name": "ctl"}));
        assert_eq!(status, 200, "{h}");
        str_field(&h, "id")
    }

    /// Pastes a dataset; returns its id.
    pub fn paste(&self, hid: &str, text: &str) -> String {
        let run = self.run(
            hid,
            "upload1",
            json!({"files_0|url_paste": text, "files_0|type": "upload_dataset", "file_type": "txt"}),
        );
        str_field(&run["outputs"][0], "id")
    }

    /// `POST /api/tools`; the response (panics on an error status).
    pub fn run(&self, hid: &str, tool: &str, inputs: Value) -> Value {
        let (status, run) = self.api.post(
            "/api/tools",
            Some(ADMIN_KEY),
            &json!({"tool_id": tool, "history_id": hid, "inputs": inputs}),
        );
        assert_eq!(status, 200, "POST /api/tools {tool}: {run}");
        run
    }

    /// Runs cat1 on `dataset`; the job id.
    pub fn cat1(&self, hid: &str, dataset: &str) -> String {
        let run = self.run(
            hid,
            "cat1",
            json!({"input1": {"src": "hda", "id": dataset}}),
        );
        str_field(&run["jobs"][0], "id")
    }

    /// Waits for a job to end; its final state.
    pub fn wait_job(&self, id: &str, timeout: Duration) -> String {
        let mut last = String::new();
        eventually(timeout, || {
            let (_, job) = self.api.get(&format!("/api/jobs/{id}"), Some(ADMIN_KEY));
            last = job["state"].as_str().unwrap_or_default().to_string();
            TERMINAL_STATES.contains(&last.as_str())
        });
        last
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie is not alive: its /proc entry says state Z.
    kill(Pid::from_raw(pid as i32), None).is_ok()
        && !fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
}

impl Drop for Ctl {
    fn drop(&mut self) {
        if let Some(pid) = self.manager_pid()
            && alive(pid as u32)
        {
            let _ = self.ctl(&["stop"]);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
