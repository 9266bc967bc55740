//! Galaxy's `core` job metrics, recorded by the job script itself into the job directory and
//! read back when the job is finished: when it started and ended (wall clock), the cores
//! (`GALAXY_SLOTS`) and memory (`GALAXY_MEMORY_MB`) it was given.
//!
//! The script writes `name=value` lines to [`path`] with bash builtins only (`printf`,
//! `$EPOCHREALTIME`): recording costs no process. The start is written before the tool's
//! command runs, the end by the script's EXIT trap before the exit-code file, so a job whose
//! exit code is there has its end time too, however it was finished (by the handler that
//! started it or by one that adopted it).

use std::path::PathBuf;

use super::local::JobDir;

pub const GALAXY_SLOTS: &str = "galaxy_slots";
pub const GALAXY_MEMORY_MB: &str = "galaxy_memory_mb";
pub const START_EPOCH: &str = "start_epoch";
pub const END_EPOCH: &str = "end_epoch";
pub const RUNTIME_SECONDS: &str = "runtime_seconds";

/// The file the job script writes its metrics to.
pub fn path(dir: &JobDir) -> PathBuf {
    dir.root.join("metrics")
}

fn quote(p: &std::path::Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"))
}

/// The current time in seconds since the epoch, into `$var`: `$EPOCHREALTIME` (bash 5,
/// microseconds), else whole seconds from `printf`'s own clock (bash 4.2). No subshell.
fn now_into(var: &str) -> String {
    format!(
        "if [ -n \"${{EPOCHREALTIME:-}}\" ]; then {var}=$EPOCHREALTIME; else printf -v {var} '%(%s)T' -1; fi"
    )
}

/// What the job script runs before the tool's command: (re)writes the metrics file with the
/// start time and the slots and memory it was given, when set.
pub fn script_start(dir: &JobDir) -> String {
    format!(
        "{now}\n\
         {{ printf 'start_epoch=%s\\n' \"$__galaxy_t\"\n\
         [ -z \"${{GALAXY_SLOTS:-}}\" ] || printf 'galaxy_slots=%s\\n' \"$GALAXY_SLOTS\"\n\
         [ -z \"${{GALAXY_MEMORY_MB:-}}\" ] || printf 'galaxy_memory_mb=%s\\n' \"$GALAXY_MEMORY_MB\"\n\
         }} 2>/dev/null > {file}",
        file = quote(&path(dir)),
        now = now_into("__galaxy_t"),
    )
}

/// What the script's EXIT trap runs before it writes the exit code: appends the end time.
/// It leaves `$?` to the caller (the trap must have saved it first) and never fails the trap.
pub fn script_end(dir: &JobDir) -> String {
    format!(
        "{now}\n\
         printf 'end_epoch=%s\\n' \"$__galaxy_t\" 2>/dev/null >> {file}",
        file = quote(&path(dir)),
        now = now_into("__galaxy_t"),
    )
}

/// A value as the script wrote it; `$EPOCHREALTIME` follows the locale's decimal separator.
fn number(raw: &str) -> Option<f64> {
    let v: f64 = raw.trim().replace(',', ".").parse().ok()?;
    v.is_finite().then_some(v)
}

/// The metrics a job's script recorded, under Galaxy's core plugin names: the slots, the
/// memory, the start and end times and the run time (when both ends are known). Only what was
/// recorded and readable; nothing when the file is missing.
pub fn read(dir: &JobDir) -> Vec<(String, f64)> {
    let Ok(text) = std::fs::read_to_string(path(dir)) else {
        return Vec::new();
    };
    parse(&text)
}

