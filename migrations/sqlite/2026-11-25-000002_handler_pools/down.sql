DROP INDEX ix_job_unclaimed;
ALTER TABLE job DROP COLUMN handler_tag;
ALTER TABLE worker_process DROP COLUMN draining;
