-- Workflows imported from Galaxy's native `.ga` format: the document as imported (its steps,
-- connections, tool states, labels, post-job actions), owned by a user like a history.
CREATE TABLE workflow (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES galaxy_user(id),
    name TEXT NOT NULL,
    uuid TEXT NOT NULL,
    annotation TEXT,
    definition TEXT NOT NULL,
    step_count INTEGER NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_workflow_user_id ON workflow(user_id);
-- A run of a workflow (Galaxy's workflow_invocation). It is claimed like a job: `handler` is
-- the scheduler holding it (NULL: unclaimed in `pool`), every change of holder bumps
-- `claim_token`, and scheduling is conditioned on it. `inputs` and `parameters` are JSON
-- keyed by step order index.
CREATE TABLE workflow_invocation (
    id BIGSERIAL PRIMARY KEY,
    workflow_id BIGINT NOT NULL REFERENCES workflow(id),
    user_id BIGINT REFERENCES galaxy_user(id),
    history_id BIGINT NOT NULL REFERENCES history(id),
    uuid TEXT NOT NULL,
    state TEXT NOT NULL,
    handler TEXT,
    pool TEXT NOT NULL,
    claim_token BIGINT NOT NULL DEFAULT 0,
    inputs TEXT NOT NULL,
    parameters TEXT NOT NULL,
    info TEXT,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_wfi_user_id ON workflow_invocation(user_id);
CREATE INDEX ix_wfi_workflow_id ON workflow_invocation(workflow_id);
CREATE INDEX ix_wfi_history_id ON workflow_invocation(history_id);
-- Invocations waiting for a scheduler, and those a scheduler holds before they are scheduled.
CREATE INDEX ix_wfi_unscheduled ON workflow_invocation(pool, handler, id)
    WHERE state IN ('new', 'ready');
-- One row per scheduled step of an invocation: a step's job exists exactly once because it is
-- created in the transaction that inserts this row, and the pair is unique.
CREATE TABLE workflow_invocation_step (
    id BIGSERIAL PRIMARY KEY,
    invocation_id BIGINT NOT NULL REFERENCES workflow_invocation(id),
    order_index INTEGER NOT NULL,
    job_id BIGINT REFERENCES job(id),
    dataset_id BIGINT REFERENCES dataset(id),
    create_time TIMESTAMP NOT NULL,
    UNIQUE (invocation_id, order_index)
);
CREATE INDEX ix_wfis_job_id ON workflow_invocation_step(job_id);
