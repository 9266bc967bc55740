//! A private one-node Slurm cluster per test (`scripts/slurm-cluster`), its daemons stopped
//! when the value is dropped, and what Slurm itself records about the jobs it ran: the
//! `jobcomp/filetxt` log (one line per finished job) and `squeue`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Opts, manifest_dir};

/// One line of `jobcomp.log`: a job Slurm has finished with (completed, failed, cancelled,
/// timed out).
#[derive(Debug, Clone)]
pub struct Completion {
    pub job_id: String,
    pub name: String,
    /// `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …
    pub state: String,
    /// `rc:signal`, e.g. `0:0`.
    pub exit_code: String,
    pub fields: BTreeMap<String, String>,
}

/// One row of `squeue -t all`.
#[derive(Debug, Clone)]
pub struct Queued {
    pub job_id: String,
    pub name: String,
    pub state: String,
}

/// A Slurm job name of galaxy-server: `galaxy_<8 hex instance>_<galaxy job id>_<attempt>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalaxyJobName {
    pub instance: String,
    pub job_id: i64,
    pub attempt: u32,
}

impl GalaxyJobName {
    pub fn parse(name: &str) -> Option<GalaxyJobName> {
        let rest = name.strip_prefix("galaxy_")?;
        let mut parts = rest.split('_');
        let instance = parts.next()?;
        let job_id = parts.next()?.parse().ok()?;
        let attempt = parts.next()?.parse().ok()?;
        if parts.next().is_some()
            || instance.len() != 8
            || !instance.chars().all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        Some(GalaxyJobName {
            instance: instance.to_string(),
            job_id,
            attempt,
        })
    }
}

pub struct SlurmCluster {
    stopped: bool,
    dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    manifest_dir().join("scripts/slurm-cluster")
}

fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl SlurmCluster {
    /// A cluster with Slurm's default `MinJobAge` (300 s).
    pub fn start() -> SlurmCluster {
        SlurmCluster::start_with(&[])
    }

    /// A cluster that forgets finished jobs after `secs` seconds (`MinJobAge`; Slurm purges
    /// them within about 10 s more).
    pub fn with_min_job_age(secs: u32) -> SlurmCluster {
        SlurmCluster::start_with(&[("SLURM_CLUSTER_MIN_JOB_AGE", &secs.to_string())])
    }

    /// `scripts/slurm-cluster start` into a fresh temp dir, with extra environment for the
    /// script (`SLURM_CLUSTER_*`).
    pub fn start_with(env: &[(&str, &str)]) -> SlurmCluster {
        let dir = tempfile::Builder::new()
            .prefix("gs-slurm-")
            .tempdir()
            .expect("create temp dir");
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run bash scripts/slurm-cluster");
        let cluster = SlurmCluster {
            stopped: !out.status.success(),
            dir,
        };
        assert!(
            out.status.success(),
            "scripts/slurm-cluster start failed. The Slurm tests need Debian's slurm-wlm \
             (slurmctld, slurmd, sbatch; `apt-get install slurm-wlm`, which the script runs as \
             root or through sudo).\n{}",
            text(&out)
        );
        cluster
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The cluster's `slurm.conf`: what `SLURM_CONF` must name for every Slurm client.
    pub fn conf(&self) -> PathBuf {
        self.dir().join("slurm.conf")
    }

    /// `opts` with `SLURM_CONF` set for every galaxy-server process started on them.
    pub fn opts(&self, opts: Opts) -> Opts {
        opts.env("SLURM_CONF", &self.conf().display().to_string())
    }

    /// A Slurm client command (`sbatch`, `squeue`, `scontrol`, …) aimed at this cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", self.conf()).stdin(Stdio::null());
        cmd
    }

    /// Runs a Slurm client to completion.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (install slurm-wlm): {e}"))
    }

    /// `sbatch --parsable ARGS…`; the job id.
    pub fn sbatch(&self, args: &[&str]) -> String {
        let mut all = vec!["--parsable"];
        all.extend_from_slice(args);
        let out = self.run("sbatch", &all);
        assert!(out.status.success(), "sbatch {args:?}\n{}", text(&out));
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // `--parsable` prints `id` or `id;cluster`.
        id.split(';').next().unwrap_or_default().to_string()
    }

    /// Every line of `jobcomp.log` so far.
    pub fn completions(&self) -> Vec<Completion> {
        let text = fs::read_to_string(self.dir().join("jobcomp.log")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let fields: BTreeMap<String, String> = line
                    .split_whitespace()
                    .filter_map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        Some((k.to_string(), v.to_string()))
                    })
                    .collect();
                let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
                Completion {
                    job_id: get("JobId"),
                    name: get("Name"),
                    state: get("JobState"),
                    exit_code: get("ExitCode"),
                    fields,
                }
            })
            .collect()
    }

    /// The completion of Slurm job `id`, if Slurm has finished with it.
    pub fn completion(&self, id: &str) -> Option<Completion> {
        self.completions().into_iter().find(|c| c.job_id == id)
    }

    /// How many finished jobs of each name `jobcomp.log` records: a name submitted once and
    /// finished counts 1.
    pub fn sbatch_count_by_name(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for c in self.completions() {
            *counts.entry(c.name).or_insert(0) += 1;
        }
        counts
    }

    /// The jobs of galaxy-server in `jobcomp.log`, by Galaxy job id: every (attempt, Slurm
    /// job id) submitted for it. Panics on a `galaxy_…` name that does not parse.
    pub fn galaxy_completions(&self) -> BTreeMap<i64, Vec<(u32, Completion)>> {
        let mut by_job: BTreeMap<i64, Vec<(u32, Completion)>> = BTreeMap::new();
        for c in self.completions() {
            if !c.name.starts_with("galaxy_") {
                continue;
            }
            let name = GalaxyJobName::parse(&c.name).unwrap_or_else(|| {
                panic!(
                    "Slurm job {} is named {:?}, not galaxy_<8 hex>_<job id>_<attempt>",
                    c.job_id, c.name
                )
            });
            by_job
                .entry(name.job_id)
                .or_default()
                .push((name.attempt, c));
        }
        by_job
    }

    /// `squeue -t all`: every job Slurm still knows, finished ones included until
    /// `MinJobAge` has passed.
    pub fn squeue(&self) -> Vec<Queued> {
        let out = self.run("squeue", &["-h", "-t", "all", "-o", "%i|%j|%T"]);
        assert!(out.status.success(), "squeue\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut p = l.trim().splitn(3, '|');
                Some(Queued {
                    job_id: p.next()?.to_string(),
                    name: p.next()?.to_string(),
                    state: p.next()?.to_string(),
                })
            })
            .collect()
    }

    /// Slurm's state of job `id`: from `squeue`, else from `jobcomp.log`; None when Slurm
    /// never had it or has forgotten a job still unfinished.
    pub fn state_of(&self, id: &str) -> Option<String> {
        self.squeue()
            .into_iter()
            .find(|q| q.job_id == id)
            .map(|q| q.state)
            .or_else(|| self.completion(id).map(|c| c.state))
    }

    /// `scontrol show job -o ID` as key/value pairs; None once Slurm has forgotten the job.
    pub fn scontrol_job(&self, id: &str) -> Option<BTreeMap<String, String>> {
        let out = self.run("scontrol", &["show", "job", "-o", id]);
        if !out.status.success() {
            return None;
        }
        Some(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })
                .collect(),
        )
    }

    /// Waits until `jobcomp.log` has job `id`; panics with the daemons' logs after `timeout`.
    pub fn wait_completion(&self, id: &str, timeout: Duration) -> Completion {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = self.completion(id) {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "Slurm job {id} did not finish within {timeout:?}; squeue: {:?}\n{}",
                self.squeue(),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The daemons' process ids (slurmctld, slurmd).
    pub fn daemon_pids(&self) -> (u32, u32) {
        let read = |name: &str| -> u32 {
            fs::read_to_string(self.dir().join(name))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or_else(|| panic!("no pid in {name}"))
        };
        (read("slurmctld.pid"), read("slurmd.pid"))
    }

    /// The last lines of the daemons' logs, for failure messages.
    pub fn log_tail(&self) -> String {
        ["slurmctld.log", "slurmd.log"]
            .iter()
            .map(|f| {
                let text = fs::read_to_string(self.dir().join("log").join(f)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(20);
                format!("---- {f} ----\n{}", lines[from..].join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `scripts/slurm-cluster stop`: both daemons, by pid.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let out = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir())
            .stdin(Stdio::null())
            .output()
            .expect("run bash scripts/slurm-cluster stop");
        assert!(
            out.status.success(),
            "scripts/slurm-cluster stop\n{}",
            text(&out)
        );
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.stopped {
            eprintln!("{}", self.log_tail());
        }
        if !self.stopped {
            self.stopped = true;
            // A test that failed may leave jobs running in its private cluster: cancel them so
            // no job process outlives the daemons.
            if let Ok(out) = self.command("squeue").args(["-h", "-o", "%i"]).output() {
                let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                if !ids.is_empty() {
                    let _ = self.command("scancel").args(&ids).output();
                    let _ = crate::helpers::eventually(Duration::from_secs(10), || {
                        self.command("squeue")
                            .args(["-h", "-o", "%i"])
                            .output()
                            .is_ok_and(|o| o.stdout.iter().all(u8::is_ascii_whitespace))
                    });
                }
            }
            let _ = Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(self.dir())
                .stdin(Stdio::null())
                .output();
        }
    }
}
