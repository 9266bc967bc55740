//! The process manager (SPEC §8): listeners inherited by the web process, and the shipped
//! systemd unit; each against the real binary.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod inherit;
mod systemd;
