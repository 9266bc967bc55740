//! Job metrics (`job_metric_numeric`). They are written with the job's end, in the same
//! batch (`transitions`); here they are read.

use diesel::prelude::*;

use crate::db::models::JobMetric;
use crate::db::schema::job_metric_numeric;
use crate::db::{DbConn, DbResult};
use crate::db_run;

/// A job's metrics, in the order they were recorded.
pub fn job_metrics(conn: &mut DbConn, job_id: i64) -> DbResult<Vec<JobMetric>> {
    db_run!(conn, |c| {
        Ok(job_metric_numeric::table
            .filter(job_metric_numeric::job_id.eq(job_id))
            .order(job_metric_numeric::id)
            .select(JobMetric::as_select())
            .load(c)?)
    })
}
