//! A concern sealed in the reporter's browser (issue 14): the browser made the case key, sealed
//! the concern and identity and wrapped their keys; the server sees only ciphertext, the lookup
//! id and the reporter's public key. It checks everything it can without plaintext: the
//! organisation and service, the day, who the keys are wrapped to (exactly the reporter, the
//! chosen intake contacts, and the recovery key, nobody else and nobody missing), lengths, and
//! that the case is new, then stores it as [`Portal::submit_concern`] would have.

use time::Date;

use super::Recipient;
use super::{
    ALREADY_SENT, Anonymity, IntakeContact, Portal, Service, ServiceError, Topic, anonymity_text,
    check_became_aware, check_service, chosen_readers, intake_contact, topic_text,
};
use crate::crypto::{DataKey, KeyKind, PublicKey, RecordKind, WRAPPED_KEY_LEN, WrapContext};
use crate::ids::{CaseId, RecordId, UserId};
use crate::model::{Author, Channel};
use crate::service::casefile::{self, RECORD_AAD_VERSION};
use crate::store::cases::{self, Case, NewRecord};
use crate::store::organisations;
use crate::store::users::{self, User};
use crate::store::wraps::Wrap;

/// Nonce and tag around every sealed record.
const SEAL_OVERHEAD: usize = 24 + 16;
/// A sealed concern: the longest text the form takes (4 bytes a character at most), its JSON
/// framing and the excluded contacts' ids.
const MAX_SEALED_CONCERN: usize = SEAL_OVERHEAD + 4 * super::MAX_CONCERN_CHARS + 8 * 1024;
/// A sealed name and contact (200 and 500 characters at most).
const MAX_SEALED_IDENTITY: usize = SEAL_OVERHEAD + 4 * 700 + 1024;

/// One intake contact and the key the browser wraps to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeKey {
    #[serde(flatten)]
    pub contact: IntakeContact,
    /// X25519 public key, lowercase hex.
    pub public_key: String,
}

/// What a browser needs to seal a concern for an organisation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeKeys {
    pub organisation: String,
    /// The day the server will record the concern as received; it is bound into the sealed
    /// records, so a concern sealed for another day is refused (`day_changed`).
    pub today: String,
    pub contacts: Vec<IntakeKey>,
    /// The organisation's offline recovery key, if it has one: new case keys must be wrapped to
    /// it too.
    pub recovery_public_key: Option<String>,
}

/// A record sealed in the browser, with the id it was bound to.
pub struct SealedPart {
    pub record_id: RecordId,
    pub sealed: Vec<u8>,
}

/// A data key wrapped in the browser.
pub struct SealedWrap {
    pub recipient: Recipient,
    pub kind: KeyKind,
    pub wrapped: Vec<u8>,
}

/// Everything the browser sends: metadata in the clear (as the server stores it anyway), content
/// sealed.
pub struct SealedConcern {
    pub organisation: String,
    pub service: Service,
    pub anonymity: Anonymity,
    pub topic: Topic,
    pub became_aware_on: Option<Date>,
    pub exclude: Vec<UserId>,
    pub case_id: CaseId,
    pub received_on: Date,
    pub lookup_id: [u8; 32],
    pub reporter_public_key: [u8; 32],
    /// The hash of the mailbox proof the browser derived from the case key, so the reporter can
    /// open the mailbox in the browser later; without it, the first sign-in is server-side.
    pub mailbox_proof_hash: Option<[u8; 32]>,
    /// Sealed under the case data key at position 1.
    pub concern: SealedPart,
    /// Sealed under the identity key at position 2 (confidential concerns only).
    pub identity: Option<SealedPart>,
    pub wraps: Vec<SealedWrap>,
}

/// Ids the server would generate itself: 32 lowercase hex characters.
fn is_generated_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn invalid(code: &'static str, message: &str) -> ServiceError {
    ServiceError::invalid(code, message.to_owned())
}

