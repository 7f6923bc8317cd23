UPDATE users SET role = 'lead' WHERE role = 'champion';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('contact', 'investigator', 'lead', 'admin'));
