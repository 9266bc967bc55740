//! Galaxy's job and dataset states, for the rest of the code: defined beside the database
//! layer, which stores them (`crate::db::states`).

pub use crate::db::states::{DatasetState, InputsReadiness, JobState, UnknownState};
