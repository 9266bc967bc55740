//! Where Slurm's commands run: on this host (`LocalShell`) or on a submit host over ssh
//! (`SecureShell`, as Galaxy's CLI runner does). Every call is counted in the metrics
//! (`galaxy_server_slurm_calls_total{command}`) and bounded in time.

use std::time::Duration;

use crate::config::Shell;

/// Longest a Slurm command may take before it is killed and counted as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a command printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Its error message: stderr, else stdout, trimmed.
    pub fn message(&self) -> String {
        let e = self.stderr.trim();
        if e.is_empty() {
            self.stdout.trim().to_string()
        } else {
            e.to_string()
        }
    }
}

/// Runs `program args…` through `shell`. `Err` only when it could not be run at all (not
/// found, ssh failed to start, timed out).
pub async fn run(shell: &Shell, program: &str, args: &[String]) -> Result<Ran, String> {
    if let Some(m) = crate::metrics::get() {
        m.slurm_calls.with_label_values(&[program]).inc();
    }
    let mut cmd = match shell {
        Shell::Local => {
            let mut c = tokio::process::Command::new(program);
            c.args(args);
            c
        }
        Shell::Secure { hostname, username } => {
            let mut c = tokio::process::Command::new("ssh");
            c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
            if let Some(u) = username {
                c.args(["-l", u]);
            }
            let remote: Vec<String> = std::iter::once(program.to_string())
                .chain(args.iter().map(|a| super::super::script::quote(a)))
                .collect();
            c.arg(hostname).arg("--").arg(remote.join(" "));
            c
        }
    };
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not run `{program}`: {e} (is Slurm's client installed?)"))?;
    match tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(Ran {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
        Ok(Err(e)) => Err(format!("`{program}` failed: {e}")),
        Err(_) => Err(format!(
            "`{program}` did not answer within {} s",
            COMMAND_TIMEOUT.as_secs()
        )),
    }
}

/// Whether Slurm's message says the controller could not be reached or was busy: worth
/// another try, unlike a refusal (a bad option, an unknown partition).
pub fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "socket timed out",
        "unable to contact slurm controller",
        "resource temporarily unavailable",
        "connection refused",
        "slurm_persist_conn",
        "try again",
        "communication connection failure",
    ]
    .iter()
    .any(|t| m.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_not_retried() {
        assert!(!is_transient(
            "sbatch: error: Batch job submission failed: Invalid partition name specified"
        ));
        assert!(is_transient(
            "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)"
        ));
        assert!(is_transient(
            "squeue: error: Socket timed out on send/recv operation"
        ));
    }
}
