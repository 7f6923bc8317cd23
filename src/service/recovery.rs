//! The organisation recovery key: an X25519 key pair whose secret is printed once and kept
//! offline by the executive lead. Every new case key is also wrapped to it, so a contact
//! leaving or losing their password loses no case. It never opens a reporter's identity.

use super::accounts::crypto_failure;
use super::casefile::open_json;
use super::content::ConcernContent;
use super::{Portal, ServiceError};
use crate::crypto::{self, DataKey, KeyKind, KeyPair, RecordKind, Secret, SecretKey, WrapContext};
use crate::store::Tx;
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{self, Case};
use crate::store::wraps::{self, Recipient, Wrap};
use crate::store::{conflicts, organisations, users};

impl Portal {
    /// Creates the organisation's recovery key; returns the secret as text, once.
    pub fn create_recovery_key(&self, slug: &str) -> Result<Secret<String>, ServiceError> {
        let pair = KeyPair::generate();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            if organisation.recovery_public_key.is_some() {
                return Err(ServiceError::Conflict {
                    code: "recovery_key_exists",
                    message: format!("{} already has a recovery key", organisation.name),
                });
            }
            organisations::set_recovery_key(tx, &organisation.id, &pair.public.to_bytes())?;
            audit::append(
                tx,
                NewEntry {
                    action: "recovery_key_created",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    detail: "via=cli".to_owned(),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })?;
        Ok(pair.secret.to_recovery_text())
    }

    /// Re-grants a case to a handler using the offline recovery secret (case key only).
    pub fn recover_case(
        &self,
        slug: &str,
        reference: &str,
        recovery_text: &Secret<String>,
        to_email: &str,
    ) -> Result<(), ServiceError> {
        let secret = SecretKey::from_recovery_text(recovery_text.expose_secret())
            .map_err(|error| ServiceError::invalid("invalid_recovery_key", error.to_string()))?;
        let email = super::accounts::normalise_email(to_email)?;
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let organisation = organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            let stored_public = organisation
                .recovery_public_key
                .as_deref()
                .ok_or_else(|| ServiceError::invalid("no_recovery_key", "this organisation has no recovery key"))?;
            if secret.public_key().to_bytes().as_slice() != stored_public {
                return Err(ServiceError::invalid(
                    "wrong_recovery_key",
                    "that is not this organisation's recovery key",
                ));
            }
            let case = cases::find_by_reference(tx, reference)?
                .filter(|case| case.organisation_id == organisation.id)
                .ok_or(ServiceError::NotFound)?;
            let key = recovered_key(tx, &case, &secret)?;
            let target = users::find_by_email(tx, &email)?
                .map(|(user, _)| user)
                .filter(|user| user.active && user.organisation_id == organisation.id && user.role.may_hold_cases())
                .ok_or_else(|| ServiceError::invalid(
                    "unknown_user",
                    "no active contact or investigator in this organisation has that e-mail address",
                ))?;
            super::exclusions::ensure_not_excluded(tx, &case, &key, &target)?;
            if conflicts::exists(tx, &case.id, &target.id)? {
                return Err(ServiceError::Conflict {
                    code: "conflict_of_interest",
                    message: format!("{} has declared a conflict of interest on this case", target.display_name),
                });
            }
            let recipient = Recipient::User(target.id.clone());
            let public = super::casefile::stored_public_key(&target.public_key)?;
            wraps::delete(tx, &case.id, &recipient, &[KeyKind::Case])?;
            wraps::insert(
                tx,
                &Wrap {
                    case_id: case.id.clone(),
                    recipient,
                    key_kind: KeyKind::Case,
                    wrapped: crypto::wrap_key(&key, &public, &WrapContext::new(case.id.as_str(), KeyKind::Case))
                        .map_err(crypto_failure)?,
                    granted_by: None,
                    granted_on: today,
                },
            )?;
            audit::append(
                tx,
                NewEntry {
                    action: "case_recovered",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    case_id: Some(case.id.as_str().to_owned()),
                    subject_user_id: Some(target.id.as_str().to_owned()),
                    detail: "via=cli".to_owned(),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }
}

/// The case key from the case's recovery wrap, checked against the case itself: it must open
/// the concern sealed at intake. A recovery wrap made in a handler's browser (for a case raised
/// before the key existed) is stored as posted, since the server can check only its length; one
/// that does not open, or holds some other key, is refused here with the case named, never
/// handed on.
fn recovered_key(tx: &mut Tx, case: &Case, secret: &SecretKey) -> Result<DataKey, ServiceError> {
    let wrap = wraps::find(tx, &case.id, &Recipient::Recovery, KeyKind::Case)?.ok_or_else(|| {
        ServiceError::invalid(
            "not_recoverable",
            "this case was raised before the recovery key existed and nobody has opened it since",
        )
    })?;
    let unreadable = || ServiceError::Conflict {
        code: "recovery_wrap_unreadable",
        message: format!(
            "the recovery key is right, but the copy of the case key kept for it on case {} does \
             not open the case (it was not made from this case's key); the case cannot be \
             recovered with it: someone who still holds the case can give it on",
            case.reference
        ),
    };
    let key = crypto::unwrap_key(
        secret,
        &wrap.wrapped,
        &WrapContext::new(case.id.as_str(), KeyKind::Case),
    )
    .map_err(|_| unreadable())?;
    for record in cases::records(tx, &case.id, &[RecordKind::Concern.as_str()])? {
        open_json::<ConcernContent>(&key, &record, RecordKind::Concern)
            .map_err(|_| unreadable())?;
    }
    Ok(key)
}
