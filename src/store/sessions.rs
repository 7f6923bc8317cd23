//! Split-key sessions: a row holds only ciphertext sealed under a key that lives in the client's
//! cookie or bearer token, so the table alone opens nothing.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{handler_sessions, reporter_sessions, setup_tokens};
use super::{StoreError, Tx};
use crate::ids::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerSession {
    pub id: String,
    pub user_id: UserId,
    pub sealed: Vec<u8>,
    pub created_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = handler_sessions)]
struct HandlerSessionRow {
    id: String,
    user_id: String,
    sealed: Vec<u8>,
    created_at: PrimitiveDateTime,
    last_seen_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
}

pub fn insert_handler(tx: &mut Tx, session: &HandlerSession) -> Result<(), StoreError> {
    diesel::insert_into(handler_sessions::table)
        .values(HandlerSessionRow {
            id: session.id.clone(),
            user_id: session.user_id.as_str().to_owned(),
            sealed: session.sealed.clone(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            expires_at: session.expires_at,
        })
        .execute(tx)?;
    Ok(())
}

pub fn find_handler(tx: &mut Tx, id: &str) -> Result<Option<HandlerSession>, StoreError> {
    Ok(handler_sessions::table
        .find(id)
        .select(HandlerSessionRow::as_select())
        .first(tx)
        .optional()?
        .map(|row| HandlerSession {
            id: row.id,
            user_id: UserId::from_stored(row.user_id),
            sealed: row.sealed,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        }))
}

pub fn touch_handler(tx: &mut Tx, id: &str, at: PrimitiveDateTime) -> Result<(), StoreError> {
    diesel::update(handler_sessions::table.find(id))
        .set(handler_sessions::last_seen_at.eq(at))
        .execute(tx)?;
    Ok(())
}

pub fn delete_handler(tx: &mut Tx, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(handler_sessions::table.find(id)).execute(tx)? > 0)
}

/// Ends every session of a user (disable, reset, password change).
pub fn delete_handler_sessions_of(tx: &mut Tx, user: &UserId) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(handler_sessions::table.filter(handler_sessions::user_id.eq(user.as_str())))
            .execute(tx)?,
    )
}

pub fn insert_reporter(
    tx: &mut Tx,
    id: &str,
    sealed: &[u8],
    expires_at: PrimitiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(reporter_sessions::table)
        .values((
            reporter_sessions::id.eq(id),
            reporter_sessions::sealed.eq(sealed),
            reporter_sessions::expires_at.eq(expires_at),
        ))
        .execute(tx)?;
    Ok(())
}

/// The sealed payload and expiry of a reporter session.
pub fn find_reporter(
    tx: &mut Tx,
    id: &str,
) -> Result<Option<(Vec<u8>, PrimitiveDateTime)>, StoreError> {
    Ok(reporter_sessions::table
        .find(id)
        .select((reporter_sessions::sealed, reporter_sessions::expires_at))
        .first(tx)
        .optional()?)
}

pub fn delete_reporter(tx: &mut Tx, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(reporter_sessions::table.find(id)).execute(tx)? > 0)
}

/// Deletes expired sessions of both kinds; answers how many went.
pub fn purge_expired(
    tx: &mut Tx,
    now: PrimitiveDateTime,
    handler_idle_cutoff: PrimitiveDateTime,
) -> Result<usize, StoreError> {
    let reporters =
        diesel::delete(reporter_sessions::table.filter(reporter_sessions::expires_at.le(now)))
            .execute(tx)?;
    let handlers = diesel::delete(
        handler_sessions::table.filter(
            handler_sessions::expires_at
                .le(now)
                .or(handler_sessions::last_seen_at.le(handler_idle_cutoff)),
        ),
    )
    .execute(tx)?;
    Ok(reporters + handlers)
}

pub fn insert_setup_token(
    tx: &mut Tx,
    token_hash: &[u8],
    expires_at: PrimitiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(token_hash),
            setup_tokens::expires_at.eq(expires_at),
        ))
        .execute(tx)?;
    Ok(())
}

/// Consumes a setup token: deletes it if it is still valid and answers whether this call did.
/// The DELETE is the check, so of several requests racing with one token exactly one wins (on
/// PostgreSQL the others wait for its row lock and then find the row gone).
pub fn take_setup_token(
    tx: &mut Tx,
    token_hash: &[u8],
    now: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let taken = diesel::delete(
        setup_tokens::table
            .find(token_hash)
            .filter(setup_tokens::expires_at.gt(now)),
    )
    .execute(tx)?;
    Ok(taken == 1)
}

/// Whether a setup token is valid, without consuming it (to show the form).
pub fn setup_token_valid(
    tx: &mut Tx,
    token_hash: &[u8],
    now: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let expires_at: Option<PrimitiveDateTime> = setup_tokens::table
        .find(token_hash)
        .select(setup_tokens::expires_at)
        .first(tx)
        .optional()?;
    Ok(matches!(expires_at, Some(expiry) if expiry > now))
}

pub fn clear_setup_tokens(tx: &mut Tx) -> Result<usize, StoreError> {
    Ok(diesel::delete(setup_tokens::table).execute(tx)?)
}

/// Ends a user's other sessions, keeping `keep`.
pub fn delete_other_handler_sessions(
    tx: &mut Tx,
    user: &UserId,
    keep: &str,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        handler_sessions::table
            .filter(handler_sessions::user_id.eq(user.as_str()))
            .filter(handler_sessions::id.ne(keep)),
    )
    .execute(tx)?)
}
