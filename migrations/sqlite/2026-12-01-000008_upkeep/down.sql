ALTER TABLE dataset DROP COLUMN purged;
ALTER TABLE dataset DROP COLUMN visible;
ALTER TABLE dataset DROP COLUMN annotation;
ALTER TABLE history DROP COLUMN purged;
ALTER TABLE history DROP COLUMN annotation;
