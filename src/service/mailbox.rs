//! The reporter's mailbox: sign in with the case key, read the case's messages and stage, reply.
//! A mailbox session row holds only ciphertext; which case it opens is inside it.

use serde::Serialize;
use time::{Date, Duration};

use super::accounts::crypto_failure;
use super::casefile::{self, RecordDraft, open_json};
use super::content::{EventContent, MessageContent};
use super::identity_consent::IdentityRequestView;
use super::{Portal, ServiceError};
use crate::crypto::{
    self, CaseKey, CaseKeyError, DataKey, KeyKind, RecordKind, Secret, SessionToken, WrapContext,
};
use crate::ids::{CaseId, RecordId};
use crate::model::Author;
use crate::procedure::{
    self, Anonymity, Due, Route, Service, Signpost, SignpostRequest, State, Topic,
};
use crate::store::cases::{self, Case};
use crate::store::wraps::{self, Recipient};
use crate::store::{Tx, events, organisations, sessions};

pub const MAX_MESSAGE_CHARS: usize = 10_000;

#[derive(Debug, Clone, Serialize)]
pub struct MailboxMessage {
    pub from: Author,
    pub body: String,
    pub sent_on: Date,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailboxView {
    pub reference: String,
    pub organisation: String,
    pub received_on: Date,
    pub service: Service,
    pub anonymity: Anonymity,
    pub stage: &'static str,
    pub status: &'static str,
    pub state: &'static str,
    pub state_label: &'static str,
    pub due: Due,
    pub messages: Vec<MailboxMessage>,
    pub attachments: Vec<super::attachments::AttachmentListing>,
    pub signposting: Option<Vec<Signpost>>,
    pub open: bool,
    /// Handlers asking to be told who the reporter is; nothing is shared until they agree.
    pub identity_requests: Vec<IdentityRequestView>,
}

fn typo(error: CaseKeyError) -> ServiceError {
    let message = match error {
        CaseKeyError::Empty => "enter your case key".to_owned(),
        CaseKeyError::WrongLength { found } => {
            format!("a case key has 28 letters and digits in 7 groups of 4; you entered {found}")
        }
        CaseKeyError::InvalidCharacter => {
            "a case key uses only the letters and digits shown when you sent your concern"
                .to_owned()
        }
        CaseKeyError::ChecksumMismatch => {
            "that case key has a typo: check each group of four characters".to_owned()
        }
    };
    ServiceError::invalid("case_key_typo", message)
}

pub(super) fn unknown_key() -> ServiceError {
    ServiceError::Unauthorized {
        code: "unknown_case_key",
        message: "we could not find a concern with that case key".to_owned(),
    }
}

pub fn session_ended() -> ServiceError {
    ServiceError::Unauthorized {
        code: "mailbox_session_expired",
        message: "your mailbox session has ended; sign in again with your case key".to_owned(),
    }
}

/// A session opened with a mailbox proof holds no key: the server cannot open or seal the
/// mailbox for it, only hand over the sealed mailbox.
fn opened_in_browser() -> ServiceError {
    ServiceError::Unauthorized {
        code: "mailbox_opened_in_browser",
        message: "this mailbox session was opened in the browser with a mailbox proof, so the \
                  server holds no key for it: the browser opens and seals, through the sealed \
                  mailbox (GET /api/v1/mailbox/sealed; files: POST \
                  /api/v1/mailbox/sealed/attachments)"
            .to_owned(),
    }
}

/// The key was right, but the case's content has gone under the organisation's retention
/// policy. Only someone holding the key learns this.
/// The case a reporter session names, unless its content has been erased since.
pub(super) fn session_case_unless_erased(
    tx: &mut Tx,
    case_id: String,
) -> Result<Case, ServiceError> {
    let case = cases::find(tx, &CaseId::from_stored(case_id))?.ok_or_else(session_ended)?;
    if let Some(day) = case.erased_on {
        return Err(erased(day));
    }
    Ok(case)
}

pub(super) fn erased(day: time::Date) -> ServiceError {
    ServiceError::Unauthorized {
        code: "case_erased",
        message: format!(
            "This concern was finished some time ago, and its messages, letters and files were \
             deleted on {} under the organisation's records retention policy. If you need to \
             raise something again, you can start a new concern.",
            crate::procedure::date_words(day)
        ),
    }
}

/// An open mailbox: the case and its data key, recovered from the session.
pub(super) struct OpenMailbox {
    pub case: Case,
    pub key: DataKey,
}

impl Portal {
    /// Checks the case key and starts a mailbox session; returns the session token.
    pub fn open_mailbox(&self, case_key: &str) -> Result<Secret<String>, ServiceError> {
        let case_key = CaseKey::parse(case_key).map_err(typo)?;
        let reporter = case_key.reporter_key_pair().map_err(crypto_failure)?;
        let lookup_id = case_key.lookup_id();
        let token = SessionToken::generate();
        self.store.write(|tx| {
            let case = cases::find_by_lookup_id(tx, &lookup_id)?.ok_or_else(unknown_key)?;
            if let Some(day) = case.erased_on {
                return Err(erased(day));
            }
            let wrap = wraps::find(tx, &case.id, &Recipient::Reporter, KeyKind::Case)?
                .ok_or_else(unknown_key)?;
            let key = crypto::unwrap_key(
                &reporter.secret,
                &wrap.wrapped,
                &WrapContext::new(case.id.as_str(), KeyKind::Case),
            )
            .map_err(|_| unknown_key())?;
            // A case sent before mailbox proofs existed gets one now, so the browser can open
            // its mailbox from the next sign-in on without the case key reaching the server.
            if cases::mailbox_proof_hash(tx, &case.id)?.is_none() {
                let proof = case_key.mailbox_proof().map_err(crypto_failure)?;
                cases::set_mailbox_proof_hash(tx, &case.id, &proof.stored_hash())?;
            }
            let sealed = token
                .seal_case_access(case.id.as_str(), &key)
                .map_err(crypto_failure)?;
            self.store_reporter_session(tx, &token, &sealed)
        })?;
        Ok(token.encode())
    }

