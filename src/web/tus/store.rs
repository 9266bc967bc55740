//! tus upload sessions on disk: `<store>/<id>` holds the bytes received so far (its length
//! is the session's offset) and `<store>/<id>.json` what the creation said (owner, length,
//! metadata). No table: a session lives and dies with its file, on the file system that
//! holds the datasets, so that finishing it is a rename.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Unfinished sessions untouched for this long are removed.
pub const EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// Why a session step failed.
#[derive(Debug, thiserror::Error)]
pub enum TusError {
    #[error("Unsupported tus version '{0}'; this server speaks tus 1.0.0 (Tus-Resumable: 1.0.0).")]
    Version(String),
    #[error("PATCH requests need Content-Type: application/offset+octet-stream, not '{0}'.")]
    ContentType(String),
    #[error("{0}")]
    BadHeader(String),
    #[error("Upload {0} not found (it may have expired).")]
    NotFound(String),
    #[error("Upload-Offset {given} does not match the upload's offset {actual}.")]
    OffsetMismatch { given: u64, actual: u64 },
    #[error("Another PATCH of upload {0} is in progress.")]
    Busy(String),
    #[error("The upload is larger than its Upload-Length {0}.")]
    PastLength(u64),
    #[error("Upload-Length {length} is over the limit {limit} (galaxy.upload_body_limit).")]
    TooLarge {
        length: u64,
        limit: crate::config::ByteSize,
    },
    #[error("Upload {id} is incomplete: {offset} of {length} bytes received.")]
    Incomplete {
        id: String,
        offset: u64,
        length: u64,
    },
    #[error("reading the upload body: {0}")]
    Payload(String),
    #[error("the upload store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> TusError + '_ {
    move |source| TusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a session's creation said.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The user who created it (`None`: the bootstrap admin key).
    pub owner: Option<i64>,
    pub length: u64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: u64,
}

/// The directory of sessions.
#[derive(Debug, Clone)]
pub struct TusStore {
    dir: PathBuf,
}

/// Sessions a PATCH is writing, in this process.
fn busy() -> &'static Mutex<HashSet<PathBuf>> {
    static BUSY: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    BUSY.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A session held by one PATCH; released when dropped.
pub struct Writing {
    path: PathBuf,
}

impl Drop for Writing {
    fn drop(&mut self) {
        if let Ok(mut set) = busy().lock() {
            set.remove(&self.path);
        }
    }
}

