//! Queries, one file per table group. Each is a plain function on a [`super::DbConn`].

pub mod datasets;
pub mod histories;
pub mod jobs;
pub mod users;
pub mod workers;
