//! Procedure events: the dated facts a case's stage and deadlines are replayed from.

use diesel::prelude::*;
use time::Date;

use super::schema::procedure_events;
use super::{StoreError, Tx};
use crate::ids::{CaseId, EventId, UserId};
use crate::procedure::{EscalationReason, Event, EventKind, EventType, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub seq: i32,
    pub event: Event,
    pub actor: Option<UserId>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = procedure_events)]
struct EventRow {
    id: String,
    case_id: String,
    seq: i32,
    kind: String,
    occurred_on: Date,
    until_on: Option<Date>,
    outcome: Option<String>,
    escalation: Option<String>,
    actor_user_id: Option<String>,
}

fn parse_outcome(text: Option<&str>) -> Result<Outcome, StoreError> {
    Outcome::ALL
        .into_iter()
        .find(|outcome| Some(outcome.as_str()) == text)
        .ok_or_else(|| StoreError::Corrupt(format!("event outcome {text:?}")))
}

fn parse_escalation(text: Option<&str>) -> Result<EscalationReason, StoreError> {
    EscalationReason::ALL
        .into_iter()
        .find(|reason| Some(reason.as_str()) == text)
        .ok_or_else(|| StoreError::Corrupt(format!("escalation reason {text:?}")))
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<StoredEvent, StoreError> {
        let event_type = EventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == row.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {:?}", row.kind)))?;
        let kind = match event_type {
            EventType::Received => EventKind::Received,
            EventType::Acknowledge => EventKind::Acknowledge,
            EventType::Stage1 => EventKind::Stage1,
            EventType::Stage2 => EventKind::Stage2 {
                reason: parse_escalation(row.escalation.as_deref())?,
            },
            EventType::NotWhistleblowing => EventKind::NotWhistleblowing,
            EventType::Extend => EventKind::Extend {
                until: row
                    .until_on
                    .ok_or_else(|| StoreError::Corrupt("extension without a date".into()))?,
            },
            EventType::Update => EventKind::Update,
            EventType::Withdraw => EventKind::Withdraw,
            EventType::Close => EventKind::Close {
                outcome: parse_outcome(row.outcome.as_deref())?,
            },
        };
        Ok(StoredEvent {
            id: EventId::from_stored(row.id),
            seq: row.seq,
            event: Event::new(row.occurred_on, kind),
            actor: row.actor_user_id.map(UserId::from_stored),
        })
    }
}

/// Appends an event after the case's last one.
pub fn append(
    tx: &mut Tx,
    case: &CaseId,
    id: &EventId,
    event: &Event,
    actor: Option<&UserId>,
) -> Result<i32, StoreError> {
    let last: Option<i32> = procedure_events::table
        .filter(procedure_events::case_id.eq(case.as_str()))
        .select(diesel::dsl::max(procedure_events::seq))
        .first(tx)?;
    let seq = last.unwrap_or(0) + 1;
    let (until_on, outcome, escalation) = match event.kind {
        EventKind::Extend { until } => (Some(until), None, None),
        EventKind::Close { outcome } => (None, Some(outcome.as_str().to_owned()), None),
        EventKind::Stage2 { reason } => (None, None, Some(reason.as_str().to_owned())),
        _ => (None, None, None),
    };
    diesel::insert_into(procedure_events::table)
        .values(EventRow {
            id: id.as_str().to_owned(),
            case_id: case.as_str().to_owned(),
            seq,
            kind: event.kind.event_type().as_str().to_owned(),
            occurred_on: event.on,
            until_on,
            outcome,
            escalation,
            actor_user_id: actor.map(|id| id.as_str().to_owned()),
        })
        .execute(tx)
        // Two handlers recording an event at once: the unique (case, seq) refuses the second.
        .map_err(|error| StoreError::from(error).duplicate_as("a newer event on this case"))?;
    Ok(seq)
}

pub fn for_case(tx: &mut Tx, case: &CaseId) -> Result<Vec<StoredEvent>, StoreError> {
    procedure_events::table
        .filter(procedure_events::case_id.eq(case.as_str()))
        .order(procedure_events::seq.asc())
        .select(EventRow::as_select())
        .load(tx)?
        .into_iter()
        .map(StoredEvent::try_from)
        .collect()
}

/// Events of many cases at once, grouped by case (for inboxes and reports).
pub fn for_cases(
    tx: &mut Tx,
    cases: &[CaseId],
) -> Result<std::collections::HashMap<CaseId, Vec<StoredEvent>>, StoreError> {
    let ids: Vec<&str> = cases.iter().map(CaseId::as_str).collect();
    let rows = procedure_events::table
        .filter(procedure_events::case_id.eq_any(ids))
        .order((procedure_events::case_id.asc(), procedure_events::seq.asc()))
        .select(EventRow::as_select())
        .load(tx)?;
    let mut grouped: std::collections::HashMap<CaseId, Vec<StoredEvent>> =
        std::collections::HashMap::new();
    for row in rows {
        let case = CaseId::from_stored(row.case_id.clone());
        grouped
            .entry(case)
            .or_default()
            .push(StoredEvent::try_from(row)?);
    }
    Ok(grouped)
}

/// Every event of every case, grouped by case, in one query (for the reminder scan: a filter by
/// id would need one bound parameter per case).
pub fn all_grouped(
    tx: &mut Tx,
) -> Result<std::collections::HashMap<CaseId, Vec<StoredEvent>>, StoreError> {
    let rows = procedure_events::table
        .order((procedure_events::case_id.asc(), procedure_events::seq.asc()))
        .select(EventRow::as_select())
        .load(tx)?;
    let mut grouped: std::collections::HashMap<CaseId, Vec<StoredEvent>> =
        std::collections::HashMap::new();
    for row in rows {
        let case = CaseId::from_stored(row.case_id.clone());
        grouped
            .entry(case)
            .or_default()
            .push(StoredEvent::try_from(row)?);
    }
    Ok(grouped)
}
