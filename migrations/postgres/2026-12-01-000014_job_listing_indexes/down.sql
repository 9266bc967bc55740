CREATE INDEX ix_job_history_id ON job(history_id);
DROP INDEX ix_job_history_update;
DROP INDEX ix_job_history_state;
