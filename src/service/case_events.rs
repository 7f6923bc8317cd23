//! Recording procedure events: checked by the pure state machine, written with the letter the
//! reporter will read (sealed like any case content), the learning a closure records, and an
//! audit entry — one transaction.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::Date;

use super::casefile::{self, RECORD_AAD_VERSION, RecordDraft};
use super::casework::{audit_case, find_held_case, open_case};
use super::content::EventContent;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::RecordKind;
use crate::ids::{EventId, RecordId};
use crate::model::Author;
use crate::procedure::steps::{self, StepFacts, StepWords};
use crate::procedure::{
    CaseProcedure, Due, EscalationReason, Event, EventKind, EventType, NotWhistleblowingKind,
    Outcome, ProcedureError, State,
};
use crate::store::Tx;
use crate::store::cases::{self, Case, NewRecord};
use crate::store::events;
use crate::store::learning::{self, LearningEntry};
use crate::store::organisations::Organisation;

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

impl EventInput {
    /// The handler's words, which a browser session keeps to itself.
    fn words(&self) -> StepWords<'_> {
        StepWords {
            reason: &self.reason,
            authorised_by: &self.authorised_by,
            findings: &self.findings,
            actions: &self.actions,
            learning: &self.learning,
            message: &self.message,
            points: &self.points,
        }
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

/// Turns the request into an event, given the case's current state, and checks that the words
/// the step needs are there.
fn event_kind(input: &EventInput, state: State) -> Result<EventKind, ServiceError> {
    let kind = step_kind(input, state)?;
    if let Some(missing) = steps::missing_words(&kind, state, &input.words()) {
        return Err(ServiceError::invalid(
            "missing_field",
            format!("{missing} is needed for this step"),
        ));
    }
    Ok(kind)
}

/// The event from the request's facts alone (type, date, outcome, procedure): all a server
/// that does not see the words can check.
fn step_kind(input: &EventInput, state: State) -> Result<EventKind, ServiceError> {
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
            EventKind::Extend { until }
        }
        EventType::Update => EventKind::Update,
        // A concern leaves the figures as withdrawn only for a reason on record: the
        // reporter's own request (from the mailbox, or told to a handler) or another one the
        // reporter will read (checked with the other words, `steps::missing_words`).
        EventType::Withdraw => EventKind::Withdraw,
        EventType::Close => {
            let outcome = input.outcome.ok_or_else(|| {
                ServiceError::invalid(
                    "missing_field",
                    "choose the outcome: upheld, partially upheld or not upheld",
                )
            })?;
            EventKind::Close { outcome }
        }
    })
}

fn quarter_of(date: Date) -> String {
    format!("{}-Q{}", date.year(), (u8::from(date.month()) - 1) / 3 + 1)
}

/// A step checked against the case as it stands, before anything is written.
struct Plan {
    before: CaseProcedure,
    after: CaseProcedure,
    event: Event,
    facts: StepFacts,
}

/// The handler as letters name them: "Cora Contact, Confidential contact".
fn contact_of(handler: &Handler) -> String {
    format!(
        "{}{}",
        handler.user.display_name,
        if handler.user.job_title.is_empty() {
            String::new()
        } else {
            format!(", {}", handler.user.job_title)
        }
    )
}

/// Replays the case and applies the step to a copy: what the step is, and the facts its letter
/// is written from. Checks the facts only; the words are checked by the caller that has them.
fn plan(
    tx: &mut Tx,
    case: &Case,
    organisation: &Organisation,
    handler: &Handler,
    input: &EventInput,
    today: Date,
) -> Result<Plan, ServiceError> {
    let calendar = casefile::calendar_for(tx, organisation)?;
    let settings = casefile::procedure_settings(organisation);
    let history = events::for_case(tx, &case.id)?;
    let before = casefile::replay(&history, &calendar, &settings)?;
    let kind = step_kind(input, before.state())?;
    let event = Event::new(input.on.unwrap_or(today), kind);
    let after = before
        .apply(event, &calendar, today)
        .map_err(procedure_refusal)?;
    let facts = StepFacts {
        kind,
        state_before: before.state(),
        due: after.due(),
        not_whistleblowing: input.not_whistleblowing,
        contact: contact_of(handler),
    };
    Ok(Plan {
        before,
        after,
        event,
        facts,
    })
}

