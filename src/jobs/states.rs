//! Galaxy's job and dataset states.

pub const NEW: &str = "new";
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const OK: &str = "ok";
pub const ERROR: &str = "error";
pub const PAUSED: &str = "paused";
pub const DELETING: &str = "deleting";
pub const DELETED: &str = "deleted";

/// Every job state Galaxy knows.
pub const JOB_STATES: &[&str] = &[
    NEW, "upload", "waiting", QUEUED, RUNNING, OK, ERROR, PAUSED, DELETING, DELETED, "stop",
    "stopped", "skipped",
];

/// A job in one of these states will not change again.
pub fn is_terminal(state: &str) -> bool {
    matches!(state, OK | ERROR | DELETED | "stopped" | "skipped")
}

/// What a job should do about its input datasets.
#[derive(Debug, PartialEq, Eq)]
pub enum InputsReadiness {
    Ready,
    Wait,
    /// An input failed or was deleted: the job pauses.
    Failed,
}

/// Classifies input datasets `(state, deleted)`.
pub fn inputs_readiness<'a>(inputs: impl IntoIterator<Item = (&'a str, bool)>) -> InputsReadiness {
    let mut wait = false;
    for (state, deleted) in inputs {
        match state {
            _ if deleted => return InputsReadiness::Failed,
            OK => {}
            ERROR | PAUSED | "discarded" | "failed_metadata" | DELETED => {
                return InputsReadiness::Failed;
            }
            _ => wait = true,
        }
    }
    if wait {
        InputsReadiness::Wait
    } else {
        InputsReadiness::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness() {
        assert_eq!(
            inputs_readiness([("ok", false), ("ok", false)]),
            InputsReadiness::Ready
        );
        assert_eq!(
            inputs_readiness([("ok", false), ("running", false)]),
            InputsReadiness::Wait
        );
        assert_eq!(
            inputs_readiness([("queued", false), ("error", false)]),
            InputsReadiness::Failed
        );
        assert_eq!(inputs_readiness([("ok", true)]), InputsReadiness::Failed);
        assert_eq!(inputs_readiness([]), InputsReadiness::Ready);
    }
}
