//! Recording procedure events: checked by the pure state machine, written with the letter the
//! reporter will read (sealed like any case content), the learning a closure records, and an
//! audit entry — one transaction.

use serde::Serialize;
use time::Date;

use super::casefile::{self, RecordDraft};
use super::casework::{audit_case, open_case};
use super::content::EventContent;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::RecordKind;
use crate::ids::{EventId, RecordId};
use crate::model::Author;
use crate::procedure::letters::{self, LetterFacts};
use crate::procedure::{
    Due, EscalationReason, Event, EventKind, EventType, NotWhistleblowingKind, Outcome,
    ProcedureError, State,
};
use crate::store::cases;
use crate::store::events;
use crate::store::learning::{self, LearningEntry};

const MAX_TEXT: usize = 10_000;

/// A handler's request to record an event, from the console or the API.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub event_type: EventType,
    /// Defaults to today; may be earlier (recorded late) but not before the last event.
    pub on: Option<Date>,
    pub until: Option<Date>,
    pub escalation: Option<EscalationReason>,
    pub outcome: Option<Outcome>,
    pub not_whistleblowing: Option<NotWhistleblowingKind>,
    /// Why: the extension's reason, the escalation's, or why it is not whistleblowing.
    pub reason: String,
    /// Who authorised an extension (name and role).
    pub authorised_by: String,
    pub findings: String,
    pub actions: String,
    pub learning: String,
    pub learning_publishable: bool,
    /// Words for the reporter (required for an update).
    pub message: String,
    /// The points a stage 2 investigation will look into, for its acknowledgement letter.
    pub points: String,
}

impl EventInput {
    pub fn new(event_type: EventType) -> EventInput {
        EventInput {
            event_type,
            on: None,
            until: None,
            escalation: None,
            outcome: None,
            not_whistleblowing: None,
            reason: String::new(),
            authorised_by: String::new(),
            findings: String::new(),
            actions: String::new(),
            learning: String::new(),
            learning_publishable: false,
            message: String::new(),
            points: String::new(),
        }
    }
}

/// The case's position after the event.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub stage: &'static str,
    pub status: &'static str,
    pub state: &'static str,
    pub due: Due,
}

fn required(field: &'static str, value: &str) -> Result<(), ServiceError> {
    if value.trim().is_empty() {
        Err(ServiceError::invalid(
            "missing_field",
            format!("{field} is needed for this step"),
        ))
    } else {
        Ok(())
    }
}

fn procedure_refusal(error: ProcedureError) -> ServiceError {
    match error {
        ProcedureError::NotAllowed { .. } | ProcedureError::AlreadyAcknowledged => {
            ServiceError::Conflict {
                code: error.code(),
                message: error.to_string(),
            }
        }
        other => ServiceError::invalid(other.code(), other.to_string()),
    }
}

fn check_lengths(input: &EventInput) -> Result<(), ServiceError> {
    for (field, value) in [
        ("reason", &input.reason),
        ("authorised by", &input.authorised_by),
        ("findings", &input.findings),
        ("actions", &input.actions),
        ("learning", &input.learning),
        ("message", &input.message),
        ("points to investigate", &input.points),
    ] {
        if value.chars().count() > MAX_TEXT || value.contains('\0') {
            return Err(ServiceError::invalid(
                "field_too_long",
                format!("{field} can be at most {MAX_TEXT} characters"),
            ));
        }
    }
    Ok(())
}

