-- The maintenance role (celery-beat's job): one lease row says which process runs the
-- periodic tasks; `token` is bumped whenever the lease changes hands, and a task run is
-- claimed only under the current token of an unexpired lease. One row per task records its
-- last run, so a period runs once even across a change of leader.
CREATE TABLE maintenance_lease (
    name TEXT PRIMARY KEY,
    holder TEXT,
    hostname TEXT,
    pid INTEGER,
    token BIGINT NOT NULL DEFAULT 0,
    acquired_at TIMESTAMP,
    expires_at TIMESTAMP NOT NULL
);
INSERT INTO maintenance_lease (name, token, expires_at) VALUES ('maintenance', 0, '1970-01-01 00:00:00');
CREATE TABLE maintenance_task (
    name TEXT PRIMARY KEY,
    last_run_at TIMESTAMP,
    last_token BIGINT,
    last_holder TEXT,
    runs BIGINT NOT NULL DEFAULT 0
);
