ALTER TABLE dataset DROP COLUMN metadata;
