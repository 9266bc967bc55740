//! The process manager: `galaxy-server ctl` driving the real binary on PostgreSQL,
//! listeners inherited by the web process, and the shipped systemd unit.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod graceful;
mod inherit;
mod lifecycle;
mod load;
mod maintenance;
mod privileges;
mod scaling_page;
mod services;
mod support;
mod systemd;
