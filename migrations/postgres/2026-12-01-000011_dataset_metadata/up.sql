-- A dataset's metadata (Galaxy's `metadata` column): JSON text under Galaxy's names
-- (`columns`, `column_types`, `data_lines`, …), set when its job ends or its upload is written.
ALTER TABLE dataset ADD COLUMN metadata TEXT;
