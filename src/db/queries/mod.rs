//! Queries, one file per table group. Each is a plain function on a [`super::DbConn`].

pub mod attempts;
pub mod claim;
pub mod collections;
mod create_pg;
pub mod datasets;
pub mod hdcas;
pub mod histories;
pub mod invocations;
pub mod jobs;
pub mod limits;
pub mod maintenance;
pub mod metrics;
pub mod notify;
pub mod pause;
pub mod transitions;
pub mod users;
pub mod workers;
pub mod workflows;
