//! The reporter's mailbox opened in the browser (issue 14): the browser derives a mailbox proof
//! from the case key and signs in with it; the case key never reaches the server. A proof
//! session holds the case id and no key, so the server can hand the browser the case's sealed
//! records and the reporter's wrap of the case data key, and store records the browser sealed,
//! but it cannot open or seal anything for that session.

use serde::Serialize;
use time::Date;

use super::accounts::crypto_failure;
use super::casefile::{self, RECORD_AAD_VERSION};
use super::mailbox::{
    erased, parse_anonymity, parse_service, session_case_unless_erased, session_ended, unknown_key,
};
use super::{Portal, ServiceError};
use crate::crypto::{DataKey, KeyKind, MailboxProof, RecordKind, SessionToken};
use crate::ids::RecordId;
use crate::model::Author;
use crate::procedure::{self, Anonymity, Due, Route, Service, Signpost, SignpostRequest, State};
use crate::procedure::{Topic, date_words};
use crate::store::cases::{self, Case, NewRecord};
use crate::store::wraps::{self, Recipient};
use crate::store::{Tx, events, organisations};

/// Nonce and tag around every sealed record.
const SEAL_OVERHEAD: usize = 24 + 16;
/// A sealed message: the longest body as JSON (a character takes at most 6 bytes there, as a
/// `\uXXXX` escape) and its framing.
pub const MAX_SEALED_MESSAGE: usize = SEAL_OVERHEAD + 6 * super::mailbox::MAX_MESSAGE_CHARS + 64;

/// One sealed record as the browser needs it to rebuild the associated data and open it.
#[derive(Debug, Clone, Serialize)]
pub struct SealedRecordView {
    pub id: String,
    /// `message` or `event-text` (a letter); `attachment` in the list of files.
    pub kind: String,
    pub position: i32,
    /// `reporter`, `handler` or `system`, as bound into the record.
    pub author: &'static str,
    pub author_user_id: Option<String>,
    pub event_id: Option<String>,
    /// `YYYY-MM-DD`, as bound into the record.
    pub written_on: String,
    /// 1: case, kind and id only; 2: also author, event, position and day.
    pub aad_version: i32,
    /// Standard base64 of `nonce ‖ ciphertext ‖ tag`.
    pub sealed: String,
}

/// A request to share the reporter's identity with someone new, waiting for the reporter's
/// answer: who (not secret: the reporter must see it to decide) and the reason, sealed.
#[derive(Debug, Clone, Serialize)]
pub struct SealedIdentityRequestView {
    pub id: String,
    pub to_name: String,
    pub to_role: String,
    /// `YYYY-MM-DD`.
    pub requested_on: String,
    /// Standard base64 of `nonce ‖ ciphertext ‖ tag` of `{"body": reason}` under the case data
    /// key, associated data format 1: case id, `identity-request`, the request's id.
    pub sealed_reason: String,
}

/// The mailbox without its content in the clear: what the stage and dates are (not secret), and
/// the sealed messages and letters with what the browser needs to open them.
#[derive(Debug, Clone, Serialize)]
pub struct SealedMailboxView {
    pub case_id: String,
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
    pub open: bool,
    /// Where to go next once the case has finished. For a "not whistleblowing" decision the
    /// procedure named is inside a sealed letter, so only the letter says it.
    pub signposting: Option<Vec<Signpost>>,
    /// The case data key wrapped to the reporter's public key (standard base64); the browser
    /// unwraps it with the secret it derives from the case key.
    pub reporter_wrap: String,
    pub records: Vec<SealedRecordView>,
    /// The case's files: each record (kind `attachment`) seals `{"name","size",
    /// "removed_metadata"}`; the file itself is at `/api/v1/mailbox/sealed/attachments/{id}`,
    /// sealed under the case data key bound to the case id and the record's id.
    pub attachments: Vec<SealedRecordView>,
    /// The most one file may be once cleaned (`max_attachment_mib`), for the browser to say so
    /// before it seals anything.
    pub max_attachment_bytes: u64,
    pub identity_requests: Vec<SealedIdentityRequestView>,
    /// Letters for the reporter's own requests made from a browser session, which no sealed
    /// record carries; the server writes them from the step and its dates alone.
    pub request_letters: Vec<casefile::RequestLetter>,
    /// The day the server will record a message as written, and the position the next record
    /// will take: a message sealed in the browser binds both.
    pub today: String,
    pub next_position: i32,
}

/// A message the browser sealed under the case data key, bound to the reporter as author, no
/// event, `position` and `written_on`.
pub struct SealedMessage {
    pub record_id: RecordId,
    pub position: i32,
    pub written_on: Date,
    pub sealed: Vec<u8>,
}

fn proof_not_set() -> ServiceError {
    ServiceError::Unauthorized {
        code: "mailbox_proof_not_set",
        message: "this concern was sent before mailboxes could be opened in the browser; sign in \
                  once with the case key on the server, and from then on your browser can open it"
            .to_owned(),
    }
}

fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Portal {
    /// Checks a mailbox proof and starts a proof session (no key in it); returns the token.
    /// Answers as [`Portal::open_mailbox`] does: an unknown case and a wrong proof look the same,
    /// and only someone with the right proof learns that the case was erased.
    pub fn open_mailbox_with_proof(
        &self,
        lookup_id: &[u8; 32],
        proof: &MailboxProof,
    ) -> Result<crate::crypto::Secret<String>, ServiceError> {
        let token = SessionToken::generate();
        self.store.write(|tx| {
            let case = cases::find_by_lookup_id(tx, lookup_id)?.ok_or_else(unknown_key)?;
            let stored = cases::mailbox_proof_hash(tx, &case.id)?.ok_or_else(proof_not_set)?;
            if !proof.matches(&stored) {
                return Err(unknown_key());
            }
            if let Some(day) = case.erased_on {
                return Err(erased(day));
            }
            let sealed = token
                .seal_case_proof_access(case.id.as_str())
                .map_err(crypto_failure)?;
            self.store_reporter_session(tx, &token, &sealed)
        })?;
        Ok(token.encode())
    }

    /// The case a reporter session (of either kind) is for, and its data key if the session
    /// carries one (a proof session does not).
    pub(super) fn reporter_session(
        &self,
        tx: &mut Tx,
        token: &str,
    ) -> Result<(Case, Option<DataKey>), ServiceError> {
        let (token, sealed) = self.live_reporter_session(tx, token)?;
        let (case_id, key) = match token.open_case_proof_access(&sealed) {
            Ok(case_id) => (case_id, None),
            Err(_) => token
                .open_case_access(&sealed)
                .map(|(case_id, key)| (case_id, Some(key)))
                .map_err(|_| session_ended())?,
        };
        let case = session_case_unless_erased(tx, case_id)?;
        Ok((case, key))
    }

    fn session_case(&self, tx: &mut Tx, token: &str) -> Result<Case, ServiceError> {
        Ok(self.reporter_session(tx, token)?.0)
    }

    /// The sealed mailbox of a reporter session, for the browser to open.
    pub fn sealed_mailbox(&self, token: &str) -> Result<SealedMailboxView, ServiceError> {
        let today = self.clock.today();
        self.store.read(|tx| {
            let case = self.session_case(tx, token)?;
            sealed_view(tx, &case, today, self.settings.max_attachment_bytes)
        })
    }

    /// Stores a message the browser sealed, at the position it was sealed for; answers that
    /// position. If another record took that position first, or the day changed, nothing is
    /// stored and the browser seals again (409 `position_taken` / `day_changed`).
    pub fn sealed_reporter_message(
        &self,
        token: &str,
        message: &SealedMessage,
    ) -> Result<i32, ServiceError> {
        check_sealed_message(message, self.clock.today())?;
        let today = self.clock.today();
        self.store.write(|tx| {
            let case = self.session_case(tx, token)?;
            let seq = store_sealed_message(tx, &case, message, today)?;
            super::notices::tell_holders(
                tx,
                &case.id,
                &crate::notify::Notice::ReporterMessage {
                    reference: case.reference.clone(),
                },
                None,
                &self.settings.public_url,
                self.clock.now_utc_naive(),
            )?;
            Ok(seq)
        })
    }
}

/// Checks what can be checked of a message sealed in the browser without opening it.
pub(super) fn check_sealed_message(
    message: &SealedMessage,
    today: Date,
) -> Result<(), ServiceError> {
    if !is_generated_id(message.record_id.as_str()) {
        return Err(ServiceError::invalid(
            "invalid_id",
            "ids are 32 lowercase hex characters",
        ));
    }
    if message.sealed.len() <= SEAL_OVERHEAD || message.sealed.len() > MAX_SEALED_MESSAGE {
        return Err(ServiceError::invalid(
            "invalid_sealed",
            "a sealed message is empty or longer than a message can be",
        ));
    }
    if message.written_on != today {
        return Err(ServiceError::Conflict {
            code: "day_changed",
            message: format!(
                "the message was sealed for another day; today is {}: seal it again",
                date_words(today)
            ),
        });
    }
    Ok(())
}

