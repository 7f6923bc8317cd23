//! What a reporter can ask for from the mailbox, at any stage: to take the concern to stage 2,
//! to withdraw it, or to report detriment (being treated badly for having spoken up).
//!
//! Stage 2 and withdrawal are the reporter's own decisions under the Standards, so they take
//! effect the day they are asked for: the procedure event is recorded then, with its letter,
//! and the stage 2 clock starts that day. A detriment report changes no stage; it is recorded,
//! counted for the board, and the whistleblowing champion is told that one was made (by
//! reference, never its words). Whatever the reporter writes with a request is a sealed message
//! only the case's holders can read.

use serde::Serialize;
use time::Date;

use super::casefile::{self, RecordDraft};
use super::content::{EventContent, MessageContent};
use super::mailbox::checked_message;
use super::sealed_mailbox::SealedMessage;
use super::{Portal, ServiceError};
use crate::crypto::{DataKey, RecordKind, Secret};
use crate::ids::{EventId, RecordId};
use crate::model::{Author, RequestKind, Role};
use crate::notify::{self, Notice, Recipient, ServiceNotice};
use crate::procedure::letters::{self, LetterFacts};
use crate::procedure::{EscalationReason, Event, EventKind, ProcedureError, State};
use crate::store::Tx;
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{self, Case};
use crate::store::reporter_requests::{self, NewRequest};
use crate::store::{events, users};

/// What the reporter wrote with a request: in the clear (the server seals it) or sealed in the
/// browser.
enum Words<'m> {
    Plain(String),
    Sealed(&'m SealedMessage),
}

/// The case's position after the request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestReceipt {
    #[serde(rename = "type")]
    pub kind: RequestKind,
    pub requested_on: Date,
    pub state: &'static str,
}

fn not_now(kind: RequestKind, state: State) -> ServiceError {
    let message = match (kind, state) {
        (RequestKind::Stage2, State::Stage2) => {
            "your concern is already being investigated at stage 2".to_owned()
        }
        (RequestKind::Stage2, State::Stage2Closed) => {
            "the stage 2 response was the final decision; the mailbox shows where you can go next"
                .to_owned()
        }
        (RequestKind::Withdraw, State::Withdrawn) => {
            "your concern has already been withdrawn".to_owned()
        }
        (_, state) => format!(
            "this is not possible now that your concern is {}; you can still write a message",
            state.label()
        ),
    };
    ServiceError::Conflict {
        code: "request_not_possible",
        message,
    }
}

/// The procedure event a request records, if it records one.
fn event_for(kind: RequestKind) -> Option<EventKind> {
    match kind {
        RequestKind::Stage2 => Some(EventKind::Stage2 {
            reason: EscalationReason::ReporterRequested,
        }),
        RequestKind::Withdraw => Some(EventKind::Withdraw),
        RequestKind::Detriment => None,
    }
}

impl Portal {
    /// Records a reporter's request, with its event and letter where it has one, the reporter's
    /// words as a sealed message, an audit entry and the notices, in one transaction.
    pub fn reporter_request(
        &self,
        token: &str,
        kind: RequestKind,
        message: Option<&Secret<String>>,
    ) -> Result<RequestReceipt, ServiceError> {
        let message = match message {
            Some(body) if !body.expose_secret().trim().is_empty() => Some(checked_message(body)?),
            _ => None,
        };
        self.record_request(kind, |portal, tx| {
            let mailbox = portal.mailbox_access(tx, token)?;
            Ok((
                mailbox.case,
                Some(mailbox.key),
                message.clone().map(Words::Plain),
            ))
        })
    }

    /// The same request from a browser that opened the mailbox itself (a proof session): the
    /// reporter's words, if any, come sealed for the case's next position, as a sealed message
    /// does. The server holds no key for such a session, so it seals no letter for stage 2 or
    /// a withdrawal; views write it from the step instead
    /// ([`casefile::request_letters_without_records`]).
    pub fn sealed_reporter_request(
        &self,
        token: &str,
        kind: RequestKind,
        message: Option<&SealedMessage>,
    ) -> Result<RequestReceipt, ServiceError> {
        if let Some(message) = message {
            super::sealed_mailbox::check_sealed_message(message, self.clock.today())?;
        }
        self.record_request(kind, |portal, tx| {
            let (case, key) = portal.reporter_session(tx, token)?;
            Ok((case, key, message.map(Words::Sealed)))
        })
    }

