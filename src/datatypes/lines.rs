//! Reading a file line by line within the metadata's bounds: at most [`MAX_BYTES`] bytes and
//! [`MAX_LINES`] lines, one line buffer reused (memory bounded by the buffer and the longest
//! line read).

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

/// Bytes of a file metadata reads at most: past it, counts are unknown (`null`).
pub const MAX_BYTES: u64 = 16 << 20;
/// Lines of a file metadata reads at most (Galaxy's `max_data_lines` of tabular data).
pub const MAX_LINES: usize = 100_000;

/// Calls `f` with each line (without `\n` or `\r\n`) of the first [`MAX_BYTES`] /
/// [`MAX_LINES`] of the file, until it breaks. Returns whether the whole file was read
/// (`false` when a limit or `f` stopped it first); a line cut by the byte limit is not given.
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(&str) -> ControlFlow<()>,
) -> std::io::Result<bool> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(64 * 1024, file.take(MAX_BYTES));
    let mut buf = Vec::new();
    let mut consumed = 0u64;
    let mut lines = 0usize;
    loop {
        if lines >= MAX_LINES {
            return Ok(consumed >= len);
        }
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(consumed >= len);
        }
        consumed += n as u64;
        let ended = buf.last() == Some(&b'\n');
        if !ended && consumed < len {
            // Cut by the byte limit.
            return Ok(false);
        }
        lines += 1;
        let mut line = &buf[..];
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        let text: Cow<'_, str> = String::from_utf8_lossy(line);
        if f(&text).is_break() {
            return Ok(false);
        }
    }
}
