-- Every sign-in purges expired sessions; without these the purge scans every live session.
CREATE INDEX reporter_sessions_by_expiry ON reporter_sessions (expires_at);
CREATE INDEX handler_sessions_by_expiry ON handler_sessions (expires_at);
CREATE INDEX handler_sessions_by_last_seen ON handler_sessions (last_seen_at);
