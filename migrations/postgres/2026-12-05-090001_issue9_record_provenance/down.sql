ALTER TABLE sealed_records DROP COLUMN aad_version;