fn recipient_key(recipient: &Recipient, kind: KeyKind) -> (String, &'static str) {
    let who = match recipient {
        Recipient::Reporter => "reporter".to_owned(),
        Recipient::Recovery => "recovery".to_owned(),
        Recipient::User(id) => format!("user:{}", id.as_str()),
    };
    (who, kind.as_str())
}

/// The wraps must be exactly these: the case key to the reporter, to every reader and to the
/// recovery key (if any), and the identity key to every reader when there is an identity.
fn check_wraps(
    concern: &SealedConcern,
    readers: &[&User],
    recovery: bool,
) -> Result<(), ServiceError> {
    let mut expected = vec![recipient_key(&Recipient::Reporter, KeyKind::Case)];
    for reader in readers {
        let recipient = Recipient::User(reader.id.clone());
        expected.push(recipient_key(&recipient, KeyKind::Case));
        if concern.identity.is_some() {
            expected.push(recipient_key(&recipient, KeyKind::Identity));
        }
    }
    if recovery {
        expected.push(recipient_key(&Recipient::Recovery, KeyKind::Case));
    }
    let mut sent: Vec<_> = concern
        .wraps
        .iter()
        .map(|wrap| recipient_key(&wrap.recipient, wrap.kind))
        .collect();
    expected.sort();
    sent.sort();
    if sent != expected {
        return Err(invalid(
            "wraps_mismatch",
            "the keys must be wrapped to exactly the reporter, the chosen contacts and the recovery key",
        ));
    }
    if concern
        .wraps
        .iter()
        .any(|wrap| wrap.wrapped.len() != WRAPPED_KEY_LEN)
    {
        return Err(invalid(
            "invalid_wrap",
            "a wrapped key has the wrong length",
        ));
    }
    Ok(())
}

fn check_shape(concern: &SealedConcern, today: Date) -> Result<(), ServiceError> {
    if concern.received_on != today {
        return Err(ServiceError::Conflict {
            code: "day_changed",
            message: "the concern was sealed for another day; please send it again".to_owned(),
        });
    }
    let ids = [concern.case_id.as_str(), concern.concern.record_id.as_str()]
        .into_iter()
        .chain(concern.identity.iter().map(|part| part.record_id.as_str()));
    if !ids.into_iter().all(is_generated_id) {
        return Err(invalid("invalid_id", "ids are 32 lowercase hex characters"));
    }
    match (concern.anonymity, &concern.identity) {
        (Anonymity::Anonymous, Some(_)) => {
            return Err(invalid(
                "identity_not_expected",
                "an anonymous concern cannot include your name; choose confidential instead",
            ));
        }
        (Anonymity::Confidential, None) => {
            return Err(invalid(
                "identity_missing",
                "a confidential concern needs your name and a way to contact you",
            ));
        }
        _ => {}
    }
    let sealed_ok = |part: &SealedPart, max: usize| {
        part.sealed.len() > SEAL_OVERHEAD && part.sealed.len() <= max
    };
    if !sealed_ok(&concern.concern, MAX_SEALED_CONCERN)
        || !concern
            .identity
            .as_ref()
            .is_none_or(|part| sealed_ok(part, MAX_SEALED_IDENTITY))
    {
        return Err(invalid(
            "invalid_sealed",
            "a sealed record is empty or longer than the form allows",
        ));
    }
    // A low-order reporter key would make every wrap to the reporter predictable: the server
    // refuses it as the crypto core refuses to wrap to it.
    let probe = WrapContext::new(concern.case_id.as_str(), KeyKind::Case);
    let reporter = PublicKey::from_bytes(concern.reporter_public_key);
    if crate::crypto::wrap_key(&DataKey::generate(), &reporter, &probe).is_err() {
        return Err(invalid(
            "invalid_reporter_key",
            "the reporter's public key is unusable",
        ));
    }
    Ok(())
}

