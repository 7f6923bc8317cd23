-- What reporters ask for from the mailbox: stage 2, withdrawal, or a report of detriment
-- (victimisation for having spoken up). The words, if any, are a sealed message record; only
-- the kind and the day are in the clear, for the procedure and the champion's oversight.
CREATE TABLE reporter_requests (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL CHECK (kind IN ('stage2', 'withdraw', 'detriment')),
    requested_on DATE NOT NULL,
    message_record_id TEXT
);
CREATE INDEX reporter_requests_by_case ON reporter_requests (case_id);
CREATE INDEX reporter_requests_by_kind ON reporter_requests (kind, requested_on);
