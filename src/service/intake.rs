//! Raising a concern: seal it, wrap its keys to the reporter and the chosen intake contacts,
//! record its receipt, all in one transaction. The case key is returned once and never stored.

use time::Date;

use super::accounts::{crypto_failure, validate_text};
use super::casefile::{self, RecordDraft, stored_public_key};
use super::content::{ConcernContent, IdentityContent};
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::{
    self, CaseKey, DataKey, KeyKind, PublicKey, RecordKind, Secret, SubmissionToken, WrapContext,
};
use crate::ids::{CaseId, EventId, RecordId, UserId};
use crate::model::{Author, Channel};
use crate::procedure::{Anonymity, Event, EventKind, Service, Topic};
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{self, Case};
use crate::store::organisations::Organisation;
use crate::store::users::{self, User};
/// Who a wrapped key is for (the reporter, an account, the recovery key).
pub use crate::store::wraps::Recipient;
use crate::store::wraps::{self, Wrap};
use crate::store::{StoreError, Tx, events, organisations};

mod sealed;

pub use sealed::{IntakeKey, IntakeKeys, SealedConcern, SealedPart, SealedWrap};

pub const MAX_CONCERN_CHARS: usize = 20_000;

/// The conflict code for a submission token used on an earlier day.
pub const ALREADY_SENT: &str = "already_sent";

pub struct NewConcern {
    pub organisation: String,
    pub service: Service,
    pub anonymity: Anonymity,
    pub topic: Topic,
    pub concern: Secret<String>,
    pub became_aware_on: Option<Date>,
    /// Intake contacts the reporter does not want to read it.
    pub exclude: Vec<UserId>,
    pub identity: Option<ReporterIdentity>,
}

pub struct ReporterIdentity {
    pub name: Secret<String>,
    pub contact: Secret<String>,
}

/// A concern raised outside the portal (in person, by phone, e-mail, letter, to a line manager)
/// and recorded by a contact or investigator, who then hands the case key to the reporter.
pub struct Recording<'a> {
    pub recorder: &'a Handler,
    /// The day the concern was raised; may be earlier than today, never later.
    pub received_on: Date,
    pub channel: Channel,
}

/// Given to the reporter when the concern is sent, and again to a browser that sends the same
/// submission token on the same day.
pub struct Receipt {
    pub case_key: Secret<String>,
    pub reference: String,
    /// This submission had already been sent: nothing new was saved.
    pub already_sent: bool,
}

/// Someone who will be able to read a new concern.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeContact {
    pub id: UserId,
    pub name: String,
    pub role: String,
}

/// An organisation as the reporter sees it before writing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeOrganisation {
    pub slug: String,
    pub name: String,
    pub services: Vec<Service>,
    pub intake: Vec<IntakeContact>,
    /// Whether an offline recovery key can also open new concerns.
    pub recovery_key: bool,
    /// Months a finished concern's content is kept after its last activity.
    pub retention_months: u32,
}

fn intake_contact(user: &User) -> IntakeContact {
    IntakeContact {
        id: user.id.clone(),
        name: user.display_name.clone(),
        role: if user.job_title.is_empty() {
            user.role.label().to_owned()
        } else {
            user.job_title.clone()
        },
    }
}

fn services_of(organisation: &Organisation) -> Vec<Service> {
    let mut services = Vec::new();
    if organisation.serves_nhs {
        services.push(Service::Nhs);
    }
    if organisation.serves_local_authority {
        services.push(Service::LocalAuthority);
    }
    services
}

fn describe(tx: &mut Tx, organisation: Organisation) -> Result<IntakeOrganisation, StoreError> {
    let intake = users::intake_list(tx, &organisation.id)?
        .iter()
        .map(intake_contact)
        .collect();
    Ok(IntakeOrganisation {
        services: services_of(&organisation),
        recovery_key: organisation.recovery_public_key.is_some(),
        retention_months: organisation.retention_months,
        slug: organisation.slug,
        name: organisation.name,
        intake,
    })
}