impl Portal {
    /// The intake contacts' public keys for sealing in the browser.
    pub fn intake_keys(&self, slug: &str) -> Result<IntakeKeys, ServiceError> {
        let today = self.clock.today();
        self.store.read(|tx| {
            // The slug is the resource named by the path: an unknown one is not found.
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            let intake = users::intake_list(tx, &organisation.id)?;
            let hex = |bytes: &[u8]| data_encoding::HEXLOWER.encode(bytes);
            Ok(IntakeKeys {
                organisation: organisation.slug.clone(),
                today: today.to_string(),
                contacts: intake
                    .iter()
                    .map(|user| IntakeKey {
                        contact: intake_contact(user),
                        public_key: hex(&user.public_key),
                    })
                    .collect(),
                recovery_public_key: organisation.recovery_public_key.as_deref().map(hex),
            })
        })
    }

    /// Stores a concern sealed in the browser; answers its reference. The case key never
    /// reaches the server.
    pub fn submit_sealed_concern(&self, concern: SealedConcern) -> Result<String, ServiceError> {
        let today = self.clock.today();
        check_shape(&concern, today)?;
        check_became_aware(concern.became_aware_on, today)?;
        let reference = crate::crypto::random_reference();
        self.store.write(|tx| {
            if cases::find_by_lookup_id(tx, &concern.lookup_id)?.is_some() {
                return Err(ServiceError::Conflict {
                    code: ALREADY_SENT,
                    message: "this concern was already sent; it was not sent again".to_owned(),
                });
            }
            let organisation = casefile::organisation(tx, &concern.organisation)?;
            check_service(concern.service, &organisation)?;
            let intake = users::intake_list(tx, &organisation.id)?;
            let readers = chosen_readers(&concern.exclude, &intake)?;
            check_wraps(
                &concern,
                &readers,
                organisation.recovery_public_key.is_some(),
            )?;
            cases::insert(
                tx,
                &Case {
                    id: concern.case_id.clone(),
                    organisation_id: organisation.id.clone(),
                    reference: reference.clone(),
                    lookup_id: concern.lookup_id.to_vec(),
                    reporter_public_key: concern.reporter_public_key.to_vec(),
                    service: concern.service.as_str().to_owned(),
                    anonymity: anonymity_text(concern.anonymity).to_owned(),
                    topic: topic_text(concern.topic).to_owned(),
                    received_on: today,
                    became_aware_on: concern.became_aware_on,
                    channel: Channel::Portal.as_str().to_owned(),
                    erased_on: None,
                },
            )?;
            if let Some(hash) = &concern.mailbox_proof_hash {
                cases::set_mailbox_proof_hash(tx, &concern.case_id, hash)?;
            }
            let parts = [(&concern.concern, RecordKind::Concern, 1)]
                .into_iter()
                .chain(
                    concern
                        .identity
                        .iter()
                        .map(|part| (part, RecordKind::Identity, 2)),
                );
            for (part, kind, position) in parts {
                // The browser bound each record to its position in the new case.
                let seq = cases::take_record_seq(tx, &concern.case_id)?;
                if seq != position {
                    return Err(ServiceError::Internal(format!(
                        "a new case's record {position} came at position {seq}"
                    )));
                }
                cases::insert_record(
                    tx,
                    &NewRecord {
                        id: &part.record_id,
                        case_id: &concern.case_id,
                        seq,
                        kind: kind.as_str(),
                        author: Author::Reporter,
                        author_user_id: None,
                        event_id: None,
                        sealed: &part.sealed,
                        created_on: today,
                        aad_version: RECORD_AAD_VERSION,
                    },
                )?;
            }
            let grants: Vec<Wrap> = concern
                .wraps
                .iter()
                .map(|wrap| Wrap {
                    case_id: concern.case_id.clone(),
                    recipient: wrap.recipient.clone(),
                    key_kind: wrap.kind,
                    wrapped: wrap.wrapped.clone(),
                    granted_by: None,
                    granted_on: today,
                })
                .collect();
            self.record_receipt(
                tx,
                &concern.case_id,
                &reference,
                &grants,
                today,
                None,
                &organisation,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_the_server_would_generate_are_taken() {
        assert!(is_generated_id(CaseId::generate().as_str()));
        assert!(!is_generated_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_generated_id("0123456789abcdef0123456789abcde"));
        assert!(!is_generated_id("../../etc/passwd0123456789abcdef"));
    }
}
