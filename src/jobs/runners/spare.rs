//! Spare job directories. `cleanup_job` empties a finished job's directory; instead of removing
//! it, the emptied directory (with its `working/`, `outputs/` and empty files) is kept under
//! `<job_working_directory>/_spare/` and renamed into place for a later job. A trivial job
//! then allocates no inode for its directory layout and frees none, which on file systems
//! where inode allocation is slow under churn is most of what a short job costs.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::local::JobDir;

/// Names of what a job directory holds when the runner made it and its script ran.
const LAYOUT: [&str; 6] = [
    "galaxy_job.sh",
    "working",
    "outputs",
    "pid",
    "exit_code",
    "metrics",
];
const OUTPUTS: [&str; 2] = ["tool_stdout", "tool_stderr"];

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Emptied job directories ready for reuse, shared by the processes that use one
/// `job_working_directory` (a rename that loses a race is simply skipped).
#[derive(Debug)]
pub struct SpareDirs {
    root: PathBuf,
    cap: usize,
    list: Mutex<Vec<PathBuf>>,
}

impl SpareDirs {
    /// Picks up the spares already on disk.
    pub fn new(job_working_directory: &Path, cap: usize) -> Self {
        let root = job_working_directory.join("_spare");
        let list = std::fs::read_dir(&root)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .take(cap)
                    .collect()
            })
            .unwrap_or_default();
        SpareDirs {
            root,
            cap,
            list: Mutex::new(list),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves a spare directory to `dir`, when `dir` does not exist yet and a spare is there.
    /// Returns whether it did.
    pub fn take_into(&self, dir: &JobDir) -> bool {
        if dir.root.exists() {
            return false;
        }
        if let Some(parent) = dir.root.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            return false;
        }
        loop {
            let Some(spare) = self.lock().pop() else {
                return false;
            };
            if std::fs::rename(&spare, &dir.root).is_ok() {
                return true;
            }
        }
    }

    /// Empties a finished job's directory and keeps it as a spare, or removes it when enough
    /// spares are kept already.
    pub fn recycle(&self, dir: &JobDir) {
        if self.lock().len() >= self.cap || !empty_layout(dir) {
            let _ = std::fs::remove_dir_all(&dir.root);
            return;
        }
        if std::fs::create_dir_all(&self.root).is_err() {
            let _ = std::fs::remove_dir_all(&dir.root);
            return;
        }
        let name = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let spare = self.root.join(name);
        match std::fs::rename(&dir.root, &spare) {
            Ok(()) => self.lock().push(spare),
            Err(_) => {
                let _ = std::fs::remove_dir_all(&dir.root);
            }
        }
    }
}

/// Truncates the runner's files and removes everything else; false when the directory does
/// not have the runner's layout (it is then removed instead).
fn empty_layout(dir: &JobDir) -> bool {
    let Ok(entries) = std::fs::read_dir(&dir.root) else {
        return false;
    };
    let mut seen = 0;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if LAYOUT.iter().any(|n| name == *n) {
            seen += 1;
        } else if remove_entry(&entry.path()).is_err() {
            return false;
        }
    }
    if seen != LAYOUT.len() {
        return false;
    }
    for sub in ["working", "outputs"] {
        let Ok(entries) = std::fs::read_dir(dir.root.join(sub)) else {
            return false;
        };
        for entry in entries.filter_map(Result::ok) {
            let keep = sub == "outputs" && OUTPUTS.iter().any(|n| entry.file_name() == *n);
            if !keep && remove_entry(&entry.path()).is_err() {
                return false;
            }
        }
    }
    // The job's output and metrics go now; the script, pid and exit-code files are rewritten
    // when the directory is used again.
    [dir.stdout(), dir.stderr(), super::metrics::path(dir)]
        .iter()
        .all(|f| truncate_existing(f).is_ok())
}

