-- A holder asks to share a confidential reporter's identity with someone new; only the reporter
-- can agree, from the mailbox. The identity key wrapped for the new person waits here, unused,
-- until then. The reason is sealed under the case key.
CREATE TABLE identity_requests (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    recipient_user_id TEXT NOT NULL REFERENCES users(id),
    recipient_key_generation INTEGER NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users(id),
    sealed_reason BLOB NOT NULL,
    pending_wrap BLOB NOT NULL,
    requested_on DATE NOT NULL,
    decision TEXT CHECK (decision IN ('approved', 'declined')),
    decided_on DATE
);
CREATE INDEX identity_requests_by_case ON identity_requests (case_id);
