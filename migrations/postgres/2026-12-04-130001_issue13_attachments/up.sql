-- One row per stored attachment blob. The name, type and what was stripped are sealed in the
-- case's sealed_records (kind 'attachment', same id); only the stored size is in the clear, for
-- the per-case quota (the blob's own size reveals it anyway).
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    stored_size BIGINT NOT NULL CHECK (stored_size >= 0),
    created_on DATE NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_id);
