//! The outbox: notices queued in the same transaction as the change that caused them, then
//! delivered by a worker. A row is claimed for a lease (its `next_attempt_at` moves forward), so
//! several instances on one PostgreSQL never take the same row at once (`FOR UPDATE SKIP
//! LOCKED`); SQLite has one writer at a time, which gives the same guarantee.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use super::connection::DbConnection;
use super::schema::{notice_preferences, outbox, users};
use super::{StoreError, Tx};
use crate::ids::{OrganisationId, UserId};

/// How long a claimed row is left alone before another worker may try it again. Far longer than
/// one SMTP exchange (which times out well within a minute), so a row is only taken twice when
/// the worker that claimed it died.
pub const CLAIM_LEASE: Duration = Duration::minutes(10);

/// First retry after this long, doubling each time up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::seconds(30);
pub const MAX_BACKOFF: Duration = Duration::hours(1);

/// A notice to queue: already rendered, and content-free by construction (see `notify::notice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub recipient: String,
    pub recipient_user: Option<UserId>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Waits for the recipient's daily digest instead of going out on its own.
    pub held_for_digest: bool,
}

/// A claimed row, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Including the attempt this claim starts.
    pub attempts: i32,
}

/// A notice that could not be delivered yet: what the admins' page lists (no subject, no body:
/// the kind of notice is enough to act on, and an admin need not learn case references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub id: String,
    pub recipient: String,
    pub kind: String,
    pub attempts: i32,
    pub last_error: String,
    pub next_attempt_at: PrimitiveDateTime,
}

/// A notice held for a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub created_at: PrimitiveDateTime,
}

/// Counts for `/healthz` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Waiting to be sent (including those failing and retrying).
    pub queued: i64,
    /// Of those, how many failed at their last attempt and are waiting for the next.
    pub failing: i64,
    /// Waiting for a daily digest.
    pub held: i64,
}

/// Delivery preference for notices that are not urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryPreference {
    #[default]
    Immediate,
    DailyDigest,
}

impl DeliveryPreference {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::DailyDigest => "daily_digest",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "immediate" => Some(Self::Immediate),
            "daily_digest" => Some(Self::DailyDigest),
            _ => None,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
// COPY has no DEFAULT: a `None` is written as NULL (the columns' default anyway).
#[diesel(treat_none_as_default_value = false)]
struct OutboxRow<'a> {
    id: &'a str,
    recipient: &'a str,
    subject: &'a str,
    body: &'a str,
    created_at: PrimitiveDateTime,
    attempts: i32,
    next_attempt_at: PrimitiveDateTime,
    kind: &'a str,
    recipient_user_id: Option<&'a str>,
    held_for_digest: bool,
}

/// Queues a notice inside the caller's write transaction, so it is committed (or rolled back)
/// together with the change it reports. Answers the new row's id.
pub fn enqueue(
    tx: &mut Tx,
    message: &NewMessage,
    now: PrimitiveDateTime,
) -> Result<String, StoreError> {
    let id = crate::crypto::random_id();
    diesel::insert_into(outbox::table)
        .values(OutboxRow {
            id: &id,
            recipient: &message.recipient,
            subject: &message.subject,
            body: &message.body,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            kind: &message.kind,
            recipient_user_id: message.recipient_user.as_ref().map(UserId::as_str),
            held_for_digest: message.held_for_digest,
        })
        .execute(tx)?;
    Ok(id)
}

/// Queues many notices at once (the reminder scan's way): on SQLite with multi-row inserts, on
/// PostgreSQL with one `COPY`. Answers the new rows' ids, in order.
///
/// The ids of one call are 32 hex digits like any other: a random 96-bit prefix shared by the
/// call, then the row's position (8 digits). So one call's rows sit side by side in the primary
/// key's index. With 128 random bits each, every row landed on a different page of that index
/// (hundreds of thousands of rows): a scan's chunk of 2 000 notices rewrote about as many index
/// pages, and on SQLite writing those pages to the WAL was most of the scan's time.
pub fn enqueue_all(
    tx: &mut Tx,
    messages: &[NewMessage],
    now: PrimitiveDateTime,
) -> Result<Vec<String>, StoreError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let batch = crate::crypto::random_id();
    let prefix = batch.get(..24).unwrap_or(&batch);
    let ids: Vec<String> = (0..messages.len())
        .map(|index| format!("{prefix}{index:08x}"))
        .collect();
    let rows: Vec<OutboxRow<'_>> = messages
        .iter()
        .zip(&ids)
        .map(|(message, id)| OutboxRow {
            id,
            recipient: &message.recipient,
            subject: &message.subject,
            body: &message.body,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            kind: &message.kind,
            recipient_user_id: message.recipient_user.as_ref().map(UserId::as_str),
            held_for_digest: message.held_for_digest,
        })
        .collect();
    match tx {
        DbConnection::Sqlite(sqlite) => {
            // Ten columns a row: 1 000 rows stay well below SQLite's bound-parameter limit.
            for chunk in rows.chunks(1_000) {
                diesel::insert_into(outbox::table)
                    .values(chunk)
                    .execute(sqlite)?;
            }
        }
        // COPY skips parsing and planning a statement with thousands of parameters.
        DbConnection::Postgres(pg) => {
            diesel::copy_from(outbox::table)
                .from_insertable(&rows)
                .execute(pg)?;
        }
    }
    Ok(ids)
}

