//! The pieces of a request body, handed from the web worker to a blocking thread through a
//! bounded channel: the body is parsed as it arrives and never held whole.

use std::io::Read;

use actix_web::web::Bytes;
use tokio::sync::mpsc::Receiver;

/// Reads what the sending side passes; ends when the sender is dropped.
pub(super) struct ChannelReader {
    rx: Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    pub(super) fn new(rx: Receiver<Bytes>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    /// Blocks the (blocking-pool) thread until a piece arrives.
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(piece) => self.current = piece,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
