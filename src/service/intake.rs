//! Raising a concern: seal it, wrap its keys to the reporter and the chosen intake contacts,
//! record its receipt, all in one transaction. The case key is returned once and never stored.

use time::Date;

use super::accounts::{crypto_failure, validate_text};
use super::casefile::{self, seal_json};
use super::content::{ConcernContent, IdentityContent};
use super::{Portal, ServiceError};
use crate::crypto::{self, CaseKey, DataKey, KeyKind, PublicKey, RecordKind, Secret, WrapContext};
use crate::ids::{CaseId, EventId, RecordId, UserId};
use crate::model::Author;
use crate::procedure::{Anonymity, Event, EventKind, Service, Topic};
use crate::store::cases::{self, Case, NewRecord};
use crate::store::organisations::Organisation;
use crate::store::users::{self, User};
use crate::store::wraps::{self, Recipient, Wrap};
use crate::store::{StoreError, Tx, events, organisations};

pub const MAX_CONCERN_CHARS: usize = 20_000;

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

/// Given to the reporter once.
pub struct Receipt {
    pub case_key: Secret<String>,
    pub reference: String,
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
        slug: organisation.slug,
        name: organisation.name,
        intake,
    })
}

fn public_key(bytes: &[u8]) -> Result<PublicKey, ServiceError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ServiceError::Internal("stored public key has the wrong length".into()))?;
    Ok(PublicKey::from_bytes(bytes))
}

struct CheckedConcern {
    text: String,
    identity: Option<IdentityContent>,
}

fn check(
    concern: &NewConcern,
    organisation: &Organisation,
    today: Date,
) -> Result<CheckedConcern, ServiceError> {
    if !services_of(organisation).contains(&concern.service) {
        return Err(ServiceError::invalid(
            "service_not_offered",
            format!(
                "{} does not deliver that kind of service",
                organisation.name
            ),
        ));
    }
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
    if let Some(aware) = concern.became_aware_on
        && (aware > today || aware.year() < 1950)
    {
        return Err(ServiceError::invalid(
            "invalid_became_aware_on",
            "the date you became aware cannot be in the future",
        ));
    }
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
fn readers<'a>(concern: &NewConcern, intake: &'a [User]) -> Result<Vec<&'a User>, ServiceError> {
    if let Some(unknown) = concern
        .exclude
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
        .filter(|user| !concern.exclude.contains(&user.id))
        .collect();
    if readers.is_empty() {
        return Err(ServiceError::invalid(
            "no_readers_left",
            "at least one person must be able to read your concern",
        ));
    }
    Ok(readers)
}

impl Portal {
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
            Ok(readers(concern, &intake)?
                .into_iter()
                .map(intake_contact)
                .collect())
        })
    }

    pub fn submit_concern(&self, concern: NewConcern) -> Result<Receipt, ServiceError> {
        let today = self.clock.today();
        // References are 40 random bits; on the rare clash, draw again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.try_submit(&concern, today) {
                Err(ServiceError::Conflict { .. }) if attempts < 4 => continue,
                outcome => return outcome,
            }
        }
    }

    fn try_submit(&self, concern: &NewConcern, today: Date) -> Result<Receipt, ServiceError> {
        let case_key = CaseKey::generate();
        let reporter = case_key.reporter_key_pair().map_err(crypto_failure)?;
        let case_data_key = DataKey::generate();
        let identity_key = DataKey::generate();
        let case_id = CaseId::generate();
        let reference = crypto::random_reference();
        let concern_record = RecordId::generate();
        let identity_record = RecordId::generate();

        self.store.write(|tx| {
            let organisation = casefile::organisation(tx, &concern.organisation)?;
            let checked = check(concern, &organisation, today)?;
            let intake = users::intake_list(tx, &organisation.id)?;
            let readers = readers(concern, &intake)?;
            cases::insert(
                tx,
                &Case {
                    id: case_id.clone(),
                    organisation_id: organisation.id.clone(),
                    reference: reference.clone(),
                    lookup_id: case_key.lookup_id().to_vec(),
                    reporter_public_key: reporter.public.to_bytes().to_vec(),
                    service: concern.service.as_str().to_owned(),
                    anonymity: match concern.anonymity {
                        Anonymity::Anonymous => "anonymous",
                        Anonymity::Confidential => "confidential",
                    }
                    .to_owned(),
                    topic: match concern.topic {
                        Topic::General => "general",
                        Topic::PublicMoney => "public_money",
                    }
                    .to_owned(),
                    received_on: today,
                    became_aware_on: concern.became_aware_on,
                },
            )?;
            let sealed = seal_json(
                &case_data_key,
                case_id.as_str(),
                RecordKind::Concern,
                concern_record.as_str(),
                &ConcernContent { text: checked.text },
            )?;
            cases::append_record(
                tx,
                &NewRecord {
                    id: &concern_record,
                    case_id: &case_id,
                    kind: RecordKind::Concern.as_str(),
                    author: Author::Reporter,
                    author_user_id: None,
                    event_id: None,
                    sealed: &sealed,
                    created_on: today,
                },
            )?;

            let wrap = |key: &DataKey, kind: KeyKind, to: &PublicKey| {
                crypto::wrap_key(key, to, &WrapContext::new(case_id.as_str(), kind))
                    .map_err(crypto_failure)
            };
            let mut grant = |recipient: Recipient, kind: KeyKind, wrapped: Vec<u8>| {
                wraps::insert(
                    tx,
                    &Wrap {
                        case_id: case_id.clone(),
                        recipient,
                        key_kind: kind,
                        wrapped,
                        granted_by: None,
                        granted_on: today,
                    },
                )
            };
            grant(
                Recipient::Reporter,
                KeyKind::Case,
                wrap(&case_data_key, KeyKind::Case, &reporter.public)?,
            )?;
            for reader in &readers {
                let reader_key = public_key(&reader.public_key)?;
                grant(
                    Recipient::User(reader.id.clone()),
                    KeyKind::Case,
                    wrap(&case_data_key, KeyKind::Case, &reader_key)?,
                )?;
                if checked.identity.is_some() {
                    grant(
                        Recipient::User(reader.id.clone()),
                        KeyKind::Identity,
                        wrap(&identity_key, KeyKind::Identity, &reader_key)?,
                    )?;
                }
            }
            if let Some(recovery) = &organisation.recovery_public_key {
                // The recovery key can reopen the case, never the reporter's identity.
                grant(
                    Recipient::Recovery,
                    KeyKind::Case,
                    wrap(&case_data_key, KeyKind::Case, &public_key(recovery)?)?,
                )?;
            }
            if let Some(identity) = &checked.identity {
                let sealed = seal_json(
                    &identity_key,
                    case_id.as_str(),
                    RecordKind::Identity,
                    identity_record.as_str(),
                    identity,
                )?;
                cases::append_record(
                    tx,
                    &NewRecord {
                        id: &identity_record,
                        case_id: &case_id,
                        kind: RecordKind::Identity.as_str(),
                        author: Author::Reporter,
                        author_user_id: None,
                        event_id: None,
                        sealed: &sealed,
                        created_on: today,
                    },
                )?;
            }
            events::append(
                tx,
                &case_id,
                &EventId::generate(),
                &Event::new(today, EventKind::Received),
                None,
            )?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(Receipt {
            case_key: case_key.to_display_string(),
            reference,
        })
    }
}