/// Claims up to `limit` due rows for this worker: each is leased until `now + CLAIM_LEASE` and
/// its attempt counted, in the caller's write transaction. Commit before sending.
pub fn claim_due(
    tx: &mut Tx,
    now: PrimitiveDateTime,
    limit: i64,
) -> Result<Vec<OutgoingMessage>, StoreError> {
    let due = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::held_for_digest.eq(false))
        .filter(outbox::next_attempt_at.le(now))
        .order((outbox::next_attempt_at.asc(), outbox::created_at.asc()))
        .select(outbox::id)
        .limit(limit);
    let ids: Vec<String> = match tx {
        // Rows another instance holds are skipped rather than waited for.
        DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set((
            outbox::next_attempt_at.eq(now + CLAIM_LEASE),
            outbox::attempts.eq(outbox::attempts + 1),
            // In flight, not failed: an admin's retry leaves it alone (see `retry_failed`).
            outbox::last_error.eq(None::<String>),
        ))
        .execute(tx)?;
    let rows: Vec<(String, String, String, String, String, i32)> = outbox::table
        .filter(outbox::id.eq_any(&ids))
        .select((
            outbox::id,
            outbox::recipient,
            outbox::kind,
            outbox::subject,
            outbox::body,
            outbox::attempts,
        ))
        .load(tx)?;
    let mut claimed: Vec<OutgoingMessage> = rows
        .into_iter()
        .map(
            |(id, recipient, kind, subject, body, attempts)| OutgoingMessage {
                id,
                recipient,
                kind,
                subject,
                body,
                attempts,
            },
        )
        .collect();
    // Keep the claim order (oldest due first).
    claimed.sort_by_key(|message| ids.iter().position(|id| *id == message.id));
    Ok(claimed)
}

/// Records a delivery. The body is cleared: once sent, the database need not keep even the
/// console link (an enrolment link is a secret until used).
pub fn mark_sent(tx: &mut Tx, id: &str, now: PrimitiveDateTime) -> Result<(), StoreError> {
    diesel::update(outbox::table.find(id).filter(outbox::sent_at.is_null()))
        .set((
            outbox::sent_at.eq(Some(now)),
            outbox::body.eq(""),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(tx)?;
    Ok(())
}

/// Records a failed attempt and schedules the next one with exponential back-off. `error` must
/// not contain the body (the SMTP error text does not).
pub fn mark_failed(
    tx: &mut Tx,
    id: &str,
    error: &str,
    now: PrimitiveDateTime,
) -> Result<(), StoreError> {
    let attempts: Option<i32> = outbox::table
        .find(id)
        .filter(outbox::sent_at.is_null())
        .select(outbox::attempts)
        .first(tx)
        .optional()?;
    let Some(attempts) = attempts else {
        return Ok(());
    };
    let error: String = error.chars().take(500).collect();
    diesel::update(outbox::table.find(id))
        .set((
            outbox::last_error.eq(Some(error)),
            outbox::next_attempt_at.eq(now + backoff(attempts)),
        ))
        .execute(tx)?;
    Ok(())
}

/// The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, … capped at one hour.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let wait = FIRST_BACKOFF * 2_i32.pow(doublings);
    if wait > MAX_BACKOFF {
        MAX_BACKOFF
    } else {
        wait
    }
}

pub fn backlog(tx: &mut Tx) -> Result<Backlog, StoreError> {
    let unsent = outbox::table.filter(outbox::sent_at.is_null());
    let queued: i64 = unsent
        .filter(outbox::held_for_digest.eq(false))
        .count()
        .get_result(tx)?;
    let failing: i64 = unsent
        .filter(outbox::held_for_digest.eq(false))
        .filter(outbox::last_error.is_not_null())
        .count()
        .get_result(tx)?;
    let held: i64 = unsent
        .filter(outbox::held_for_digest.eq(true))
        .count()
        .get_result(tx)?;
    Ok(Backlog {
        queued,
        failing,
        held,
    })
}

/// Notices to people of `organisation` whose last attempt failed, oldest first. A notice without
/// an account behind it belongs to no organisation and is not listed (every notice the service
/// queues today has one).
pub fn failed_deliveries(
    tx: &mut Tx,
    organisation: &OrganisationId,
    limit: i64,
) -> Result<Vec<FailedDelivery>, StoreError> {
    let members = users::table
        .filter(users::organisation_id.eq(organisation.as_str()))
        .select(users::id.nullable());
    let rows: Vec<(
        String,
        String,
        String,
        i32,
        Option<String>,
        PrimitiveDateTime,
    )> = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::last_error.is_not_null())
        .filter(outbox::recipient_user_id.eq_any(members))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select((
            outbox::id,
            outbox::recipient,
            outbox::kind,
            outbox::attempts,
            outbox::last_error,
            outbox::next_attempt_at,
        ))
        .limit(limit)
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, recipient, kind, attempts, last_error, next_attempt_at)| FailedDelivery {
                id,
                recipient,
                kind,
                attempts,
                last_error: last_error.unwrap_or_default(),
                next_attempt_at,
            },
        )
        .collect())
}

