//! `ctl start`, `status`, a crashed child, `update`, `graceful` under load and `stop`, each
//! against the real binary on PostgreSQL.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::helpers::eventually;
use crate::support::{Ctl, alive};

pub const ALL: [&str; 4] = ["main", "handler_0", "handler_1", "static1"];

/// Starts in the background and waits for every process and the web answer.
pub fn started(c: &Ctl) {
    c.ok(&["start"]);
    c.wait_web();
    let ok = eventually(Duration::from_secs(30), || {
        let st = c.status();
        ALL.iter().all(|n| {
            st.get(*n)
                .is_some_and(|r| r.pid.is_some() && r.state == "running")
        })
    });
    assert!(
        ok,
        "not every process is running: {:?}\n{}",
        c.status(),
        c.logs()
    );
}

/// After `stop`: no manager, no child, no socket file.
pub fn assert_stopped(c: &Ctl, pids: &[u32]) {
    let manager = c.manager_pid();
    c.ok(&["stop"]);
    if let Some(m) = manager {
        assert!(!alive(m as u32), "the manager (pid {m}) is still alive");
    }
    let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(left.is_empty(), "processes left after stop: {left:?}");
    assert!(!c.sock.exists(), "socket file left: {}", c.sock.display());
    let socks: Vec<_> = std::fs::read_dir(&c.state_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            use std::os::unix::fs::FileTypeExt as _;
            e.file_type().is_ok_and(|t| t.is_socket())
        })
        .map(|e| e.path())
        .collect();
    assert!(socks.is_empty(), "control sockets left: {socks:?}");
    let out = c.ctl(&["status"]);
    assert!(!out.status.success(), "status succeeds after stop");
}

#[test]
fn start_status_jobs_crash_update_stop() {
    let c = Ctl::new(2);
    started(&c);
    let st = c.status();
    for h in ["handler_0", "handler_1", "static1"] {
        assert!(
            st[h].pools.contains("job-handlers"),
            "{h} pools: {}",
            st[h].line
        );
    }

    // A second start is refused and names the running manager.
    let again = c.ctl(&["start"]);
    let err = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(!again.status.success(), "a second start succeeded");
    assert!(err.contains("already running"), "second start said: {err}");

    // Jobs run.
    let hid = c.history();
    let ds = c.paste(&hid, "one\ntwo\n");
    let jobs: Vec<String> = (0..4).map(|_| c.cat1(&hid, &ds)).collect();
    for j in &jobs {
        assert_eq!(
            c.wait_job(j, Duration::from_secs(60)),
            "ok",
            "job {j}\n{}",
            c.logs()
        );
    }

    // A killed handler is back with a new pid.
    let old = st["handler_0"].pid.expect("handler_0 pid");
    kill(Pid::from_raw(old as i32), Signal::SIGKILL).expect("kill -9 handler_0");
    let t0 = Instant::now();
    let back = eventually(Duration::from_secs(15), || {
        c.status()
            .get("handler_0")
            .and_then(|r| r.pid)
            .is_some_and(|p| p != old && alive(p))
    });
    assert!(back, "handler_0 not restarted\n{}", c.logs());
    eprintln!("handler_0 back after {:?}", t0.elapsed());
    // The killed process's jobs still run: the restarted handler takes its pool's work.
    let j = c.cat1(&hid, &ds);
    assert_eq!(c.wait_job(&j, Duration::from_secs(60)), "ok");

    // follow: every log, each line prefixed with its process name.
    let follow_out = c.dir.path().join("follow.out");
    let mut follow = c
        .dir
        .command()
        .arg("-c")
        .arg(&c.dir.config)
        .args(["ctl", "follow"])
        .stdout(std::fs::File::create(&follow_out).expect("follow.out"))
        .spawn()
        .expect("spawn ctl follow");
    let followed = eventually(Duration::from_secs(10), || {
        std::fs::read_to_string(&follow_out)
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("main | ")))
    });
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        followed,
        "ctl follow printed no main line:\n{}",
        std::fs::read_to_string(&follow_out).unwrap_or_default()
    );

    // logrotate: after a move and SIGHUP, the manager writes to new files.
    let log_dir = c.state_dir.join("log");
    let main_log = log_dir.join("main.log");
    std::fs::rename(&main_log, log_dir.join("main.log.1")).expect("rotate main.log");
    let manager = c.manager_pid().expect("manager pid");
    std::fs::rename(log_dir.join("manager.log"), log_dir.join("manager.log.1"))
        .expect("rotate manager.log");
    kill(Pid::from_raw(manager), Signal::SIGHUP).expect("SIGHUP the manager");
    assert!(
        eventually(Duration::from_secs(10), || main_log.exists()
            && std::fs::read_to_string(log_dir.join("manager.log"))
                .is_ok_and(|t| t.contains("log files reopened"))),
        "main.log and manager.log not reopened after SIGHUP"
    );
    let manager_log = std::fs::read_to_string(log_dir.join("manager.log.1")).unwrap_or_default();
    assert!(
        manager_log
            .lines()
            .any(|l| l.contains(" INFO ") && l.contains(&format!("[pN:ctl,p:{manager},tN:"))),
        "manager.log lines lack Galaxy's fields:\n{manager_log}"
    );

    // update: one more handler; the others keep their pids.
    let before = c.status();
    c.set_processes(3);
    c.ok(&["update"]);
    let after = c.status();
    assert!(
        after
            .get("handler_2")
            .is_some_and(|r| r.pid.is_some_and(alive)),
        "handler_2 did not start: {after:?}\n{}",
        c.logs()
    );
    for n in ALL {
        assert_eq!(
            before[n].pid, after[n].pid,
            "{n} was restarted by update: {after:?}"
        );
    }
    let pids: Vec<u32> = after.values().filter_map(|r| r.pid).collect();
    assert_stopped(&c, &pids);
}

