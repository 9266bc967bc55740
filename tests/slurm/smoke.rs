//! The one-node cluster itself, before any galaxy-server: a batch job runs and Slurm records
//! it once; clusters run side by side; stopping one leaves no daemon behind.

use std::fs;
use std::time::Duration;

use crate::cluster::SlurmCluster;
use crate::helpers::eventually;

#[test]
fn a_trivial_batch_job_completes_and_is_recorded_once() {
    let c = SlurmCluster::start();
    let out = c.dir().join("smoke.out");
    let id = c.sbatch(&[
        "-J",
        "smoke_job",
        "-o",
        &out.display().to_string(),
        "--wrap",
        "echo hello from slurm",
    ]);
    let done = c.wait_completion(&id, Duration::from_secs(30));
    assert_eq!(done.name, "smoke_job");
    assert_eq!(done.state, "COMPLETED", "{done:?}");
    assert_eq!(done.exit_code, "0:0", "{done:?}");
    assert_eq!(
        fs::read_to_string(&out).unwrap_or_default(),
        "hello from slurm\n"
    );
    assert_eq!(c.sbatch_count_by_name().get("smoke_job"), Some(&1));
    assert_eq!(c.completions().len(), 1);
    // Finished, but still known to squeue -t all and scontrol (MinJobAge 300 s).
    assert_eq!(c.state_of(&id).as_deref(), Some("COMPLETED"));
    let job = c.scontrol_job(&id).expect("scontrol show job");
    assert_eq!(job.get("JobState").map(String::as_str), Some("COMPLETED"));
    assert_eq!(job.get("ExitCode").map(String::as_str), Some("0:0"));
}

#[test]
fn clusters_run_side_by_side_and_stop_by_pid() {
    let mut a = SlurmCluster::start();
    let b = SlurmCluster::with_min_job_age(2);
    let ja = a.sbatch(&["-J", "in_a", "-o", "/dev/null", "--wrap", "exit 3"]);
    let jb = b.sbatch(&["-J", "in_b", "-o", "/dev/null", "--wrap", "true"]);
    let ca = a.wait_completion(&ja, Duration::from_secs(30));
    let cb = b.wait_completion(&jb, Duration::from_secs(30));
    assert_eq!(
        (ca.state.as_str(), ca.exit_code.as_str()),
        ("FAILED", "3:0")
    );
    assert_eq!(cb.state, "COMPLETED");
    assert_eq!(
        a.sbatch_count_by_name().keys().collect::<Vec<_>>(),
        ["in_a"]
    );
    assert_eq!(
        b.sbatch_count_by_name().keys().collect::<Vec<_>>(),
        ["in_b"]
    );
    assert_ne!(ja, jb, "job ids of side-by-side clusters differ");
    // MinJobAge 2: b forgets its finished job within seconds; a keeps it.
    assert!(
        eventually(Duration::from_secs(30), || b.scontrol_job(&jb).is_none()),
        "job {jb} never aged out with MinJobAge=2"
    );
    assert!(a.scontrol_job(&ja).is_some());

    let (ctld, slurmd) = a.daemon_pids();
    a.stop();
    for pid in [ctld, slurmd] {
        let gone = eventually(Duration::from_secs(10), || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
                .unwrap_or(true)
        });
        assert!(gone, "Slurm daemon {pid} still runs after stop");
    }
    // b is untouched.
    let jb2 = b.sbatch(&["-J", "in_b2", "-o", "/dev/null", "--wrap", "true"]);
    assert_eq!(
        b.wait_completion(&jb2, Duration::from_secs(30)).state,
        "COMPLETED"
    );
}
