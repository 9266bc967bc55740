//! Which processes `ctl` runs, read from the `gravity` section and the job configuration as
//! Gravity does: one web process, the dynamic handlers of `gravity.handlers` (`processes`,
//! `pools`, `name_template`, `environment`) and the static handlers named in the job conf.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::HandlerGroup;
use crate::config::gravity::{memory_limit_bytes, parse_umask};
use crate::system::Loaded;

/// The web process's server name.
pub const WEB_NAME: &str = "main";

/// One process the manager keeps running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcSpec {
    pub name: String,
    /// `web` or `handler`.
    pub mode: String,
    pub pools: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// A static handler of the job conf: it joins its pools through its id (the job conf's
    /// tags), so `pools` is shown but not passed.
    #[serde(default)]
    pub static_handler: bool,
    /// The service it belongs to: `gunicorn`, a `gravity.handlers` group, or a static
    /// handler's id.
    #[serde(default)]
    pub service: String,
    /// The process umask (octal).
    #[serde(default)]
    pub umask: Option<u32>,
    /// Bytes of resident memory past which the manager kills the process (it is then
    /// restarted like a crashed one).
    #[serde(default)]
    pub memory_limit: Option<u64>,
    /// Seconds the process must stay up to count as started.
    #[serde(default)]
    pub start_timeout: u64,
    /// Seconds a stopping process is given before it is killed.
    #[serde(default)]
    pub stop_timeout: u64,
    /// Seconds a graceful reload waits for a new web process to serve.
    #[serde(default)]
    pub restart_timeout: u64,
}

impl ProcSpec {
    /// How long a stopping process is given before it is killed (at least a second).
    pub fn stop_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.stop_timeout.max(1))
    }

    /// Makes `cmd` start with this process's umask, if it has one.
    pub fn command_umask(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt as _;
        if let Some(mask) = self.umask {
            // SAFETY: umask is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(mask as libc::mode_t);
                    Ok(())
                });
            }
        }
    }

    /// The command line of this process (after the program).
    pub fn args(&self, config: Option<&Path>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(c) = config {
            args.push("-c".to_string());
            args.push(c.display().to_string());
        }
        args.extend(["--mode".into(), self.mode.clone()]);
        args.extend(["--server-name".into(), self.name.clone()]);
        for p in self.pools.iter().filter(|_| !self.static_handler) {
            args.extend(["--pool".into(), p.clone()]);
        }
        args
    }
}

/// The processes of a loaded configuration, web first.
pub fn processes(loaded: &Loaded) -> Result<Vec<ProcSpec>, String> {
    let gravity = &loaded.settings.gravity;
    let umask = |own: Option<&String>| {
        parse_umask(own.unwrap_or(&gravity.umask)).or(parse_umask(&gravity.umask))
    };
    let limit = |own: Option<f64>| own.or(gravity.memory_limit).map(memory_limit_bytes);
    let g = &gravity.gunicorn;
    let mut out = Vec::new();
    if g.enable {
        out.push(ProcSpec {
            name: WEB_NAME.into(),
            mode: "web".into(),
            pools: Vec::new(),
            environment: g.environment.clone(),
            static_handler: false,
            service: "gunicorn".into(),
            umask: umask(None),
            memory_limit: limit(g.memory_limit),
            start_timeout: g.start_timeout,
            stop_timeout: g.stop_timeout,
            restart_timeout: g.restart_timeout,
        });
    }
    for (group, h) in &gravity.handlers {
        let template = h.name_template.as_deref().unwrap_or("{name}_{process}");
        if !template.contains("{process}") && h.processes > 1 {
            return Err(format!(
                "gravity.handlers.{group}.name_template `{template}` needs {{process}} for {} processes",
                h.processes
            ));
        }
        for i in 0..h.processes {
            out.push(ProcSpec {
                name: template
                    .replace("{name}", group)
                    .replace("{process}", &i.to_string()),
                mode: "handler".into(),
                pools: h.pools.clone(),
                environment: h.environment.clone(),
                static_handler: false,
                service: group.clone(),
                umask: umask(h.umask.as_ref()),
                memory_limit: limit(h.memory_limit),
                start_timeout: h.start_timeout,
                stop_timeout: h.stop_timeout,
                restart_timeout: 0,
            });
        }
    }
    for s in &loaded.job_conf.handling.handlers {
        // A static handler joins its tags' pools through the job conf (by its id).
        let pools = if s.tags.is_empty() {
            vec!["job-handlers".to_string()]
        } else {
            s.tags.iter().map(|t| format!("job-handlers.{t}")).collect()
        };
        out.push(ProcSpec {
            name: s.id.clone(),
            mode: "handler".into(),
            pools,
            environment: BTreeMap::new(),
            static_handler: true,
            service: s.id.clone(),
            umask: umask(None),
            memory_limit: limit(None),
            start_timeout: HandlerGroup::default().start_timeout,
            stop_timeout: HandlerGroup::default().stop_timeout,
            restart_timeout: 0,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &out {
        if !seen.insert(p.name.as_str()) {
            return Err(format!(
                "two processes would be named `{}` (gravity.handlers and the job conf's handlers must not share names)",
                p.name
            ));
        }
    }
    Ok(out)
}

/// The process names that `names` mean: a service (`gunicorn`, also called `web`; a
/// `gravity.handlers` group; a static handler) stands for its processes, a process name
/// for itself. No names: every process.
pub fn select(specs: &[ProcSpec], names: &[String]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(specs.iter().map(|s| s.name.clone()).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let service = if name == "web" { "gunicorn" } else { name };
        let found: Vec<&ProcSpec> = specs
            .iter()
            .filter(|s| s.service == service || &s.name == name)
            .collect();
        if found.is_empty() {
            let mut known: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
            known.extend(specs.iter().map(|s| s.name.as_str()));
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "no service or process named `{name}` (known: {})",
                known.join(", ")
            ));
        }
        for s in found {
            if !out.contains(&s.name) {
                out.push(s.name.clone());
            }
        }
    }
    Ok(out)
}

/// Where `ctl` keeps its files.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub root: PathBuf,
    /// `gravity.log_dir` when set, else `<root>/log`.
    pub logs: Option<PathBuf>,
}

impl StateDir {
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("galaxy-server.pid")
    }
    pub fn state_file(&self) -> PathBuf {
        self.root.join("processes.json")
    }
    /// Where each process reports whether it holds the maintenance role (`<pid>.json`).
    pub fn status_dir(&self) -> PathBuf {
        self.root.join("status")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.logs.clone().unwrap_or_else(|| self.root.join("log"))
    }
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir().join(format!("{name}.log"))
    }
}
