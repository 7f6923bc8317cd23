DROP TABLE approvals;
ALTER TABLE intake_contacts DROP COLUMN approved_email;
ALTER TABLE intake_contacts DROP COLUMN approved_key_generation;
DROP TABLE enrolment_tokens;
