-- Galaxy's numeric job metrics: one row per metric a plugin recorded for a job, written when
-- the job ends.
CREATE TABLE job_metric_numeric (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES job(id),
    plugin TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metric_value DOUBLE PRECISION NOT NULL
);
CREATE INDEX ix_job_metric_numeric_job_id ON job_metric_numeric(job_id);
