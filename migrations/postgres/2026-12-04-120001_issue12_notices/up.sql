-- Notices (issue 12). The outbox carries only content-free notices: a kind, a reference and a
-- console link at most. `recipient_user_id` lets the digest and preferences find the person;
-- `held_for_digest` rows wait for the daily digest instead of going out on their own.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'service';
ALTER TABLE outbox ADD COLUMN recipient_user_id TEXT;
ALTER TABLE outbox ADD COLUMN held_for_digest BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN digest_id TEXT;
CREATE INDEX outbox_held ON outbox (held_for_digest, recipient);

-- One row per reminder ever queued: a period is identified by its obligation and due date, so an
-- extension (a new due date) gets its own reminders, and a restart or a second instance finds
-- the row and sends nothing twice.
CREATE TABLE reminders_sent (
    case_id TEXT NOT NULL REFERENCES cases(id),
    obligation TEXT NOT NULL,
    due_on DATE NOT NULL,
    milestone TEXT NOT NULL CHECK (milestone IN ('50', '75', '90', 'overdue')),
    queued_on DATE NOT NULL,
    PRIMARY KEY (case_id, obligation, due_on, milestone)
);

CREATE TABLE notice_preferences (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    delivery TEXT NOT NULL CHECK (delivery IN ('immediate', 'daily_digest'))
);

-- Periodic jobs (daily digest, weekly summary) record the period they covered, once.
CREATE TABLE notice_runs (
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    ran_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job, period)
);
