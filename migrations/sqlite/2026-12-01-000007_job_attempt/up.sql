-- A job's attempt: 1 when created, one more each time it is resubmitted (to the same or
-- another environment) after its runner reported a failure its environment resubmits on.
ALTER TABLE job ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
-- Why a job entered a state (e.g. a resubmission), as Galaxy's job_state_history.info.
ALTER TABLE job_state_history ADD COLUMN info TEXT;
