//! What every case use case needs: the organisation's calendar, the procedure replayed from the
//! stored events, and sealing helpers that bind content to its case and record.

use serde::{Serialize, de::DeserializeOwned};

use super::ServiceError;
use super::accounts::crypto_failure;
use super::content::EventContent;
use crate::crypto::{self, Aad, DataKey, PublicKey, RecordKind, Secret};
use crate::procedure::{
    self, Calendar, CalendarChange, CalendarChangeKind, CaseProcedure, DayOneRule,
};
use crate::store::Tx;
use crate::store::cases::{Case, SealedRecord};
use crate::store::events::StoredEvent;
use crate::store::organisations::{self, HolidayChange, HolidayOverride, Organisation};

pub fn calendar_for(tx: &mut Tx, organisation: &Organisation) -> Result<Calendar, ServiceError> {
    let history = calendar_history(&organisations::holidays(tx, &organisation.id)?);
    let rule_changes = organisations::day_one_rule_changes(tx, &organisation.id)?;
    // Before the first change, the rule that change replaced was in force.
    let first_rule = rule_changes
        .first()
        .map_or(organisation.day_one_rule.as_str(), |c| {
            c.previous_rule.as_str()
        });
    Ok(
        Calendar::from_history(day_one_rule(first_rule), &history).with_day_one_rule_changes(
            rule_changes
                .iter()
                .map(|change| (change.from_day, day_one_rule(&change.rule))),
        ),
    )
}

fn day_one_rule(stored: &str) -> DayOneRule {
    match stored {
        "next_working_day" => DayOneRule::NextWorkingDay,
        _ => DayOneRule::ReceiptOrNextWorkingDay,
    }
}

/// The stored calendar changes in the procedure's terms.
pub fn calendar_history(overrides: &[HolidayOverride]) -> Vec<CalendarChange> {
    overrides
        .iter()
        .map(|o| CalendarChange {
            date: o.day,
            kind: match o.change {
                HolidayChange::Add => CalendarChangeKind::Closed {
                    label: o.label.clone(),
                },
                HolidayChange::Remove => CalendarChangeKind::Worked,
            },
            recorded_on: o.recorded_on,
            withdrawn_on: o.withdrawn_on,
        })
        .collect()
}

pub fn procedure_settings(organisation: &Organisation) -> procedure::Settings {
    procedure::Settings::new(organisation.stage1_extension_cap).unwrap_or_default()
}

/// Replays a stored history. Stored events were validated when recorded; replaying them
/// without today's checks means a later holiday change cannot make an old case unreadable.
pub fn replay(
    events: &[StoredEvent],
    calendar: &Calendar,
    settings: &procedure::Settings,
) -> Result<CaseProcedure, ServiceError> {
    let events: Vec<procedure::Event> = events.iter().map(|stored| stored.event).collect();
    CaseProcedure::from_recorded(&events, calendar, settings)
        .map_err(|error| ServiceError::Internal(format!("stored procedure history: {error}")))
}

/// Seals a serializable value as a record of `kind` in `case_id`.
pub fn seal_json<T: Serialize>(
    key: &DataKey,
    case_id: &str,
    kind: RecordKind,
    record_id: &str,
    value: &T,
) -> Result<Vec<u8>, ServiceError> {
    let plaintext = Secret::new(
        serde_json::to_vec(value).map_err(|error| ServiceError::Internal(error.to_string()))?,
    );
    crypto::seal(
        key,
        &Aad::new(case_id, kind, record_id),
        plaintext.expose_secret(),
    )
    .map_err(crypto_failure)
}

/// Opens a sealed record as `T`; a record that does not open is an internal error (the key
/// was right, so the data has been tampered with).
pub fn open_json<T: DeserializeOwned>(
    key: &DataKey,
    record: &SealedRecord,
    kind: RecordKind,
) -> Result<T, ServiceError> {
    let plaintext = crypto::open(
        key,
        &Aad::new(record.case_id.as_str(), kind, record.id.as_str()),
        &record.sealed,
    )
    .map_err(|_| {
        ServiceError::Internal(format!(
            "sealed record {} of case {} does not open",
            record.id, record.case_id
        ))
    })?;
    serde_json::from_slice(plaintext.expose_secret())
        .map_err(|error| ServiceError::Internal(format!("sealed record format: {error}")))
}

/// The procedure named in the latest "not whistleblowing" decision, if one was recorded.
pub fn not_whistleblowing_kind(
    records: &[SealedRecord],
    key: &DataKey,
) -> Result<Option<procedure::NotWhistleblowingKind>, ServiceError> {
    for record in records
        .iter()
        .rev()
        .filter(|record| record.kind == RecordKind::EventText.as_str())
    {
        let content: EventContent = open_json(key, record, RecordKind::EventText)?;
        if content.not_whistleblowing.is_some() {
            return Ok(content.not_whistleblowing);
        }
    }
    Ok(None)
}

/// A public key as stored (users, organisations' recovery keys).
pub fn stored_public_key(bytes: &[u8]) -> Result<PublicKey, ServiceError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ServiceError::Internal("stored public key has the wrong length".into()))?;
    Ok(PublicKey::from_bytes(bytes))
}

pub fn organisation(tx: &mut Tx, slug: &str) -> Result<Organisation, ServiceError> {
    organisations::find_by_slug(tx, slug)?.ok_or_else(|| {
        ServiceError::invalid(
            "unknown_organisation",
            "choose one of the organisations listed",
        )
    })
}

/// The organisation a stored case belongs to.
pub fn organisation_of(tx: &mut Tx, case: &Case) -> Result<Organisation, ServiceError> {
    organisations::find(tx, &case.organisation_id)?
        .ok_or_else(|| ServiceError::Internal("case without organisation".into()))
}
