//! Form bodies of `POST /api/tools`, as Galaxy's own clients send them (galaxy-tool-test
//! posts `requests`' `data=` and `files=`): `application/x-www-form-urlencoded` fields, and
//! `multipart/form-data` whose file part (`files_0|file_data`, any bytes) is streamed to disk
//! as pasted content is, and staged as Galaxy's `upload1` stages a file
//! (`paste::stage_upload`). Every field is a string (`inputs` is a JSON string, which the
//! route parses); the fields may take `room` bytes of memory, a file part only disk.

use std::io::Read;
use std::path::Path;

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use super::BodyError;
use super::json_stream::Parsed;
use crate::tools::paste::{PasteWriter, PastedFile};

/// Longest part header block accepted.
const MAX_PART_HEADERS: usize = 16 * 1024;
/// Bytes read from the body at a time.
const READ_SIZE: usize = 64 * 1024;

fn form_error(message: impl Into<String>) -> BodyError {
    BodyError::Form(message.into())
}

fn spool_error(dir: &Path, e: std::io::Error) -> BodyError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        form_error(format!("uploaded file: {e}"))
    } else {
        BodyError::Spool {
            dir: dir.to_path_buf(),
            source: e,
        }
    }
}

/// `a=1&b=x%20y` (and `+` for spaces) into string fields.
pub(super) fn urlencoded(
    mut input: impl Read,
    room: u64,
    too_large: BodyError,
) -> Result<Parsed, BodyError> {
    let mut body = Vec::new();
    let read = input
        .by_ref()
        .take(room + 1)
        .read_to_end(&mut body)
        .map_err(|e| BodyError::Payload(e.to_string()))?;
    if read as u64 > room {
        return Err(too_large);
    }
    let mut fields = Map::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = pair.splitn(2, |&b| b == b'=');
        let key = decode(kv.next().unwrap_or_default())?;
        let value = decode(kv.next().unwrap_or_default())?;
        fields.insert(key, Value::String(value));
    }
    Ok(Parsed {
        value: Some(Value::Object(fields)),
        paste: None,
    })
}

fn decode(raw: &[u8]) -> Result<String, BodyError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| form_error("a form field is not UTF-8"))
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(super) fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// A multipart body: text fields in memory, the first file part on disk.
pub(super) fn multipart(
    input: impl Read,
    boundary: &str,
    room: u64,
    spool_dir: &Path,
    too_large: BodyError,
) -> Result<Parsed, BodyError> {
    let mut r = Scanner {
        input,
        buf: Vec::new(),
        eof: false,
    };
    let first = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    // The preamble up to the first boundary, then its line end.
    r.skip_past(first.as_bytes(), MAX_PART_HEADERS)?;
    let mut fields = Map::new();
    let mut paste: Option<PastedFile> = None;
    let mut used = 0u64;
    loop {
        r.fill(2)?;
        if r.buf.starts_with(b"--") {
            break;
        }
        if !r.buf.starts_with(b"\r\n") {
            return Err(form_error("malformed multipart boundary"));
        }
        r.buf.drain(..2);
        let headers = r.take_until(b"\r\n\r\n", MAX_PART_HEADERS)?;
        let (name, filename) = disposition(&headers)?;
        if let Some(filename) = filename.as_ref().filter(|_| paste.is_none()) {
            // The file's own name names the dataset unless `files_0|NAME` does (as Galaxy).
            let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
            if !base.is_empty() {
                fields.insert(UPLOAD_FILENAME.into(), Value::String(base.to_string()));
            }
            let mut writer =
                PasteWriter::create_raw(spool_dir).map_err(|e| spool_error(spool_dir, e))?;
            r.stream_until(delimiter.as_bytes(), |piece| {
                writer.write(piece).map_err(|e| spool_error(spool_dir, e))
            })?;
            paste = Some(writer.finish().map_err(|e| spool_error(spool_dir, e))?);
        } else {
            let mut value = Vec::new();
            r.stream_until(delimiter.as_bytes(), |piece| {
                used += piece.len() as u64;
                value.extend_from_slice(piece);
                Ok(())
            })?;
            used += name.len() as u64;
            if used > room {
                return Err(too_large);
            }
            let value =
                String::from_utf8(value).map_err(|_| form_error("a form field is not UTF-8"))?;
            fields.insert(name, Value::String(value));
        }
    }
    Ok(Parsed {
        value: Some(Value::Object(fields)),
        paste,
    })
}

/// The field under which a multipart file part's `filename` reaches the upload's options.
pub const UPLOAD_FILENAME: &str = "__files_0_filename";

/// The `name` and `filename` of a part's `Content-Disposition`.
fn disposition(headers: &[u8]) -> Result<(String, Option<String>), BodyError> {
    let text =
        std::str::from_utf8(headers).map_err(|_| form_error("part headers are not UTF-8"))?;
    let line = text
        .split("\r\n")
        .find(|l| {
            l.split(':')
                .next()
                .is_some_and(|h| h.trim().eq_ignore_ascii_case("content-disposition"))
        })
        .ok_or_else(|| form_error("a multipart part has no Content-Disposition"))?;
    let param = |wanted: &str| {
        line.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.trim() == wanted).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    let name = param("name").ok_or_else(|| form_error("a multipart part has no name"))?;
    Ok((name, param("filename")))
}

/// A byte stream read into a buffer as far as a search needs.
struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: Read> Scanner<R> {
    fn read_more(&mut self) -> Result<bool, BodyError> {
        if self.eof {
            return Ok(false);
        }
        let start = self.buf.len();
        self.buf.resize(start + READ_SIZE, 0);
        let n = self
            .input
            .read(&mut self.buf[start..])
            .map_err(|e| BodyError::Payload(e.to_string()))?;
        self.buf.truncate(start + n);
        self.eof = n == 0;
        Ok(n > 0)
    }

    fn fill(&mut self, n: usize) -> Result<(), BodyError> {
        while self.buf.len() < n {
            if !self.read_more()? {
                return Err(form_error("the multipart body ends early"));
            }
        }
        Ok(())
    }

    /// What comes before `pattern` (within `limit` bytes); the pattern is consumed.
    fn take_until(&mut self, pattern: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
        loop {
            if let Some(at) = find(&self.buf, pattern) {
                let taken = self.buf[..at].to_vec();
                self.buf.drain(..at + pattern.len());
                return Ok(taken);
            }
            if self.buf.len() > limit {
                return Err(form_error("multipart part headers are too long"));
            }
            if !self.read_more()? {
                return Err(form_error("the multipart body ends early"));
            }
        }
    }

    fn skip_past(&mut self, pattern: &[u8], limit: usize) -> Result<(), BodyError> {
        self.take_until(pattern, limit).map(drop)
    }

    /// Hands everything before `pattern` to `sink` a piece at a time; the pattern is consumed.
    fn stream_until(
        &mut self,
        pattern: &[u8],
        mut sink: impl FnMut(&[u8]) -> Result<(), BodyError>,
    ) -> Result<(), BodyError> {
        loop {
            if let Some(at) = find(&self.buf, pattern) {
                sink(&self.buf[..at])?;
                self.buf.drain(..at + pattern.len());
                return Ok(());
            }
            // Keep what could be the start of the pattern.
            let keep = pattern.len().saturating_sub(1).min(self.buf.len());
            let flush = self.buf.len() - keep;
            if flush > 0 {
                sink(&self.buf[..flush])?;
                self.buf.drain(..flush);
            }
            if !self.read_more()? {
                return Err(form_error("the multipart body ends early"));
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests;
