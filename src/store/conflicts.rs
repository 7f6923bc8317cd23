//! Declared conflicts of interest: a handler who declares one can never hold the case again.

use diesel::prelude::*;
use time::Date;

use super::schema::conflicts_of_interest;
use super::{StoreError, Tx};
use crate::ids::{CaseId, UserId};

pub fn declare(tx: &mut Tx, case: &CaseId, user: &UserId, on: Date) -> Result<(), StoreError> {
    if exists(tx, case, user)? {
        return Ok(());
    }
    diesel::insert_into(conflicts_of_interest::table)
        .values((
            conflicts_of_interest::case_id.eq(case.as_str()),
            conflicts_of_interest::user_id.eq(user.as_str()),
            conflicts_of_interest::declared_on.eq(on),
        ))
        .execute(tx)?;
    Ok(())
}

pub fn exists(tx: &mut Tx, case: &CaseId, user: &UserId) -> Result<bool, StoreError> {
    let count: i64 = conflicts_of_interest::table
        .filter(conflicts_of_interest::case_id.eq(case.as_str()))
        .filter(conflicts_of_interest::user_id.eq(user.as_str()))
        .count()
        .get_result(tx)?;
    Ok(count > 0)
}

/// Who has declared a conflict on the case, with the date.
pub fn for_case(tx: &mut Tx, case: &CaseId) -> Result<Vec<(UserId, Date)>, StoreError> {
    Ok(conflicts_of_interest::table
        .filter(conflicts_of_interest::case_id.eq(case.as_str()))
        .order(conflicts_of_interest::declared_on.asc())
        .select((
            conflicts_of_interest::user_id,
            conflicts_of_interest::declared_on,
        ))
        .load::<(String, Date)>(tx)?
        .into_iter()
        .map(|(user, on)| (UserId::from_stored(user), on))
        .collect())
}
