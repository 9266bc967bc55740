//! Many jobs through the Slurm runner across a web process and two handlers on PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::cluster::{GalaxyJobName, SlurmCluster};
use crate::helpers::{ADMIN_KEY, Api, Backend};
use crate::split::Cluster;
use crate::support::{assert_submitted_once, hda, paste, run, split_opts};

/// `LC_ALL=C sort [-r]` of newline-terminated lines.
fn sorted(text: &str, descending: bool) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    if descending {
        lines.reverse();
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn two_hundred_cat1_and_sort1_jobs_on_slurm_across_two_handlers() {
    let slurm = SlurmCluster::start();
    // No tool mappings: cat1 and sort1 both go to the default environment, `slurm`.
    let mut c = Cluster::new(Backend::Postgres, &split_opts(&slurm));
    c.start_web();
    c.start_handler("h1", &["job-handlers"]);
    c.start_handler("h2", &["job-handlers"]);
    let hid = c.history();
    let texts: Vec<String> = (0..10)
        .map(|i| format!("pear {i}\napple {i}\nfig {i}\nBanana {i}\n"))
        .collect();
    let datasets: Vec<String> = texts.iter().map(|t| paste(&c.api, &hid, t)).collect();

    // (tool, inputs, expected output), 100 of each tool.
    let specs: Vec<(&str, serde_json::Value, String)> = (0..200)
        .map(|i| {
            let (a, b) = (i % 10, (i / 10 + i + 1) % 10);
            if i % 2 == 0 {
                (
                    "cat1",
                    json!({"input1": hda(&datasets[a]), "input2": hda(&datasets[b])}),
                    format!("{}{}", texts[a], texts[b]),
                )
            } else {
                let descending = i % 4 == 1;
                (
                    "sort1",
                    json!({"input": hda(&datasets[a]),
                           "order": if descending { "descending" } else { "ascending" }}),
                    sorted(&texts[a], descending),
                )
            }
        })
        .collect();
    let mut runs: Vec<(String, String, String)> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = specs
            .chunks(50)
            .map(|chunk| {
                let (url, hid) = (c.url.clone(), hid.clone());
                s.spawn(move || {
                    let api = Api::new(&url);
                    chunk
                        .iter()
                        .map(|(tool, inputs, expected)| {
                            let (job, out) = run(&api, &hid, tool, inputs.clone());
                            (job, out, expected.clone())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            runs.extend(h.join().expect("submitting thread"));
        }
    });
    assert_eq!(runs.len(), 200);

    c.wait_terminal("cat1", 100, Duration::from_secs(240));
    c.wait_terminal("sort1", 100, Duration::from_secs(240));
    for tool in ["cat1", "sort1"] {
        let counts = c.by_handler(tool);
        assert!(
            counts.keys().all(|(_, s)| s == "ok"),
            "every {tool} job ends ok: {counts:?}\n{}",
            c.logs()
        );
    }
    let ok_by = |h: &str| -> usize {
        ["cat1", "sort1"]
            .iter()
            .map(|t| {
                c.by_handler(t)
                    .get(&(h.to_string(), "ok".to_string()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    assert!(
        ok_by("h1") > 0 && ok_by("h2") > 0,
        "both handlers run jobs: h1 {}, h2 {}",
        ok_by("h1"),
        ok_by("h2")
    );
    for (job, out, expected) in &runs {
        let (status, text) = c
            .api
            .get_text(&format!("/api/datasets/{out}/display"), Some(ADMIN_KEY));
        assert_eq!(status, 200, "output of job {job}: {text}");
        assert_eq!(&text, expected, "output of job {job}");
    }

    // Slurm's own record: each job submitted once, under the Slurm id the server recorded.
    let rows = c.sql(
        "SELECT id, coalesce(job_runner_external_id, ''), coalesce(job_runner_name, ''), \
         coalesce(destination_id, '') FROM job WHERE tool_id IN ('cat1', 'sort1')",
    );
    assert_eq!(rows.len(), 200);
    let mut ids = BTreeSet::new();
    for row in &rows {
        let cols: Vec<&str> = row.split('|').collect();
        let id: i64 = cols[0].parse().expect("job id");
        ids.insert(id);
        assert!(
            cols[2].starts_with("slurm://") && cols[3] == "slurm",
            "job {id} runner/environment: {row}"
        );
        let done = slurm
            .completion(cols[1])
            .unwrap_or_else(|| panic!("job {id}: Slurm job {:?} not in jobcomp.log", cols[1]));
        assert_eq!(done.state, "COMPLETED", "job {id}: {done:?}");
        let name = GalaxyJobName::parse(&done.name)
            .unwrap_or_else(|| panic!("job {id}: Slurm job name {:?}", done.name));
        assert_eq!((name.job_id, name.attempt), (id, 1), "job {id}: {done:?}");
    }
    assert_submitted_once(&slurm, &ids);
    assert_eq!(slurm.completions().len(), 200, "Slurm ran exactly 200 jobs");
}
