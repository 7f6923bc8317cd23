//! Cases and their sealed records. Only what the procedure and reports need is in the clear.

use diesel::prelude::*;
use time::Date;

use super::schema::{cases, sealed_records};
use super::{DbConnection, StoreError, Tx};
use crate::ids::{CaseId, OrganisationId, RecordId, UserId};
use crate::model::Author;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub organisation_id: OrganisationId,
    pub reference: String,
    pub lookup_id: Vec<u8>,
    pub reporter_public_key: Vec<u8>,
    pub service: String,
    pub anonymity: String,
    pub topic: String,
    pub received_on: Date,
    pub became_aware_on: Option<Date>,
    /// How the concern reached the organisation (`crate::model::Channel`).
    pub channel: String,
    /// The day retention erased the case's content; the case row and its events stay.
    pub erased_on: Option<Date>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
struct CaseRow {
    id: String,
    organisation_id: String,
    reference: String,
    lookup_id: Vec<u8>,
    reporter_public_key: Vec<u8>,
    service: String,
    anonymity: String,
    topic: String,
    received_on: Date,
    became_aware_on: Option<Date>,
    next_record_seq: i32,
    channel: String,
    erased_on: Option<Date>,
}

impl From<CaseRow> for Case {
    fn from(row: CaseRow) -> Self {
        Case {
            id: CaseId::from_stored(row.id),
            organisation_id: OrganisationId::from_stored(row.organisation_id),
            reference: row.reference,
            lookup_id: row.lookup_id,
            reporter_public_key: row.reporter_public_key,
            service: row.service,
            anonymity: row.anonymity,
            topic: row.topic,
            received_on: row.received_on,
            became_aware_on: row.became_aware_on,
            channel: row.channel,
            erased_on: row.erased_on,
        }
    }
}

/// Takes the case's row lock until the transaction ends, so a check of who holds the case and
/// the change that depends on it (revoke, conflict, reset, disable) happen as one step.
/// PostgreSQL: `SELECT … FOR UPDATE`. SQLite: writers already take turns for the whole
/// transaction (see [`super::Store::write`]), so there is nothing more to take.
pub fn lock(tx: &mut Tx, id: &CaseId) -> Result<(), StoreError> {
    if let DbConnection::Postgres(postgres) = tx {
        cases::table
            .find(id.as_str())
            .select(cases::id)
            .for_update()
            .first::<String>(postgres)
            .optional()?;
    }
    Ok(())
}

pub fn insert(tx: &mut Tx, case: &Case) -> Result<(), StoreError> {
    diesel::insert_into(cases::table)
        .values(CaseRow {
            id: case.id.as_str().to_owned(),
            organisation_id: case.organisation_id.as_str().to_owned(),
            reference: case.reference.clone(),
            lookup_id: case.lookup_id.clone(),
            reporter_public_key: case.reporter_public_key.clone(),
            service: case.service.clone(),
            anonymity: case.anonymity.clone(),
            topic: case.topic.clone(),
            received_on: case.received_on,
            became_aware_on: case.became_aware_on,
            next_record_seq: 1,
            channel: case.channel.clone(),
            erased_on: case.erased_on,
        })
        .execute(tx)
        .map_err(|error| {
            StoreError::from(error).duplicate_as("a case with that key or reference")
        })?;
    Ok(())
}

pub fn find(tx: &mut Tx, id: &CaseId) -> Result<Option<Case>, StoreError> {
    Ok(cases::table
        .find(id.as_str())
        .select(CaseRow::as_select())
        .first(tx)
        .optional()?
        .map(Case::from))
}

pub fn find_by_lookup_id(tx: &mut Tx, lookup_id: &[u8]) -> Result<Option<Case>, StoreError> {
    Ok(cases::table
        .filter(cases::lookup_id.eq(lookup_id))
        .select(CaseRow::as_select())
        .first(tx)
        .optional()?
        .map(Case::from))
}

pub fn find_by_reference(tx: &mut Tx, reference: &str) -> Result<Option<Case>, StoreError> {
    Ok(cases::table
        .filter(cases::reference.eq(reference))
        .select(CaseRow::as_select())
        .first(tx)
        .optional()?
        .map(Case::from))
}

pub fn find_many(tx: &mut Tx, ids: &[CaseId]) -> Result<Vec<Case>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(CaseId::as_str).collect();
    Ok(cases::table
        .filter(cases::id.eq_any(ids))
        .order(cases::received_on.desc())
        .select(CaseRow::as_select())
        .load(tx)?
        .into_iter()
        .map(Case::from)
        .collect())
}

