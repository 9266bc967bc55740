CREATE TABLE galaxy_user (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES galaxy_user(id),
    key TEXT NOT NULL UNIQUE,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    create_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_api_keys_user_id ON api_keys(user_id);

CREATE TABLE history (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES galaxy_user(id),
    name TEXT NOT NULL,
    hid_counter BIGINT NOT NULL DEFAULT 1,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_history_user_id ON history(user_id);

CREATE TABLE dataset (
    id BIGSERIAL PRIMARY KEY,
    history_id BIGINT NOT NULL REFERENCES history(id),
    user_id BIGINT REFERENCES galaxy_user(id),
    hid BIGINT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    extension TEXT NOT NULL,
    file_size BIGINT NOT NULL DEFAULT 0,
    creating_job_id BIGINT,
    info TEXT,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_dataset_history_id ON dataset(history_id);

CREATE TABLE job (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES galaxy_user(id),
    history_id BIGINT NOT NULL REFERENCES history(id),
    tool_id TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    state TEXT NOT NULL,
    handler TEXT,
    claim_token BIGINT NOT NULL DEFAULT 0,
    params TEXT NOT NULL,
    command_line TEXT,
    stdout TEXT,
    stderr TEXT,
    exit_code INTEGER,
    info TEXT,
    job_runner_name TEXT,
    job_runner_external_id TEXT,
    destination_id TEXT,
    client_address TEXT,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_job_handler_state ON job(handler, state);
CREATE INDEX ix_job_state ON job(state);
CREATE INDEX ix_job_user_id ON job(user_id);
CREATE INDEX ix_job_history_id ON job(history_id);

CREATE TABLE job_state_history (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES job(id),
    state TEXT NOT NULL,
    handler TEXT,
    create_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_job_state_history_job_id ON job_state_history(job_id);

CREATE TABLE job_to_input_dataset (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES job(id),
    dataset_id BIGINT NOT NULL REFERENCES dataset(id),
    name TEXT NOT NULL
);
CREATE INDEX ix_jtid_job_id ON job_to_input_dataset(job_id);
CREATE INDEX ix_jtid_dataset_id ON job_to_input_dataset(dataset_id);

CREATE TABLE job_to_output_dataset (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES job(id),
    dataset_id BIGINT NOT NULL REFERENCES dataset(id),
    name TEXT NOT NULL
);
CREATE INDEX ix_jtod_job_id ON job_to_output_dataset(job_id);

CREATE TABLE worker_process (
    id BIGSERIAL PRIMARY KEY,
    server_name TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    mode TEXT NOT NULL,
    pools TEXT NOT NULL,
    start_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
