-- The whistleblowing champion becomes a role of its own, apart from the executive lead.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('contact', 'investigator', 'lead', 'champion', 'admin'));
