//! Whether the database answers, as this process last saw it. Every failed connection attempt
//! and every query that failed because the server went away marks it unreachable; the next
//! connection made or checked marks it reachable again. Each change is logged once, so an
//! outage is one line when it starts and one when it ends, however many steps it failed.
//!
//! Requests use it to answer 503 at once instead of waiting for a connection that cannot
//! come; handlers use it to wait an outage out instead of failing their jobs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    /// Since when the database has been unreachable, and the last reason seen.
    down: Option<(Instant, String)>,
    /// When the last outage ended.
    recovered: Option<Instant>,
}

static STATE: Mutex<State> = Mutex::new(State {
    down: None,
    recovered: None,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection attempt or a query failed because the database is not reachable.
pub fn report_unreachable(reason: &str) {
    let mut s = state();
    match &mut s.down {
        Some((_, last)) => {
            if last != reason {
                log::debug!("database still unreachable: {reason}");
                *last = reason.to_string();
            }
        }
        None => {
            log::error!("database unreachable: {reason}");
            s.down = Some((Instant::now(), reason.to_string()));
        }
    }
}

/// A connection was made or checked: the database answers.
pub fn report_reachable() {
    let mut s = state();
    if let Some((since, _)) = s.down.take() {
        log::warn!(
            "database reachable again after {:.1} s",
            since.elapsed().as_secs_f64()
        );
        s.recovered = Some(Instant::now());
    }
}

/// Whether the database is known to be unreachable right now.
pub fn is_down() -> bool {
    state().down.is_some()
}

/// How long the database has been unreachable, and why; `None` when it answers.
pub fn outage() -> Option<(Duration, String)> {
    state()
        .down
        .as_ref()
        .map(|(since, reason)| (since.elapsed(), reason.clone()))
}

/// How long ago the last outage ended (`None`: none since this process started).
pub fn since_recovery() -> Option<Duration> {
    state().recovered.map(|t| t.elapsed())
}

/// Whether a driver's message says the server went away or cannot be reached (as opposed to
/// a query that the server refused).
pub fn message_means_unreachable(msg: &str) -> bool {
    const SIGNS: &[&str] = &[
        "terminating connection",
        "server closed the connection",
        "connection refused",
        "could not connect",
        "could not translate host name",
        "no connection to the server",
        "the database system is",
        "connection to server",
        "connection reset",
        "broken pipe",
        "could not receive data",
        "could not send data",
        "ssl syscall",
        "timeout expired",
        "server conn crashed",
        "administrator command",
        "cannot connect now",
    ];
    let msg = msg.to_ascii_lowercase();
    SIGNS.iter().any(|s| msg.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_messages_of_an_outage_are_recognised() {
        for m in [
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
            "FATAL:  the database system is starting up",
            "no connection to the server\n",
        ] {
            assert!(message_means_unreachable(m), "{m}");
        }
        for m in [
            "duplicate key value violates unique constraint \"job_pkey\"",
            "relation \"job\" does not exist",
            "syntax error at or near \"SELEC\"",
        ] {
            assert!(!message_means_unreachable(m), "{m}");
        }
    }
}