struct CheckedConcern {
    text: String,
    identity: Option<IdentityContent>,
}

fn check_became_aware(became_aware_on: Option<Date>, today: Date) -> Result<(), ServiceError> {
    match became_aware_on {
        Some(aware) if aware > today || aware.year() < 1950 => Err(ServiceError::invalid(
            "invalid_became_aware_on",
            "the date you became aware cannot be in the future",
        )),
        _ => Ok(()),
    }
}

fn check_service(service: Service, organisation: &Organisation) -> Result<(), ServiceError> {
    if services_of(organisation).contains(&service) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "service_not_offered",
            format!(
                "{} does not deliver that kind of service",
                organisation.name
            ),
        ))
    }
}

fn check(
    concern: &NewConcern,
    organisation: &Organisation,
    today: Date,
) -> Result<CheckedConcern, ServiceError> {
    check_service(concern.service, organisation)?;
    let text = concern.concern.expose_secret().trim();
    if text.is_empty() {
        return Err(ServiceError::invalid(
            "concern_missing",
            "write down your concern before sending it",
        ));
    }
    if text.chars().count() > MAX_CONCERN_CHARS || text.contains('\0') {
        return Err(ServiceError::invalid(
            "concern_too_long",
            format!(
                "a concern can be at most {MAX_CONCERN_CHARS} characters; send the rest as a message afterwards"
            ),
        ));
    }
    check_became_aware(concern.became_aware_on, today)?;
    let identity = match (concern.anonymity, &concern.identity) {
        (Anonymity::Anonymous, None) => None,
        (Anonymity::Anonymous, Some(_)) => {
            return Err(ServiceError::invalid(
                "identity_not_expected",
                "an anonymous concern cannot include your name; choose confidential instead",
            ));
        }
        (Anonymity::Confidential, None) => {
            return Err(ServiceError::invalid(
                "identity_missing",
                "a confidential concern needs your name and a way to contact you",
            ));
        }
        (Anonymity::Confidential, Some(identity)) => Some(IdentityContent {
            name: validate_text("your name", identity.name.expose_secret(), 1, 200)?,
            contact: validate_text(
                "how to contact you",
                identity.contact.expose_secret(),
                1,
                500,
            )?,
        }),
    };
    Ok(CheckedConcern {
        text: text.to_owned(),
        identity,
    })
}

/// The intake contacts who will be able to read the concern: all of them minus the excluded.
fn chosen_readers<'a>(
    exclude: &[UserId],
    intake: &'a [User],
) -> Result<Vec<&'a User>, ServiceError> {
    if let Some(unknown) = exclude
        .iter()
        .find(|excluded| !intake.iter().any(|user| &user.id == *excluded))
    {
        return Err(ServiceError::invalid(
            "unknown_contact",
            format!("{unknown} is not one of this organisation's contacts"),
        ));
    }
    let readers: Vec<&User> = intake
        .iter()
        .filter(|user| !exclude.contains(&user.id))
        .collect();
    if readers.is_empty() {
        return Err(ServiceError::invalid(
            "no_readers_left",
            "at least one person must be able to read your concern",
        ));
    }
    Ok(readers)
}

/// How a case row stores the reporter's choice of anonymity.
fn anonymity_text(anonymity: Anonymity) -> &'static str {
    match anonymity {
        Anonymity::Anonymous => "anonymous",
        Anonymity::Confidential => "confidential",
    }
}

/// How a case row stores the topic.
fn topic_text(topic: Topic) -> &'static str {
    match topic {
        Topic::General => "general",
        Topic::PublicMoney => "public_money",
    }
}

fn reporter_record<'a>(
    id: &'a RecordId,
    case_id: &'a CaseId,
    kind: RecordKind,
    written_on: Date,
) -> RecordDraft<'a> {
    RecordDraft {
        id,
        case_id,
        kind,
        author: Author::Reporter,
        author_user_id: None,
        event_id: None,
        written_on,
    }
}

