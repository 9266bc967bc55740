//! `<requirements>`: with no conda and no containers here, a `package` requirement is met
//! by an executable of its name on `PATH`.

use std::path::Path;

use super::Requirement;

/// The names of the `package` requirements with no executable of that name on `PATH`.
pub(crate) fn missing_on_path(requirements: &[Requirement]) -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).collect();
    requirements
        .iter()
        .filter(|r| r.kind == "package")
        .filter(|r| !dirs.iter().any(|d| is_executable(&d.join(&r.name))))
        .map(|r| r.name.clone())
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Requirement {
        Requirement {
            kind: "package".into(),
            name: name.into(),
            version: None,
        }
    }

    #[test]
    fn packages_are_looked_up_on_path() {
        let set = Requirement {
            kind: "set_environment".into(),
            ..package("NOT_A_PROGRAM")
        };
        let wanted = [package("sh"), package("no-such-package-xyz"), set];
        assert_eq!(missing_on_path(&wanted), ["no-such-package-xyz"]);
    }
}
