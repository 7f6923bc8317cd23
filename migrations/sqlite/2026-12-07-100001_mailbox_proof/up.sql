-- The reporter's mailbox in the browser (issue 14): the browser signs in with a proof derived
-- from the case key (never the key itself); the server keeps only SHA-256 over a label and that
-- proof. Empty for cases sent before this; filled at their next server-side sign-in.
ALTER TABLE cases ADD COLUMN mailbox_proof_hash BLOB;