/// The answer to a submission sent again: the same key and reference on the day it was sent,
/// and afterwards only that it was sent.
fn replay(sent: &Case, case_key: &CaseKey, today: Date) -> Result<Receipt, ServiceError> {
    if sent.received_on == today {
        Ok(Receipt {
            case_key: case_key.to_display_string(),
            reference: sent.reference.clone(),
            already_sent: true,
        })
    } else {
        Err(ServiceError::Conflict {
            code: ALREADY_SENT,
            message: format!(
                "this concern was already sent on {} as {}; it was not sent again",
                crate::procedure::date_words(sent.received_on),
                sent.reference
            ),
        })
    }
}

/// The account recording a concern, checked afresh: active, of this organisation, and one who
/// may hold cases.
fn recorder_of(
    tx: &mut Tx,
    recording: Option<&Recording<'_>>,
    organisation: &Organisation,
) -> Result<Option<User>, ServiceError> {
    let Some(recording) = recording else {
        return Ok(None);
    };
    let user = users::find(tx, &recording.recorder.user.id)?
        .filter(|user| {
            user.active && user.organisation_id == organisation.id && user.role.may_hold_cases()
        })
        .ok_or(ServiceError::NotFound)?;
    Ok(Some(user))
}

/// The chosen intake contacts, plus whoever recorded the concern: they heard it already.
fn readers_with(chosen: Vec<&User>, recorder: Option<&User>) -> Vec<User> {
    let mut readers: Vec<User> = chosen.into_iter().cloned().collect();
    if let Some(recorder) = recorder
        && !readers.iter().any(|user| user.id == recorder.id)
    {
        readers.push(recorder.clone());
    }
    readers
}

fn readers_ref(readers: &[User]) -> Vec<&User> {
    readers.iter().collect()
}

/// The same people with the same keys, in any order.
fn same_readers(a: &[&User], b: &[&User]) -> bool {
    let key = |users: &[&User]| {
        let mut pairs: Vec<(String, Vec<u8>)> = users
            .iter()
            .map(|user| (user.id.as_str().to_owned(), user.public_key.clone()))
            .collect();
        pairs.sort();
        pairs
    };
    key(a) == key(b)
}

