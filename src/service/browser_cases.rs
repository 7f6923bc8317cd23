//! Cases for sessions whose key is in the browser (issue 14): the server hands out sealed
//! records with the labels their associated data binds, and the handler's wraps of the case
//! keys; it stores replies and notes sealed in the browser at the position it assigns. It
//! never sees the content and never holds a key for these sessions.

use time::Date;

use super::casefile::stored_public_key;
use super::casework::{
    audit_case, check_wrap, find_held_case, has_recovery_wrap, insert_recovery_wrap,
};
use super::mailbox::MAX_MESSAGE_CHARS;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::{KeyKind, RecordKind};
use crate::ids::{RecordId, UserId};
use crate::model::Author;
use crate::store::cases::{self, NewRecord};
use crate::store::reads;
use crate::store::users;
use crate::store::wraps::{self, Recipient};

use super::casefile::RECORD_AAD_VERSION;

/// The kinds of record a handler's browser may open (an attachment's record is its name, size
/// and what stripping removed; its bytes are fetched apart).
const READABLE: [RecordKind; 6] = [
    RecordKind::Concern,
    RecordKind::Identity,
    RecordKind::Message,
    RecordKind::Note,
    RecordKind::EventText,
    RecordKind::Attachment,
];

/// XChaCha20-Poly1305 adds a 24-byte nonce and a 16-byte tag (plus the format's framing); the
/// content is JSON, where one character can take up to 6 bytes (`\u0001`).
const MAX_SEALED_BYTES: usize = MAX_MESSAGE_CHARS * 6 + 256;

/// A case as a browser session sees it: keys wrapped to the handler and sealed records.
#[derive(Debug)]
pub struct SealedCase {
    pub case_id: String,
    pub reference: String,
    /// The case data key wrapped to this handler's public key.
    pub case_key_wrap: Vec<u8>,
    /// The identity key wrapped to this handler, if they hold it.
    pub identity_key_wrap: Option<Vec<u8>>,
    /// The position the next record will take (a sealed reply must be bound to it).
    pub next_position: i32,
    /// The server's day, which a sealed reply must be bound to.
    pub today: Date,
    pub records: Vec<BrowserRecord>,
    /// The organisation's recovery public key, only while this case has no wrap for it (raised
    /// before the key existed): the browser wraps the case key to it and posts the wrap
    /// ([`Portal::add_browser_recovery_wrap`]), as a server session does on opening the case.
    pub recovery_public_key: Option<[u8; 32]>,
}

/// A sealed record and the labels its associated data binds (format 1: case, kind, id;
/// format 2: also author, author id, event id, position and day).
#[derive(Debug)]
pub struct BrowserRecord {
    pub id: String,
    pub kind: String,
    pub author: Author,
    pub author_user_id: Option<String>,
    /// The author's display name, for the page.
    pub author_name: Option<String>,
    pub event_id: Option<String>,
    pub position: i32,
    pub written_on: Date,
    pub aad_version: i32,
    pub sealed: Vec<u8>,
}

/// A reply or note sealed in the browser.
pub struct BrowserSealed<'a> {
    pub kind: &'a str,
    pub record_id: &'a str,
    pub position: i32,
    pub written_on: &'a str,
    pub sealed: &'a [u8],
}