/// A session id: 32 lowercase hex digits (anything else names no session).
fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TusStore {
    pub fn new(dir: PathBuf) -> TusStore {
        TusStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn data_path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn info_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Creates an empty session and returns its id.
    pub fn create(&self, session: &Session) -> Result<String, TusError> {
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let id = hex::encode(rand::random::<[u8; 16]>());
        let data = self.data_path(&id);
        File::create(&data).map_err(io_err(&data))?;
        let info = self.info_path(&id);
        let text = serde_json::to_vec(session).map_err(|e| TusError::Io {
            path: info.clone(),
            source: io::Error::other(e),
        })?;
        fs::write(&info, text).map_err(io_err(&info))?;
        Ok(id)
    }

    /// The session and its offset (the bytes on disk). An expired session is removed and
    /// reported missing.
    pub fn open(&self, id: &str) -> Result<(Session, u64), TusError> {
        if !valid_id(id) {
            return Err(TusError::NotFound(id.to_string()));
        }
        let info = self.info_path(id);
        let text = match fs::read(&info) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(TusError::NotFound(id.to_string()));
            }
            Err(e) => return Err(io_err(&info)(e)),
        };
        let session: Session = serde_json::from_slice(&text).map_err(|e| TusError::Io {
            path: info.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        let data = self.data_path(id);
        let meta = match fs::metadata(&data) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(TusError::NotFound(id.to_string()));
            }
            Err(e) => return Err(io_err(&data)(e)),
        };
        if expired(&meta, SystemTime::now()) {
            self.remove(id);
            return Err(TusError::NotFound(id.to_string()));
        }
        Ok((session, meta.len()))
    }

    /// Holds the session for one PATCH (`Busy` if another holds it).
    pub fn hold(&self, id: &str) -> Result<Writing, TusError> {
        let path = self.data_path(id);
        let mut set = busy().lock().map_err(|_| TusError::Busy(id.to_string()))?;
        if !set.insert(path.clone()) {
            return Err(TusError::Busy(id.to_string()));
        }
        Ok(Writing { path })
    }

    /// Opens the session's file for appending at `offset` (which `open` reported).
    pub fn appender(&self, id: &str, offset: u64, length: u64) -> Result<Appender, TusError> {
        let path = self.data_path(id);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(Appender {
            out: BufWriter::with_capacity(1024 * 1024, file),
            path,
            offset,
            length,
        })
    }

    /// Removes a session (both files); whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        if !valid_id(id) {
            return false;
        }
        let a = fs::remove_file(self.data_path(id)).is_ok();
        let b = fs::remove_file(self.info_path(id)).is_ok();
        a || b
    }

    /// A complete session's file, for the caller to move into place; `forget` ends the
    /// session afterwards.
    pub fn complete_file(&self, id: &str) -> Result<(Session, PathBuf), TusError> {
        let (session, offset) = self.open(id)?;
        if offset != session.length {
            return Err(TusError::Incomplete {
                id: id.to_string(),
                offset,
                length: session.length,
            });
        }
        Ok((session, self.data_path(id)))
    }

    /// Removes what is left of a session whose file was taken.
    pub fn forget(&self, id: &str) {
        self.remove(id);
    }

    /// Removes sessions untouched for longer than [`EXPIRY`] (and strays without a
    /// description); returns how many.
    pub fn sweep(&self, now: SystemTime) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !valid_id(name) {
                continue;
            }
            let stale = entry.metadata().is_ok_and(|m| expired(&m, now));
            let held = busy()
                .lock()
                .is_ok_and(|set| set.contains(&self.data_path(name)));
            if stale && !held && self.remove(name) {
                removed += 1;
            }
        }
        removed
    }
}

fn expired(meta: &fs::Metadata, now: SystemTime) -> bool {
    meta.modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age > EXPIRY)
}

/// Writes one PATCH body at the end of a session's file.
pub struct Appender {
    out: BufWriter<File>,
    path: PathBuf,
    offset: u64,
    length: u64,
}

impl Appender {
    /// Appends bytes; refuses (writing nothing of them) what would pass the length.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), TusError> {
        if self.offset + bytes.len() as u64 > self.length {
            return Err(TusError::PastLength(self.length));
        }
        self.out.write_all(bytes).map_err(io_err(&self.path))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and syncs what was written; the new offset.
    pub fn finish(mut self) -> Result<u64, TusError> {
        self.out.flush().map_err(io_err(&self.path))?;
        self.out.get_ref().sync_data().map_err(io_err(&self.path))?;
        Ok(self.offset)
    }
}

impl Session {
    pub fn new(owner: Option<i64>, length: u64, metadata: BTreeMap<String, String>) -> Session {
        Session {
            owner,
            length,
            metadata,
            created: now_secs(),
        }
    }
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be
/// absent); values that are not UTF-8 are refused.
pub fn parse_metadata(header: &str) -> Result<BTreeMap<String, String>, TusError> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let Some(key) = parts.next() else { continue };
        let value = match parts.next() {
            None => String::new(),
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|e| {
                        TusError::BadHeader(format!(
                            "Upload-Metadata: the value of '{key}' is not base64: {e}"
                        ))
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    TusError::BadHeader(format!(
                        "Upload-Metadata: the value of '{key}' is not UTF-8 text"
                    ))
                })?
            }
        };
        if parts.next().is_some() {
            return Err(TusError::BadHeader(format!(
                "Upload-Metadata: '{pair}' is not a key and one base64 value"
            )));
        }
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
