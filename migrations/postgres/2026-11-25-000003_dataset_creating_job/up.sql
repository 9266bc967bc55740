-- A job's outputs are found by their creating job on every state change of the job.
CREATE INDEX ix_dataset_creating_job_id ON dataset(creating_job_id);
