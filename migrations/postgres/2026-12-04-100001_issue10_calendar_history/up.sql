-- Calendar changes keep their history: a change applies only to days after the day it was
-- recorded, and withdrawing one never touches a day that has passed, so editing the calendar
-- can never re-date a past case or a published figure. Changes made before this migration keep
-- applying as they did (recorded on 1900-01-01).
CREATE TABLE calendar_changes (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    day DATE NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('add', 'remove')),
    label TEXT NOT NULL,
    recorded_on DATE NOT NULL,
    withdrawn_on DATE
);
CREATE INDEX calendar_changes_by_day ON calendar_changes (organisation_id, day);
INSERT INTO calendar_changes (id, organisation_id, day, change, label, recorded_on, withdrawn_on)
    SELECT organisation_id || '/' || CAST(day AS TEXT), organisation_id, day, change, label, '1900-01-01', NULL
    FROM organisation_holidays;
DROP TABLE organisation_holidays;
