//! Strings of the streamed JSON: unescaped into memory (within the room left) or into the
//! file of pasted content.

use std::io::Read;
use std::path::Path;

use super::Parser;
use crate::tools::paste::PasteWriter;
use crate::web::body::BodyError;

/// Receives the bytes of a string.
pub(super) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), BodyError>;
}

/// A string kept in memory, within the room left.
struct Memory<'a> {
    bytes: Vec<u8>,
    room: &'a mut u64,
    too_large: &'a mut Option<BodyError>,
}

impl Sink for Memory<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), BodyError> {
        let n = bytes.len() as u64;
        if n > *self.room {
            return Err(take_too_large(self.too_large));
        }
        *self.room -= n;
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }
}

pub(super) fn take_too_large(slot: &mut Option<BodyError>) -> BodyError {
    slot.take()
        .unwrap_or_else(|| BodyError::Payload("the request body is too large".into()))
}

pub(super) struct Spool<'a> {
    pub(super) writer: PasteWriter,
    pub(super) dir: &'a Path,
}

impl Sink for Spool<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), BodyError> {
        self.writer
            .write(bytes)
            .map_err(|e| spool_error(self.dir, e))
    }
}

pub(super) fn spool_error(dir: &Path, e: std::io::Error) -> BodyError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        BodyError::Syntax {
            offset: 0,
            message: format!("pasted content: {e}"),
        }
    } else {
        BodyError::Spool {
            dir: dir.to_path_buf(),
            source: e,
        }
    }
}

impl<R: Read> Parser<'_, R> {
    pub(super) fn memory_string(&mut self) -> Result<String, BodyError> {
        let mut room = self.room;
        let mut too_large = self.too_large.take();
        let mut sink = Memory {
            bytes: Vec::new(),
            room: &mut room,
            too_large: &mut too_large,
        };
        let read = self.string(&mut sink);
        let bytes = std::mem::take(&mut sink.bytes);
        self.room = room;
        self.too_large = too_large;
        read?;
        String::from_utf8(bytes).map_err(|_| self.syntax("a string is not UTF-8"))
    }

    /// The rest of a string (its opening quote consumed), unescaped, into `sink`.
    pub(super) fn string(&mut self, sink: &mut impl Sink) -> Result<(), BodyError> {
        loop {
            if !self.input.fill()? {
                return Err(self.syntax("unexpected end of the body inside a string"));
            }
            let chunk = &self.input.buf[self.input.pos..self.input.len];
            let stop = chunk
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let run = stop.unwrap_or(chunk.len());
            sink.put(&chunk[..run])?;
            self.input.pos += run;
            if stop.is_none() {
                continue;
            }
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => {
                    let mut utf8 = [0u8; 4];
                    let c = self.escape()?;
                    sink.put(c.encode_utf8(&mut utf8).as_bytes())?;
                }
                _ => return Err(self.syntax("control character inside a string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, BodyError> {
        Ok(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if self.next()? != b'\\' || self.next()? != b'u' {
                        return Err(self.syntax("lone leading surrogate in a \\u escape"));
                    }
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.syntax("invalid surrogate pair in a \\u escape"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                char::from_u32(code).ok_or_else(|| self.syntax("invalid \\u escape"))?
            }
            _ => return Err(self.syntax("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, BodyError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = (self.next()? as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }
}
