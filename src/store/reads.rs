//! How far each handler has read each case, for "unread" flags.

use diesel::prelude::*;

use super::schema::case_reads;
use super::{StoreError, Tx};
use crate::ids::{CaseId, UserId};

pub fn seen(tx: &mut Tx, case: &CaseId, user: &UserId) -> Result<i32, StoreError> {
    Ok(case_reads::table
        .find((case.as_str(), user.as_str()))
        .select(case_reads::seen_seq)
        .first(tx)
        .optional()?
        .unwrap_or(0))
}

pub fn mark_seen(tx: &mut Tx, case: &CaseId, user: &UserId, seq: i32) -> Result<(), StoreError> {
    let updated = diesel::update(case_reads::table.find((case.as_str(), user.as_str())))
        .set(case_reads::seen_seq.eq(seq))
        .execute(tx)?;
    if updated == 0 {
        diesel::insert_into(case_reads::table)
            .values((
                case_reads::case_id.eq(case.as_str()),
                case_reads::user_id.eq(user.as_str()),
                case_reads::seen_seq.eq(seq),
            ))
            .execute(tx)?;
    }
    Ok(())
}