#[test]
fn a_killed_manager_leaves_no_process_and_a_new_start_works() {
    let c = Ctl::new(2);
    started(&c);
    let pids: Vec<u32> = c.status().values().filter_map(|r| r.pid).collect();
    let manager = c.manager_pid().expect("manager pid");
    kill(Pid::from_raw(manager), Signal::SIGKILL).expect("kill -9 the manager");
    let gone = eventually(Duration::from_secs(40), || !pids.iter().any(|p| alive(*p)));
    assert!(
        gone,
        "processes outlived their manager: {:?}",
        pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    // The stale pid file and socket file do not stop a new start.
    started(&c);
    let first: Vec<u32> = c.status().values().filter_map(|r| r.pid).collect();
    // restart: every process anew.
    c.ok(&["restart"]);
    c.wait_web();
    let st = c.status();
    for n in ALL {
        let pid = st.get(n).and_then(|r| r.pid);
        assert!(
            pid.is_some_and(|p| alive(p) && !first.contains(&p)),
            "{n} after restart: {st:?}"
        );
    }
    assert!(
        !first.iter().any(|p| alive(*p)),
        "processes of before the restart still run"
    );
    let pids: Vec<u32> = st.values().filter_map(|r| r.pid).collect();
    assert_stopped(&c, &pids);
}

#[test]
fn a_bad_gravity_section_is_a_configuration_error() {
    let opts = crate::helpers::Opts::default().gravity(
        "  gunicorn: {bind: \"127.0.0.1:{PORT}\"}\n  handlers:\n    handler: {processes: 2, name_template: fixed}\n",
    );
    let dir = crate::helpers::ConfigDir::new(crate::helpers::Backend::Sqlite, &opts);
    let config = dir.config.display().to_string();
    let out = dir.run_cli(&["-c", &config, "ctl", "start", "--foreground"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("galaxy.yml") && err.contains("gravity.handlers.handler.name_template"),
        "{err}"
    );
}