/// What a browser's letter was written from, as a short digest: if the facts changed before the
/// step is stored (another step, a calendar change), the letter must be written again.
fn basis_of(facts_text: &str) -> String {
    Sha256::new()
        .chain_update(b"speakup/step-basis/v1\0")
        .chain_update(facts_text.as_bytes())
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The rest of a step once its letter is stored: the learning (kept apart from the case, in the
/// clear, for the learning reports), the audit entry, and the case's new position.
#[allow(clippy::too_many_arguments)]
fn finish_step(
    tx: &mut Tx,
    handler: &Handler,
    case: &Case,
    organisation: &Organisation,
    input: &EventInput,
    plan: &Plan,
    audit_detail: String,
    now: time::PrimitiveDateTime,
) -> Result<Recorded, ServiceError> {
    if let EventKind::Close { .. } = plan.event.kind
        && !input.learning.trim().is_empty()
    {
        learning::insert(
            tx,
            &LearningEntry {
                id: crate::crypto::random_id(),
                organisation_id: organisation.id.as_str().to_owned(),
                service: case.service.clone(),
                stage: if plan.before.state() == State::Stage2 {
                    "stage2"
                } else {
                    "stage1"
                }
                .to_owned(),
                quarter: quarter_of(plan.event.on),
                body: input.learning.trim().to_owned(),
                publishable: input.learning_publishable,
            },
        )?;
    }
    audit_case(tx, handler, case, "event_recorded", None, audit_detail, now)?;
    Ok(Recorded {
        stage: plan.after.stage().as_str(),
        status: plan.after.status().as_str(),
        state: plan.after.state().as_str(),
        due: plan.after.due(),
    })
}

/// Ids a browser makes: 32 lowercase hexadecimal characters.
fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The longest sealed letter a browser may store: every word field at its longest, as JSON
/// (up to 6 bytes a character), twice (letter and detail), with the letter's own sentences,
/// nonce and tag.
pub const MAX_SEALED_STEP: usize = 2 * 7 * MAX_TEXT * 6 + 64 * 1024;

/// What a browser needs to write a step's letter: the facts only the server knows, where the
/// sealed letter goes, and the digest that says the facts have not changed when it comes back.
#[derive(Debug, Clone)]
pub struct StepCheck {
    pub case_id: String,
    /// The facts as `procedure::steps::compose` reads them.
    pub facts: String,
    pub basis: String,
    pub position: i32,
    pub today: Date,
}

/// A step whose letter a browser wrote and sealed (issue 14). `input` carries the facts and the
/// learning, never the other words.
pub struct BrowserStep<'a> {
    pub input: EventInput,
    pub event_id: &'a str,
    pub record_id: &'a str,
    pub position: i32,
    pub written_on: &'a str,
    pub basis: &'a str,
    pub sealed: &'a [u8],
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
            let plan = plan(tx, &open.case, &open.organisation, handler, &input, today)?;
            event_kind(&input, plan.before.state())?;
            events::append(
                tx,
                &open.case.id,
                &event_id,
                &plan.event,
                Some(&handler.user.id),
            )?;
            super::schedule::reschedule(tx, &open.case.id, &open.organisation)?;
            if let Some(composed) = steps::write(&plan.facts, &input.words()) {
                let content = EventContent {
                    letter: composed.letter,
                    detail: composed.detail,
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
            finish_step(
                tx,
                handler,
                &open.case,
                &open.organisation,
                &input,
                &plan,
                format!("type={}", plan.event.kind.event_type().as_str()),
                now,
            )
        })
    }

    /// For a session whose key is in the browser: checks a step's facts as [`record_event`]
    /// would (allowed now, dates, outcome), without the words or recording anything, and
    /// answers what the browser writes the letter from. Nothing is audited: nothing changed.
    ///
    /// [`record_event`]: Portal::record_event
    pub fn check_browser_step(
        &self,
        handler: &Handler,
        reference: &str,
        input: &EventInput,
    ) -> Result<StepCheck, ServiceError> {
        check_lengths(input)?;
        let today = self.clock.today();
        self.store.read(|tx| {
            let (case, organisation) = find_held_case(tx, handler, reference)?;
            let plan = plan(tx, &case, &organisation, handler, input, today)?;
            let facts = steps::encode_facts(&plan.facts);
            let position = cases::next_record_seq(tx, &case.id)?.ok_or(ServiceError::NotFound)?;
            Ok(StepCheck {
                case_id: case.id.as_str().to_owned(),
                basis: basis_of(&facts),
                facts,
                position,
                today,
            })
        })
    }

    /// Records a step whose letter the browser wrote from [`check_browser_step`]'s facts and
    /// sealed under the case key. Checked again under the case's lock: the step is still
    /// allowed, the facts are those the letter was written from (409 `case_changed`
    /// otherwise), the position is the next one (409 `position_taken`) and the day is today
    /// (409 `day_changed`); then the event, the sealed letter, the learning and the audit
    /// entry are written in one transaction. The server cannot read or check the letter.
    ///
    /// [`check_browser_step`]: Portal::check_browser_step
    pub fn record_browser_step(
        &self,
        handler: &Handler,
        reference: &str,
        step: &BrowserStep<'_>,
    ) -> Result<Recorded, ServiceError> {
        check_lengths(&step.input)?;
        if !is_generated_id(step.event_id) || !is_generated_id(step.record_id) {
            return Err(ServiceError::invalid(
                "invalid_id",
                "event and record ids are 32 lowercase hexadecimal characters",
            ));
        }
        if step.sealed.len() <= 40 || step.sealed.len() > MAX_SEALED_STEP {
            return Err(ServiceError::invalid(
                "invalid_sealed",
                "the sealed letter is empty or longer than a letter can be",
            ));
        }
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        if step.written_on != casefile::day_text(today) {
            return Err(ServiceError::Conflict {
                code: "day_changed",
                message: "the day changed while you were writing; the letter is written again \
                          for today"
                    .to_owned(),
            });
        }
        let event_id = EventId::from_stored(step.event_id.to_owned());
        let record_id = RecordId::from_stored(step.record_id.to_owned());
        self.store.write(|tx| {
            let (case, organisation) = find_held_case(tx, handler, reference)?;
            cases::lock(tx, &case.id)?;
            let plan = plan(tx, &case, &organisation, handler, &step.input, today)?;
            if basis_of(&steps::encode_facts(&plan.facts)) != step.basis {
                return Err(ServiceError::Conflict {
                    code: "case_changed",
                    message: "the case changed while you were writing (another step, or the \
                              calendar); the letter is written again"
                        .to_owned(),
                });
            }
            events::append(tx, &case.id, &event_id, &plan.event, Some(&handler.user.id))
                .map_err(already_recorded)?;
            super::schedule::reschedule(tx, &case.id, &organisation)?;
            let seq = cases::take_record_seq(tx, &case.id)?;
            if seq != step.position {
                return Err(ServiceError::Conflict {
                    code: "position_taken",
                    message: "something was added to the case meanwhile; the letter is sealed \
                              again"
                        .to_owned(),
                });
            }
            cases::insert_record(
                tx,
                &NewRecord {
                    id: &record_id,
                    case_id: &case.id,
                    seq,
                    kind: RecordKind::EventText.as_str(),
                    author: Author::System,
                    author_user_id: Some(&handler.user.id),
                    event_id: Some(event_id.as_str()),
                    sealed: step.sealed,
                    created_on: today,
                    aad_version: RECORD_AAD_VERSION,
                },
            )
            .map_err(already_recorded)?;
            finish_step(
                tx,
                handler,
                &case,
                &organisation,
                &step.input,
                &plan,
                format!(
                    "type={}; letter sealed in the browser",
                    plan.event.kind.event_type().as_str()
                ),
                now,
            )
        })
    }
}

/// A browser sending the same step twice (ids it made are taken): 409, nothing stored.
fn already_recorded(error: crate::store::StoreError) -> ServiceError {
    match ServiceError::from(error) {
        ServiceError::Conflict { .. } => ServiceError::Conflict {
            code: "already_recorded",
            message: "this step was already recorded".to_owned(),
        },
        other => other,
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