/// Turns the request into an event, given the case's current state.
fn event_kind(input: &EventInput, state: State) -> Result<EventKind, ServiceError> {
    Ok(match input.event_type {
        EventType::Received => {
            return Err(ServiceError::invalid(
                "not_allowed",
                "a concern's receipt is recorded when it arrives",
            ));
        }
        EventType::Acknowledge => EventKind::Acknowledge,
        EventType::Stage1 => EventKind::Stage1,
        EventType::Stage2 => EventKind::Stage2 {
            reason: input.escalation.unwrap_or(match state {
                State::Received => EscalationReason::Complex,
                State::Stage1Closed => EscalationReason::ReporterRequested,
                _ => EscalationReason::Escalated,
            }),
        },
        EventType::NotWhistleblowing => {
            if input.not_whistleblowing.is_none() {
                return Err(ServiceError::invalid(
                    "missing_field",
                    "say which procedure the concern belongs to instead (grievance, patient complaint, adult or child protection)",
                ));
            }
            EventKind::NotWhistleblowing
        }
        EventType::Extend => {
            let until = input.until.ok_or_else(|| {
                ServiceError::invalid("missing_field", "the new date is needed for this step")
            })?;
            required("the reason for the extension", &input.reason)?;
            required("who authorised the extension", &input.authorised_by)?;
            EventKind::Extend { until }
        }
        EventType::Update => {
            required("the update for the reporter", &input.message)?;
            EventKind::Update
        }
        EventType::Withdraw => {
            // A concern leaves the figures as withdrawn only for a reason on record: the
            // reporter's own request (from the mailbox, or told to a handler) or another one
            // the reporter will read.
            required(
                "why the concern is withdrawn (for example: the reporter asked by phone on …)",
                &input.reason,
            )?;
            EventKind::Withdraw
        }
        EventType::Close => {
            let outcome = input.outcome.ok_or_else(|| {
                ServiceError::invalid(
                    "missing_field",
                    "choose the outcome: upheld, partially upheld or not upheld",
                )
            })?;
            if state == State::Stage2 {
                required(
                    "the findings (a stage 2 decision states them)",
                    &input.findings,
                )?;
            }
            EventKind::Close { outcome }
        }
    })
}

fn quarter_of(date: Date) -> String {
    format!("{}-Q{}", date.year(), (u8::from(date.month()) - 1) / 3 + 1)
}

