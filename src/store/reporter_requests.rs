//! Requests reporters make from the mailbox. Only the kind and the day are in the clear: the
//! procedure needs them, and the champion oversees detriment reports by reference and date.

use diesel::prelude::*;
use time::Date;

use super::schema::{cases, reporter_requests};
use super::{StoreError, Tx};
use crate::ids::{CaseId, OrganisationId, RecordId};
use crate::model::RequestKind;

#[derive(Insertable)]
#[diesel(table_name = reporter_requests)]
struct RequestRow<'a> {
    id: &'a str,
    case_id: &'a str,
    kind: &'a str,
    requested_on: Date,
    message_record_id: Option<&'a str>,
}

pub struct NewRequest<'a> {
    pub case_id: &'a CaseId,
    pub kind: RequestKind,
    pub requested_on: Date,
    pub message: Option<&'a RecordId>,
}

pub fn insert(tx: &mut Tx, request: &NewRequest<'_>) -> Result<(), StoreError> {
    diesel::insert_into(reporter_requests::table)
        .values(RequestRow {
            id: &crate::crypto::random_id(),
            case_id: request.case_id.as_str(),
            kind: request.kind.as_str(),
            requested_on: request.requested_on,
            message_record_id: request.message.map(RecordId::as_str),
        })
        .execute(tx)?;
    Ok(())
}

/// One request as the oversight sees it: the case's reference and the day, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOnCase {
    pub reference: String,
    pub requested_on: Date,
}

/// An organisation's requests of one kind, newest first.
pub fn of_kind_in_organisation(
    tx: &mut Tx,
    organisation: &OrganisationId,
    kind: RequestKind,
) -> Result<Vec<RequestOnCase>, StoreError> {
    let rows: Vec<(String, Date)> = reporter_requests::table
        .inner_join(cases::table)
        .filter(cases::organisation_id.eq(organisation.as_str()))
        .filter(reporter_requests::kind.eq(kind.as_str()))
        .order((
            reporter_requests::requested_on.desc(),
            cases::reference.asc(),
        ))
        .select((cases::reference, reporter_requests::requested_on))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(reference, requested_on)| RequestOnCase {
            reference,
            requested_on,
        })
        .collect())
}

/// How many requests of `kind` an organisation's reporters made from `start` to `end`.
pub fn count_in_period(
    tx: &mut Tx,
    organisation: &OrganisationId,
    kind: RequestKind,
    start: Date,
    end: Date,
) -> Result<i64, StoreError> {
    Ok(reporter_requests::table
        .inner_join(cases::table)
        .filter(cases::organisation_id.eq(organisation.as_str()))
        .filter(reporter_requests::kind.eq(kind.as_str()))
        .filter(reporter_requests::requested_on.ge(start))
        .filter(reporter_requests::requested_on.le(end))
        .count()
        .get_result(tx)?)
}
