-- One-time enrolment links: the person sets their own password and TOTP. Only a hash of the
-- token is kept; the link itself goes out by e-mail (or to the operator's shell).
CREATE TABLE enrolment_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX enrolment_tokens_by_user ON enrolment_tokens (user_id);

-- An intake member receives new concerns only with the key generation and e-mail address a
-- second person approved. A join, a key reset or an e-mail change makes these stale until then.
ALTER TABLE intake_contacts ADD COLUMN approved_key_generation INTEGER;
ALTER TABLE intake_contacts ADD COLUMN approved_email TEXT;
UPDATE intake_contacts SET
    approved_key_generation = (SELECT key_generation FROM users WHERE users.id = intake_contacts.user_id),
    approved_email = (SELECT email FROM users WHERE users.id = intake_contacts.user_id);

-- Changes that would let someone new read new concerns, waiting for a second admin or champion.
CREATE TABLE approvals (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL CHECK (kind IN ('intake_join', 'intake_key_reset', 'intake_email_change')),
    subject_user_id TEXT NOT NULL REFERENCES users(id),
    subject_key_generation INTEGER NOT NULL,
    subject_email TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users(id),
    requested_on DATE NOT NULL,
    decision TEXT CHECK (decision IN ('approved', 'declined')),
    decided_by TEXT REFERENCES users(id),
    decided_on DATE
);
CREATE INDEX approvals_pending ON approvals (organisation_id, decision);
