//! Rows as diesel reads and writes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    api_keys, dataset, galaxy_user, history, job, job_metric_numeric, job_state_history,
    job_to_input_dataset, job_to_output_dataset, worker_process,
};
use super::states::{DatasetState, JobState};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = galaxy_user)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub password: String,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = galaxy_user)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = history)]
pub struct History {
    pub id: i64,
    pub user_id: Option<i64>,
    pub name: String,
    pub hid_counter: i64,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
    pub annotation: Option<String>,
    pub purged: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = history)]
pub struct NewHistory<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub hid_counter: i64,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dataset)]
pub struct Dataset {
    pub id: i64,
    pub history_id: i64,
    pub user_id: Option<i64>,
    pub hid: i64,
    pub name: String,
    pub state: DatasetState,
    pub extension: String,
    pub file_size: i64,
    pub creating_job_id: Option<i64>,
    pub info: Option<String>,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
    pub annotation: Option<String>,
    pub visible: bool,
    pub purged: bool,
    /// Galaxy's metadata as JSON text (`columns`, `column_types`, …); `None` until set.
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = job)]
pub struct Job {
    pub id: i64,
    pub user_id: Option<i64>,
    pub history_id: i64,
    pub tool_id: String,
    pub tool_version: String,
    pub state: JobState,
    pub handler: Option<String>,
    pub claim_token: i64,
    pub params: String,
    pub command_line: Option<String>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub exit_code: Option<i32>,
    pub info: Option<String>,
    pub job_runner_name: Option<String>,
    pub job_runner_external_id: Option<String>,
    pub destination_id: Option<String>,
    pub client_address: Option<String>,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
    pub handler_tag: Option<String>,
    /// 1, plus one per resubmission.
    pub attempt: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = job_state_history)]
pub struct NewJobStateHistory<'a> {
    pub job_id: i64,
    pub state: JobState,
    pub handler: Option<&'a str>,
    pub create_time: NaiveDateTime,
}

/// One numeric metric of a job (Galaxy's `job_metric_numeric`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_metric_numeric)]
pub struct JobMetric {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub job_id: i64,
    pub plugin: String,
    pub metric_name: String,
    pub metric_value: f64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_to_input_dataset)]
pub struct JobInput {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub job_id: i64,
    pub dataset_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_to_output_dataset)]
pub struct JobOutput {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub job_id: i64,
    pub dataset_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = worker_process)]
pub struct WorkerProcess {
    pub id: i64,
    pub server_name: String,
    pub hostname: String,
    pub pid: i32,
    pub mode: String,
    pub pools: String,
    pub start_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
    pub draining: bool,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = worker_process)]
pub struct NewWorkerProcess<'a> {
    pub server_name: &'a str,
    pub hostname: &'a str,
    pub pid: i32,
    pub mode: &'a str,
    pub pools: &'a str,
    pub start_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}