/// Brings a failed notice to `organisation`'s people forward: it is due at `now` instead of at
/// the end of its back-off. Answers false when there is no such failed row: sent meanwhile, in
/// flight (a claim clears `last_error`, so a retry can never make a row go out twice), or another
/// organisation's.
pub fn retry_failed(
    tx: &mut Tx,
    organisation: &OrganisationId,
    id: &str,
    now: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let members = users::table
        .filter(users::organisation_id.eq(organisation.as_str()))
        .select(users::id.nullable());
    let updated = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::sent_at.is_null())
            .filter(outbox::last_error.is_not_null())
            .filter(outbox::recipient_user_id.eq_any(members)),
    )
    .set(outbox::next_attempt_at.eq(now))
    .execute(tx)?;
    Ok(updated == 1)
}

/// Recipients with notices waiting for a digest.
pub fn held_recipients(tx: &mut Tx) -> Result<Vec<(String, Option<String>)>, StoreError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::held_for_digest.eq(true))
        .select((outbox::recipient, outbox::recipient_user_id))
        .distinct()
        .order(outbox::recipient.asc())
        .load(tx)?)
}

/// The notices held for `recipient`, oldest first.
pub fn held_for(tx: &mut Tx, recipient: &str) -> Result<Vec<HeldMessage>, StoreError> {
    let rows: Vec<(String, String, String, PrimitiveDateTime)> = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::held_for_digest.eq(true))
        .filter(outbox::recipient.eq(recipient))
        .order(outbox::created_at.asc())
        .select((
            outbox::id,
            outbox::kind,
            outbox::subject,
            outbox::created_at,
        ))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, subject, created_at)| HeldMessage {
            id,
            kind,
            subject,
            created_at,
        })
        .collect())
}

/// Marks held notices as delivered through the digest `digest_id` (queued by the caller in the
/// same transaction).
pub fn fold_into_digest(
    tx: &mut Tx,
    ids: &[String],
    digest_id: &str,
    now: PrimitiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::sent_at.is_null()),
    )
    .set((
        outbox::sent_at.eq(Some(now)),
        outbox::digest_id.eq(Some(digest_id)),
        outbox::body.eq(""),
    ))
    .execute(tx)?)
}

pub fn delivery_preference(tx: &mut Tx, user: &UserId) -> Result<DeliveryPreference, StoreError> {
    let stored: Option<String> = notice_preferences::table
        .find(user.as_str())
        .select(notice_preferences::delivery)
        .first(tx)
        .optional()?;
    match stored {
        None => Ok(DeliveryPreference::Immediate),
        Some(value) => DeliveryPreference::parse(&value).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown notice delivery preference {value:?}"))
        }),
    }
}

/// The preferences of `users` who chose the daily digest (everyone else gets notices at once).
pub fn digest_readers(
    tx: &mut Tx,
    users: &[&UserId],
) -> Result<std::collections::HashSet<UserId>, StoreError> {
    let mut readers = std::collections::HashSet::new();
    for chunk in users.chunks(5_000) {
        let ids: Vec<&str> = chunk.iter().map(|user| user.as_str()).collect();
        let found: Vec<String> = notice_preferences::table
            .filter(notice_preferences::user_id.eq_any(ids))
            .filter(notice_preferences::delivery.eq(DeliveryPreference::DailyDigest.as_str()))
            .select(notice_preferences::user_id)
            .load(tx)?;
        readers.extend(found.into_iter().map(UserId::from_stored));
    }
    Ok(readers)
}

pub fn set_delivery_preference(
    tx: &mut Tx,
    user: &UserId,
    preference: DeliveryPreference,
) -> Result<(), StoreError> {
    let updated = diesel::update(notice_preferences::table.find(user.as_str()))
        .set(notice_preferences::delivery.eq(preference.as_str()))
        .execute(tx)?;
    if updated == 0 {
        diesel::insert_into(notice_preferences::table)
            .values((
                notice_preferences::user_id.eq(user.as_str()),
                notice_preferences::delivery.eq(preference.as_str()),
            ))
            .execute(tx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_and_stops_at_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::minutes(1));
        assert_eq!(backoff(3), Duration::minutes(2));
        assert_eq!(backoff(7), Duration::minutes(32));
        assert_eq!(backoff(8), Duration::hours(1));
        assert_eq!(backoff(1_000), Duration::hours(1));
        assert_eq!(backoff(i32::MAX), Duration::hours(1));
    }

    #[test]
    fn preferences_round_trip_and_refuse_unknown_values() {
        for preference in [
            DeliveryPreference::Immediate,
            DeliveryPreference::DailyDigest,
        ] {
            assert_eq!(
                DeliveryPreference::parse(preference.as_str()),
                Some(preference)
            );
        }
        assert_eq!(DeliveryPreference::parse("weekly"), None);
    }
}
