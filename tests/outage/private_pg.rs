//! A PostgreSQL server of the test's own, in a temp dir (initdb + pg_ctl), listening only on a
//! unix socket in that dir: a test may stop, restart or break it without touching the
//! machine's shared server. Stopped (by its pid file, through pg_ctl) when dropped.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    pub port: u16,
    /// When the test runs as root, the server runs as this user (PostgreSQL refuses root).
    run_as: Option<String>,
    _tmp: tempfile::TempDir,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres` (the newest Debian install, or
/// `PG_BIN`); fails loudly with what to install when there is none.
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql: \
             install Debian's `postgresql` package (scripts/test does) or set PG_BIN"
        )
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl PrivatePg {
    /// Creates the cluster and starts it; the database `galaxy` is created.
    pub fn start() -> PrivatePg {
        let tmp = tempfile::Builder::new()
            .prefix("gs-pg-")
            .tempdir()
            .expect("create temp dir");
        let root = tmp.path().to_path_buf();
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), &root.display().to_string()])
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "cannot give {} to user {user} (PostgreSQL will not run as root; the Debian \
                 package `postgresql` creates that user)",
                root.display()
            );
        }
        let port = 20000 + (std::process::id() % 20000) as u16;
        let pg = PrivatePg {
            bin: pg_bin(),
            data: root.join("data"),
            socket_dir: root.clone(),
            log: root.join("postgres.log"),
            port,
            run_as,
            _tmp: tmp,
        };
        let out = pg.run(
            "initdb",
            &[
                "-D",
                &pg.data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Only the unix socket: no TCP port of the machine is taken.
        let conf = format!(
            "listen_addresses = ''\nunix_socket_directories = '{}'\nport = {port}\nfsync = off\nmax_connections = 100\n",
            pg.socket_dir.display()
        );
        std::fs::write(pg.data.join("postgresql.auto.conf"), conf).expect("write server conf");
        if let Some(user) = &pg.run_as {
            let _ = Command::new("chown")
                .args([
                    &format!("{user}:"),
                    &pg.data.join("postgresql.auto.conf").display().to_string(),
                ])
                .status();
        }
        pg.start_server();
        let out = pg.run(
            "psql",
            &[
                "-h",
                &pg.socket_dir.display().to_string(),
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qtAc",
                "CREATE DATABASE galaxy",
            ],
        );
        assert!(
            out.status.success(),
            "CREATE DATABASE on the private server failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// Runs one of the server's programs (as the server's user when the test is root).
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = if program == "psql" {
            PathBuf::from("psql")
        } else {
            self.bin.join(program)
        };
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .current_dir(&self.socket_dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }

    /// `postgresql:///galaxy?host=<socket dir>&port=<port>&user=postgres`
    pub fn url(&self) -> String {
        format!(
            "postgresql:///galaxy?host={}&port={}&user=postgres",
            self.socket_dir.display(),
            self.port
        )
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_server(&self) {
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-l",
                &self.log.display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server_log()
        );
    }

    /// Stops the server at once (`-m fast`: sessions are cut, as an administrator's restart
    /// does).
    pub fn stop_server(&self) {
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Crashes the server (`-m immediate`: no checkpoint, WAL not yet flushed is lost, and
    /// the next start replays the WAL), as a power cut does to what was not on disk.
    pub fn crash_server(&self) {
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop -m immediate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs one SQL statement on the `galaxy` database; `None` when the server does not answer.
    pub fn query(&self, sql: &str) -> Option<String> {
        let out = self.run(
            "psql",
            &[
                "-h",
                &self.socket_dir.display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "galaxy",
                "-v",
                "ON_ERROR_STOP=1",
                "-qtAc",
                sql,
            ],
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
    }
}
