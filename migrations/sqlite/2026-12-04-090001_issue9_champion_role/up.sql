-- The whistleblowing champion becomes a role of its own, apart from the executive lead.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_rebuilt (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    job_title TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('contact', 'investigator', 'lead', 'champion', 'admin')),
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
INSERT INTO users_rebuilt SELECT id, organisation_id, email, display_name, job_title, role, active,
    public_key, sealed_secret_key, kdf_salt, kdf_cost, login_verifier, sealed_totp_secret,
    totp_last_step, key_generation, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_by_organisation ON users (organisation_id);
COMMIT;
PRAGMA foreign_keys = ON;
