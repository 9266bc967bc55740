-- The pool tag a job waits in until a handler claims it (`_default_` = untagged handlers).
ALTER TABLE job ADD COLUMN handler_tag TEXT;
CREATE INDEX ix_job_unclaimed ON job(handler_tag, id) WHERE handler IS NULL AND state = 'new';
-- A draining process takes no new jobs.
ALTER TABLE worker_process ADD COLUMN draining BOOLEAN NOT NULL DEFAULT FALSE;
