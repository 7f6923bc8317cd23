-- How a concern reached the organisation: through this portal, or recorded by a contact from
-- another channel (Part 8 of the Standards: every concern is recorded, however it was raised).
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'portal'
    CHECK (channel IN ('portal', 'in_person', 'phone', 'email', 'letter', 'line_manager', 'other'));
