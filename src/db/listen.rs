//! PostgreSQL LISTEN on a dedicated connection, re-established after a drop: new jobs wake
//! handlers at once instead of waiting for the fallback poll.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::{AsyncMessage, NoTls};

use super::health;
use super::queries::notify::CHANNEL;

/// Listens forever; calls `on_payload` with each notification's payload, and with `None`
/// after every (re)connection so the caller catches up on anything missed meanwhile.
pub async fn listen_forever<F>(url: String, on_payload: F)
where
    F: Fn(Option<&str>) + 'static,
{
    let mut backoff = Duration::from_millis(100);
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                let driver = actix_rt::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if tx.send(n.payload().to_string()).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                health::report_unreachable(&describe(&e));
                                log::debug!("LISTEN connection lost: {e}");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        health::report_reachable();
                        backoff = Duration::from_millis(100);
                        on_payload(None);
                        while let Some(payload) = rx.recv().await {
                            on_payload(Some(&payload));
                        }
                    }
                    Err(e) => log::warn!("LISTEN {CHANNEL}: {e}"),
                }
                driver.abort();
            }
            Err(e) => {
                // An outage is logged once, by `health`.
                health::report_unreachable(&describe(&e));
                log::debug!("LISTEN connection: {e}");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// The driver's error with the server's own words when it sent some (its `Display` says only
/// "db error" then).
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}
