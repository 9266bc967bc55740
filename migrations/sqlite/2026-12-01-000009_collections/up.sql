-- Dataset collections (Galaxy's dataset_collection): a `list`, a `paired` or a nested type
-- such as `list:paired`, whose elements are history datasets or sub-collections.
CREATE TABLE dataset_collection (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_type TEXT NOT NULL,
    populated_state TEXT NOT NULL DEFAULT 'ok',
    element_count BIGINT NOT NULL,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
-- One element of a collection, in order, named by its identifier: a dataset or a
-- sub-collection (Galaxy's dataset_collection_element).
CREATE TABLE dataset_collection_element (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_collection_id BIGINT NOT NULL REFERENCES dataset_collection(id),
    element_index INTEGER NOT NULL,
    element_identifier TEXT NOT NULL,
    hda_id BIGINT REFERENCES dataset(id),
    child_collection_id BIGINT REFERENCES dataset_collection(id)
);
CREATE INDEX ix_dce_collection ON dataset_collection_element(dataset_collection_id, element_index);
-- A collection in a history, with a hid from the history's counter (Galaxy's
-- history_dataset_collection_association); `implicit_output_name` names the tool output a
-- mapped-over run gathered into it.
CREATE TABLE history_dataset_collection (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    history_id BIGINT NOT NULL REFERENCES history(id),
    user_id BIGINT REFERENCES galaxy_user(id),
    hid BIGINT NOT NULL,
    name TEXT NOT NULL,
    collection_id BIGINT NOT NULL REFERENCES dataset_collection(id),
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    visible BOOLEAN NOT NULL DEFAULT TRUE,
    implicit_output_name TEXT,
    create_time TIMESTAMP NOT NULL,
    update_time TIMESTAMP NOT NULL
);
CREATE INDEX ix_hdca_history_id ON history_dataset_collection(history_id);
