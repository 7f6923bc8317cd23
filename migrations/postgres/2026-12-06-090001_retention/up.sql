-- Retention: a finished case's content (sealed records, key wraps, attachments) is erased a set
-- number of months after its last activity. The case row and its dated procedure events stay,
-- so reported figures never change; erased_on says when the content went.
ALTER TABLE organisations ADD COLUMN retention_months INTEGER NOT NULL DEFAULT 72
    CHECK (retention_months BETWEEN 12 AND 1200);
ALTER TABLE cases ADD COLUMN erased_on DATE;
