//! `shell_plugin: SecureShell`: Slurm's commands run on a submit host over ssh. The submit
//! host is a private `sshd` on this machine whose sessions alone know the cluster
//! (`SetEnv SLURM_CONF=…`); the server's own environment does not, so a job that runs and is
//! cancelled proves every Slurm call went through ssh.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::SlurmCluster;
use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, wait_timeout};
use crate::support::{full, run, wait_state};

const SSHD: &str = "/usr/sbin/sshd";

/// A private sshd on 127.0.0.1, root logging in with a key of its own; stopped on drop.
struct SubmitHost {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SubmitHost {
    fn start(slurm_conf: &Path) -> SubmitHost {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install Debian's openssh-server (scripts/test does)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let p = |name: &str| d.join(name).display().to_string();
        sh(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f", &p("host_key")],
        );
        sh(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f", &p("id")],
        );
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).expect("authorized_keys");
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\n\
                 PidFile {pid}\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nUsePAM no\nSetEnv SLURM_CONF={conf}\n",
                hk = p("host_key"),
                ak = p("authorized_keys"),
                pid = p("sshd.pid"),
                conf = slurm_conf.display(),
            ),
        )
        .expect("sshd_config");
        let child = Command::new(SSHD)
            .args(["-D", "-f", &p("sshd_config"), "-E", &p("sshd.log")])
            .stdin(Stdio::null())
            .spawn()
            .expect("start sshd");
        // The server's `ssh` is this wrapper: the real ssh, with this host's port and key.
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host submit-host\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {id}\n  \
                 StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                id = p("id"),
            ),
        )
        .expect("ssh_config");
        std::fs::create_dir_all(d.join("bin")).expect("bin");
        let wrapper = d.join("bin").join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                p("ssh_config")
            ),
        )
        .expect("ssh wrapper");
        sh("chmod", &["755", &wrapper.display().to_string()]);
        let host = SubmitHost { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", host.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd never listened: {}",
                host.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for SubmitHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = wait_timeout(&mut self.child, Duration::from_secs(5));
    }
}

#[test]
fn secure_shell_runs_slurm_on_a_submit_host_over_ssh() {
    let slurm = SlurmCluster::start();
    let host = SubmitHost::start(&slurm.conf());
    let conf = "runners:\n\
                \x20 cli: {load: galaxy.jobs.runners.cli:ShellJobRunner, workers: 2, poll_interval: 0.5}\n\
                execution:\n\
                \x20 default: remote\n\
                \x20 environments:\n\
                \x20   remote: {runner: cli, job_plugin: Slurm, shell_plugin: SecureShell, shell_hostname: submit-host, shell_username: root}\n";
    let path = format!(
        "{}:{}",
        host.bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // No SLURM_CONF here: only the submit host's sessions know the cluster.
    let opts = Opts::default()
        .file("job_conf.yml", conf)
        .job_config_file("job_conf.yml")
        .env("PATH", &path);
    let server = TestServer::start(Backend::Sqlite, opts);
    let api = &server.api;
    let hid = server.create_history(ADMIN_KEY, "ssh");

    let (job, out) = run(api, &hid, "sleep", json!({"seconds": 1}));
    let done = wait_state(api, &job, &["ok", "error"], Duration::from_secs(90))
        .unwrap_or_else(|| panic!("job {job} never ended: {}", server.log_tail()));
    assert_eq!(
        done["state"],
        "ok",
        "{}\n{}\n{}",
        full(api, &job),
        server.log_tail(),
        host.log()
    );
    server.assert_dataset(ADMIN_KEY, &out, "slept 1\n");
    let ext = full(api, &job)["job_runner_external_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        slurm.completion(&ext).map(|c| c.state),
        Some("COMPLETED".to_string()),
        "Slurm ran it as {ext}"
    );

    // Cancel goes over ssh too.
    let (job, _) = run(api, &hid, "sleep", json!({"seconds": 300}));
    wait_state(api, &job, &["running"], Duration::from_secs(60))
        .unwrap_or_else(|| panic!("job {job} never ran: {}", server.log_tail()));
    let ext = full(api, &job)["job_runner_external_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, _) = api.delete(&format!("/api/jobs/{job}"), Some(ADMIN_KEY));
    assert_eq!(status, 200);
    let ended = wait_state(
        api,
        &job,
        &["deleted", "error", "ok"],
        Duration::from_secs(60),
    )
    .unwrap_or_else(|| panic!("job {job} never ended: {}", server.log_tail()));
    assert_eq!(ended["state"], "deleted", "{}", server.log_tail());
    let c = slurm.wait_completion(&ext, Duration::from_secs(30));
    assert_eq!(c.state, "CANCELLED");
    assert!(
        host.log().contains("Accepted publickey"),
        "the commands went through the submit host: {}",
        host.log()
    );
}
