//! The append-only, hash-chained audit log. Appended in the same transaction as the action it
//! records; never updated or deleted by the application.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use time::PrimitiveDateTime;
use time::format_description::well_known::Iso8601;

use super::schema::audit_log;
use super::{DbConnection, StoreError, Tx};
use crate::crypto::audit_chain::{self, ChainFields};

/// Fixed key: every appender takes it inside its transaction, so the chain head is read and
/// extended by one transaction at a time on PostgreSQL (SQLite already has a single writer).
const POSTGRES_AUDIT_LOCK: i64 = 0x5370_6561_6b75_7002;

/// What to record; the store adds the sequence number, time and chain hashes.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub actor_user_id: Option<String>,
    pub action: &'static str,
    pub organisation_id: Option<String>,
    pub case_id: Option<String>,
    pub subject_user_id: Option<String>,
    /// Free text without case content or personal data (e.g. "role=investigator").
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub seq: i64,
    pub at: PrimitiveDateTime,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub organisation_id: Option<String>,
    pub case_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub detail: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Entry {
    /// Recomputes this entry's hash from its fields and the given previous hash.
    pub fn expected_hash(&self, previous: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        let at = timestamp_text(self.at)?;
        Ok(audit_chain::entry_hash(
            previous,
            &ChainFields {
                seq: self.seq,
                at: &at,
                actor: self.actor_user_id.as_deref(),
                action: &self.action,
                organisation: self.organisation_id.as_deref(),
                case: self.case_id.as_deref(),
                subject: self.subject_user_id.as_deref(),
                detail: &self.detail,
            },
        ))
    }
}

fn timestamp_text(at: PrimitiveDateTime) -> Result<String, StoreError> {
    at.assume_utc()
        .format(&Iso8601::DEFAULT)
        .map_err(|error| StoreError::Corrupt(format!("audit timestamp: {error}")))
}

/// Both backends keep microseconds; hashing a finer time would not survive the round trip.
fn to_microseconds(at: PrimitiveDateTime) -> PrimitiveDateTime {
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.replace_nanosecond(micros).unwrap_or(at)
}

pub fn append(tx: &mut Tx, entry: NewEntry, at: PrimitiveDateTime) -> Result<i64, StoreError> {
    if let DbConnection::Postgres(postgres) = tx {
        postgres.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({POSTGRES_AUDIT_LOCK})"
        ))?;
    }
    let head: Option<(i64, Vec<u8>)> = audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(tx)
        .optional()?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (
            seq + 1,
            <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| StoreError::Corrupt(format!("audit entry {seq} hash length")))?,
        ),
        None => (1, audit_chain::GENESIS),
    };
    let mut row = Entry {
        seq,
        at: to_microseconds(at),
        actor_user_id: entry.actor_user_id,
        action: entry.action.to_owned(),
        organisation_id: entry.organisation_id,
        case_id: entry.case_id,
        subject_user_id: entry.subject_user_id,
        detail: entry.detail,
        prev_hash: prev_hash.to_vec(),
        hash: Vec::new(),
    };
    row.hash = row.expected_hash(&prev_hash)?.to_vec();
    diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(tx)?;
    Ok(seq)
}

/// Entries after `after_seq`, oldest first, at most `limit` (for verifying in pages).
pub fn page(tx: &mut Tx, after_seq: i64, limit: i64) -> Result<Vec<Entry>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::seq.gt(after_seq))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select(Entry::as_select())
        .load(tx)?)
}

pub fn for_case(tx: &mut Tx, case_id: &str) -> Result<Vec<Entry>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::case_id.eq(case_id))
        .order(audit_log::seq.asc())
        .select(Entry::as_select())
        .load(tx)?)
}

/// The last entry's position and hash (`None` while the log is empty).
pub fn head(tx: &mut Tx) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    Ok(audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(tx)
        .optional()?)
}

/// Where the chain first fails, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    Intact { entries: i64 },
    Broken { seq: i64, reason: &'static str },
}

/// Walks the whole chain in pages and names the first entry that does not verify.
pub fn verify(tx: &mut Tx) -> Result<ChainCheck, StoreError> {
    verify_against(tx, None)
}

/// A head recorded outside the database: after `entries` entries the chain's hash was `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub entries: i64,
    pub head: [u8; 32],
}

/// As [`verify`], and also that the chain still passes through `checkpoint`: entries removed
/// from the end, or the log rewritten and re-chained before it, no longer do.
pub fn verify_against(
    tx: &mut Tx,
    checkpoint: Option<&Checkpoint>,
) -> Result<ChainCheck, StoreError> {
    let outcome = walk(tx, checkpoint)?;
    if let (ChainCheck::Intact { entries }, Some(checkpoint)) = (&outcome, checkpoint)
        && *entries < checkpoint.entries
    {
        return Ok(ChainCheck::Broken {
            seq: entries + 1,
            reason: "entries after this one were removed (the log is shorter than the checkpoint)",
        });
    }
    Ok(outcome)
}

fn walk(tx: &mut Tx, checkpoint: Option<&Checkpoint>) -> Result<ChainCheck, StoreError> {
    let mut previous = audit_chain::GENESIS;
    let mut expected_seq = 1;
    loop {
        let entries = page(tx, expected_seq - 1, 1000)?;
        if entries.is_empty() {
            return Ok(ChainCheck::Intact {
                entries: expected_seq - 1,
            });
        }
        for entry in entries {
            if entry.seq != expected_seq {
                return Ok(ChainCheck::Broken {
                    seq: expected_seq,
                    reason: "entry missing",
                });
            }
            if entry.prev_hash.as_slice() != previous.as_slice() {
                return Ok(ChainCheck::Broken {
                    seq: entry.seq,
                    reason: "previous-hash link does not match",
                });
            }
            let recomputed = entry.expected_hash(&previous)?;
            if entry.hash.as_slice() != recomputed.as_slice() {
                return Ok(ChainCheck::Broken {
                    seq: entry.seq,
                    reason: "entry was altered",
                });
            }
            if let Some(checkpoint) = checkpoint
                && checkpoint.entries == entry.seq
                && checkpoint.head != recomputed
            {
                return Ok(ChainCheck::Broken {
                    seq: entry.seq,
                    reason: "the log was rewritten: this entry's hash differs from the checkpoint",
                });
            }
            previous = recomputed;
            expected_seq += 1;
        }
    }
}

/// The checkpoint board papers and the weekly summary print: how many entries the log has and
/// the hash of the last one (hex; all zeros for an empty log).
pub fn checkpoint(tx: &mut Tx) -> Result<(i64, String), StoreError> {
    let entries: i64 = audit_log::table.count().get_result(tx)?;
    let head: Option<Vec<u8>> = audit_log::table
        .order(audit_log::seq.desc())
        .select(audit_log::hash)
        .first(tx)
        .optional()?;
    let head = head.unwrap_or_else(|| vec![0; 32]);
    Ok((entries, data_encoding::HEXLOWER.encode(&head)))
}