fn remove_entry(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

/// Empties a file that exists; a missing file stays missing (nothing is created).
pub fn truncate_existing(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new().write(true).truncate(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_dir(base: &Path, id: u32) -> JobDir {
        JobDir {
            root: base.join("000").join(id.to_string()),
        }
    }

    /// What the runner and a finished script leave in a job directory.
    fn finished_job(dir: &JobDir) {
        std::fs::create_dir_all(dir.working().join("sub")).unwrap();
        std::fs::create_dir_all(dir.root.join("outputs")).unwrap();
        for (f, text) in [
            (dir.script(), "#!/bin/bash\n"),
            (dir.pid(), "123\n"),
            (dir.exit_code(), "0\n"),
            (super::super::metrics::path(dir), "start_epoch=1\n"),
            (dir.stdout(), "out\n"),
            (dir.stderr(), "err\n"),
            (dir.working().join("sub").join("tool_file"), "x"),
            (dir.root.join("outputs").join("extra"), "y"),
        ] {
            std::fs::write(f, text).unwrap();
        }
    }

    #[test]
    fn a_recycled_directory_comes_back_empty_for_the_next_job() {
        let base = tempfile::tempdir().unwrap();
        let spares = std::sync::Arc::new(SpareDirs::new(base.path(), 4));
        let first = job_dir(base.path(), 1);
        finished_job(&first);
        spares.recycle(&first);
        assert!(!first.root.exists(), "the finished job's directory is gone");
        assert_eq!(
            std::fs::read_to_string(spares.lock()[0].join("outputs").join("tool_stdout")).unwrap(),
            "",
            "the job's output is gone from the spare"
        );

        // The runner prepares the next job in the spare: the last job's exit code and pid
        // must not show through.
        let runner = super::super::local::LocalRunner {
            workers: 1,
            spares: spares.clone(),
        };
        let second = job_dir(base.path(), 2);
        let spec = super::super::JobSpec {
            job_id: 2,
            attempt: 1,
            dir: second.clone(),
            execution: super::super::local_execution("local", "local"),
            name: "job".into(),
        };
        super::super::JobRunner::prepare(&runner, &spec, "true").unwrap();
        assert!(spares.lock().is_empty(), "the spare was used");
        assert_eq!(second.read_exit_code(), None);
        assert_eq!(second.read_pid(), None);
        assert!(super::super::metrics::read(&second).is_empty());
        assert!(
            std::fs::read_to_string(second.script())
                .unwrap()
                .contains("true")
        );
        assert_eq!(std::fs::read_to_string(second.stdout()).unwrap(), "");
        assert_eq!(std::fs::read_dir(second.working()).unwrap().count(), 0);
        let outputs: Vec<_> = std::fs::read_dir(second.root.join("outputs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            outputs.len(),
            2,
            "only tool_stdout and tool_stderr: {outputs:?}"
        );
        // No spare left: the next job gets a fresh directory.
        assert!(!spares.take_into(&job_dir(base.path(), 3)));
    }

    #[test]
    fn spares_are_bounded_and_found_again_after_a_restart() {
        let base = tempfile::tempdir().unwrap();
        let spares = SpareDirs::new(base.path(), 1);
        for id in 1..=2 {
            let d = job_dir(base.path(), id);
            finished_job(&d);
            spares.recycle(&d);
            assert!(!d.root.exists());
        }
        assert_eq!(
            std::fs::read_dir(base.path().join("_spare"))
                .unwrap()
                .count(),
            1
        );
        let again = SpareDirs::new(base.path(), 1);
        assert!(again.take_into(&job_dir(base.path(), 5)));
    }

    #[test]
    fn a_directory_without_the_runner_layout_is_removed() {
        let base = tempfile::tempdir().unwrap();
        let spares = SpareDirs::new(base.path(), 4);
        let d = job_dir(base.path(), 1);
        std::fs::create_dir_all(d.working()).unwrap();
        spares.recycle(&d);
        assert!(!d.root.exists());
        assert!(!spares.take_into(&job_dir(base.path(), 2)));
    }
}