    /// Stores a new reporter session of either kind, clearing expired sessions in the same
    /// sign-in transaction.
    pub(super) fn store_reporter_session(
        &self,
        tx: &mut Tx,
        token: &SessionToken,
        sealed: &[u8],
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        let expires_at = now + Duration::minutes(i64::from(self.settings.reporter_session_minutes));
        let idle_cutoff = now - Duration::minutes(i64::from(self.settings.handler_idle_minutes));
        sessions::purge_expired(tx, now, idle_cutoff)?;
        sessions::insert_reporter(tx, &token.id_hex(), sealed, expires_at)?;
        Ok(())
    }

    /// The token and sealed payload of a reporter session that has not expired.
    pub(super) fn live_reporter_session(
        &self,
        tx: &mut Tx,
        token: &str,
    ) -> Result<(SessionToken, Vec<u8>), ServiceError> {
        let token = SessionToken::parse(token).map_err(|_| session_ended())?;
        let (sealed, expires_at) =
            sessions::find_reporter(tx, &token.id_hex())?.ok_or_else(session_ended)?;
        if expires_at <= self.clock.now_utc_naive() {
            return Err(session_ended());
        }
        Ok((token, sealed))
    }

    pub(super) fn mailbox_access(
        &self,
        tx: &mut Tx,
        token: &str,
    ) -> Result<OpenMailbox, ServiceError> {
        let (token, sealed) = self.live_reporter_session(tx, token)?;
        let (case_id, key) = token.open_case_access(&sealed).map_err(|_| {
            if token.open_case_proof_access(&sealed).is_ok() {
                opened_in_browser()
            } else {
                session_ended()
            }
        })?;
        let case = session_case_unless_erased(tx, case_id)?;
        Ok(OpenMailbox { case, key })
    }

    pub fn mailbox(&self, token: &str) -> Result<MailboxView, ServiceError> {
        self.store.read(|tx| {
            let mailbox = self.mailbox_access(tx, token)?;
            build_view(tx, &mailbox)
        })
    }

    pub fn reporter_message(&self, token: &str, body: &Secret<String>) -> Result<(), ServiceError> {
        let body = checked_message(body)?;
        let today = self.clock.today();
        let record = RecordId::generate();
        self.store.write(|tx| {
            let mailbox = self.mailbox_access(tx, token)?;
            casefile::append_sealed(
                tx,
                &mailbox.key,
                &RecordDraft {
                    id: &record,
                    case_id: &mailbox.case.id,
                    kind: RecordKind::Message,
                    author: Author::Reporter,
                    author_user_id: None,
                    event_id: None,
                    written_on: today,
                },
                &MessageContent { body },
            )?;
            super::notices::tell_holders(
                tx,
                &mailbox.case.id,
                &crate::notify::Notice::ReporterMessage {
                    reference: mailbox.case.reference.clone(),
                },
                None,
                &self.settings.public_url,
                self.clock.now_utc_naive(),
            )?;
            Ok(())
        })
    }

