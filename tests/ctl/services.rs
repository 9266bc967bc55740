//! `ctl` on one service or process at a time, `list`/`show`/`exec`/`unit`, per-service
//! limits, `graceful`/`update` with nothing running, and Gravity's environment variables.

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::eventually;
use crate::lifecycle::started;
use crate::support::{Ctl, alive};

fn pid_of(c: &Ctl, name: &str) -> u32 {
    c.status()
        .get(name)
        .and_then(|r| r.pid)
        .unwrap_or_else(|| panic!("{name} has no pid: {:?}\n{}", c.status(), c.logs()))
}

fn state_of(c: &Ctl, name: &str) -> String {
    c.status()
        .get(name)
        .map(|r| r.state.clone())
        .unwrap_or_default()
}

fn wait_state(c: &Ctl, name: &str, state: &str) {
    let ok = eventually(Duration::from_secs(30), || state_of(c, name) == state);
    assert!(ok, "{name} never {state}: {:?}\n{}", c.status(), c.logs());
}

#[test]
fn services_and_processes_are_started_stopped_and_restarted_by_name() {
    let c = Ctl::new(2);
    let list = c.ok(&["list"]);
    for want in [
        "gunicorn",
        "handler_0,handler_1",
        "static1",
        "static handler",
    ] {
        assert!(list.contains(want), "list lacks {want}:\n{list}");
    }
    let show = c.ok(&["show", "handler_0"]);
    assert!(
        show.contains("--mode handler --server-name handler_0 --pool job-handlers"),
        "{show}"
    );
    let bad = c.ctl(&["stop", "nosuch"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no service or process named `nosuch`"));

    // Nothing runs: `start NAME` starts the manager with only that process.
    c.ok(&["start", "handler_0"]);
    wait_state(&c, "handler_0", "running");
    for other in ["main", "handler_1", "static1"] {
        assert_eq!(state_of(&c, other), "stopped", "{other}: {:?}", c.status());
    }
    // `start` then brings up the rest.
    started(&c);

    // One handler stopped: not restarted, the others serve jobs.
    let h1 = pid_of(&c, "handler_1");
    let main = pid_of(&c, "main");
    c.ok(&["stop", "handler_1"]);
    assert_eq!(state_of(&c, "handler_1"), "stopped");
    assert!(!alive(h1), "handler_1 still runs");
    let one = c.ok(&["status", "handler_1"]);
    assert!(
        one.contains("handler_1") && !one.contains("handler_0") && !one.contains("static1"),
        "status NAME shows that process only:\n{one}"
    );
    let hid = c.history();
    let ds = c.paste(&hid, "x\n");
    let job = c.cat1(&hid, &ds);
    assert_eq!(
        c.wait_job(&job, Duration::from_secs(60)),
        "ok",
        "{}",
        c.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        state_of(&c, "handler_1"),
        "stopped",
        "a stopped process came back"
    );

    c.ok(&["start", "handler_1"]);
    wait_state(&c, "handler_1", "running");
    assert_ne!(pid_of(&c, "handler_1"), h1);

    // A group restarts as a whole; the web process is not touched.
    let (h0, h1) = (pid_of(&c, "handler_0"), pid_of(&c, "handler_1"));
    let s1 = pid_of(&c, "static1");
    c.ok(&["restart", "handler"]);
    assert!(pid_of(&c, "handler_0") != h0 && pid_of(&c, "handler_1") != h1);
    assert_eq!(
        pid_of(&c, "main"),
        main,
        "restart handler touched the web process"
    );
    assert_eq!(pid_of(&c, "static1"), s1);

    // `graceful web` replaces the web process only.
    let h0 = pid_of(&c, "handler_0");
    c.ok(&["graceful", "web"]);
    assert_ne!(pid_of(&c, "main"), main);
    assert_eq!(pid_of(&c, "handler_0"), h0);
    c.wait_web();
    c.ok(&["stop"]);

    // With nothing running, `graceful` and `update` start everything (gravity#162).
    for cmd in ["graceful", "update"] {
        let out = c.ok(&[cmd]);
        assert!(out.contains("not running: starting"), "{cmd}: {out}");
        c.wait_web();
        for n in ["main", "handler_0", "handler_1", "static1"] {
            wait_state(&c, n, "running");
        }
        c.ok(&["stop"]);
    }
}

#[test]
fn umask_memory_limit_exec_and_the_unit() {
    let c = Ctl::new(1);
    c.edit(
        "      pools: [job-handlers]\n",
        "      pools: [job-handlers]\n      umask: \"077\"\n    tiny:\n      memory_limit: 0.001\n      pools: [job-handlers.tiny]\n",
    );
    c.edit(
        "  state_dir: state\n",
        "  state_dir: state\n  memory_limit: 4\n",
    );

    // The unit carries the limits and verifies.
    let unit = c.ok(&["unit"]);
    let per_process = (4.0f64 * 1024.0 * 1024.0 * 1024.0) as u64;
    let tiny = (0.001f64 * 1024.0 * 1024.0 * 1024.0) as u64;
    // main, handler_0, static1 at the default 4 GB; tiny_0 at its own limit.
    let sum = 3 * per_process + tiny;
    assert!(unit.contains(&format!("MemoryMax={sum}")), "{unit}");
    assert!(
        unit.contains("start --foreground") && unit.contains("TimeoutStopSec="),
        "{unit}"
    );
    let unit = unit
        .lines()
        .filter(|l| !l.contains(" INFO ") && !l.contains(" WARNING "))
        .collect::<Vec<_>>()
        .join("\n");
    let (ok, text) = crate::systemd::verify(&format!("{unit}\n"));
    assert!(ok, "systemd-analyze verify:\n{text}\n{unit}");

    // `exec` becomes the process itself, as configured (same pid, its command line).
    let mut child = c
        .dir
        .command()
        .arg("-c")
        .arg(&c.dir.config)
        .args(["ctl", "exec", "handler_0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ctl exec");
    let pid = child.id();
    let became = eventually(Duration::from_secs(10), || {
        fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
            let args: Vec<String> = b
                .split(|&c| c == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            !args.iter().any(|a| a == "ctl")
                && args
                    .windows(2)
                    .any(|w| w[0] == "--server-name" && w[1] == "handler_0")
        })
    });
    let umask = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(became, "ctl exec did not become handler_0");
    assert!(umask.contains("Umask:\t0077"), "exec's umask: {umask}");

    // Under the manager: handler_0 has its umask; tiny_0 passes its limit and is killed.
    c.ok(&["start"]);
    c.wait_web();
    wait_state(&c, "handler_0", "running");
    let h0 = pid_of(&c, "handler_0");
    let status = fs::read_to_string(format!("/proc/{h0}/status")).unwrap_or_default();
    assert!(
        status.contains("Umask:\t0077"),
        "handler_0's umask: {status}"
    );
    let main = pid_of(&c, "main");
    let status = fs::read_to_string(format!("/proc/{main}/status")).unwrap_or_default();
    assert!(
        status.contains("Umask:\t0022"),
        "main's umask (gravity's default): {status}"
    );
    let manager_log = c.state_dir.join("log/manager.log");
    let killed = eventually(Duration::from_secs(30), || {
        fs::read_to_string(&manager_log).is_ok_and(|t| {
            t.contains("tiny_0 (pid") && t.contains("over its memory_limit of 1 MiB")
        })
    });
    assert!(killed, "tiny_0 was not held to its limit\n{}", c.logs());
    assert_eq!(
        pid_of(&c, "handler_0"),
        h0,
        "a process within its limit was touched"
    );
    c.ok(&["stop"]);
}

#[test]
fn gravity_environment_names_the_config_and_the_state_dir() {
    let c = Ctl::new(1);
    let env_state = c.dir.path().join("env-state");
    let run = |args: &[&str], env: &[(&str, &std::path::Path)]| {
        let mut cmd = c.dir.command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().expect("run galaxy-server");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // GRAVITY_CONFIG_FILE stands for -c.
    let (code, out) = run(&["ctl", "list"], &[("GRAVITY_CONFIG_FILE", &c.dir.config)]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("handler_0") && out.contains("static1"),
        "{out}"
    );

    // GRAVITY_STATE_DIR wins over gravity.state_dir …
    let cfg: &std::path::Path = &c.dir.config;
    let env = [
        ("GRAVITY_CONFIG_FILE", cfg),
        ("GRAVITY_STATE_DIR", &env_state),
    ];
    let (code, out) = run(&["ctl", "start"], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(env_state.join("galaxy-server.pid").exists(), "{out}");
    assert!(!c.state_dir.join("galaxy-server.pid").exists());
    c.wait_web();
    // … and --state-dir wins over GRAVITY_STATE_DIR.
    let other = c.dir.path().join("other");
    let (code, _) = run(
        &[
            "ctl",
            "--state-dir",
            other.to_str().unwrap_or_default(),
            "status",
        ],
        &env,
    );
    assert_eq!(code, Some(1), "nothing runs in --state-dir");
    let (code, out) = run(&["ctl", "status"], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("handler_0"), "{out}");
    let (code, out) = run(&["ctl", "stop"], &env);
    assert_eq!(code, Some(0), "{out}");
}
