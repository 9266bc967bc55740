//! Handing a web process's connections over to its successor (`ctl graceful`).
//!
//! Both processes serve the same listening sockets, held open by the process manager, so a
//! connection waiting in a socket's accept queue belongs to no process yet: whichever accepts
//! it serves it. The old process therefore
//! 1. answers everything from now on with `Connection: close`, so keep-alive clients move to
//!    the successor after their next answer rather than having their connection closed under
//!    them while they send on it;
//! 2. stops accepting, leaving queued connections to the successor;
//! 3. serves every connection it has accepted until the client or the keep-alive timeout closes
//!    it: a request already sent, with or without a body, is answered;
//! 4. only then stops its HTTP server, which at that point holds no connection. (Stopping it
//!    earlier closes accepted connections whose first request has not been read yet, and drops
//!    those still on their way to a worker.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::{Extensions, ServerHandle};

/// Set while handing over: responses close their connections.
static DRAINING: AtomicBool = AtomicBool::new(false);

/// Connections this process has open (from when a worker takes them until they close).
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// How long the accept thread gets to pass on what it accepted before it paused.
const SETTLE: Duration = Duration::from_millis(200);
const POLL: Duration = Duration::from_millis(20);

/// Whether responses should close their connections.
pub fn draining() -> bool {
    DRAINING.load(Ordering::Relaxed)
}

/// Lives in a connection's extensions: counts the connection open until it is dropped.
struct Open;

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `HttpServer::on_connect`: counts every connection.
pub fn track(_io: &dyn std::any::Any, ext: &mut Extensions) {
    OPEN.fetch_add(1, Ordering::SeqCst);
    ext.insert(Open);
}

/// Steps 1–3 above; returns when no connection is left or at `deadline`, whichever is first.
/// The caller then stops the server.
pub async fn hand_over(server: &ServerHandle, deadline: Duration) {
    DRAINING.store(true, Ordering::SeqCst);
    server.pause().await;
    tokio::time::sleep(SETTLE).await;
    let start = Instant::now();
    let until = start + deadline;
    let mut open = OPEN.load(Ordering::SeqCst);
    while open > 0 && Instant::now() < until {
        tokio::time::sleep(POLL).await;
        open = OPEN.load(Ordering::SeqCst);
    }
    if open > 0 {
        log::warn!(
            "{open} connection(s) still open after {deadline:?} of handing over; closing them"
        );
    } else {
        log::info!(
            "handed over: the last connection closed after {:?}",
            start.elapsed() + SETTLE
        );
    }
}
