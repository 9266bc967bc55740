//! `ctl status` names the process that holds the maintenance role, from what the processes
//! report themselves (the manager never reads the database).

use std::time::Duration;

use crate::helpers::eventually;
use crate::lifecycle::{assert_stopped, started};
use crate::support::Ctl;

#[test]
fn ctl_status_shows_the_maintenance_holder() {
    let c = Ctl::new(2);
    started(&c);
    let shows = |who: &str| {
        let text = c.ok(&["status"]);
        text.lines()
            .any(|l| l.starts_with("maintenance role: ") && l.contains(who))
    };
    // The web process is the only candidate here (handlers join no `maintenance` pool).
    assert!(
        eventually(Duration::from_secs(30), || shows("main (pid")),
        "ctl status never named the holder:\n{}\n{}",
        c.ok(&["status"]),
        c.logs()
    );
    let pids: Vec<u32> = c.status().values().filter_map(|r| r.pid).collect();
    assert_stopped(&c, &pids);
}
