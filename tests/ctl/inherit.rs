//! A web process given listening sockets (`LISTEN_FDS`, as the process manager and systemd
//! socket activation pass them) serves on them instead of binding its configured addresses,
//! and leaves the unix socket file to its owner when it stops.

use std::io::{Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::helpers::{Backend, ConfigDir, Opts, eventually, wait_timeout};

/// GET /api/version over a unix socket; the status line and body.
fn version_over_unix(path: &std::path::Path) -> Option<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn a_web_process_serves_on_inherited_tcp_and_unix_listeners() {
    let dir = ConfigDir::new(Backend::Postgres, &Opts::default());
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    let tcp_port = tcp.local_addr().expect("addr").port();
    let sock = dir.path().join("inherited.sock");
    let unix = std::os::unix::net::UnixListener::bind(&sock).expect("bind unix");
    let (tfd, ufd) = (tcp.as_raw_fd(), unix.as_raw_fd());
    let log = std::fs::File::create(dir.path().join("web.log")).expect("log");
    let mut cmd = dir.command();
    cmd.arg("-c")
        .arg(&dir.config)
        .args(["--mode", "web"])
        .env("LISTEN_FDS", "2")
        .env_remove("LISTEN_PID")
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    // SAFETY: dup2 is async-signal-safe; the descriptors are open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first (a listener may already sit at 3 or 4, close-on-exec),
            // then into place: dup2 clears close-on-exec.
            let mut high = [0; 2];
            for (i, fd) in [tfd, ufd].into_iter().enumerate() {
                high[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
                if high[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (from, to) in [(high[0], 3), (high[1], 4)] {
                if libc::dup2(from, to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn web process");
    let log_text = || std::fs::read_to_string(dir.path().join("web.log")).unwrap_or_default();
    let url = format!("http://127.0.0.1:{tcp_port}/api/version");
    let client = reqwest::blocking::Client::new();
    let up = eventually(Duration::from_secs(60), || {
        client
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    assert!(
        up,
        "no answer on the inherited TCP listener\n{}",
        log_text()
    );
    let answer = version_over_unix(&sock).unwrap_or_default();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("version_major"),
        "unix socket answer: {answer}\n{}",
        log_text()
    );
    // The configured address was not bound.
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", dir.port)).is_err(),
        "the configured port {} is bound too\n{}",
        dir.port,
        log_text()
    );
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let status = wait_timeout(&mut child, Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "web process did not stop cleanly: {status:?}\n{}",
        log_text()
    );
    assert!(
        sock.exists(),
        "the web process removed a socket file it does not own"
    );
    // The listeners are still open here: a new process could take them over.
    drop((tcp, unix));
}

#[test]
fn a_descriptor_that_is_not_a_listener_is_a_startup_error() {
    let dir = ConfigDir::new(Backend::Sqlite, &Opts::default());
    let file = std::fs::File::open(&dir.config).expect("open a plain file");
    let fd = file.as_raw_fd();
    let mut cmd = dir.command();
    cmd.arg("-c")
        .arg(&dir.config)
        .args(["--mode", "web"])
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID");
    // SAFETY: dup2 is async-signal-safe; the descriptor is open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
            if high < 0 || libc::dup2(high, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("run web process");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("LISTEN_FDS"), "{err}");
}
