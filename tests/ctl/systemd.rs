//! The shipped systemd unit passes `systemd-analyze verify` (with the unit's program path
//! pointed at the built binary, which is what an installation does).

use std::process::Command;

use crate::helpers::{manifest_dir, server_bin};

pub fn verify(unit_text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = dir.path().join("galaxy.service");
    std::fs::write(&unit, unit_text).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "systemd-analyze cannot run ({e}): install it (Debian/Ubuntu: apt-get install systemd) to check config/systemd/galaxy.service"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.trim().is_empty(), text)
}

#[test]
fn the_shipped_systemd_unit_verifies() {
    let shipped = std::fs::read_to_string(manifest_dir().join("config/systemd/galaxy.service"))
        .expect("config/systemd/galaxy.service");
    assert!(
        shipped.contains("ctl start --foreground"),
        "the unit must run the manager in the foreground:\n{shipped}"
    );
    assert!(
        shipped.contains("ctl graceful"),
        "reload must be graceful:\n{shipped}"
    );
    let installed = shipped.replace(
        "/usr/local/bin/galaxy-server",
        &server_bin().display().to_string(),
    );
    let (ok, text) = verify(&installed);
    assert!(ok, "systemd-analyze verify:\n{text}");
    // The check itself can fail: a broken unit is reported.
    let (ok, _) = verify(&installed.replace("Type=simple", "Type=bogus"));
    assert!(!ok, "systemd-analyze verify accepted Type=bogus");
}