/// Stores a message sealed in the browser at the position it was sealed for, if that is still
/// the case's next position (409 `position_taken` otherwise); answers the position.
pub(super) fn store_sealed_message(
    tx: &mut Tx,
    case: &Case,
    message: &SealedMessage,
    today: Date,
) -> Result<i32, ServiceError> {
    // Ordered against every other writer to this case (handlers, other tabs).
    cases::lock(tx, &case.id)?;
    let next = cases::next_record_seq(tx, &case.id)?.ok_or_else(session_ended)?;
    if next != message.position {
        return Err(ServiceError::Conflict {
            code: "position_taken",
            message: format!(
                "another message came first; seal the message again for position {next}"
            ),
        });
    }
    let seq = cases::take_record_seq(tx, &case.id)?;
    if seq != message.position {
        return Err(ServiceError::Internal(format!(
            "position {} was checked but {seq} was taken",
            message.position
        )));
    }
    cases::insert_record(
        tx,
        &NewRecord {
            id: &message.record_id,
            case_id: &case.id,
            seq,
            kind: RecordKind::Message.as_str(),
            author: Author::Reporter,
            author_user_id: None,
            event_id: None,
            sealed: &message.sealed,
            created_on: today,
            aad_version: RECORD_AAD_VERSION,
        },
    )
    .map_err(|error| match ServiceError::from(error) {
        ServiceError::Conflict { .. } => ServiceError::Conflict {
            code: "already_sent",
            message: "a record with that id was already sent".to_owned(),
        },
        other => other,
    })?;
    Ok(seq)
}

fn sealed_view(
    tx: &mut Tx,
    case: &Case,
    today: Date,
    max_attachment_bytes: u64,
) -> Result<SealedMailboxView, ServiceError> {
    let organisation = organisations::find(tx, &case.organisation_id)?
        .ok_or_else(|| ServiceError::Internal("case without organisation".into()))?;
    let calendar = casefile::calendar_for(tx, &organisation)?;
    let settings = casefile::procedure_settings(&organisation);
    let history = events::for_case(tx, &case.id)?;
    let procedure = casefile::replay(&history, &calendar, &settings)?;
    let wrap = wraps::find(tx, &case.id, &Recipient::Reporter, KeyKind::Case)?
        .ok_or_else(session_ended)?;
    let records = cases::records(
        tx,
        &case.id,
        &[RecordKind::Message.as_str(), RecordKind::EventText.as_str()],
    )?;
    let files = cases::records(tx, &case.id, &[RecordKind::Attachment.as_str()])?;
    let identity_requests = super::identity_consent::pending(tx, case)?;
    let next_position = cases::next_record_seq(tx, &case.id)?.ok_or_else(session_ended)?;
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
    let base64 = |bytes: &[u8]| data_encoding::BASE64.encode(bytes);
    Ok(SealedMailboxView {
        case_id: case.id.as_str().to_owned(),
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
        open: procedure.status() == procedure::Status::Open,
        signposting,
        reporter_wrap: base64(&wrap.wrapped),
        records: records.iter().map(record_view).collect(),
        attachments: files.iter().map(record_view).collect(),
        max_attachment_bytes,
        identity_requests: identity_requests
            .into_iter()
            .map(|waiting| SealedIdentityRequestView {
                requested_on: casefile::day_text(waiting.request.requested_on),
                sealed_reason: base64(&waiting.request.sealed_reason),
                id: waiting.request.id,
                to_name: waiting.to_name,
                to_role: waiting.to_role,
            })
            .collect(),
        request_letters: casefile::request_letters_without_records(
            &history, &records, &calendar, &settings,
        )?,
        today: casefile::day_text(today),
        next_position,
    })
}

fn record_view(record: &cases::SealedRecord) -> SealedRecordView {
    SealedRecordView {
        id: record.id.as_str().to_owned(),
        kind: record.kind.clone(),
        position: record.seq,
        author: record.author.as_str(),
        author_user_id: record
            .author_user_id
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        event_id: record.event_id.clone(),
        written_on: casefile::day_text(record.created_on),
        aad_version: record.aad_version,
        sealed: data_encoding::BASE64.encode(&record.sealed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, len: usize, day: Date) -> SealedMessage {
        SealedMessage {
            record_id: RecordId::from_stored(id.to_owned()),
            position: 3,
            written_on: day,
            sealed: vec![7; len],
        }
    }

    fn code(outcome: Result<(), ServiceError>) -> &'static str {
        match outcome {
            Ok(()) => "ok",
            Err(ServiceError::Invalid { code, .. } | ServiceError::Conflict { code, .. }) => code,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn what_can_be_checked_without_opening_is_checked() {
        let today = time::macros::date!(2026 - 11 - 16);
        let id = RecordId::generate();
        let id = id.as_str();
        let check = |m: &SealedMessage| code(check_sealed_message(m, today));
        assert_eq!(check(&message(id, 100, today)), "ok");
        assert_eq!(check(&message(id, MAX_SEALED_MESSAGE, today)), "ok");
        assert_eq!(
            check(&message(id, MAX_SEALED_MESSAGE + 1, today)),
            "invalid_sealed"
        );
        assert_eq!(check(&message(id, SEAL_OVERHEAD, today)), "invalid_sealed");
        assert_eq!(check(&message("../../x", 100, today)), "invalid_id");
        assert_eq!(
            check(&message(&id.to_uppercase(), 100, today)),
            "invalid_id"
        );
        let yesterday = time::macros::date!(2026 - 11 - 15);
        assert_eq!(check(&message(id, 100, yesterday)), "day_changed");
    }
}
