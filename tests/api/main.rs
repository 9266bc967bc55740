//! Integration tests: each scenario starts the real `galaxy-server` binary as a separate
//! process and talks to it over HTTP, once on SQLite and once on PostgreSQL.
//!
//! PostgreSQL: `GALAXY_TEST_POSTGRES` (default `postgresql://postgres@127.0.0.1:5432`);
//! BioBlend: `GALAXY_TEST_PYTHON` (default `target/bioblend-venv/bin/python`). `scripts/test`
//! provides both.

/// Turns `fn scenario(backend: Backend)` into two tests, `scenario::sqlite` and
/// `scenario::postgres`.
macro_rules! both_backends {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario($crate::helpers::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$scenario($crate::helpers::Backend::Postgres)
            }
        }
    )+};
}

mod authenticate;
mod bad_config;
mod bad_input;
mod bioblend;
mod bodies;
mod cancel;
mod collection_upkeep;
mod collections;
mod datatypes;
mod disk;
mod fetch_collections;
mod helpers;
mod isolation;
mod job_detail;
mod jobs;
mod metrics;
mod nested_tools;
mod restart;
mod stdio;
mod submissions;
mod supervisor;
mod tool_outputs;
mod tool_test;
mod tus;
mod upkeep;
mod upload_form;
mod validators;
mod workflows;
