//! Requests to share a reporter's identity with a new holder, waiting for the reporter's answer.

use diesel::prelude::*;
use time::Date;

use super::schema::identity_requests;
use super::{StoreError, Tx};
use crate::ids::{CaseId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_requests)]
pub struct IdentityRequest {
    pub id: String,
    pub case_id: String,
    pub recipient_user_id: String,
    /// The recipient's key pair when the request was made; the pending wrap opens only with it.
    pub recipient_key_generation: i32,
    pub requested_by: String,
    pub sealed_reason: Vec<u8>,
    pub pending_wrap: Vec<u8>,
    pub requested_on: Date,
    pub decision: Option<String>,
    pub decided_on: Option<Date>,
}

pub fn insert(tx: &mut Tx, request: &IdentityRequest) -> Result<(), StoreError> {
    diesel::insert_into(identity_requests::table)
        .values(request)
        .execute(tx)?;
    Ok(())
}

/// Requests on the case still waiting for the reporter, oldest first.
pub fn pending_for_case(tx: &mut Tx, case: &CaseId) -> Result<Vec<IdentityRequest>, StoreError> {
    Ok(identity_requests::table
        .filter(identity_requests::case_id.eq(case.as_str()))
        .filter(identity_requests::decision.is_null())
        .order((
            identity_requests::requested_on.asc(),
            identity_requests::id.asc(),
        ))
        .select(IdentityRequest::as_select())
        .load(tx)?)
}

pub fn pending_for(
    tx: &mut Tx,
    case: &CaseId,
    recipient: &UserId,
) -> Result<Option<IdentityRequest>, StoreError> {
    Ok(identity_requests::table
        .filter(identity_requests::case_id.eq(case.as_str()))
        .filter(identity_requests::recipient_user_id.eq(recipient.as_str()))
        .filter(identity_requests::decision.is_null())
        .select(IdentityRequest::as_select())
        .first(tx)
        .optional()?)
}

/// Records the reporter's answer if the request is still pending; answers whether it was. The
/// conditional UPDATE is the check, so two answers racing cannot both count.
pub fn decide(
    tx: &mut Tx,
    case: &CaseId,
    id: &str,
    decision: &str,
    on: Date,
) -> Result<Option<IdentityRequest>, StoreError> {
    let changed = diesel::update(
        identity_requests::table
            .find(id)
            .filter(identity_requests::case_id.eq(case.as_str()))
            .filter(identity_requests::decision.is_null()),
    )
    .set((
        identity_requests::decision.eq(decision),
        identity_requests::decided_on.eq(on),
    ))
    .execute(tx)?;
    if changed != 1 {
        return Ok(None);
    }
    Ok(identity_requests::table
        .find(id)
        .select(IdentityRequest::as_select())
        .first(tx)
        .optional()?)
}
