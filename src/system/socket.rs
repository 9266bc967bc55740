//! Unix-socket binds: a stale socket file (nobody listening) is replaced, a live one is
//! refused, and the socket gets the configured `umask`.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Removes `path` if it is a socket nobody listens on; refuses a live one or a non-socket.
pub fn clear_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another server is listening on {}", path.display()),
        ));
    }
    log::info!("replacing the stale socket {}", path.display());
    std::fs::remove_file(path)
}

/// Sets the socket's mode to `0777 & !umask`, as if it had been created under that umask.
pub fn apply_umask(path: &Path, umask: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777 & !umask))
}
