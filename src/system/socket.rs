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

/// The first inherited file descriptor (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// A listening socket handed to this process by its parent.
#[derive(Debug)]
pub enum Inherited {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// Listening sockets passed by the process manager (or systemd socket activation):
/// `LISTEN_FDS=N` sockets at descriptors 3…3+N-1, for this process when `LISTEN_PID` is unset
/// or names it. `None` when nothing was passed, so the process binds its configured addresses.
/// The variables are removed so the process's own children do not see them.
pub fn inherited_listeners() -> io::Result<Option<Vec<Inherited>>> {
    let Ok(count) = std::env::var("LISTEN_FDS") else {
        return Ok(None);
    };
    if let Ok(pid) = std::env::var("LISTEN_PID")
        && pid.trim() != std::process::id().to_string()
    {
        return Ok(None);
    }
    // SAFETY: called before the process starts any thread that reads the environment.
    unsafe {
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    let count: i32 = count.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("LISTEN_FDS must be a number of sockets, not `{count}`"),
        )
    })?;
    (LISTEN_FDS_START..LISTEN_FDS_START + count)
        .map(listener_at)
        .collect::<io::Result<Vec<_>>>()
        .map(Some)
}

/// Takes descriptor `fd` as a listener, after checking that it is a listening stream socket.
fn listener_at(fd: i32) -> io::Result<Inherited> {
    use std::os::fd::FromRawFd as _;
    let not_listening = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("inherited descriptor {fd} is not a listening socket"),
        )
    };
    let mut accepting: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `accepting`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut accepting as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || accepting == 0 {
        return Err(not_listening());
    }
    // SAFETY: sockaddr_storage is plain data; getsockname fills at most `len` bytes.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // Not passed on to anything this process starts.
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the descriptor is a listening socket handed to this process, owned from here on.
    match i32::from(addr.ss_family) {
        libc::AF_INET | libc::AF_INET6 => Ok(Inherited::Tcp(unsafe {
            std::net::TcpListener::from_raw_fd(fd)
        })),
        libc::AF_UNIX => Ok(Inherited::Unix(unsafe {
            std::os::unix::net::UnixListener::from_raw_fd(fd)
        })),
        _ => Err(not_listening()),
    }
}

/// The readiness socket of the process that started this one (`NOTIFY_SOCKET`, the systemd
/// convention), taken out of the environment so this process's own children do not see it.
pub fn take_notify_socket() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("NOTIFY_SOCKET")?;
    // SAFETY: called before the process starts any thread that reads the environment.
    unsafe { std::env::remove_var("NOTIFY_SOCKET") };
    Some(path.into())
}

/// Tells the process that started this one that it serves (`READY=1`).
pub fn notify_ready(path: &Path) {
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
        s.send_to(
            format!("READY=1\nMAINPID={}\n", std::process::id()).as_bytes(),
            path,
        )
    });
    if let Err(e) = sent {
        log::warn!("cannot report readiness to {}: {e}", path.display());
    }
}
