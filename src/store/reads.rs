//! How far each handler has read each case, for "unread" flags.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::case_reads;
use super::{StoreError, Tx};
use crate::ids::{CaseId, UserId};

/// How far `user` has read each of `cases` (cases never opened are absent).
pub fn seen_by(
    tx: &mut Tx,
    user: &UserId,
    cases: &[CaseId],
) -> Result<HashMap<CaseId, i32>, StoreError> {
    let ids: Vec<&str> = cases.iter().map(CaseId::as_str).collect();
    let rows: Vec<(String, i32)> = case_reads::table
        .filter(case_reads::user_id.eq(user.as_str()))
        .filter(case_reads::case_id.eq_any(ids))
        .select((case_reads::case_id, case_reads::seen_seq))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(case, seq)| (CaseId::from_stored(case), seq))
        .collect())
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