fn parse(text: &str) -> Vec<(String, f64)> {
    let mut found: [Option<f64>; 4] = [None; 4];
    let names = [GALAXY_SLOTS, GALAXY_MEMORY_MB, START_EPOCH, END_EPOCH];
    for line in text.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if let Some(i) = names.iter().position(|n| *n == name.trim())
            && let Some(v) = number(value)
        {
            found[i] = Some(v);
        }
    }
    let mut out: Vec<(String, f64)> = names
        .iter()
        .zip(found)
        .filter_map(|(n, v)| Some((n.to_string(), v?)))
        .collect();
    if let (Some(start), Some(end)) = (found[2], found[3]) {
        // A wall clock set back while the job ran must not give a negative run time.
        out.push((RUNTIME_SECONDS.to_string(), (end - start).max(0.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(metrics: &[(String, f64)], name: &str) -> Option<f64> {
        metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    #[test]
    fn parses_what_the_script_writes() {
        let m = parse(
            "start_epoch=1700000000.250000\ngalaxy_slots=4\ngalaxy_memory_mb=2048\nend_epoch=1700000002.750000\n",
        );
        assert_eq!(value(&m, GALAXY_SLOTS), Some(4.0));
        assert_eq!(value(&m, GALAXY_MEMORY_MB), Some(2048.0));
        assert_eq!(value(&m, START_EPOCH), Some(1_700_000_000.25));
        assert_eq!(value(&m, END_EPOCH), Some(1_700_000_002.75));
        assert_eq!(value(&m, RUNTIME_SECONDS), Some(2.5));
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn only_what_is_known() {
        // Killed before its EXIT trap: no end, so no run time; no memory given.
        let m = parse("start_epoch=1700000000\ngalaxy_slots=1\n");
        assert_eq!(value(&m, RUNTIME_SECONDS), None);
        assert_eq!(value(&m, END_EPOCH), None);
        assert_eq!(value(&m, GALAXY_MEMORY_MB), None);
        assert_eq!(m.len(), 2);
        // Garbage, unknown names, a comma as decimal separator, a clock set back.
        let m = parse("junk\nother=3\ngalaxy_slots=x\nstart_epoch=10,5\nend_epoch=9\n");
        assert_eq!(value(&m, GALAXY_SLOTS), None);
        assert_eq!(value(&m, START_EPOCH), Some(10.5));
        assert_eq!(value(&m, RUNTIME_SECONDS), Some(0.0));
        assert!(
            read(&JobDir {
                root: "/nonexistent/job".into()
            })
            .is_empty()
        );
    }

    /// Writes the job script every runner runs for `body` with `slots` and runs it (minus
    /// the process group); returns what it wrote to its exit-code file.
    fn run(dir: &JobDir, body: &str, slots: u32, env: &[(&str, &str)]) -> String {
        let exec = super::super::local_execution("local", "local");
        super::super::script::write(
            dir,
            body,
            "",
            &exec,
            super::super::script::Slots::Fixed(slots),
        )
        .unwrap();
        let status = std::process::Command::new("/bin/bash")
            .arg(dir.script())
            .current_dir(&dir.root)
            .env_remove("GALAXY_SLOTS")
            .env_remove("GALAXY_MEMORY_MB")
            .envs(env.iter().copied())
            .status()
            .unwrap();
        assert!(status.code().is_some());
        std::fs::read_to_string(dir.exit_code()).unwrap()
    }

    #[test]
    fn the_script_records_them_and_keeps_the_exit_code() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = JobDir {
            root: tmp.path().join("it's a job"),
        };
        assert_eq!(run(&dir, "false", 3, &[]), "1\n");
        let m = read(&dir);
        assert_eq!(value(&m, GALAXY_SLOTS), Some(3.0));
        assert_eq!(value(&m, GALAXY_MEMORY_MB), None);
        let (start, end) = (
            value(&m, START_EPOCH).unwrap(),
            value(&m, END_EPOCH).unwrap(),
        );
        assert!(start > 1.6e9 && start <= end, "{m:?}");
        assert!(value(&m, RUNTIME_SECONDS).unwrap() >= 0.0);

        // The command's own `exit N`; the file is rewritten, not appended to, by the next run.
        let env = [("GALAXY_MEMORY_MB", "512")];
        assert_eq!(run(&dir, "exit 7", 2, &env), "7\n");
        let m = read(&dir);
        assert_eq!(value(&m, GALAXY_SLOTS), Some(2.0));
        assert_eq!(value(&m, GALAXY_MEMORY_MB), Some(512.0));
        let text = std::fs::read_to_string(path(&dir)).unwrap();
        assert_eq!(text.matches("start_epoch=").count(), 1, "{text}");
        assert_eq!(text.matches("end_epoch=").count(), 1, "{text}");
        assert_eq!(run(&dir, "true", 1, &[]), "0\n");
    }

    #[test]
    fn a_metrics_file_that_cannot_be_written_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = JobDir {
            root: tmp.path().join("job"),
        };
        let exec = super::super::local_execution("local", "local");
        let slots = super::super::script::Slots::Fixed(1);
        super::super::script::write(&dir, "echo out; exit 5", "", &exec, slots).unwrap();
        // A directory where the file should be: every write to it fails.
        std::fs::create_dir_all(path(&dir)).unwrap();
        let status = std::process::Command::new("/bin/bash")
            .arg(dir.script())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(5));
        assert_eq!(dir.read_exit_code(), Some(5));
        assert!(read(&dir).is_empty());
        assert_eq!(std::fs::read_to_string(dir.stdout()).unwrap(), "out\n");
    }
}
