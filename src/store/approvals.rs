//! Changes that would let someone new read new concerns, waiting for a second person.

use diesel::prelude::*;
use time::Date;

use super::schema::approvals;
use super::{StoreError, Tx};
use crate::ids::OrganisationId;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = approvals)]
pub struct Approval {
    pub id: String,
    pub organisation_id: String,
    /// `intake_join`, `intake_key_reset` or `intake_email_change`.
    pub kind: String,
    pub subject_user_id: String,
    /// What the approver agrees to: this person, with these keys, at this address.
    pub subject_key_generation: i32,
    pub subject_email: String,
    pub requested_by: String,
    pub requested_on: Date,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_on: Option<Date>,
}

pub fn insert(tx: &mut Tx, approval: &Approval) -> Result<(), StoreError> {
    diesel::insert_into(approvals::table)
        .values(approval)
        .execute(tx)?;
    Ok(())
}

pub fn pending_in(tx: &mut Tx, organisation: &OrganisationId) -> Result<Vec<Approval>, StoreError> {
    Ok(approvals::table
        .filter(approvals::organisation_id.eq(organisation.as_str()))
        .filter(approvals::decision.is_null())
        .order((approvals::requested_on.asc(), approvals::id.asc()))
        .select(Approval::as_select())
        .load(tx)?)
}

pub fn find(tx: &mut Tx, id: &str) -> Result<Option<Approval>, StoreError> {
    Ok(approvals::table
        .find(id)
        .select(Approval::as_select())
        .first(tx)
        .optional()?)
}

/// Records the decision if the request is still pending; answers whether this call did (the
/// conditional UPDATE is the check, so two approvers racing cannot both decide).
pub fn decide(
    tx: &mut Tx,
    id: &str,
    decision: &str,
    by: &str,
    on: Date,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        approvals::table
            .find(id)
            .filter(approvals::decision.is_null()),
    )
    .set((
        approvals::decision.eq(decision),
        approvals::decided_by.eq(by),
        approvals::decided_on.eq(on),
    ))
    .execute(tx)?;
    Ok(changed == 1)
}