    /// Ends a mailbox session now rather than at its expiry.
    /// Ends a mailbox session; answers whether there was one to end (an expired or unknown
    /// token has nothing to close).
    pub fn close_mailbox(&self, token: &str) -> Result<bool, ServiceError> {
        let Ok(token) = SessionToken::parse(token) else {
            return Ok(false);
        };
        self.store
            .write(|tx| Ok(sessions::delete_reporter(tx, &token.id_hex())?))
    }
}

/// A message body: trimmed, not empty, not huge.
pub fn checked_message(body: &Secret<String>) -> Result<String, ServiceError> {
    let body = body.expose_secret().trim();
    if body.is_empty() {
        return Err(ServiceError::invalid(
            "message_missing",
            "write a message before sending it",
        ));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS || body.contains('\0') {
        return Err(ServiceError::invalid(
            "message_too_long",
            format!("a message can be at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(body.to_owned())
}

/// Stored anonymity; anything but "anonymous" is confidential (the column has a CHECK).
pub fn parse_anonymity(text: &str) -> Anonymity {
    if text == "anonymous" {
        Anonymity::Anonymous
    } else {
        Anonymity::Confidential
    }
}

pub fn parse_service(text: &str) -> Option<Service> {
    match text {
        "nhs" => Some(Service::Nhs),
        "local_authority" => Some(Service::LocalAuthority),
        _ => None,
    }
}

fn build_view(tx: &mut Tx, mailbox: &OpenMailbox) -> Result<MailboxView, ServiceError> {
    let case = &mailbox.case;
    let organisation = organisations::find(tx, &case.organisation_id)?
        .ok_or_else(|| ServiceError::Internal("case without organisation".into()))?;
    let calendar = casefile::calendar_for(tx, &organisation)?;
    let settings = casefile::procedure_settings(&organisation);
    let history = events::for_case(tx, &case.id)?;
    let procedure = casefile::replay(&history, &calendar, &settings)?;
    let records = cases::records(
        tx,
        &case.id,
        &[RecordKind::Message.as_str(), RecordKind::EventText.as_str()],
    )?;
    let mut messages = Vec::with_capacity(records.len());
    for record in &records {
        let body = if record.kind == RecordKind::EventText.as_str() {
            open_json::<EventContent>(&mailbox.key, record, RecordKind::EventText)?.letter
        } else {
            open_json::<MessageContent>(&mailbox.key, record, RecordKind::Message)?.body
        };
        messages.push(MailboxMessage {
            from: match record.author {
                Author::Reporter => Author::Reporter,
                Author::Handler | Author::System => Author::Handler,
            },
            body,
            sent_on: record.created_on,
        });
    }
    for request in
        casefile::request_letters_without_records(&history, &records, &calendar, &settings)?
    {
        // After everything written up to that day (the reporter's own words come first).
        let at = messages
            .iter()
            .rposition(|message| message.sent_on <= request.written_on)
            .map_or(0, |index| index + 1);
        messages.insert(
            at,
            MailboxMessage {
                from: Author::Handler,
                body: request.letter,
                sent_on: request.written_on,
            },
        );
    }
    let service = parse_service(&case.service)
        .ok_or_else(|| ServiceError::Internal(format!("case service {:?}", case.service)))?;
    let anonymity = parse_anonymity(&case.anonymity);
    let topic = if case.topic == "public_money" {
        Topic::PublicMoney
    } else {
        Topic::General
    };
    let state = procedure.state();
    let route = match state {
        State::Stage2Closed => Some(Route::Stage2Closed),
        State::Stage1Closed => Some(Route::Stage1Closed),
        State::NotWhistleblowing => casefile::not_whistleblowing_kind(&records, &mailbox.key)?
            .map(|kind| Route::NotWhistleblowing { kind }),
        State::Withdrawn => Some(Route::Withdrawn),
        _ => None,
    };
    let signposting = route.map(|route| {
        procedure::signposts(&SignpostRequest {
            service,
            anonymity,
            topic,
            route,
            became_aware_on: case.became_aware_on,
        })
    });
    Ok(MailboxView {
        reference: case.reference.clone(),
        organisation: organisation.name,
        received_on: case.received_on,
        service,
        anonymity,
        stage: procedure.stage().as_str(),
        status: procedure.status().as_str(),
        state: state.as_str(),
        state_label: state.label(),
        due: procedure.due(),
        messages,
        attachments: super::attachments::listing(tx, &case.id, &mailbox.key)?,
        signposting,
        open: procedure.status() == procedure::Status::Open,
        identity_requests: super::identity_consent::pending_views(tx, case, &mailbox.key)?,
    })
}
