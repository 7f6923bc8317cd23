CREATE TABLE organisation_holidays (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    day DATE NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('add', 'remove')),
    label TEXT NOT NULL,
    PRIMARY KEY (organisation_id, day)
);
INSERT INTO organisation_holidays (organisation_id, day, change, label)
    SELECT organisation_id, day, change, label FROM calendar_changes WHERE withdrawn_on IS NULL;
DROP TABLE calendar_changes;
