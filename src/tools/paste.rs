//! Pasted content on disk: written as it arrives (no copy of it in memory), then converted
//! to POSIX lines as Galaxy's upload does, into the file that becomes the dataset.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

/// Pasted text, in memory (small pastes, tests) or in a file beside the datasets.
#[derive(Debug)]
pub enum PasteContent {
    Text(String),
    File(PastedFile),
}

/// Pasted text written by a [`PasteWriter`]; removed when dropped unless staged.
#[derive(Debug)]
pub struct PastedFile {
    path: TempPath,
    size: u64,
    has_cr: bool,
    ends_with_newline: bool,
    /// An uploaded file (any bytes), staged by [`stage_upload`].
    raw: bool,
}

impl PastedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

impl PasteContent {
    pub fn is_empty(&self) -> bool {
        match self {
            PasteContent::Text(t) => t.is_empty(),
            PasteContent::File(f) => f.size == 0,
        }
    }
}

/// Receives pasted text piece by piece (checked to be UTF-8) and writes it to a temporary
/// file in `dir`.
pub struct PasteWriter {
    out: BufWriter<File>,
    path: TempPath,
    size: u64,
    has_cr: bool,
    last: Option<u8>,
    /// The start of a UTF-8 character cut by the end of the previous piece.
    pending: Vec<u8>,
    raw: bool,
}

impl PasteWriter {
    pub fn create(dir: &Path) -> io::Result<PasteWriter> {
        let (file, path) = temp_in(dir)?.into_parts();
        Ok(PasteWriter {
            out: BufWriter::with_capacity(256 * 1024, file),
            path,
            size: 0,
            has_cr: false,
            last: None,
            pending: Vec::new(),
            raw: false,
        })
    }

    /// A writer for an uploaded file: any bytes, no UTF-8 check.
    pub fn create_raw(dir: &Path) -> io::Result<PasteWriter> {
        let mut w = PasteWriter::create(dir)?;
        w.raw = true;
        Ok(w)
    }

    /// Appends text; `Err(InvalidData)` when the bytes so far are not UTF-8.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if !self.raw {
            self.check_utf8(bytes)?;
        }
        self.out.write_all(bytes)?;
        self.size += bytes.len() as u64;
        self.has_cr |= bytes.contains(&b'\r');
        self.last = bytes.last().copied();
        Ok(())
    }

    fn check_utf8(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidData, "the text is not UTF-8");
        while !self.pending.is_empty() {
            let Some((&b, rest)) = bytes.split_first() else {
                return Ok(());
            };
            self.pending.push(b);
            bytes = rest;
            match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.clear(),
                Err(e) if e.error_len().is_some() => return Err(invalid()),
                Err(_) if self.pending.len() >= 4 => return Err(invalid()),
                Err(_) => {}
            }
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            if e.error_len().is_some() {
                return Err(invalid());
            }
            self.pending.extend_from_slice(&bytes[e.valid_up_to()..]);
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<PastedFile> {
        if !self.pending.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the text ends inside a UTF-8 character",
            ));
        }
        self.out.flush()?;
        Ok(PastedFile {
            path: self.path,
            size: self.size,
            has_cr: self.has_cr,
            ends_with_newline: self.last == Some(b'\n'),
            raw: self.raw,
        })
    }
}

fn temp_in(dir: &Path) -> io::Result<NamedTempFile> {
    std::fs::create_dir_all(dir)?;
    tempfile::Builder::new()
        .prefix(".paste-")
        .suffix(".tmp")
        .tempfile_in(dir)
}

/// A dataset's content ready in a temporary file; `persist` moves it into place.
#[derive(Debug)]
pub struct Staged {
    pub path: TempPath,
    pub size: u64,
}

impl Staged {
    /// Renames the file to `dest` (copies it when `dest` is on another file system).
    pub fn persist(self, dest: &Path) -> io::Result<u64> {
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match self.path.persist(dest) {
            Ok(()) => Ok(self.size),
            Err(e) => {
                let from: PathBuf = e.path.to_path_buf();
                std::fs::copy(&from, dest)?;
                Ok(self.size)
            }
        }
    }
}

/// Writes the content as the dataset will hold it into a temporary file in `dir`: with
/// `to_posix_lines`, `\r\n` and `\r` become `\n` and the text ends with `\n`; with
/// `space_to_tab` as well, each line's whitespace-separated fields are joined by one tab.
pub fn stage(
    content: PasteContent,
    to_posix_lines: bool,
    space_to_tab: bool,
    dir: &Path,
) -> io::Result<Staged> {
    match content {
        PasteContent::File(f)
            if !to_posix_lines || (!f.has_cr && f.ends_with_newline && !space_to_tab) =>
        {
            Ok(Staged {
                path: f.path,
                size: f.size,
            })
        }
        PasteContent::File(f) => convert(File::open(&f.path)?, space_to_tab, dir),
        PasteContent::Text(t) if to_posix_lines => convert(t.as_bytes(), space_to_tab, dir),
        PasteContent::Text(t) => {
            let (mut file, path) = temp_in(dir)?.into_parts();
            file.write_all(t.as_bytes())?;
            Ok(Staged {
                path,
                size: t.len() as u64,
            })
        }
    }
}

