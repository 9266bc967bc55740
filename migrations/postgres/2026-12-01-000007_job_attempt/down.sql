ALTER TABLE job_state_history DROP COLUMN info;
ALTER TABLE job DROP COLUMN attempt;
