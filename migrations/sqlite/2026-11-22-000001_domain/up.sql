-- The whole domain schema. Case content is only ever stored sealed (see SECURITY.md); the plain
-- columns here are what the procedure and the reports need: dates, stages, counts, grants.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    serves_nhs BOOLEAN NOT NULL,
    serves_local_authority BOOLEAN NOT NULL,
    day_one_rule TEXT NOT NULL DEFAULT 'receipt_or_next_working_day',
    stage1_extension_cap INTEGER NOT NULL DEFAULT 10,
    board_exact_figures BOOLEAN NOT NULL DEFAULT 0,
    recovery_public_key BLOB,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE organisation_holidays (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    day DATE NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('add', 'remove')),
    label TEXT NOT NULL,
    PRIMARY KEY (organisation_id, day)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    job_title TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('contact', 'investigator', 'lead', 'admin')),
    active BOOLEAN NOT NULL,
    public_key BLOB NOT NULL,
    sealed_secret_key BLOB NOT NULL,
    kdf_salt BLOB NOT NULL,
    kdf_cost TEXT NOT NULL,
    login_verifier BLOB NOT NULL,
    sealed_totp_secret BLOB NOT NULL,
    totp_last_step BIGINT,
    key_generation INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_by_organisation ON users (organisation_id);

CREATE TABLE intake_contacts (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (organisation_id, user_id)
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    reference TEXT NOT NULL UNIQUE,
    lookup_id BLOB NOT NULL UNIQUE,
    reporter_public_key BLOB NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('nhs', 'local_authority')),
    anonymity TEXT NOT NULL CHECK (anonymity IN ('anonymous', 'confidential')),
    topic TEXT NOT NULL,
    received_on DATE NOT NULL,
    became_aware_on DATE,
    next_record_seq INTEGER NOT NULL
);
CREATE INDEX cases_by_organisation ON cases (organisation_id, received_on);

CREATE TABLE key_wraps (
    case_id TEXT NOT NULL REFERENCES cases(id),
    recipient TEXT NOT NULL,
    key_kind TEXT NOT NULL CHECK (key_kind IN ('case', 'identity')),
    wrapped BLOB NOT NULL,
    granted_by TEXT REFERENCES users(id),
    granted_on DATE NOT NULL,
    PRIMARY KEY (case_id, recipient, key_kind)
);
CREATE INDEX key_wraps_by_recipient ON key_wraps (recipient, key_kind);

CREATE TABLE sealed_records (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL CHECK (author IN ('reporter', 'handler', 'system')),
    author_user_id TEXT REFERENCES users(id),
    event_id TEXT,
    sealed BLOB NOT NULL,
    created_on DATE NOT NULL,
    UNIQUE (case_id, seq)
);

CREATE TABLE procedure_events (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    until_on DATE,
    outcome TEXT,
    escalation TEXT,
    actor_user_id TEXT REFERENCES users(id),
    UNIQUE (case_id, seq)
);

CREATE TABLE conflicts_of_interest (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    declared_on DATE NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE case_reads (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    seen_seq INTEGER NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE handler_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    sealed BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX handler_sessions_by_user ON handler_sessions (user_id);

-- Which case a reporter session belongs to is inside the sealed payload, so a copy of this table
-- does not link a live session to a case.
CREATE TABLE reporter_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    sealed BLOB NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Append-only, hash-chained. No foreign keys: the log must outlive anything it mentions.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_user_id TEXT,
    action TEXT NOT NULL,
    organisation_id TEXT,
    case_id TEXT,
    subject_user_id TEXT,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

-- Learning a handler chose to share at closure, detached from the case on purpose.
CREATE TABLE learning_entries (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    service TEXT NOT NULL,
    stage TEXT NOT NULL,
    quarter TEXT NOT NULL,
    body TEXT NOT NULL,
    publishable BOOLEAN NOT NULL
);
CREATE INDEX learning_by_quarter ON learning_entries (organisation_id, quarter);

-- Free text the lead writes for a reporting period (experiences, awareness and training).
CREATE TABLE report_narratives (
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    period TEXT NOT NULL,
    section TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users(id),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, period, section)
);
