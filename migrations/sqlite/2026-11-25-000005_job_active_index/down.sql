DROP INDEX ix_job_handler_active;
CREATE INDEX ix_job_handler_state ON job(handler, state);
CREATE INDEX ix_job_state ON job(state);
