ALTER TABLE cases DROP COLUMN erased_on;
ALTER TABLE organisations DROP COLUMN retention_months;