impl Portal {
    /// The sealed case for a session whose key is in the browser. Audited as a read
    /// (`case_viewed`, "opened by the handler's browser or API client"): it is what the browser decrypts.
    pub fn sealed_case(
        &self,
        handler: &Handler,
        reference: &str,
    ) -> Result<SealedCase, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let (case, organisation) = find_held_case(tx, handler, reference)?;
            let me = Recipient::User(handler.user.id.clone());
            let case_wrap =
                wraps::find(tx, &case.id, &me, KeyKind::Case)?.ok_or(ServiceError::NotFound)?;
            let identity_wrap = wraps::find(tx, &case.id, &me, KeyKind::Identity)?;
            let kinds: Vec<&str> = READABLE
                .iter()
                .filter(|kind| **kind != RecordKind::Identity || identity_wrap.is_some())
                .map(|kind| kind.as_str())
                .collect();
            let people: std::collections::HashMap<UserId, String> =
                users::list_in_organisation(tx, &organisation.id)?
                    .into_iter()
                    .map(|user| (user.id, user.display_name))
                    .collect();
            let records = cases::records(tx, &case.id, &kinds)?
                .into_iter()
                .map(|record| BrowserRecord {
                    author_name: record
                        .author_user_id
                        .as_ref()
                        .and_then(|id| people.get(id).cloned()),
                    id: record.id.as_str().to_owned(),
                    kind: record.kind,
                    author: record.author,
                    author_user_id: record.author_user_id.map(|id| id.as_str().to_owned()),
                    event_id: record.event_id,
                    position: record.seq,
                    written_on: record.created_on,
                    aad_version: record.aad_version,
                    sealed: record.sealed,
                })
                .collect();
            let next_position =
                cases::next_record_seq(tx, &case.id)?.ok_or(ServiceError::NotFound)?;
            let recovery_public_key = match &organisation.recovery_public_key {
                Some(public) if !has_recovery_wrap(tx, &case)? => {
                    Some(stored_public_key(public)?.to_bytes())
                }
                _ => None,
            };
            audit_case(
                tx,
                handler,
                &case,
                "case_viewed",
                None,
                "opened by the handler's browser or API client, with their own key".to_owned(),
                now,
            )?;
            let latest = cases::latest_seq(tx, &case.id)?;
            reads::mark_seen(tx, &case.id, &handler.user.id, latest)?;
            Ok(SealedCase {
                case_id: case.id.as_str().to_owned(),
                reference: case.reference,
                case_key_wrap: case_wrap.wrapped,
                identity_key_wrap: identity_wrap.map(|wrap| wrap.wrapped),
                next_position,
                today,
                records,
                recovery_public_key,
            })
        })
    }

    /// Stores the recovery wrap a browser session made for a case raised before its
    /// organisation had a recovery key (the case key wrapped to the recovery public key, with
    /// the same context as at intake). Under the case's lock, and only while the wrap is still
    /// missing: a reload or a second tab posting the same finds it there and changes nothing
    /// (`Ok(false)`). Audited (`recovery_wrap_added`, "wrapped in the browser") in the same
    /// transaction. The server checks the wrap's length, not what it holds: it has neither the
    /// case key nor the recovery secret. A wrap that does not open is refused when the recovery
    /// key is used ([`Portal::recover_case`]).
    pub fn add_browser_recovery_wrap(
        &self,
        handler: &Handler,
        reference: &str,
        wrapped: &[u8],
    ) -> Result<bool, ServiceError> {
        check_wrap(wrapped)?;
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let (case, organisation) = find_held_case(tx, handler, reference)?;
            if organisation.recovery_public_key.is_none() {
                return Err(ServiceError::Conflict {
                    code: "no_recovery_key",
                    message: "this organisation has no recovery key to wrap the case key for"
                        .to_owned(),
                });
            }
            cases::lock(tx, &case.id)?;
            if has_recovery_wrap(tx, &case)? {
                return Ok(false);
            }
            insert_recovery_wrap(
                tx,
                handler,
                &case,
                wrapped.to_vec(),
                "wrapped in the browser".to_owned(),
                (today, now),
            )?;
            Ok(true)
        })
    }

    /// Stores a reply to the reporter (`message`) or a note (`note`) sealed in the browser.
    /// The server checks what it can without the key: the case is held, the id is fresh, the
    /// day is today, the size is within the message limit, and the position is the next one
    /// (taken under the case's lock; if another record took it first, 409 `position_taken` and
    /// the browser seals again at the new position). It cannot check the content.
    pub fn append_browser_record(
        &self,
        handler: &Handler,
        reference: &str,
        sealed: &BrowserSealed<'_>,
    ) -> Result<i32, ServiceError> {
        let (kind, action) = match sealed.kind {
            "message" => (RecordKind::Message, "message_sent"),
            "note" => (RecordKind::Note, "note_added"),
            _ => {
                return Err(ServiceError::invalid(
                    "invalid_kind",
                    "only a message or a note can be sealed in the browser",
                ));
            }
        };
        let id_ok = sealed.record_id.len() == 32
            && sealed
                .record_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !id_ok {
            return Err(ServiceError::invalid(
                "invalid_record_id",
                "a record id is 32 lowercase hexadecimal characters",
            ));
        }
        if sealed.sealed.len() < 41 || sealed.sealed.len() > MAX_SEALED_BYTES {
            return Err(ServiceError::TooLarge {
                code: "message_too_long",
                message: format!("a message can be at most {MAX_MESSAGE_CHARS} characters"),
            });
        }
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        if sealed.written_on != super::casefile::day_text(today) {
            return Err(ServiceError::Conflict {
                code: "day_changed",
                message: "the day changed while you were writing; it is sealed again for today"
                    .to_owned(),
            });
        }
        let record_id = RecordId::from_stored(sealed.record_id.to_owned());
        self.store.write(|tx| {
            let (case, _) = find_held_case(tx, handler, reference)?;
            // Taken under the case's row lock: two writers cannot get the same position.
            let seq = cases::take_record_seq(tx, &case.id)?;
            if seq != sealed.position {
                return Err(ServiceError::Conflict {
                    code: "position_taken",
                    message: "something was added to the case meanwhile; seal it again".to_owned(),
                });
            }
            cases::insert_record(
                tx,
                &NewRecord {
                    id: &record_id,
                    case_id: &case.id,
                    seq,
                    kind: kind.as_str(),
                    author: Author::Handler,
                    author_user_id: Some(&handler.user.id),
                    event_id: None,
                    sealed: sealed.sealed,
                    created_on: today,
                    aad_version: RECORD_AAD_VERSION,
                },
            )?;
            audit_case(
                tx,
                handler,
                &case,
                action,
                None,
                "sealed in the browser".to_owned(),
                now,
            )?;
            Ok(seq)
        })
    }
}
