//! The maintenance role through a database outage: the holder stops running tasks while the
//! database is away, and once it is back one process holds the role again, under a new lease
//! token if the old lease ran out, each task still once per period.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::cluster::Cluster;
use crate::helpers::{Backend, Opts, eventually};
use crate::maintenance_logs::{assert_once_per_period, holds, runs};
use crate::private_pg::PrivatePg;

#[test]
fn no_maintenance_task_runs_while_the_database_is_away() {
    let pg = PrivatePg::start();
    let opts = Opts::default()
        .database_connection(&pg.url())
        .galaxy_extra(
            "  enable_failed_jobs_working_directory_cleanup: true\n  \
             failed_jobs_working_directory_cleanup_interval: 1\n  \
             prune_worker_processes_interval: 1\n",
        )
        .env("GALAXY_CONFIG_HEARTBEAT_INTERVAL", "0.5");
    let mut c = Cluster::new(Backend::Postgres, &opts);
    let args = |n: &'static str| {
        [
            "--mode",
            "handler",
            "--server-name",
            n,
            "--pool",
            "maintenance",
        ]
    };
    c.spawn("m1", &args("m1"));
    assert!(
        eventually(Duration::from_secs(30), || holds(&c, "m1")),
        "m1 never took the role\n{}",
        c.logs()
    );
    c.spawn("m2", &args("m2"));
    std::thread::sleep(Duration::from_secs(3));
    let token = |pg: &PrivatePg| -> i64 {
        pg.query("SELECT token FROM maintenance_lease")
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(-1)
    };
    let before = token(&pg);

    let now = || chrono::Utc::now().naive_utc();
    pg.stop_server();
    let down: NaiveDateTime = now();
    std::thread::sleep(Duration::from_secs(4));
    let up_at = now();
    pg.start_server();

    assert!(
        c.procs[0].log_text().contains("lost the maintenance role"),
        "the holder did not give the role up during the outage\n{}",
        c.logs()
    );
    // Runs resume once the database is back.
    assert!(
        eventually(Duration::from_secs(20), || {
            runs(&c).iter().filter(|r| r.1 > up_at).count() >= 4
        }),
        "no task ran after the outage\n{}",
        c.logs()
    );
    // None started while the database was away (a run claimed just before it went is logged
    // within milliseconds of the claim).
    let during: Vec<_> = runs(&c)
        .into_iter()
        .filter(|r| r.1 > down + chrono::Duration::milliseconds(100) && r.1 < up_at)
        .collect();
    assert!(
        during.is_empty(),
        "runs during the outage: {during:?}\n{}",
        c.logs()
    );
    assert_once_per_period(&c);
    assert!(
        token(&pg) > before,
        "the lease was not taken anew after it ran out"
    );
    let holders = ["m1", "m2"].iter().filter(|n| holds(&c, n)).count();
    assert!(holders >= 1);
}
