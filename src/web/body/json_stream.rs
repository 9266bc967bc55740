//! A JSON parser over a byte stream that builds the document in memory except for pasted
//! content, which it writes to disk as it reads it: the first string value under
//! `files_0|url_paste`, or under `url_paste` in `files_0` or in the first entry of `files`
//! (the shapes `upload1` accepts). What it keeps in memory is bounded by `room`.

use std::io::Read;
use std::path::Path;

use serde_json::{Map, Number, Value};

use super::BodyError;
use crate::tools::paste::{PasteWriter, PastedFile};
use strings::{Spool, spool_error, take_too_large};

/// Nesting deeper than this is refused (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// Where a value sits, as far as finding pasted content goes.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Other,
    /// The object `files_0`, or the first entry of `files`.
    FileEntry,
    /// The array `files`.
    FileList,
}

#[derive(Debug)]
pub(super) struct Parsed {
    /// `None` for an empty (or all-whitespace) body.
    pub value: Option<Value>,
    pub paste: Option<PastedFile>,
}

/// Parses one JSON document from `input`. Pasted content goes to a file in `spool_dir`; the
/// rest may take `room` bytes of memory (else `TooLarge` naming `api_body_limit`).
pub(super) fn parse(
    input: impl Read,
    room: u64,
    spool_dir: &Path,
    too_large: BodyError,
) -> Result<Parsed, BodyError> {
    let mut p = Parser {
        input: Input::new(input),
        room,
        too_large: Some(too_large),
        spool_dir,
        paste: None,
        depth: 0,
    };
    p.skip_ws()?;
    if p.input.peek()?.is_none() {
        return Ok(Parsed {
            value: None,
            paste: None,
        });
    }
    let value = p.value(Place::Other, false)?;
    p.skip_ws()?;
    if p.input.peek()?.is_some() {
        return Err(p.syntax("trailing characters"));
    }
    Ok(Parsed {
        value: Some(value),
        paste: p.paste,
    })
}

struct Input<R> {
    r: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf`.
    offset: u64,
}

impl<R: Read> Input<R> {
    fn new(r: R) -> Self {
        Input {
            r,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            offset: 0,
        }
    }

    /// Makes sure unread bytes are buffered; false at the end of the stream.
    fn fill(&mut self) -> Result<bool, BodyError> {
        if self.pos < self.len {
            return Ok(true);
        }
        self.offset += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.r.read(&mut self.buf) {
                Ok(n) => {
                    self.len = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BodyError::Payload(e.to_string())),
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, BodyError> {
        Ok(if self.fill()? {
            Some(self.buf[self.pos])
        } else {
            None
        })
    }

    fn position(&self) -> u64 {
        self.offset + self.pos as u64
    }
}

struct Parser<'a, R> {
    input: Input<R>,
    room: u64,
    too_large: Option<BodyError>,
    spool_dir: &'a Path,
    paste: Option<PastedFile>,
    depth: usize,
}

impl<R: Read> Parser<'_, R> {
    fn syntax(&self, message: &str) -> BodyError {
        BodyError::Syntax {
            offset: self.input.position(),
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) -> Result<(), BodyError> {
        while let Some(b) = self.input.peek()? {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.input.pos += 1;
        }
        Ok(())
    }

    fn next(&mut self) -> Result<u8, BodyError> {
        match self.input.peek()? {
            Some(b) => {
                self.input.pos += 1;
                Ok(b)
            }
            None => Err(self.syntax("unexpected end of the body")),
        }
    }

    fn expect(&mut self, wanted: u8) -> Result<(), BodyError> {
        self.skip_ws()?;
        if self.next()? == wanted {
            Ok(())
        } else {
            Err(self.syntax(&format!("expected `{}`", wanted as char)))
        }
    }

    fn charge(&mut self, n: u64) -> Result<(), BodyError> {
        if n > self.room {
            return Err(take_too_large(&mut self.too_large));
        }
        self.room -= n;
        Ok(())
    }

    /// One value; `paste` when a string here is pasted content.
    fn value(&mut self, place: Place, paste: bool) -> Result<Value, BodyError> {
        self.skip_ws()?;
        let Some(b) = self.input.peek()? else {
            return Err(self.syntax("unexpected end of the body"));
        };
        match b {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.syntax("nesting too deep"));
                }
                self.input.pos += 1;
                let v = if b == b'{' {
                    self.object(place)
                } else {
                    self.array(place)
                };
                self.depth -= 1;
                v
            }
            b'"' if paste && self.paste.is_none() => {
                self.input.pos += 1;
                let writer = PasteWriter::create(self.spool_dir)
                    .map_err(|e| spool_error(self.spool_dir, e))?;
                let mut spool = Spool {
                    writer,
                    dir: self.spool_dir,
                };
                self.string(&mut spool)?;
                let file = spool
                    .writer
                    .finish()
                    .map_err(|e| spool_error(self.spool_dir, e))?;
                self.paste = Some(file);
                self.charge(4)?;
                Ok(Value::Null)
            }
            b'"' => {
                self.input.pos += 1;
                Ok(Value::String(self.memory_string()?))
            }
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.syntax("expected a value")),
        }
    }

    fn object(&mut self, place: Place) -> Result<Value, BodyError> {
        let mut map = Map::new();
        self.skip_ws()?;
        if self.input.peek()? == Some(b'}') {
            self.input.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.expect(b'"')?;
            let key = self.memory_string()?;
            self.expect(b':')?;
            let paste =
                key == "files_0|url_paste" || (key == "url_paste" && place == Place::FileEntry);
            let inner = match key.as_str() {
                "files_0" => Place::FileEntry,
                "files" => Place::FileList,
                _ => Place::Other,
            };
            let value = self.value(inner, paste)?;
            self.charge(16)?;
            map.insert(key, value);
            self.skip_ws()?;
            match self.next()? {
                b',' => {}
                b'}' => return Ok(Value::Object(map)),
                _ => return Err(self.syntax("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, place: Place) -> Result<Value, BodyError> {
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.input.peek()? == Some(b']') {
            self.input.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            let inner = if place == Place::FileList && items.is_empty() {
                Place::FileEntry
            } else {
                Place::Other
            };
            items.push(self.value(inner, false)?);
            self.charge(16)?;
            self.skip_ws()?;
            match self.next()? {
                b',' => {}
                b']' => return Ok(Value::Array(items)),
                _ => return Err(self.syntax("expected `,` or `]`")),
            }
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, BodyError> {
        for &w in word {
            if self.next()? != w {
                return Err(self.syntax("expected a value"));
            }
        }
        self.charge(word.len() as u64)?;
        Ok(value)
    }

    fn number(&mut self) -> Result<Value, BodyError> {
        let mut text = Vec::new();
        while let Some(b) = self.input.peek()? {
            if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                break;
            }
            if text.len() >= 512 {
                return Err(self.syntax("number too long"));
            }
            text.push(b);
            self.input.pos += 1;
        }
        self.charge(text.len() as u64)?;
        match serde_json::from_slice::<Number>(&text) {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => Err(self.syntax("invalid number")),
        }
    }
}

mod strings;

#[cfg(test)]
mod tests;
