//! Key wraps: one row per (case, recipient, key kind). Holding a wrap is being able to read.

use diesel::prelude::*;
use time::Date;

use super::schema::key_wraps;
use super::{StoreError, Tx};
use crate::crypto::KeyKind;
use crate::ids::{CaseId, UserId};

/// Who a wrap is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Reporter,
    Recovery,
    User(UserId),
}

impl Recipient {
    fn stored(&self) -> String {
        match self {
            Recipient::Reporter => "reporter".to_owned(),
            Recipient::Recovery => "recovery".to_owned(),
            Recipient::User(id) => format!("user:{id}"),
        }
    }

    fn from_stored(text: &str) -> Result<Recipient, StoreError> {
        match text {
            "reporter" => Ok(Recipient::Reporter),
            "recovery" => Ok(Recipient::Recovery),
            other => other
                .strip_prefix("user:")
                .map(|id| Recipient::User(UserId::from_stored(id.to_owned())))
                .ok_or_else(|| StoreError::Corrupt(format!("unknown wrap recipient {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrap {
    pub case_id: CaseId,
    pub recipient: Recipient,
    pub key_kind: KeyKind,
    pub wrapped: Vec<u8>,
    pub granted_by: Option<UserId>,
    pub granted_on: Date,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = key_wraps)]
struct WrapRow {
    case_id: String,
    recipient: String,
    key_kind: String,
    wrapped: Vec<u8>,
    granted_by: Option<String>,
    granted_on: Date,
}

impl TryFrom<WrapRow> for Wrap {
    type Error = StoreError;

    fn try_from(row: WrapRow) -> Result<Wrap, StoreError> {
        Ok(Wrap {
            case_id: CaseId::from_stored(row.case_id),
            recipient: Recipient::from_stored(&row.recipient)?,
            key_kind: match row.key_kind.as_str() {
                "case" => KeyKind::Case,
                "identity" => KeyKind::Identity,
                other => return Err(StoreError::Corrupt(format!("unknown key kind {other:?}"))),
            },
            wrapped: row.wrapped,
            granted_by: row.granted_by.map(UserId::from_stored),
            granted_on: row.granted_on,
        })
    }
}

pub fn insert(tx: &mut Tx, wrap: &Wrap) -> Result<(), StoreError> {
    diesel::insert_into(key_wraps::table)
        .values(WrapRow {
            case_id: wrap.case_id.as_str().to_owned(),
            recipient: wrap.recipient.stored(),
            key_kind: wrap.key_kind.as_str().to_owned(),
            wrapped: wrap.wrapped.clone(),
            granted_by: wrap.granted_by.as_ref().map(|id| id.as_str().to_owned()),
            granted_on: wrap.granted_on,
        })
        .execute(tx)
        .map_err(|error| StoreError::from(error).duplicate_as("that grant"))?;
    Ok(())
}

pub fn find(
    tx: &mut Tx,
    case: &CaseId,
    recipient: &Recipient,
    kind: KeyKind,
) -> Result<Option<Wrap>, StoreError> {
    key_wraps::table
        .filter(key_wraps::case_id.eq(case.as_str()))
        .filter(key_wraps::recipient.eq(recipient.stored()))
        .filter(key_wraps::key_kind.eq(kind.as_str()))
        .select(WrapRow::as_select())
        .first(tx)
        .optional()?
        .map(Wrap::try_from)
        .transpose()
}

/// Deletes the recipient's wraps of the given kinds; answers how many went.
pub fn delete(
    tx: &mut Tx,
    case: &CaseId,
    recipient: &Recipient,
    kinds: &[KeyKind],
) -> Result<usize, StoreError> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    Ok(diesel::delete(
        key_wraps::table
            .filter(key_wraps::case_id.eq(case.as_str()))
            .filter(key_wraps::recipient.eq(recipient.stored()))
            .filter(key_wraps::key_kind.eq_any(kinds)),
    )
    .execute(tx)?)
}

/// Everyone holding a wrap on the case.
pub fn for_case(tx: &mut Tx, case: &CaseId) -> Result<Vec<Wrap>, StoreError> {
    key_wraps::table
        .filter(key_wraps::case_id.eq(case.as_str()))
        .order((key_wraps::key_kind.asc(), key_wraps::granted_on.asc()))
        .select(WrapRow::as_select())
        .load(tx)?
        .into_iter()
        .map(Wrap::try_from)
        .collect()
}

/// The cases a handler holds the case key of.
pub fn cases_held_by(tx: &mut Tx, user: &UserId) -> Result<Vec<CaseId>, StoreError> {
    Ok(key_wraps::table
        .filter(key_wraps::recipient.eq(Recipient::User(user.clone()).stored()))
        .filter(key_wraps::key_kind.eq(KeyKind::Case.as_str()))
        .select(key_wraps::case_id)
        .load::<String>(tx)?
        .into_iter()
        .map(CaseId::from_stored)
        .collect())
}

/// Deletes every wrap a handler holds (their key pair was replaced, so none can be opened).
pub fn delete_all_for(tx: &mut Tx, user: &UserId) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        key_wraps::table.filter(key_wraps::recipient.eq(Recipient::User(user.clone()).stored())),
    )
    .execute(tx)?)
}