/// An uploaded file as the dataset will hold it, and whether it is text. Binary content (a
/// NUL byte, or bytes that are not UTF-8) is kept as it is, as Galaxy converts text only;
/// text is converted as [`stage`] does, when asked and when it needs it.
pub fn stage_file(
    file: Staged,
    to_posix_lines: bool,
    space_to_tab: bool,
    dir: &Path,
) -> io::Result<(Staged, bool)> {
    let scan = scan(&file.path)?;
    if !scan.text {
        return Ok((file, false));
    }
    if !to_posix_lines || (!scan.has_cr && scan.ends_with_newline && !space_to_tab) {
        return Ok((file, true));
    }
    let converted = convert(File::open(&file.path)?, space_to_tab, dir)?;
    Ok((converted, true))
}

/// A gzip file decompressed into a temporary file in `dir` (read and written piece by piece).
pub fn gunzip(file: Staged, dir: &Path) -> io::Result<Staged> {
    let input = std::io::BufReader::with_capacity(256 * 1024, File::open(&file.path)?);
    let mut decoder = flate2::read::MultiGzDecoder::new(input);
    let (out, path) = temp_in(dir)?.into_parts();
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let size = io::copy(&mut decoder, &mut out)?;
    out.flush()?;
    Ok(Staged { path, size })
}

/// Whether a file starts as gzip does.
pub fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = File::open(path)?;
    let mut read = 0;
    while read < 2 {
        match f.read(&mut magic[read..])? {
            0 => return Ok(false),
            n => read += n,
        }
    }
    Ok(magic == [0x1f, 0x8b])
}

struct Scan {
    text: bool,
    has_cr: bool,
    ends_with_newline: bool,
}

fn scan(path: &Path) -> io::Result<Scan> {
    let mut input = File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry = 0usize;
    let mut s = Scan {
        text: true,
        has_cr: false,
        ends_with_newline: false,
    };
    loop {
        let n = input.read(&mut buf[carry..])?;
        if n == 0 {
            if carry > 0 {
                s.text = false;
            }
            return Ok(s);
        }
        let filled = carry + n;
        let chunk = &buf[carry..filled];
        if chunk.contains(&0) {
            s.text = false;
            return Ok(s);
        }
        s.has_cr |= chunk.contains(&b'\r');
        s.ends_with_newline = chunk.last() == Some(&b'\n');
        let valid = match std::str::from_utf8(&buf[..filled]) {
            Ok(t) => t.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                s.text = false;
                return Ok(s);
            }
        };
        buf.copy_within(valid..filled, 0);
        carry = filled - valid;
    }
}

fn convert(mut input: impl Read, space_to_tab: bool, dir: &Path) -> io::Result<Staged> {
    let (file, path) = temp_in(dir)?.into_parts();
    let mut out = Counting {
        inner: BufWriter::with_capacity(256 * 1024, file),
        count: 0,
    };
    let mut lines = PosixLines::new(space_to_tab);
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry = 0usize;
    loop {
        let n = input.read(&mut buf[carry..])?;
        if n == 0 {
            if carry > 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"));
            }
            break;
        }
        let filled = carry + n;
        let valid = match std::str::from_utf8(&buf[..filled]) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8")),
        };
        let text = std::str::from_utf8(&buf[..valid])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        lines.feed(text, &mut out)?;
        buf.copy_within(valid..filled, 0);
        carry = filled - valid;
    }
    lines.finish(&mut out)?;
    out.inner.flush()?;
    Ok(Staged {
        path,
        size: out.count,
    })
}

struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, s: &str) -> io::Result<()> {
        self.count += s.len() as u64;
        self.inner.write_all(s.as_bytes())
    }
}

/// Galaxy's `convert_newlines` (and `sep2tabs`), fed piece by piece.
pub(crate) struct PosixLines {
    space_to_tab: bool,
    /// The last character seen was `\r` (a following `\n` belongs to it).
    after_cr: bool,
    /// Something was written and the last of it was not a line end.
    open_line: bool,
    /// With `space_to_tab`: the current line has a field, and whitespace followed it.
    has_field: bool,
    gap: bool,
    any: bool,
}

impl PosixLines {
    pub(crate) fn new(space_to_tab: bool) -> PosixLines {
        PosixLines {
            space_to_tab,
            after_cr: false,
            open_line: false,
            has_field: false,
            gap: false,
            any: false,
        }
    }

    fn feed<W: Write>(&mut self, text: &str, out: &mut Counting<W>) -> io::Result<()> {
        let mut run_start = 0;
        for (i, c) in text.char_indices() {
            let special = c == '\r' || c == '\n' || (self.space_to_tab && c.is_whitespace());
            if !special {
                if self.space_to_tab {
                    if self.gap && self.has_field {
                        out.put("\t")?;
                    }
                    self.gap = false;
                    self.has_field = true;
                }
                self.after_cr = false;
                self.open_line = true;
                self.any = true;
                continue;
            }
            out.put(&text[run_start..i])?;
            run_start = i + c.len_utf8();
            match c {
                '\n' if self.after_cr => self.after_cr = false,
                '\r' | '\n' => {
                    out.put("\n")?;
                    self.after_cr = c == '\r';
                    self.open_line = false;
                    self.has_field = false;
                    self.gap = false;
                    self.any = true;
                }
                _ => {
                    self.after_cr = false;
                    self.gap = true;
                    self.any = true;
                }
            }
        }
        out.put(&text[run_start..])
    }

    fn finish<W: Write>(&mut self, out: &mut Counting<W>) -> io::Result<()> {
        if self.any && (self.open_line || self.gap) {
            out.put("\n")?;
        }
        Ok(())
    }
}

mod upload;
pub use upload::stage_upload;

#[cfg(test)]
mod tests;
