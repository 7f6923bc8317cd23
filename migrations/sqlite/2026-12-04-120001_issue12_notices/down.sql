DROP TABLE notice_runs;
DROP TABLE notice_preferences;
DROP TABLE reminders_sent;
DROP INDEX outbox_held;
ALTER TABLE outbox DROP COLUMN digest_id;
ALTER TABLE outbox DROP COLUMN held_for_digest;
ALTER TABLE outbox DROP COLUMN recipient_user_id;
ALTER TABLE outbox DROP COLUMN kind;
