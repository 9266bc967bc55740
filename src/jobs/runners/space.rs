//! Telling a job that failed for lack of disk space: a full file system under its working
//! directory or its outputs (found by trying a small write there), or the job's own report
//! of `No space left on device` on stderr. A job on a full disk may not even have written
//! its exit code.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use super::local::JobDir;

/// What the C library says for ENOSPC, as tools print it.
const NO_SPACE: &str = "No space left on device";
/// EDQUOT's message: a quota is a full disk for the job.
const NO_QUOTA: &str = "Disk quota exceeded";
/// Written (and removed) to see whether a directory's file system has room.
const PROBE_BYTES: usize = 64 * 1024;

/// Why a failed job ran out of space, naming the full place; `None` when nothing says so.
pub fn diagnose(dir: &JobDir, outputs: &[PathBuf], stderr: &str) -> Option<String> {
    let mut places = vec![dir.root.clone(), dir.working(), dir.root.join("outputs")];
    places.extend(
        outputs
            .iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf)),
    );
    let mut devices = BTreeSet::new();
    for place in places {
        let Ok(meta) = std::fs::metadata(&place) else {
            continue;
        };
        if !devices.insert(meta.dev()) {
            continue;
        }
        if let Some(error) = probe(&place) {
            return Some(format!(
                "{NO_SPACE} (ENOSPC): the file system holding {} is full ({error})",
                place.display()
            ));
        }
    }
    let reported = stderr.lines().find(|l| mentions_no_space(l))?;
    let written: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
    Some(format!(
        "{NO_SPACE} (ENOSPC): the job reported `{}` (its working directory {}, its outputs {})",
        reported.trim(),
        dir.root.display(),
        if written.is_empty() {
            "none".to_string()
        } else {
            written.join(", ")
        }
    ))
}

/// Tries to write a small file in `dir`; the error when it failed for lack of space.
fn probe(dir: &Path) -> Option<std::io::Error> {
    let path = dir.join(format!(".galaxy-space-probe-{}", std::process::id()));
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(&[0u8; PROBE_BYTES])?;
        f.sync_data()
    });
    let _ = std::fs::remove_file(&path);
    match written {
        Err(e) if is_no_space(&e) => Some(e),
        _ => None,
    }
}

/// Whether a message reports a full disk (or quota) in the C library's words.
pub fn mentions_no_space(text: &str) -> bool {
    text.contains(NO_SPACE) || text.contains(NO_QUOTA)
}

pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::diagnose;
    use crate::jobs::runners::local::JobDir;

    #[test]
    fn the_jobs_own_report_is_named_with_its_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = JobDir {
            root: tmp.path().join("7"),
        };
        std::fs::create_dir_all(dir.working()).unwrap();
        let out = tmp.path().join("dataset_3.dat");
        let said = diagnose(
            &dir,
            std::slice::from_ref(&out),
            "starting\ncat: write error: No space left on device\n",
        )
        .expect("a report of no space is a diagnosis");
        assert!(said.contains("ENOSPC"), "{said}");
        assert!(said.contains("cat: write error"), "{said}");
        assert!(said.contains(&out.display().to_string()), "{said}");
        assert_eq!(diagnose(&dir, &[out], "exit 1 for other reasons"), None);
    }
}
