//! Learning recorded at closure, detached from the case on purpose: it carries the
//! organisation, service, stage and quarter, never a case id or an exact date.

use diesel::prelude::*;

use super::schema::learning_entries;
use super::{StoreError, Tx};
use crate::ids::OrganisationId;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = learning_entries)]
pub struct LearningEntry {
    pub id: String,
    pub organisation_id: String,
    pub service: String,
    pub stage: String,
    pub quarter: String,
    pub body: String,
    pub publishable: bool,
}

pub fn insert(tx: &mut Tx, entry: &LearningEntry) -> Result<(), StoreError> {
    diesel::insert_into(learning_entries::table)
        .values(entry)
        .execute(tx)?;
    Ok(())
}

/// Entries for the given quarters (e.g. the four of a year), oldest quarter first.
pub fn in_quarters(
    tx: &mut Tx,
    organisation: &OrganisationId,
    quarters: &[String],
    publishable_only: bool,
) -> Result<Vec<LearningEntry>, StoreError> {
    let mut query = learning_entries::table
        .filter(learning_entries::organisation_id.eq(organisation.as_str()))
        .filter(learning_entries::quarter.eq_any(quarters))
        .into_boxed();
    if publishable_only {
        query = query.filter(learning_entries::publishable.eq(true));
    }
    Ok(query
        .order((learning_entries::quarter.asc(), learning_entries::id.asc()))
        .select(LearningEntry::as_select())
        .load(tx)?)
}
