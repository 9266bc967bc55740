//! galaxy-server: web-worker and job-handler actors under one root supervisor, co-operating
//! with other processes through one database.

pub mod cli;
pub mod config;
pub mod ctl;
pub mod datatypes;
pub mod db;
pub mod faults;
pub mod jobs;
pub mod logging;
pub mod metrics;
pub mod system;
pub mod tools;
pub mod web;
pub mod workflows;