    fn record_request<'m>(
        &self,
        kind: RequestKind,
        open: impl Fn(
            &Portal,
            &mut Tx,
        ) -> Result<(Case, Option<DataKey>, Option<Words<'m>>), ServiceError>,
    ) -> Result<RequestReceipt, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        let public_url = self.settings.public_url.trim_end_matches('/').to_owned();
        self.store.write(|tx| {
            let (case, key, message) = open(self, tx)?;
            let case = &case;
            // Two requests at once (a double click) must not both record an event.
            cases::lock(tx, &case.id)?;
            let organisation = casefile::organisation_of(tx, case)?;
            let calendar = casefile::calendar_for(tx, &organisation)?;
            let settings = casefile::procedure_settings(&organisation);
            let history = events::for_case(tx, &case.id)?;
            let before = casefile::replay(&history, &calendar, &settings)?;
            let mut state = before.state();
            let message_id = match (&message, &key) {
                (Some(Words::Sealed(sealed)), _) => {
                    super::sealed_mailbox::store_sealed_message(tx, case, sealed, today)?;
                    Some(sealed.record_id.clone())
                }
                (Some(Words::Plain(body)), Some(key)) => {
                    let id = RecordId::generate();
                    casefile::append_sealed(
                        tx,
                        key,
                        &RecordDraft {
                            id: &id,
                            case_id: &case.id,
                            kind: RecordKind::Message,
                            author: Author::Reporter,
                            author_user_id: None,
                            event_id: None,
                            written_on: today,
                        },
                        &MessageContent { body: body.clone() },
                    )?;
                    Some(id)
                }
                (Some(Words::Plain(_)), None) => {
                    return Err(ServiceError::Internal(
                        "a message in the clear for a session without a key".to_owned(),
                    ));
                }
                (None, _) => None,
            };
            if let Some(kind_of_event) = event_for(kind) {
                let event = Event::new(today, kind_of_event);
                let after = before
                    .apply(event, &calendar, today)
                    .map_err(|error| match error {
                        ProcedureError::NotAllowed { .. }
                        | ProcedureError::ReasonNotAllowed { .. } => not_now(kind, before.state()),
                        other => ServiceError::invalid(other.code(), other.to_string()),
                    })?;
                let event_id = EventId::generate();
                events::append(tx, &case.id, &event_id, &event, None)?;
                super::schedule::reschedule(tx, &case.id, &organisation)?;
                let letter = letters::letter(
                    &kind_of_event,
                    &LetterFacts {
                        due: after.due(),
                        state_before: Some(before.state()),
                        requested_by_reporter: true,
                        ..LetterFacts::default()
                    },
                );
                if let (Some(letter), Some(key)) = (letter, &key) {
                    let record_id = RecordId::generate();
                    casefile::append_sealed(
                        tx,
                        key,
                        &RecordDraft {
                            id: &record_id,
                            case_id: &case.id,
                            kind: RecordKind::EventText,
                            author: Author::System,
                            author_user_id: None,
                            event_id: Some(event_id.as_str()),
                            written_on: today,
                        },
                        &EventContent {
                            letter,
                            detail: "Asked for by the reporter from the mailbox.".to_owned(),
                            authorised_by: String::new(),
                            not_whistleblowing: None,
                        },
                    )?;
                }
                state = after.state();
            }
            reporter_requests::insert(
                tx,
                &NewRequest {
                    case_id: &case.id,
                    kind,
                    requested_on: today,
                    message: message_id.as_ref(),
                },
            )?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: None,
                    action: "reporter_request",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    case_id: Some(case.id.as_str().to_owned()),
                    subject_user_id: None,
                    detail: format!("type={}", kind.as_str()),
                },
                now,
            )?;
            let reference = case.reference.clone();
            super::notices::tell_holders(
                tx,
                &case.id,
                &Notice::ReporterRequest {
                    reference: reference.clone(),
                },
                None,
                &public_url,
                now,
            )?;
            if kind == RequestKind::Detriment {
                for champion in users::list_in_organisation(tx, &organisation.id)?
                    .into_iter()
                    .filter(|user| user.role == Role::Champion && user.active)
                {
                    notify::queue(
                        tx,
                        &Recipient::user(&champion.id, &champion.email),
                        &Notice::Service(ServiceNotice {
                            kind: "detriment_report",
                            headline: "A whistleblower has reported detriment",
                            reference: Some(reference.clone()),
                            path: Some("/console/oversight".to_owned()),
                            urgent: true,
                        }),
                        &public_url,
                        now,
                    )?;
                }
            }
            Ok(RequestReceipt {
                kind,
                requested_on: today,
                state: state.as_str(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stage2_and_withdrawal_record_an_event() {
        assert_eq!(
            event_for(RequestKind::Stage2),
            Some(EventKind::Stage2 {
                reason: EscalationReason::ReporterRequested
            })
        );
        assert_eq!(event_for(RequestKind::Withdraw), Some(EventKind::Withdraw));
        assert_eq!(event_for(RequestKind::Detriment), None);
    }

    #[test]
    fn refusals_say_what_the_reporter_can_do() {
        for (kind, state) in [
            (RequestKind::Stage2, State::Stage2),
            (RequestKind::Stage2, State::Stage2Closed),
            (RequestKind::Withdraw, State::Withdrawn),
            (RequestKind::Withdraw, State::Stage1Closed),
        ] {
            let ServiceError::Conflict { code, message } = not_now(kind, state) else {
                panic!("a refusal is a conflict");
            };
            assert_eq!(code, "request_not_possible");
            assert!(!message.is_empty());
        }
    }
}
