-- Upkeep of histories and datasets: annotations, hidden datasets, and purged items (a
-- purged dataset's file is removed from disk; a purged history's datasets are purged).
ALTER TABLE history ADD COLUMN annotation TEXT;
ALTER TABLE history ADD COLUMN purged BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE dataset ADD COLUMN annotation TEXT;
ALTER TABLE dataset ADD COLUMN visible BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE dataset ADD COLUMN purged BOOLEAN NOT NULL DEFAULT FALSE;
