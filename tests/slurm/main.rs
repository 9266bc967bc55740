//! The Slurm runner: jobs of the real `galaxy-server` binary run on a real one-node Slurm
//! cluster (`scripts/slurm-cluster`, one per test, its daemons stopped at the end), on
//! PostgreSQL or SQLite. What Slurm did is read from Slurm's own records (`jobcomp.log`,
//! `squeue`, `scontrol`), never from the server's logs.
//!
//! Needs Debian's `slurm-wlm` (the cluster script installs it when missing, as root or through
//! sudo) and PostgreSQL as for the other tests (`GALAXY_TEST_POSTGRES`); `scripts/test`
//! provides all of it.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[allow(dead_code)]
#[path = "../split/cluster.rs"]
mod split;

#[allow(dead_code)]
mod cluster;
#[allow(dead_code)]
mod support;

mod adoption;
mod bulk;
mod cancel;
mod config;
mod mapping;
mod resubmit;
mod secure_shell;
mod smoke;
mod submit_errors;
