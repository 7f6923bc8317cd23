//! One-time enrolment links, stored only as a hash of the token.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::enrolment_tokens;
use super::{StoreError, Tx};
use crate::ids::UserId;

/// Replaces any earlier link of the user with this one.
pub fn replace_for_user(
    tx: &mut Tx,
    user: &UserId,
    token_hash: &[u8],
    expires_at: PrimitiveDateTime,
) -> Result<(), StoreError> {
    delete_for_user(tx, user)?;
    diesel::insert_into(enrolment_tokens::table)
        .values((
            enrolment_tokens::token_hash.eq(token_hash),
            enrolment_tokens::user_id.eq(user.as_str()),
            enrolment_tokens::expires_at.eq(expires_at),
        ))
        .execute(tx)?;
    Ok(())
}

pub fn delete_for_user(tx: &mut Tx, user: &UserId) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(enrolment_tokens::table.filter(enrolment_tokens::user_id.eq(user.as_str())))
            .execute(tx)?,
    )
}

/// The user a still-valid link belongs to, without using it up (to show the form).
pub fn holder(
    tx: &mut Tx,
    token_hash: &[u8],
    now: PrimitiveDateTime,
) -> Result<Option<UserId>, StoreError> {
    Ok(enrolment_tokens::table
        .find(token_hash)
        .filter(enrolment_tokens::expires_at.gt(now))
        .select(enrolment_tokens::user_id)
        .first::<String>(tx)
        .optional()?
        .map(UserId::from_stored))
}

/// Uses the link up: of several requests racing with one token, exactly one gets the user
/// (the DELETE is the check).
pub fn take(
    tx: &mut Tx,
    token_hash: &[u8],
    now: PrimitiveDateTime,
) -> Result<Option<UserId>, StoreError> {
    let Some(user) = holder(tx, token_hash, now)? else {
        return Ok(None);
    };
    let taken = diesel::delete(
        enrolment_tokens::table
            .find(token_hash)
            .filter(enrolment_tokens::expires_at.gt(now)),
    )
    .execute(tx)?;
    Ok((taken == 1).then_some(user))
}
