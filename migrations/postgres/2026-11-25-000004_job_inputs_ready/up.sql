-- Whether every input of a `new` job is ok: claims look only at ready jobs, so jobs waiting
-- on inputs cost a claim nothing however many there are.
ALTER TABLE job ADD COLUMN inputs_ready BOOLEAN NOT NULL DEFAULT TRUE;
DROP INDEX ix_job_unclaimed;
CREATE INDEX ix_job_unclaimed ON job(handler_tag, id) WHERE handler IS NULL AND state = 'new' AND inputs_ready;
