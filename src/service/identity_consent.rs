//! Part 8 of the Standards: a confidential reporter's identity is shared only with their
//! consent. A holder of the identity asks; the identity key wrapped for the new person waits in
//! the request until the reporter agrees from the mailbox, and is never used if they decline.

use serde::Serialize;
use time::Date;

use super::accounts::crypto_failure;
use super::casefile::{open_json, seal_json, stored_public_key};
use super::casework::OpenCase;
use super::content::MessageContent;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::{self, DataKey, KeyKind, RecordKind, WrapContext};
use crate::ids::{RecordId, UserId};
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{Case, SealedRecord};
use crate::store::identity_requests::{self, IdentityRequest};
use crate::store::users::{self, User};
use crate::store::wraps::{self, Recipient, Wrap};
use crate::store::{Tx, cases};

pub const MAX_REASON_CHARS: usize = 2_000;

/// What the reporter sees of a request: who would learn their name, and why.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRequestView {
    pub id: String,
    pub to_name: String,
    pub to_role: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Decline,
}

pub fn checked_reason(reason: &str) -> Result<String, ServiceError> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON_CHARS || reason.contains('\0') {
        return Err(ServiceError::invalid(
            "reason_too_long",
            format!("a reason can be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// Creates the request (no wrap yet) unless one is already waiting for the same person.
pub(super) fn request(
    tx: &mut Tx,
    open: &OpenCase,
    handler: &Handler,
    target: &User,
    identity: &DataKey,
    reason: &str,
    today: Date,
) -> Result<bool, ServiceError> {
    if identity_requests::pending_for(tx, &open.case.id, &target.id)?.is_some() {
        return Ok(false);
    }
    let id = RecordId::generate();
    let sealed_reason = seal_json(
        &open.key,
        open.case.id.as_str(),
        RecordKind::IdentityRequest,
        id.as_str(),
        &MessageContent {
            body: reason.to_owned(),
        },
    )?;
    let pending_wrap = crypto::wrap_key(
        identity,
        &stored_public_key(&target.public_key)?,
        &WrapContext::new(open.case.id.as_str(), KeyKind::Identity),
    )
    .map_err(crypto_failure)?;
    store_request(
        tx,
        &open.case,
        handler,
        target,
        id.as_str(),
        sealed_reason,
        pending_wrap,
        today,
    )?;
    Ok(true)
}

/// The request as a browser session made it (the identity key wrapped for the new holder and
/// the reason sealed in the browser); the caller checked that one is due.
pub(super) fn insert_request(
    tx: &mut Tx,
    case: &Case,
    handler: &Handler,
    target: &User,
    made: &super::casework::BrowserIdentityRequest<'_>,
    today: Date,
) -> Result<(), ServiceError> {
    store_request(
        tx,
        case,
        handler,
        target,
        made.request_id,
        made.sealed_reason.to_vec(),
        made.identity_wrap.to_vec(),
        today,
    )
    .map_err(|error| match error {
        ServiceError::Conflict { .. } => ServiceError::Conflict {
            code: "already_sent",
            message: "an identity request with that id was already made".to_owned(),
        },
        other => other,
    })
}

/// What a browser sealed as a request's reason: a fresh id, and a size a reason can have.
pub(super) fn check_sealed_reason(request_id: &str, sealed: &[u8]) -> Result<(), ServiceError> {
    let id_ok = request_id.len() == 32
        && request_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !id_ok {
        return Err(ServiceError::invalid(
            "invalid_id",
            "a request id is 32 lowercase hexadecimal characters",
        ));
    }
    // Nonce and tag around `{"body": …}`, a character taking at most 6 bytes in JSON.
    if sealed.len() <= 40 || sealed.len() > 40 + 6 * MAX_REASON_CHARS + 64 {
        return Err(ServiceError::invalid(
            "invalid_sealed",
            "the sealed reason is empty or longer than a reason can be",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn store_request(
    tx: &mut Tx,
    case: &Case,
    handler: &Handler,
    target: &User,
    id: &str,
    sealed_reason: Vec<u8>,
    pending_wrap: Vec<u8>,
    today: Date,
) -> Result<(), ServiceError> {
    identity_requests::insert(
        tx,
        &IdentityRequest {
            id: id.to_owned(),
            case_id: case.id.as_str().to_owned(),
            recipient_user_id: target.id.as_str().to_owned(),
            recipient_key_generation: target.key_generation,
            requested_by: handler.user.id.as_str().to_owned(),
            sealed_reason,
            pending_wrap,
            requested_on: today,
            decision: None,
            decided_on: None,
        },
    )?;
    Ok(())
}

fn open_reason(
    key: &DataKey,
    case: &Case,
    request: &IdentityRequest,
) -> Result<String, ServiceError> {
    let record = SealedRecord {
        id: RecordId::from_stored(request.id.clone()),
        case_id: case.id.clone(),
        seq: 0,
        kind: RecordKind::IdentityRequest.as_str().to_owned(),
        author: crate::model::Author::Handler,
        author_user_id: None,
        event_id: None,
        sealed: request.sealed_reason.clone(),
        created_on: request.requested_on,
        // Sealed by `seal_json`: case, kind and id only.
        aad_version: 1,
    };
    Ok(open_json::<MessageContent>(key, &record, RecordKind::IdentityRequest)?.body)
}

/// A request waiting for this reporter, with the person who would learn their identity.
pub(super) struct PendingRequest {
    pub request: IdentityRequest,
    pub to_name: String,
    pub to_role: String,
}

/// The requests waiting for this reporter, oldest first, each with the name and role the
/// reporter is shown (a request for an account since removed is left out).
pub(super) fn pending(tx: &mut Tx, case: &Case) -> Result<Vec<PendingRequest>, ServiceError> {
    let mut waiting = Vec::new();
    for request in identity_requests::pending_for_case(tx, &case.id)? {
        let Some(person) =
            users::find(tx, &UserId::from_stored(request.recipient_user_id.clone()))?
        else {
            continue;
        };
        waiting.push(PendingRequest {
            request,
            to_name: person.display_name.clone(),
            to_role: if person.job_title.is_empty() {
                person.role.label().to_owned()
            } else {
                person.job_title.clone()
            },
        });
    }
    Ok(waiting)
}

/// The requests waiting for this reporter, with the reasons opened under the case key.
pub(super) fn pending_views(
    tx: &mut Tx,
    case: &Case,
    key: &DataKey,
) -> Result<Vec<IdentityRequestView>, ServiceError> {
    pending(tx, case)?
        .into_iter()
        .map(|waiting| {
            Ok(IdentityRequestView {
                reason: open_reason(key, case, &waiting.request)?,
                id: waiting.request.id,
                to_name: waiting.to_name,
                to_role: waiting.to_role,
            })
        })
        .collect()
}

impl Portal {
    /// The reporter's answer. On approval the waiting wrap becomes the person's identity grant,
    /// provided they still hold the case with the same key pair and are active.
    pub fn decide_identity_request(
        &self,
        token: &str,
        request_id: &str,
        decision: Decision,
    ) -> Result<(), ServiceError> {
        let today = self.clock.today();
        self.store.write(|tx| {
            // Any mailbox session, a proof session included: the answer needs no key (the wrap
            // for the person was made when they asked).
            let (case, _) = self.reporter_session(tx, token)?;
            cases::lock(tx, &case.id)?;
            let stored = match decision {
                Decision::Approve => "approved",
                Decision::Decline => "declined",
            };
            let request = identity_requests::decide(tx, &case.id, request_id, stored, today)?
                .ok_or(ServiceError::NotFound)?;
            let recipient_id = UserId::from_stored(request.recipient_user_id.clone());
            if decision == Decision::Approve {
                let recipient = Recipient::User(recipient_id.clone());
                let eligible = users::find(tx, &recipient_id)?.is_some_and(|person| {
                    person.active && person.key_generation == request.recipient_key_generation
                }) && wraps::find(tx, &case.id, &recipient, KeyKind::Case)?
                    .is_some();
                if !eligible {
                    return Err(ServiceError::Conflict {
                        code: "request_outdated",
                        message: "that person no longer holds your concern, so nothing was shared"
                            .to_owned(),
                    });
                }
                if wraps::find(tx, &case.id, &recipient, KeyKind::Identity)?.is_none() {
                    wraps::insert(
                        tx,
                        &Wrap {
                            case_id: case.id.clone(),
                            recipient,
                            key_kind: KeyKind::Identity,
                            wrapped: request.pending_wrap.clone(),
                            granted_by: Some(UserId::from_stored(request.requested_by.clone())),
                            granted_on: today,
                        },
                    )?;
                }
            }
            // The reporter's side is recorded by date only, like everything else they do.
            audit::append(
                tx,
                NewEntry {
                    action: if decision == Decision::Approve {
                        "identity_shared_with_consent"
                    } else {
                        "identity_request_declined"
                    },
                    organisation_id: Some(case.organisation_id.as_str().to_owned()),
                    case_id: Some(case.id.as_str().to_owned()),
                    subject_user_id: Some(recipient_id.as_str().to_owned()),
                    detail: "by=reporter".to_owned(),
                    ..NewEntry::default()
                },
                today.midnight(),
            )?;
            Ok(())
        })
    }
}