impl Portal {
    /// What every new case gets once its row and records are in: the wraps, the "received"
    /// event, and a notice to exactly the people the concern was wrapped to (an excluded contact
    /// holds no wrap; whoever recorded it already knows).
    #[expect(
        clippy::too_many_arguments,
        reason = "the facts of one receipt, each from a different source; a struct would only rename them"
    )]
    fn record_receipt(
        &self,
        tx: &mut Tx,
        case_id: &CaseId,
        reference: &str,
        grants: &[Wrap],
        received_on: Date,
        recorder: Option<&UserId>,
        organisation: &Organisation,
    ) -> Result<(), ServiceError> {
        for grant in grants {
            wraps::insert(tx, grant)?;
        }
        events::append(
            tx,
            case_id,
            &EventId::generate(),
            &Event::new(received_on, EventKind::Received),
            recorder,
        )?;
        super::schedule::reschedule(tx, case_id, organisation)?;
        super::notices::tell_holders(
            tx,
            case_id,
            &crate::notify::Notice::NewConcern {
                reference: reference.to_owned(),
            },
            recorder,
            &self.settings.public_url,
            self.clock.now_utc_naive(),
        )?;
        Ok(())
    }

    /// Every organisation with the people who would read a new concern.
    pub fn intake_organisations(&self) -> Result<Vec<IntakeOrganisation>, ServiceError> {
        self.store.read(|tx| {
            organisations::list(tx)?
                .into_iter()
                .map(|organisation| describe(tx, organisation).map_err(ServiceError::from))
                .collect()
        })
    }

    pub fn intake_organisation(&self, slug: &str) -> Result<IntakeOrganisation, ServiceError> {
        self.store.read(|tx| {
            let organisation = casefile::organisation(tx, slug)?;
            Ok(describe(tx, organisation)?)
        })
    }

    /// Everything [`Portal::submit_concern`] checks, without saving anything: for a review page
    /// that shows exactly who would be able to read the concern before it is sent.
    pub fn check_concern(&self, concern: &NewConcern) -> Result<Vec<IntakeContact>, ServiceError> {
        let today = self.clock.today();
        self.store.read(|tx| {
            let organisation = casefile::organisation(tx, &concern.organisation)?;
            check(concern, &organisation, today)?;
            let intake = users::intake_list(tx, &organisation.id)?;
            Ok(chosen_readers(&concern.exclude, &intake)?
                .into_iter()
                .map(intake_contact)
                .collect())
        })
    }

    /// Sends a concern with a new random case key. Clients that may send twice use
    /// [`Portal::submit_concern_once`].
    pub fn submit_concern(&self, concern: NewConcern) -> Result<Receipt, ServiceError> {
        self.submit_with_retries(&concern, None, None)
    }

    /// Records a concern raised outside the portal. It is sealed and wrapped exactly as a
    /// portal concern (to the intake contacts the reporter did not leave out, and to the
    /// person recording it), dated the day it was raised, and audited. The case key comes back
    /// once, for the recorder to give to the reporter (the printable letter).
    pub fn record_concern(
        &self,
        concern: NewConcern,
        recording: &Recording<'_>,
    ) -> Result<Receipt, ServiceError> {
        let today = self.clock.today();
        if recording.channel == Channel::Portal {
            return Err(ServiceError::invalid(
                "invalid_channel",
                "say how the concern was raised: in person, by phone, e-mail, letter, to a line manager, or another way",
            ));
        }
        if recording.received_on > today || recording.received_on.year() < 2000 {
            return Err(ServiceError::invalid(
                "invalid_received_on",
                "the day the concern was raised cannot be in the future",
            ));
        }
        if !recording.recorder.user.role.may_hold_cases() {
            return Err(ServiceError::NotFound);
        }
        self.submit_with_retries(&concern, None, Some(recording))
    }

    /// Sends a concern at most once per token: the case key is derived from the token, so a
    /// second send with it finds the case by its lookup id. On the day it was sent the same key
    /// and reference come back (`already_sent`); later the answer is a conflict
    /// `already_sent`, because an old page replayed from a browser's history should not keep
    /// showing the key.
    pub fn submit_concern_once(
        &self,
        concern: NewConcern,
        token: &SubmissionToken,
    ) -> Result<Receipt, ServiceError> {
        self.submit_with_retries(&concern, Some(token), None)
    }

    /// The answer to a submission already sent with this token, if it was: checked before the
    /// rate limit, so a reload is never told its concern "has not been sent".
    pub fn sent_with(&self, token: &SubmissionToken) -> Result<Option<Receipt>, ServiceError> {
        let today = self.clock.today();
        let case_key = CaseKey::from_submission_token(token).map_err(crypto_failure)?;
        let lookup_id = case_key.lookup_id();
        let sent = self
            .store
            .read(|tx| cases::find_by_lookup_id(tx, &lookup_id))?;
        sent.map(|sent| replay(&sent, &case_key, today)).transpose()
    }

    fn submit_with_retries(
        &self,
        concern: &NewConcern,
        token: Option<&SubmissionToken>,
        recording: Option<&Recording<'_>>,
    ) -> Result<Receipt, ServiceError> {
        let today = self.clock.today();
        // References are 40 random bits; on the rare clash, draw again. Two sends of one token
        // racing on PostgreSQL: the loser's insert hits the unique lookup id, and its retry
        // finds the winner's case.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let case_key = match token {
                Some(token) => CaseKey::from_submission_token(token).map_err(crypto_failure)?,
                None => CaseKey::generate(),
            };
            match self.try_submit(concern, case_key, today, recording) {
                Err(ServiceError::Conflict { code, .. })
                    if code != ALREADY_SENT && attempts < 4 =>
                {
                    continue;
                }
                outcome => return outcome,
            }
        }
    }

    fn try_submit(
        &self,
        concern: &NewConcern,
        case_key: CaseKey,
        today: Date,
        recording: Option<&Recording<'_>>,
    ) -> Result<Receipt, ServiceError> {
        let received_on = recording.map_or(today, |r| r.received_on);
        let channel = recording.map_or(Channel::Portal, |r| r.channel);
        let lookup_id = case_key.lookup_id();
        // 0. A case already under this key means the same submission came again.
        let sent = self
            .store
            .read(|tx| cases::find_by_lookup_id(tx, &lookup_id))?;
        if let Some(sent) = sent {
            return replay(&sent, &case_key, today);
        }
        // 1. Read what the concern depends on: the organisation, its readers, the recovery key.
        let (organisation, checked, readers) = self.store.read(|tx| {
            let organisation = casefile::organisation(tx, &concern.organisation)?;
            let checked = check(concern, &organisation, today)?;
            let intake = users::intake_list(tx, &organisation.id)?;
            let recorder = recorder_of(tx, recording, &organisation)?;
            let readers = readers_with(
                chosen_readers(&concern.exclude, &intake)?,
                recorder.as_ref(),
            );
            Ok::<_, ServiceError>((organisation, checked, readers))
        })?;

        // 2. Wrap the keys outside the write lock: this is most of a submission's CPU, and SQLite
        //    has one writer. The records are sealed inside it, bound to the positions they get.
        let reporter = case_key.reporter_key_pair().map_err(crypto_failure)?;
        let proof_hash = case_key
            .mailbox_proof()
            .map_err(crypto_failure)?
            .stored_hash();
        let case_data_key = DataKey::generate();
        let identity_key = DataKey::generate();
        let case_id = CaseId::generate();
        let reference = crypto::random_reference();
        let concern_record = RecordId::generate();
        let identity_record = RecordId::generate();
        let wrap = |key: &DataKey, kind: KeyKind, to: &PublicKey| {
            crypto::wrap_key(key, to, &WrapContext::new(case_id.as_str(), kind))
                .map_err(crypto_failure)
        };
        let grant = |recipient: Recipient, key_kind: KeyKind, wrapped: Vec<u8>| Wrap {
            case_id: case_id.clone(),
            recipient,
            key_kind,
            wrapped,
            granted_by: None,
            granted_on: today,
        };
        let mut grants = vec![grant(
            Recipient::Reporter,
            KeyKind::Case,
            wrap(&case_data_key, KeyKind::Case, &reporter.public)?,
        )];
        for reader in &readers {
            let reader_key = stored_public_key(&reader.public_key)?;
            grants.push(grant(
                Recipient::User(reader.id.clone()),
                KeyKind::Case,
                wrap(&case_data_key, KeyKind::Case, &reader_key)?,
            ));
            if checked.identity.is_some() {
                grants.push(grant(
                    Recipient::User(reader.id.clone()),
                    KeyKind::Identity,
                    wrap(&identity_key, KeyKind::Identity, &reader_key)?,
                ));
            }
        }
        if let Some(recovery) = &organisation.recovery_public_key {
            // The recovery key can reopen the case, never the reporter's identity.
            grants.push(grant(
                Recipient::Recovery,
                KeyKind::Case,
                wrap(&case_data_key, KeyKind::Case, &stored_public_key(recovery)?)?,
            ));
        }
        let concern_content = ConcernContent {
            text: checked.text.clone(),
            excluded: concern
                .exclude
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect(),
        };

        // 3. Write, after confirming nothing the wraps depend on changed meanwhile (an admin
        //    editing the intake list); if it did, start again with the new list.
        self.store.write(|tx| {
            if cases::find_by_lookup_id(tx, &lookup_id)?.is_some() {
                // Sent meanwhile by a twin request: the retry answers with its receipt.
                return Err(ServiceError::Conflict {
                    code: "sent_meanwhile",
                    message: "this concern was sent by another request".to_owned(),
                });
            }
            let current = casefile::organisation(tx, &concern.organisation)?;
            let intake = users::intake_list(tx, &current.id)?;
            let recorder = recorder_of(tx, recording, &current)?;
            let now_readers = readers_with(chosen_readers(&concern.exclude, &intake)?, recorder.as_ref());
            let still_same = current.id == organisation.id
                && current.recovery_public_key == organisation.recovery_public_key
                && same_readers(&readers_ref(&now_readers), &readers_ref(&readers));
            if !still_same {
                return Err(ServiceError::Conflict {
                    code: "intake_changed",
                    message: "the organisation's contacts changed while the concern was being sent; please send it again".to_owned(),
                });
            }
            cases::insert(
                tx,
                &Case {
                    id: case_id.clone(),
                    organisation_id: organisation.id.clone(),
                    reference: reference.clone(),
                    lookup_id: lookup_id.to_vec(),
                    reporter_public_key: reporter.public.to_bytes().to_vec(),
                    service: concern.service.as_str().to_owned(),
                    anonymity: anonymity_text(concern.anonymity).to_owned(),
                    topic: topic_text(concern.topic).to_owned(),
                    received_on,
                    became_aware_on: concern.became_aware_on,
                    channel: channel.as_str().to_owned(),
                    erased_on: None,
                },
            )?;
            cases::set_mailbox_proof_hash(tx, &case_id, &proof_hash)?;
            casefile::append_sealed(
                tx,
                &case_data_key,
                &reporter_record(&concern_record, &case_id, RecordKind::Concern, received_on),
                &concern_content,
            )?;
            if let Some(identity) = &checked.identity {
                casefile::append_sealed(
                    tx,
                    &identity_key,
                    &reporter_record(&identity_record, &case_id, RecordKind::Identity, received_on),
                    identity,
                )?;
            }
            self.record_receipt(
                tx,
                &case_id,
                &reference,
                &grants,
                received_on,
                recording.map(|r| &r.recorder.user.id),
                &current,
            )?;
            if let Some(recording) = recording {
                audit::append(
                    tx,
                    NewEntry {
                        actor_user_id: Some(recording.recorder.user.id.as_str().to_owned()),
                        action: "case_recorded",
                        organisation_id: Some(organisation.id.as_str().to_owned()),
                        case_id: Some(case_id.as_str().to_owned()),
                        subject_user_id: None,
                        detail: format!("channel={} received_on={received_on}", channel.as_str()),
                    },
                    self.clock.now_utc_naive(),
                )?;
            }
            Ok::<_, ServiceError>(())
        })
?;
        Ok(Receipt {
            case_key: case_key.to_display_string(),
            reference,
            already_sent: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user(id: &str, key: u8) -> User {
        User {
            id: UserId::from_stored(id.to_owned()),
            organisation_id: crate::ids::OrganisationId::from_stored("o".into()),
            email: format!("{id}@x.scot"),
            display_name: id.to_owned(),
            job_title: String::new(),
            role: crate::model::Role::Contact,
            active: true,
            public_key: vec![key; 32],
            key_generation: 1,
            created_at: datetime!(2026-11-22 10:00),
            updated_at: datetime!(2026-11-22 10:00),
        }
    }

    #[test]
    fn readers_compare_by_person_and_key_in_any_order() {
        let (a, b) = (user("a", 1), user("b", 2));
        assert!(same_readers(&[&a, &b], &[&b, &a]));
        assert!(!same_readers(&[&a, &b], &[&a]));
        let reset_b = user("b", 3);
        assert!(
            !same_readers(&[&a, &b], &[&a, &reset_b]),
            "a new key pair means new wraps"
        );
    }
}
