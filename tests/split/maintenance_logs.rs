//! What the processes' logs say of the maintenance role: who took it, and each task run
//! (shared by the split and outage suites).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::cluster::Cluster;

/// The runs each process's log shows: (task, time, process).
pub fn runs(c: &Cluster) -> Vec<(String, NaiveDateTime, String)> {
    let mut out = Vec::new();
    for p in &c.procs {
        for line in p.log_text().lines() {
            let Some(rest) = line.split("maintenance: running `").nth(1) else {
                continue;
            };
            let task = rest.split('`').next().unwrap_or_default().to_string();
            // `module LEVEL YYYY-MM-DD HH:MM:SS,mmm [...]`
            let words: Vec<&str> = line.split_whitespace().collect();
            let stamp = format!("{} {}", words[2], words[3]);
            let at = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S,%3f")
                .unwrap_or_else(|e| panic!("{stamp}: {e}"));
            out.push((task, at, p.name.clone()));
        }
    }
    out.sort_by_key(|r| r.1);
    out
}

/// Asserts that no task ran twice within one period (1 s), across all processes, and returns
/// the runs by task.
pub fn assert_once_per_period(c: &Cluster) -> BTreeMap<String, Vec<(NaiveDateTime, String)>> {
    let mut by_task: BTreeMap<String, Vec<(NaiveDateTime, String)>> = BTreeMap::new();
    for (task, at, p) in runs(c) {
        by_task.entry(task).or_default().push((at, p));
    }
    for (task, list) in &by_task {
        for w in list.windows(2) {
            let gap = (w[1].0 - w[0].0).num_milliseconds();
            // The claim needs the last run to be a full period old; the log line follows
            // the claim by a few milliseconds.
            assert!(
                gap >= 950,
                "{task} ran twice within one period: {:?} then {:?}\n{}",
                w[0],
                w[1],
                c.logs()
            );
        }
    }
    by_task
}

/// Whether process `name` has taken the maintenance role (its log says so).
pub fn holds(c: &Cluster, name: &str) -> bool {
    c.procs
        .iter()
        .find(|p| p.name == name)
        .is_some_and(|p| p.log_text().contains("holds the maintenance role"))
}
