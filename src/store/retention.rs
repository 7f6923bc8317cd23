//! Retention: which cases still hold content, and erasing a case's content. The case row and its
//! procedure events stay (the figures are built from them); everything sealed, every key wrap,
//! and (through the blob store) every attachment file goes.

use std::collections::HashMap;

use diesel::prelude::*;
use time::Date;

use super::schema::{
    attachments, case_reads, cases, identity_requests, key_wraps, reporter_requests, sealed_records,
};
use super::{StoreError, Tx};
use crate::ids::CaseId;

/// A case that still holds content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCase {
    pub id: CaseId,
    pub organisation_id: String,
    pub reference: String,
    pub received_on: Date,
}

/// Every case not yet erased.
pub fn kept_cases(tx: &mut Tx) -> Result<Vec<KeptCase>, StoreError> {
    let rows: Vec<(String, String, String, Date)> = cases::table
        .filter(cases::erased_on.is_null())
        .select((
            cases::id,
            cases::organisation_id,
            cases::reference,
            cases::received_on,
        ))
        .order(cases::received_on.asc())
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(id, organisation_id, reference, received_on)| KeptCase {
            id: CaseId::from_stored(id),
            organisation_id,
            reference,
            received_on,
        })
        .collect())
}

/// The day of each case's latest sealed record (message, note, letter, file), in one query.
pub fn last_record_days(tx: &mut Tx) -> Result<HashMap<CaseId, Date>, StoreError> {
    let rows: Vec<(String, Option<Date>)> = sealed_records::table
        .group_by(sealed_records::case_id)
        .select((
            sealed_records::case_id,
            diesel::dsl::max(sealed_records::created_on),
        ))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .filter_map(|(case, day)| day.map(|day| (CaseId::from_stored(case), day)))
        .collect())
}

/// The day of one case's latest sealed record.
pub fn last_record_day(tx: &mut Tx, case: &CaseId) -> Result<Option<Date>, StoreError> {
    Ok(sealed_records::table
        .filter(sealed_records::case_id.eq(case.as_str()))
        .select(diesel::dsl::max(sealed_records::created_on))
        .first::<Option<Date>>(tx)?)
}

/// Erases the case's content on `today`: its sealed records, every key wrap (so nothing left
/// anywhere, a backup included, can be opened by a handler, the recovery key or the reporter's
/// key through this database), pending identity requests, read positions, and the link from a
/// reporter's request to its message. Returns false if the case was already erased (another
/// instance got there first); the guard is the first write, so the two never both erase.
pub fn erase_content(tx: &mut Tx, case: &CaseId, today: Date) -> Result<bool, StoreError> {
    let marked = diesel::update(
        cases::table
            .filter(cases::id.eq(case.as_str()))
            .filter(cases::erased_on.is_null()),
    )
    .set(cases::erased_on.eq(Some(today)))
    .execute(tx)?;
    if marked == 0 {
        return Ok(false);
    }
    diesel::delete(key_wraps::table.filter(key_wraps::case_id.eq(case.as_str()))).execute(tx)?;
    diesel::delete(sealed_records::table.filter(sealed_records::case_id.eq(case.as_str())))
        .execute(tx)?;
    diesel::delete(identity_requests::table.filter(identity_requests::case_id.eq(case.as_str())))
        .execute(tx)?;
    diesel::delete(case_reads::table.filter(case_reads::case_id.eq(case.as_str()))).execute(tx)?;
    diesel::update(reporter_requests::table.filter(reporter_requests::case_id.eq(case.as_str())))
        .set(reporter_requests::message_record_id.eq(None::<String>))
        .execute(tx)?;
    Ok(true)
}

/// Attachment rows of erased cases whose files are still to be deleted from the blob store:
/// `(case id, attachment id)`. A row goes only once its file is gone, so a store that is down
/// during one run is cleared by the next.
pub fn files_of_erased_cases(tx: &mut Tx) -> Result<Vec<(String, String)>, StoreError> {
    Ok(attachments::table
        .inner_join(cases::table)
        .filter(cases::erased_on.is_not_null())
        .select((attachments::case_id, attachments::id))
        .order(attachments::id.asc())
        .load(tx)?)
}

/// Forgets an erased case's attachment once its file is deleted.
pub fn forget_file(tx: &mut Tx, attachment_id: &str) -> Result<(), StoreError> {
    diesel::delete(attachments::table.filter(attachments::id.eq(attachment_id))).execute(tx)?;
    Ok(())
}
