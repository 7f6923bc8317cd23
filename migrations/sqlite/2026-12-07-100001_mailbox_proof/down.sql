ALTER TABLE cases DROP COLUMN mailbox_proof_hash;
