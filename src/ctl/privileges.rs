//! `gravity.galaxy_user` / `galaxy_group`: a manager started as root binds its sockets (also
//! ports below 1024) first, gives the socket files, the state directory and the logs to that
//! user, and then runs as that user; every process it starts, and every job, runs as that
//! user too. Started as root without `galaxy_user`, it refuses a unix socket whose directory
//! other users could write to (they could replace the socket the proxy connects to).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

use super::CtlError;
use crate::config::GravitySettings;

/// Whom to become.
#[derive(Debug, Clone)]
pub struct Target {
    pub user: String,
    pub uid: Uid,
    pub gid: Gid,
}

/// The target user when this process is root and `galaxy_user` is set; `None` otherwise.
/// As root without `galaxy_user`, checks the unix sockets' directories first.
pub fn plan(gravity: &GravitySettings) -> Result<Option<Target>, CtlError> {
    if !Uid::effective().is_root() {
        if let Some(user) = &gravity.galaxy_user {
            log::info!("not started as root: gravity.galaxy_user `{user}` is not switched to");
        }
        return Ok(None);
    }
    let Some(name) = &gravity.galaxy_user else {
        if gravity.gunicorn.enable {
            for bind in &gravity.gunicorn.bind {
                if let Some(path) = bind.strip_prefix("unix:") {
                    check_socket_dir(Path::new(path))?;
                }
            }
        }
        log::warn!(
            "running as root with no gravity.galaxy_user: every process and every job runs as root"
        );
        return Ok(None);
    };
    let user = User::from_name(name)
        .map_err(|e| CtlError::Config(format!("gravity.galaxy_user `{name}`: {e}")))?
        .ok_or_else(|| CtlError::Config(format!("gravity.galaxy_user: no user named `{name}`")))?;
    let gid = match &gravity.galaxy_group {
        None => user.gid,
        Some(g) => {
            Group::from_name(g)
                .map_err(|e| CtlError::Config(format!("gravity.galaxy_group `{g}`: {e}")))?
                .ok_or_else(|| {
                    CtlError::Config(format!("gravity.galaxy_group: no group named `{g}`"))
                })?
                .gid
        }
    };
    Ok(Some(Target {
        user: name.clone(),
        uid: user.uid,
        gid,
    }))
}

/// Refuses a socket path whose directory is not root's alone (another user could put their
/// own socket there); a sticky directory such as /tmp only lets its owner remove a file.
fn check_socket_dir(path: &Path) -> Result<(), CtlError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let meta =
        std::fs::metadata(&dir).map_err(|e| CtlError::Io(format!("{}: {e}", dir.display())))?;
    let mode = meta.mode();
    let sticky = mode & 0o1000 != 0;
    let others_write = mode & 0o022 != 0 && !sticky;
    if meta.uid() != 0 || others_write {
        return Err(CtlError::Config(format!(
            "started as root with no gravity.galaxy_user: refusing to bind unix:{}: its directory {} {} (mode {:o}), so another user could replace the socket; set gravity.galaxy_user, or put the socket in a directory only root can write to",
            path.display(),
            dir.display(),
            if meta.uid() != 0 {
                format!("belongs to uid {}", meta.uid())
            } else {
                "is writable by other users".to_string()
            },
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Gives `paths` (and, for directories, what they hold, one level down) to the target.
pub fn hand_over(target: &Target, paths: &[PathBuf]) -> Result<(), CtlError> {
    let give = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(target.uid.as_raw()), Some(target.gid.as_raw()))
            .map_err(|e| CtlError::Io(format!("giving {} to {}: {e}", p.display(), target.user)))
    };
    for path in paths {
        if !path.exists() {
            continue;
        }
        give(path)?;
        if path.is_dir() {
            for entry in std::fs::read_dir(path)
                .map_err(|e| CtlError::Io(format!("{}: {e}", path.display())))?
                .flatten()
            {
                give(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// Becomes the target user for good (supplementary groups, group, then user), and checks
/// that root cannot be taken back.
pub fn become_user(target: &Target) -> Result<(), CtlError> {
    let fail = |what: &str, e: nix::Error| {
        CtlError::Io(format!("switching to {} ({what}): {e}", target.user))
    };
    let name = std::ffi::CString::new(target.user.as_str())
        .map_err(|_| CtlError::Config(format!("gravity.galaxy_user `{}`", target.user)))?;
    nix::unistd::initgroups(&name, target.gid).map_err(|e| fail("initgroups", e))?;
    nix::unistd::setgid(target.gid).map_err(|e| fail("setgid", e))?;
    nix::unistd::setuid(target.uid).map_err(|e| fail("setuid", e))?;
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(CtlError::Io(format!(
            "switching to {}: root could be taken back",
            target.user
        )));
    }
    log::info!(
        "running as {} (uid {}, gid {})",
        target.user,
        target.uid,
        target.gid
    );
    Ok(())
}