pub fn in_organisation(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<Case>, StoreError> {
    Ok(cases::table
        .filter(cases::organisation_id.eq(organisation.as_str()))
        .order(cases::received_on.asc())
        .select(CaseRow::as_select())
        .load(tx)?
        .into_iter()
        .map(Case::from)
        .collect())
}

/// The position [`take_record_seq`] would give next, without taking it.
pub fn next_record_seq(tx: &mut Tx, case: &CaseId) -> Result<i32, StoreError> {
    Ok(cases::table
        .find(case.as_str())
        .select(cases::next_record_seq)
        .first(tx)?)
}

/// Takes the next position in the case's record sequence. The UPDATE locks the case row, so
/// concurrent writers to one case are ordered (PostgreSQL) or already serialised (SQLite).
/// The record is sealed with its position, so it is taken before sealing and the record
/// inserted with [`insert_record`] in the same transaction.
/// An erased case takes no new record: a writer that raced the erasure gets
/// [`StoreError::Erased`] instead of leaving content behind it.
pub fn take_record_seq(tx: &mut Tx, case: &CaseId) -> Result<i32, StoreError> {
    let taken = diesel::update(
        cases::table
            .filter(cases::id.eq(case.as_str()))
            .filter(cases::erased_on.is_null()),
    )
    .set(cases::next_record_seq.eq(cases::next_record_seq + 1))
    .execute(tx)?;
    if taken == 0 {
        return Err(StoreError::Erased);
    }
    let next: i32 = cases::table
        .find(case.as_str())
        .select(cases::next_record_seq)
        .first(tx)?;
    Ok(next - 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub id: RecordId,
    pub case_id: CaseId,
    pub seq: i32,
    pub kind: String,
    pub author: Author,
    pub author_user_id: Option<UserId>,
    pub event_id: Option<String>,
    pub sealed: Vec<u8>,
    pub created_on: Date,
    /// Which associated data it was sealed with (1: case, kind, id; 2: also author, event,
    /// position and date).
    pub aad_version: i32,
}

/// A record to insert at the position [`take_record_seq`] gave it.
pub struct NewRecord<'a> {
    pub id: &'a RecordId,
    pub case_id: &'a CaseId,
    pub seq: i32,
    pub kind: &'a str,
    pub author: Author,
    pub author_user_id: Option<&'a UserId>,
    pub event_id: Option<&'a str>,
    pub sealed: &'a [u8],
    pub created_on: Date,
    pub aad_version: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sealed_records)]
struct RecordRow {
    id: String,
    case_id: String,
    seq: i32,
    kind: String,
    author: String,
    author_user_id: Option<String>,
    event_id: Option<String>,
    sealed: Vec<u8>,
    created_on: Date,
    aad_version: i32,
}

impl TryFrom<RecordRow> for SealedRecord {
    type Error = StoreError;

    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        let author = Author::parse(&row.author)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown author {:?}", row.author)))?;
        Ok(SealedRecord {
            id: RecordId::from_stored(row.id),
            case_id: CaseId::from_stored(row.case_id),
            seq: row.seq,
            kind: row.kind,
            author,
            author_user_id: row.author_user_id.map(UserId::from_stored),
            event_id: row.event_id,
            sealed: row.sealed,
            created_on: row.created_on,
            aad_version: row.aad_version,
        })
    }
}

/// Inserts a sealed record at the position taken for it.
pub fn insert_record(tx: &mut Tx, record: &NewRecord<'_>) -> Result<(), StoreError> {
    diesel::insert_into(sealed_records::table)
        .values(RecordRow {
            id: record.id.as_str().to_owned(),
            case_id: record.case_id.as_str().to_owned(),
            seq: record.seq,
            kind: record.kind.to_owned(),
            author: record.author.as_str().to_owned(),
            author_user_id: record.author_user_id.map(|id| id.as_str().to_owned()),
            event_id: record.event_id.map(str::to_owned),
            sealed: record.sealed.to_vec(),
            created_on: record.created_on,
            aad_version: record.aad_version,
        })
        .execute(tx)?;
    Ok(())
}

/// The case's records of the given kinds, oldest first.
pub fn records(
    tx: &mut Tx,
    case: &CaseId,
    kinds: &[&str],
) -> Result<Vec<SealedRecord>, StoreError> {
    sealed_records::table
        .filter(sealed_records::case_id.eq(case.as_str()))
        .filter(sealed_records::kind.eq_any(kinds))
        .order(sealed_records::seq.asc())
        .select(RecordRow::as_select())
        .load(tx)?
        .into_iter()
        .map(SealedRecord::try_from)
        .collect()
}

/// The highest record position in the case.
pub fn latest_seq(tx: &mut Tx, case: &CaseId) -> Result<i32, StoreError> {
    Ok(sealed_records::table
        .filter(sealed_records::case_id.eq(case.as_str()))
        .select(diesel::dsl::max(sealed_records::seq))
        .first::<Option<i32>>(tx)?
        .unwrap_or(0))
}

/// For each case, the highest record position written by the reporter (for "unread" flags).
pub fn latest_reporter_seqs(
    tx: &mut Tx,
    cases: &[CaseId],
) -> Result<std::collections::HashMap<CaseId, i32>, StoreError> {
    let ids: Vec<&str> = cases.iter().map(CaseId::as_str).collect();
    let rows: Vec<(String, Option<i32>)> = sealed_records::table
        .filter(sealed_records::case_id.eq_any(ids))
        .filter(sealed_records::author.eq(Author::Reporter.as_str()))
        .group_by(sealed_records::case_id)
        .select((
            sealed_records::case_id,
            diesel::dsl::max(sealed_records::seq),
        ))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(case, seq)| (CaseId::from_stored(case), seq.unwrap_or(0)))
        .collect())
}