impl Portal {
    pub fn record_event(
        &self,
        handler: &Handler,
        reference: &str,
        input: EventInput,
    ) -> Result<Recorded, ServiceError> {
        check_lengths(&input)?;
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        let event_id = EventId::generate();
        let record_id = RecordId::generate();
        self.store.write(|tx| {
            let open = open_case(tx, handler, reference)?;
            // Two steps recorded at once (two handlers, a double click) must not both pass.
            cases::lock(tx, &open.case.id)?;
            let calendar = casefile::calendar_for(tx, &open.organisation)?;
            let settings = casefile::procedure_settings(&open.organisation);
            let history = events::for_case(tx, &open.case.id)?;
            let before = casefile::replay(&history, &calendar, &settings)?;
            let kind = event_kind(&input, before.state())?;
            let event = Event::new(input.on.unwrap_or(today), kind);
            let after = before
                .apply(event, &calendar, today)
                .map_err(procedure_refusal)?;
            events::append(tx, &open.case.id, &event_id, &event, Some(&handler.user.id))?;
            super::schedule::reschedule(tx, &open.case.id, &open.organisation)?;

            let contact = format!(
                "{}{}",
                handler.user.display_name,
                if handler.user.job_title.is_empty() {
                    String::new()
                } else {
                    format!(", {}", handler.user.job_title)
                }
            );
            let letter = letters::letter(
                &kind,
                &LetterFacts {
                    due: after.due(),
                    state_before: Some(before.state()),
                    reason: &input.reason,
                    findings: &input.findings,
                    actions: &input.actions,
                    message: &input.message,
                    not_whistleblowing: input.not_whistleblowing,
                    contact: &contact,
                    requested_by_reporter: false,
                    authorised_by: &input.authorised_by,
                    points: &input.points,
                },
            );
            if let Some(letter) = letter {
                let detail = [
                    ("Points to investigate", input.points.trim()),
                    ("Reason", input.reason.trim()),
                    ("Findings", input.findings.trim()),
                    ("Actions", input.actions.trim()),
                    ("Learning", input.learning.trim()),
                ]
                .iter()
                .filter(|(_, text)| !text.is_empty())
                .map(|(label, text)| format!("{label}: {text}"))
                .collect::<Vec<_>>()
                .join("\n\n");
                let content = EventContent {
                    letter,
                    detail,
                    authorised_by: input.authorised_by.trim().to_owned(),
                    not_whistleblowing: input.not_whistleblowing,
                };
                casefile::append_sealed(
                    tx,
                    &open.key,
                    &RecordDraft {
                        id: &record_id,
                        case_id: &open.case.id,
                        kind: RecordKind::EventText,
                        author: Author::System,
                        author_user_id: Some(&handler.user.id),
                        event_id: Some(event_id.as_str()),
                        written_on: today,
                    },
                    &content,
                )?;
            }
            if let EventKind::Close { .. } = kind
                && !input.learning.trim().is_empty()
            {
                learning::insert(
                    tx,
                    &LearningEntry {
                        id: crate::crypto::random_id(),
                        organisation_id: open.organisation.id.as_str().to_owned(),
                        service: open.case.service.clone(),
                        stage: if before.state() == State::Stage2 {
                            "stage2"
                        } else {
                            "stage1"
                        }
                        .to_owned(),
                        quarter: quarter_of(event.on),
                        body: input.learning.trim().to_owned(),
                        publishable: input.learning_publishable,
                    },
                )?;
            }
            audit_case(
                tx,
                handler,
                &open.case,
                "event_recorded",
                None,
                format!("type={}", kind.event_type().as_str()),
                now,
            )?;
            Ok(Recorded {
                stage: after.stage().as_str(),
                status: after.status().as_str(),
                state: after.state().as_str(),
                due: after.due(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn quarters_are_calendar_quarters() {
        assert_eq!(quarter_of(date!(2026 - 01 - 01)), "2026-Q1");
        assert_eq!(quarter_of(date!(2026 - 03 - 31)), "2026-Q1");
        assert_eq!(quarter_of(date!(2026 - 04 - 01)), "2026-Q2");
        assert_eq!(quarter_of(date!(2026 - 12 - 31)), "2026-Q4");
    }

    #[test]
    fn stage2_escalation_reason_follows_the_state() {
        let input = EventInput::new(EventType::Stage2);
        assert_eq!(
            event_kind(&input, State::Received).unwrap(),
            EventKind::Stage2 {
                reason: EscalationReason::Complex
            }
        );
        assert_eq!(
            event_kind(&input, State::Stage1Closed).unwrap(),
            EventKind::Stage2 {
                reason: EscalationReason::ReporterRequested
            }
        );
        assert_eq!(
            event_kind(&input, State::Stage1).unwrap(),
            EventKind::Stage2 {
                reason: EscalationReason::Escalated
            }
        );
    }

    #[test]
    fn required_details_are_enforced() {
        assert!(event_kind(&EventInput::new(EventType::Extend), State::Stage1).is_err());
        assert!(event_kind(&EventInput::new(EventType::Update), State::Stage2).is_err());
        assert!(event_kind(&EventInput::new(EventType::Close), State::Stage1).is_err());
        assert!(
            event_kind(
                &EventInput::new(EventType::NotWhistleblowing),
                State::Received
            )
            .is_err()
        );
        let mut close = EventInput::new(EventType::Close);
        close.outcome = Some(Outcome::Upheld);
        assert!(event_kind(&close, State::Stage1).is_ok());
        assert!(
            event_kind(&close, State::Stage2).is_err(),
            "stage 2 needs findings"
        );
        close.findings = "Found.".into();
        assert!(event_kind(&close, State::Stage2).is_ok());
        assert!(event_kind(&EventInput::new(EventType::Received), State::Received).is_err());
        let mut withdraw = EventInput::new(EventType::Withdraw);
        assert!(
            event_kind(&withdraw, State::Stage1).is_err(),
            "a withdrawal needs a reason"
        );
        withdraw.reason = "The reporter asked by phone.".into();
        assert!(event_kind(&withdraw, State::Stage1).is_ok());
    }
}
