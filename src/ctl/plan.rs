//! Which processes `ctl` runs, read from the `gravity` section and the job configuration as
//! Gravity does: one web process, the dynamic handlers of `gravity.handlers` (`processes`,
//! `pools`, `name_template`, `environment`) and the static handlers named in the job conf.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

impl ProcSpec {
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
    let mut out = vec![ProcSpec {
        name: WEB_NAME.into(),
        mode: "web".into(),
        pools: Vec::new(),
        environment: BTreeMap::new(),
        static_handler: false,
    }];
    for (group, h) in &loaded.settings.gravity.handlers {
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

/// Where `ctl` keeps its files.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub root: PathBuf,
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
        self.root.join("log")
    }
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir().join(format!("{name}.log"))
    }
}
