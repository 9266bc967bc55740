//! `gravity.galaxy_user`: started as root, the manager binds a port below 1024 and the unix
//! socket, then every process (and every job's files) belongs to that user. As root without
//! it, a socket in a directory others can write to is refused.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;
use std::time::Duration;

use crate::helpers::eventually;
use crate::support::Ctl;

const USER: &str = "gsrvtest";

fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "the privilege tests start the manager as root (as the CI runs them): run the suite as root"
    );
}

/// The test user's uid and gid, created (a system user with its own group) when missing.
fn test_user() -> (u32, u32) {
    let lookup = || nix::unistd::User::from_name(USER).ok().flatten();
    if lookup().is_none() {
        let out = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--shell", "/usr/sbin/nologin", USER])
            .output()
            .unwrap_or_else(|e| {
                panic!("useradd cannot run ({e}): install it (Debian: apt-get install passwd)")
            });
        assert!(
            out.status.success() || lookup().is_some(),
            "useradd {USER}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let user = lookup().expect("the test user exists");
    (user.uid.as_raw(), user.gid.as_raw())
}

/// A free port below 1024 (only root can bind it).
fn privileged_port() -> u16 {
    (900..1000)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 900..1000")
}

fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let ids: Vec<u32> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    // Real, effective, saved and file-system uid: all the user's.
    (ids.len() == 4 && ids.iter().all(|i| *i == ids[0])).then_some(ids[0])
}

#[test]
fn started_as_root_everything_runs_as_galaxy_user() {
    require_root();
    let (uid, gid) = test_user();
    let c = Ctl::new(1);
    let port = privileged_port();
    c.edit(
        "  state_dir: state\n",
        &format!("  state_dir: state\n  galaxy_user: {USER}\n  galaxy_group: {USER}\n"),
    );
    c.edit("\"unix:", &format!("\"127.0.0.1:{port}\", \"unix:"));
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:{USER}"))
        .arg(c.dir.path())
        .status()
        .expect("chown");
    assert!(chown.success());

    c.ok(&["start"]);
    c.wait_web();
    // The port below 1024 was bound before the switch, and serves.
    let answered = eventually(Duration::from_secs(20), || {
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/api/version"))
            .is_ok_and(|r| r.status().is_success())
    });
    assert!(answered, "no answer on port {port}\n{}", c.logs());

    let manager = c.manager_pid().expect("manager pid") as u32;
    assert_eq!(uid_of(manager), Some(uid), "the manager's uids");
    let ok = eventually(Duration::from_secs(30), || {
        let st = c.status();
        ["main", "handler_0", "static1"].iter().all(|n| {
            st.get(*n)
                .and_then(|r| r.pid)
                .is_some_and(|p| uid_of(p) == Some(uid))
        })
    });
    assert!(ok, "a process does not run as {USER}: {:?}", c.status());

    // The socket is the user's, with the configured umask (007: the group may connect).
    let meta = std::fs::metadata(&c.sock).expect("socket");
    assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    assert_eq!(meta.permissions().mode() & 0o777, 0o770);

    // A job runs, and its files are the user's.
    let hid = c.history();
    let ds = c.paste(&hid, "a\nb\n");
    let job = c.cat1(&hid, &ds);
    assert_eq!(
        c.wait_job(&job, Duration::from_secs(60)),
        "ok",
        "{}",
        c.logs()
    );
    let mut files = Vec::new();
    let mut dirs = vec![c.dir.path().join("objects")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert!(files.len() >= 2, "dataset files: {files:?}");
    for f in &files {
        let m = std::fs::metadata(f).expect("dataset file");
        assert_eq!(m.uid(), uid, "{} belongs to uid {}", f.display(), m.uid());
    }
    c.ok(&["stop"]);
}

#[test]
fn as_root_without_galaxy_user_a_socket_others_could_replace_is_refused() {
    require_root();
    let c = Ctl::new(1);
    let open = c.dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let sock = open.join("g.sock");
    c.edit(
        &format!("unix:{}", c.sock.display()),
        &format!("unix:{}", sock.display()),
    );
    let out = c.ctl(&["start"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refusing to bind") && err.contains("galaxy_user") && err.contains("open"),
        "{err}"
    );
    assert!(!sock.exists(), "the socket was bound");
    assert!(c.manager_pid().is_none() || c.ctl(&["status"]).status.code() == Some(1));
}
