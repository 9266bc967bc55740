//! Runners: how a job's command is executed. Only the local runner exists so far.

pub mod local;
pub mod space;
pub mod spare;

pub use local::LocalRunner;
