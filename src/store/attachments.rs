//! Which sealed blobs a case has, and how many bytes they take (for the per-case quota).

use diesel::prelude::*;
use time::Date;

use super::schema::attachments;
use super::{StoreError, Tx};
use crate::ids::{CaseId, RecordId};

#[derive(Insertable)]
#[diesel(table_name = attachments)]
struct AttachmentRow<'a> {
    id: &'a str,
    case_id: &'a str,
    stored_size: i64,
    created_on: Date,
}

pub fn insert(
    tx: &mut Tx,
    id: &RecordId,
    case: &CaseId,
    stored_size: u64,
    created_on: Date,
) -> Result<(), StoreError> {
    let stored_size = i64::try_from(stored_size)
        .map_err(|_| StoreError::Corrupt("attachment size out of range".to_owned()))?;
    diesel::insert_into(attachments::table)
        .values(AttachmentRow {
            id: id.as_str(),
            case_id: case.as_str(),
            stored_size,
            created_on,
        })
        .execute(tx)?;
    Ok(())
}

/// Bytes the case's attachments take in the store.
pub fn total_for_case(tx: &mut Tx, case: &CaseId) -> Result<u64, StoreError> {
    let sizes: Vec<i64> = attachments::table
        .filter(attachments::case_id.eq(case.as_str()))
        .select(attachments::stored_size)
        .load(tx)?;
    Ok(sizes
        .into_iter()
        .map(|size| u64::try_from(size).unwrap_or(0))
        .sum())
}

/// Whether `id` is an attachment of `case` (the only way a download finds its blob).
pub fn belongs_to(tx: &mut Tx, id: &str, case: &CaseId) -> Result<bool, StoreError> {
    let found: Option<String> = attachments::table
        .filter(attachments::id.eq(id))
        .filter(attachments::case_id.eq(case.as_str()))
        .select(attachments::id)
        .first(tx)
        .optional()?;
    Ok(found.is_some())
}

/// Every attachment id of a case, for deleting its blobs with the case.
pub fn ids_for_case(tx: &mut Tx, case: &CaseId) -> Result<Vec<String>, StoreError> {
    Ok(attachments::table
        .filter(attachments::case_id.eq(case.as_str()))
        .select(attachments::id)
        .order(attachments::id)
        .load(tx)?)
}
