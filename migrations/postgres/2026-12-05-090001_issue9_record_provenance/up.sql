-- Which associated data a sealed record was sealed with: 1 = case, kind and record id (every
-- record written before this migration); 2 = also its author, author's account, event, position
-- and date. Old records keep opening with format 1; every new record is written as format 2.
ALTER TABLE sealed_records ADD COLUMN aad_version INTEGER NOT NULL DEFAULT 1 CHECK (aad_version IN (1, 2));
