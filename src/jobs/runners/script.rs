//! The job script every runner runs: it records its pid, sets `GALAXY_SLOTS` (and, on a
//! cluster, `GALAXY_MEMORY_MB`) and the environment's `env` entries, runs the command in
//! `working/` with its output captured, and writes the exit code itself, atomically, as its
//! last act — however the command ends. A cluster runner adds its header (`#SBATCH` lines).

use std::path::Path;

use super::local::JobDir;
use super::spare::truncate_existing;
use crate::config::{EnvEntry, Execution};

/// Quotes a value for bash (single quotes).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn quote_path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

/// How `GALAXY_SLOTS` is set.
pub enum Slots {
    /// A fixed number (the local runner: the environment's `galaxy_slots`, else 1).
    Fixed(u32),
    /// From the cluster's allocation, read when the job starts (Slurm's variables), unless
    /// the environment fixes it.
    FromCluster(Option<u32>),
}

/// Writes `dir`'s job script for `command`; `header` goes right after the `#!` line.
pub fn write(
    dir: &JobDir,
    command: &str,
    header: &str,
    exec: &Execution,
    slots: Slots,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.working())?;
    std::fs::create_dir_all(dir.root.join("outputs"))?;
    // Emptied rather than removed: a reused directory keeps its files (no inode churn);
    // an empty exit-code or pid file reads as absent.
    truncate_existing(&dir.exit_code())?;
    truncate_existing(&dir.pid())?;
    truncate_existing(&super::metrics::path(dir))?;
    let mut s = String::with_capacity(512 + command.len());
    s.push_str("#!/bin/bash\n");
    s.push_str(header);
    // No subshell and no helper processes: the EXIT trap records the status however the
    // command ends (including its own `exit N`); it saves the status first, so the metrics'
    // end cannot change it, and writes it last.
    s.push_str(&format!(
        "echo \"$$\" > {pid}\n__galaxy_exit_file={exit}\n__galaxy_metrics_end() {{\n{m_end}\n}}\ntrap '__galaxy_status=$?; __galaxy_metrics_end; echo \"$__galaxy_status\" > \"$__galaxy_exit_file\"' EXIT\n",
        pid = quote_path(&dir.pid()),
        exit = quote_path(&dir.exit_code()),
        m_end = super::metrics::script_end(dir),
    ));
    match slots {
        Slots::Fixed(n) => s.push_str(&format!("GALAXY_SLOTS={n}\n")),
        Slots::FromCluster(Some(n)) => s.push_str(&format!("GALAXY_SLOTS={n}\n")),
        Slots::FromCluster(None) => s.push_str(CLUSTER_SLOTS),
    }
    s.push_str("export GALAXY_SLOTS\n");
    if matches!(slots, Slots::FromCluster(_)) {
        s.push_str(CLUSTER_MEMORY);
    }
    for e in &exec.env {
        match e {
            EnvEntry::Set { name, value, raw } => {
                let value = if *raw { value.clone() } else { quote(value) };
                s.push_str(&format!("{name}={value}; export {name}\n"));
            }
            EnvEntry::Execute(cmd) => {
                s.push_str(cmd);
                s.push('\n');
            }
            EnvEntry::Source(file) => s.push_str(&format!(". {}\n", quote(file))),
        }
    }
    // After GALAXY_SLOTS and GALAXY_MEMORY_MB are known, right before the command.
    s.push_str(&super::metrics::script_start(dir));
    s.push('\n');
    s.push_str(&format!(
        "cd {work} || exit 1\n{{\n{command}\n}} > {out} 2> {err}\n",
        work = quote_path(&dir.working()),
        out = quote_path(&dir.stdout()),
        err = quote_path(&dir.stderr()),
    ));
    std::fs::write(dir.script(), s)
}

/// `GALAXY_SLOTS` from Slurm's allocation (as Galaxy's job scripts read it).
const CLUSTER_SLOTS: &str = "if [ -n \"$SLURM_CPUS_PER_TASK\" ]; then GALAXY_SLOTS=\"$SLURM_CPUS_PER_TASK\"
elif [ -n \"$SLURM_NTASKS\" ] && [ \"$SLURM_NTASKS\" -gt 1 ] 2>/dev/null; then GALAXY_SLOTS=\"$SLURM_NTASKS\"
elif [ -n \"$SLURM_CPUS_ON_NODE\" ]; then GALAXY_SLOTS=\"$SLURM_CPUS_ON_NODE\"
else GALAXY_SLOTS=1; fi
";

/// `GALAXY_MEMORY_MB` from Slurm's allocation, when it has one.
const CLUSTER_MEMORY: &str = "if [ -n \"$SLURM_MEM_PER_NODE\" ]; then GALAXY_MEMORY_MB=\"$SLURM_MEM_PER_NODE\"; export GALAXY_MEMORY_MB
elif [ -n \"$SLURM_MEM_PER_CPU\" ]; then GALAXY_MEMORY_MB=$((SLURM_MEM_PER_CPU * GALAXY_SLOTS)); export GALAXY_MEMORY_MB; fi
";

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(env: Vec<EnvEntry>) -> Execution {
        Execution {
            env,
            ..crate::jobs::runners::local_execution("e", "local")
        }
    }

    fn run(header: &str, e: &Execution, slots: Slots, command: &str) -> (JobDir, String) {
        let tmp = tempfile::tempdir().unwrap().keep();
        let dir = JobDir { root: tmp };
        write(&dir, command, header, e, slots).unwrap();
        let status = std::process::Command::new("/bin/bash")
            .arg(dir.script())
            .env_remove("SLURM_CPUS_PER_TASK")
            .env_remove("SLURM_NTASKS")
            .env_remove("SLURM_CPUS_ON_NODE")
            .status()
            .unwrap();
        let _ = status;
        let out = std::fs::read_to_string(dir.stdout()).unwrap_or_default();
        (dir, out)
    }

    #[test]
    fn the_script_sets_slots_and_env_and_writes_the_exit_code() {
        let e = exec(vec![
            EnvEntry::Set {
                name: "GREETING".into(),
                value: "it's $HOME".into(),
                raw: false,
            },
            EnvEntry::Execute("OTHER=from-exec".into()),
        ]);
        let (dir, out) = run(
            "#SBATCH --job-name=x\n",
            &e,
            Slots::Fixed(3),
            "echo \"$GALAXY_SLOTS|$GREETING|$OTHER\"; exit 7",
        );
        assert_eq!(out, "3|it's $HOME|from-exec\n");
        assert_eq!(dir.read_exit_code(), Some(7));
        assert!(dir.read_pid().is_some());
        let script = std::fs::read_to_string(dir.script()).unwrap();
        assert!(script.starts_with("#!/bin/bash\n#SBATCH --job-name=x\n"));
    }

    #[test]
    fn cluster_slots_fall_back_to_one() {
        let (dir, out) = run(
            "",
            &exec(vec![]),
            Slots::FromCluster(None),
            "echo $GALAXY_SLOTS",
        );
        assert_eq!(out, "1\n");
        assert_eq!(dir.read_exit_code(), Some(0));
    }
}
