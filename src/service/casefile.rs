//! What every case use case needs: the organisation's calendar, the procedure replayed from the
//! stored events, and sealing helpers that bind content to its case and record.

use serde::{Serialize, de::DeserializeOwned};
use time::Date;

use super::ServiceError;
use super::accounts::crypto_failure;
use super::content::EventContent;
use crate::crypto::{self, Aad, DataKey, Provenance, PublicKey, RecordKind, Secret};
use crate::ids::{CaseId, RecordId, UserId};
use crate::model::Author;
use crate::procedure::{
    self, Calendar, CalendarChange, CalendarChangeKind, CaseProcedure, DayOneRule,
};
use crate::store::Tx;
use crate::store::cases::{self, Case, NewRecord, SealedRecord};
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

/// The associated-data format every new case record is sealed with (see [`append_sealed`]).
pub const RECORD_AAD_VERSION: i32 = 2;

/// A case record about to be written: everything but its position, which the store gives it.
pub struct RecordDraft<'a> {
    pub id: &'a RecordId,
    pub case_id: &'a CaseId,
    pub kind: RecordKind,
    pub author: Author,
    pub author_user_id: Option<&'a UserId>,
    /// The procedure event a letter belongs to.
    pub event_id: Option<&'a str>,
    pub written_on: Date,
}

/// Seals `value` as the case's next record and stores it. The associated data binds the case,
/// kind and id, and also who wrote it, its event, its position in the case and its day, so a
/// database writer who relabels, moves or reorders it breaks the seal.
pub fn append_sealed<T: Serialize>(
    tx: &mut Tx,
    key: &DataKey,
    draft: &RecordDraft<'_>,
    value: &T,
) -> Result<i32, ServiceError> {
    let seq = cases::take_record_seq(tx, draft.case_id)?;
    let written_on = day_text(draft.written_on);
    let aad = Aad::new(draft.case_id.as_str(), draft.kind, draft.id.as_str()).with_provenance(
        Provenance {
            author: draft.author.as_str(),
            author_user_id: draft.author_user_id.map(UserId::as_str),
            event_id: draft.event_id,
            position: i64::from(seq),
            written_on: &written_on,
        },
    );
    let sealed = seal_value(key, &aad, value)?;
    cases::insert_record(
        tx,
        &NewRecord {
            id: draft.id,
            case_id: draft.case_id,
            seq,
            kind: draft.kind.as_str(),
            author: draft.author,
            author_user_id: draft.author_user_id,
            event_id: draft.event_id,
            sealed: &sealed,
            created_on: draft.written_on,
            aad_version: RECORD_AAD_VERSION,
        },
    )?;
    Ok(seq)
}

/// Seals a value kept outside `sealed_records` (an identity request's reason), bound to its
/// case, kind and id (associated-data format 1).
pub fn seal_json<T: Serialize>(
    key: &DataKey,
    case_id: &str,
    kind: RecordKind,
    record_id: &str,
    value: &T,
) -> Result<Vec<u8>, ServiceError> {
    seal_value(key, &Aad::new(case_id, kind, record_id), value)
}

fn seal_value<T: Serialize>(
    key: &DataKey,
    aad: &Aad<'_>,
    value: &T,
) -> Result<Vec<u8>, ServiceError> {
    let plaintext = Secret::new(
        serde_json::to_vec(value).map_err(|error| ServiceError::Internal(error.to_string()))?,
    );
    crypto::seal(key, aad, plaintext.expose_secret()).map_err(crypto_failure)
}

/// A day as bound into associated data: `YYYY-MM-DD`, independent of any formatting setting.
pub(super) fn day_text(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// Opens a sealed record as `T`, with the associated data its stored format names. A record
/// that does not open under a key that opens the case was changed in the database (relabelled,
/// moved, reordered, redated or edited): [`ServiceError::Tampered`], never shown.
pub fn open_json<T: DeserializeOwned>(
    key: &DataKey,
    record: &SealedRecord,
    kind: RecordKind,
) -> Result<T, ServiceError> {
    let tampered = || {
        ServiceError::Tampered(format!(
            "sealed record {} of case {} does not open with its stored labels",
            record.id, record.case_id
        ))
    };
    let base = Aad::new(record.case_id.as_str(), kind, record.id.as_str());
    let written_on = day_text(record.created_on);
    let aad = match record.aad_version {
        1 => base,
        RECORD_AAD_VERSION => base.with_provenance(Provenance {
            author: record.author.as_str(),
            author_user_id: record.author_user_id.as_ref().map(UserId::as_str),
            event_id: record.event_id.as_deref(),
            position: i64::from(record.seq),
            written_on: &written_on,
        }),
        _ => return Err(tampered()),
    };
    let plaintext = crypto::open(key, &aad, &record.sealed).map_err(|_| tampered())?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_are_bound_in_one_fixed_form() {
        assert_eq!(day_text(date!(2026 - 01 - 05)), "2026-01-05");
        assert_eq!(day_text(date!(2026 - 12 - 31)), "2026-12-31");
        assert_eq!(day_text(date!(0999 - 03 - 04)), "0999-03-04");
    }
}

/// A letter the server writes when a reader opens the case, for a reporter's request that has
/// no sealed letter: stage 2 or a withdrawal asked for from a browser that opened the mailbox
/// itself (the server held no key to seal one then). Such a letter says nothing but the step
/// and its dates, which the server records in the clear anyway, so writing it again on each
/// view reveals nothing and cannot be altered by whoever made the request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestLetter {
    pub event_id: String,
    pub written_on: Date,
    pub letter: String,
}

/// The letters of the reporter's own requests in `history` that no sealed record carries.
pub fn request_letters_without_records(
    history: &[StoredEvent],
    records: &[SealedRecord],
    calendar: &Calendar,
    settings: &procedure::Settings,
) -> Result<Vec<RequestLetter>, ServiceError> {
    let mut letters = Vec::new();
    for (index, stored) in history.iter().enumerate() {
        let asked_by_reporter = stored.actor.is_none()
            && matches!(
                stored.event.kind,
                procedure::EventKind::Stage2 {
                    reason: procedure::EscalationReason::ReporterRequested
                } | procedure::EventKind::Withdraw
            );
        let has_record = records.iter().any(|record| {
            record.kind == RecordKind::EventText.as_str()
                && record.event_id.as_deref() == Some(stored.id.as_str())
        });
        if !asked_by_reporter || has_record {
            continue;
        }
        let before = replay(&history[..index], calendar, settings)?;
        let after = replay(&history[..=index], calendar, settings)?;
        let letter = procedure::letters::letter(
            &stored.event.kind,
            &procedure::letters::LetterFacts {
                due: after.due(),
                state_before: Some(before.state()),
                requested_by_reporter: true,
                ..procedure::letters::LetterFacts::default()
            },
        );
        if let Some(letter) = letter {
            letters.push(RequestLetter {
                event_id: stored.id.as_str().to_owned(),
                written_on: stored.event.on,
                letter,
            });
        }
    }
    Ok(letters)
}
