-- The reminder schedule (issue 12): one row per running deadline window of each open case, kept
-- in the transaction of every change that moves a case's windows (intake, procedure events,
-- reporters' requests, erasure) and recomputed for an organisation when its calendar or
-- procedure settings change. `next_check_on` is the first day the window has a reminder due
-- (NULL once its overdue notice is recorded), so the scan reads only the rows due through an
-- index instead of replaying every case.
CREATE TABLE reminder_schedule (
    case_id TEXT NOT NULL REFERENCES cases(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    obligation TEXT NOT NULL
        CHECK (obligation IN ('acknowledge', 'stage1_response', 'stage2_response', 'update')),
    start_on DATE NOT NULL,
    due_on DATE NOT NULL,
    next_check_on DATE,
    PRIMARY KEY (case_id, obligation)
);
CREATE INDEX reminder_schedule_next_check
    ON reminder_schedule (next_check_on, case_id, obligation);
CREATE INDEX reminder_schedule_organisation
    ON reminder_schedule (organisation_id, due_on);

-- Existing open cases are scheduled by replaying their procedure, which SQL cannot do: this
-- marker asks the portal to do it (in Rust, once, in one transaction) before its next reminder
-- scan or preview; the backfill removes the marker.
INSERT INTO notice_runs (job, period, ran_at)
    VALUES ('reminder_schedule_backfill', 'pending', CURRENT_TIMESTAMP);
