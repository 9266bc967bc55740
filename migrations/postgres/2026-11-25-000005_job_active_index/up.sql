-- Jobs are looked up by state only while they are being worked on; a finished job, which is
-- most of the table, is in neither index below. A state change to a finished state then adds
-- no entry to a state index, and a handler's own jobs are an exact, small range whatever it
-- handled before.
DROP INDEX ix_job_state;
DROP INDEX ix_job_handler_state;
CREATE INDEX ix_job_handler_active ON job(handler, state, id) WHERE state IN ('new', 'queued', 'running', 'deleting');
