DROP INDEX ix_job_unclaimed;
ALTER TABLE job DROP COLUMN inputs_ready;
CREATE INDEX ix_job_unclaimed ON job(handler_tag, id) WHERE handler IS NULL AND state = 'new';
