//! Handler accounts: creation with sealed key material, the one-time first-admin setup.

use super::{Portal, ServiceError, totp};
use crate::crypto::{self, KeyPair, PasswordCost, PasswordKeys, Secret};
use crate::ids::{OrganisationId, UserId};
use crate::model::Role;
use crate::service::organisations::{ServiceSet, new_organisation, validate_slug};
use crate::store::audit::{self, NewEntry};
use crate::store::organisations;
use crate::store::users::{self, Credentials, User};
use crate::store::{Tx, sessions};

/// Who is acting, for the audit log.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An operator at the command line (trusted: they hold the database).
    CommandLine,
    /// The one-time setup link.
    Setup,
    User(UserId),
}

impl Actor {
    fn user_id(&self) -> Option<String> {
        match self {
            Actor::User(id) => Some(id.as_str().to_owned()),
            Actor::CommandLine | Actor::Setup => None,
        }
    }

    fn via(&self) -> &'static str {
        match self {
            Actor::CommandLine => "via=cli",
            Actor::Setup => "via=setup",
            Actor::User(_) => "via=console",
        }
    }
}

pub struct NewAccount {
    pub organisation: String,
    pub email: String,
    pub name: String,
    pub job_title: String,
    pub role: Role,
    pub intake: bool,
    pub password: Secret<String>,
}

pub struct CreatedAccount {
    pub user: User,
    /// Shown once so the person can enrol an authenticator app.
    pub totp_uri: Secret<String>,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;

pub fn normalise_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err(ServiceError::invalid(
            "invalid_email",
            "enter an e-mail address such as name@nhs.scot",
        ))
    }
}

pub fn validate_password(password: &Secret<String>) -> Result<(), ServiceError> {
    let length = password.expose_secret().chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "weak_password",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "invalid_password",
            "that password is too long",
        ));
    }
    Ok(())
}

pub fn validate_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, ServiceError> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min || length > max || value.chars().any(char::is_control) {
        let message = if min == 0 {
            format!("{field} can be at most {max} characters on one line")
        } else {
            format!("{field} must be {min} to {max} characters on one line")
        };
        return Err(ServiceError::invalid("invalid_field", message));
    }
    Ok(value.to_owned())
}

/// Fresh key material for an account: key pair and TOTP secret, sealed under the password.
pub(super) struct KeyMaterial {
    pub credentials: Credentials,
    pub public_key: Vec<u8>,
    pub totp_secret: Secret<Vec<u8>>,
}

pub(super) fn new_key_material(
    user_id: &UserId,
    password: &Secret<String>,
    cost: PasswordCost,
) -> Result<KeyMaterial, ServiceError> {
    let salt = crypto::new_password_salt();
    let keys = crypto::derive_password_keys(password, &salt, cost).map_err(crypto_failure)?;
    let key_pair = KeyPair::generate();
    let mut totp_bytes = vec![0u8; totp::SECRET_BYTES];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut totp_bytes);
    let totp_secret = Secret::new(totp_bytes);
    let credentials = Credentials {
        sealed_secret_key: keys
            .seal_handler_secret(user_id.as_str(), &key_pair.secret)
            .map_err(crypto_failure)?,
        kdf_salt: salt.to_vec(),
        kdf_cost: cost.encode(),
        login_verifier: keys.verifier().to_vec(),
        sealed_totp_secret: keys
            .seal_totp_secret(user_id.as_str(), totp_secret.expose_secret())
            .map_err(crypto_failure)?,
        totp_last_step: None,
    };
    Ok(KeyMaterial {
        credentials,
        public_key: key_pair.public.to_bytes().to_vec(),
        totp_secret,
    })
}

/// Runs Argon2id with the account's stored salt and cost. Returns the keys if the password is
/// right, `None` if it is not; malformed stored values are internal errors.
pub(super) fn unlock_password_keys(
    user: &UserId,
    credentials: &Credentials,
    password: &Secret<String>,
) -> Result<Option<PasswordKeys>, ServiceError> {
    let corrupt = |what: &str| ServiceError::Internal(format!("account {user} has a bad {what}"));
    let cost = PasswordCost::decode(&credentials.kdf_cost).map_err(|_| corrupt("KDF cost"))?;
    let salt: [u8; 16] = credentials
        .kdf_salt
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("salt"))?;
    let verifier: [u8; 32] = credentials
        .login_verifier
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("verifier"))?;
    let keys = crypto::derive_password_keys(password, &salt, cost).map_err(crypto_failure)?;
    Ok(keys.verifies(&verifier).then_some(keys))
}

pub(super) fn crypto_failure(error: crypto::CryptoError) -> ServiceError {
    ServiceError::Internal(format!("cryptography: {error}"))
}

struct ValidAccount {
    email: String,
    name: String,
    job_title: String,
}

impl ValidAccount {
    fn to_user(
        &self,
        id: &UserId,
        organisation: &OrganisationId,
        role: Role,
        material: &KeyMaterial,
        now: time::PrimitiveDateTime,
    ) -> User {
        User {
            id: id.clone(),
            organisation_id: organisation.clone(),
            email: self.email.clone(),
            display_name: self.name.clone(),
            job_title: self.job_title.clone(),
            role,
            active: true,
            public_key: material.public_key.clone(),
            key_generation: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

fn validate_account(new: &NewAccount) -> Result<ValidAccount, ServiceError> {
    let email = normalise_email(&new.email)?;
    let name = validate_text("name", &new.name, 1, 200)?;
    let job_title = validate_text("job title", &new.job_title, 0, 200)?;
    validate_password(&new.password)?;
    if new.intake && new.role != Role::Contact {
        return Err(ServiceError::invalid(
            "intake_needs_contact",
            "only confidential contacts can be on the intake list",
        ));
    }
    Ok(ValidAccount {
        email,
        name,
        job_title,
    })
}

impl Portal {
    /// Creates an account. Key derivation runs before the transaction so the write is short.
    pub fn add_account(
        &self,
        actor: &Actor,
        new: NewAccount,
    ) -> Result<CreatedAccount, ServiceError> {
        let valid = validate_account(&new)?;
        let user_id = UserId::generate();
        let material = new_key_material(&user_id, &new.password, self.password_cost)?;
        let totp_uri = totp::enrolment_uri(material.totp_secret.expose_secret(), &valid.email)?;
        let now = self.clock.now_utc_naive();
        let user = self.store.write(|tx| {
            let organisation =
                organisations::find_by_slug(tx, &new.organisation)?.ok_or_else(|| {
                    ServiceError::invalid("unknown_organisation", "no organisation has that slug")
                })?;
            if let Actor::User(admin) = actor {
                require_admin_of(tx, admin, &organisation.id)?;
            }
            let user = valid.to_user(&user_id, &organisation.id, new.role, &material, now);
            users::insert(tx, &user, &material.credentials)?;
            if new.intake {
                // Only the operator, who holds the database anyway, adds an intake member
                // without a second person's approval; in the console a join waits for it.
                let approved = matches!(actor, Actor::CommandLine)
                    .then_some((user.key_generation, user.email.as_str()));
                users::add_to_intake(tx, &organisation.id, &user.id, approved)?;
            }
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: actor.user_id(),
                    action: "account_created",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    subject_user_id: Some(user.id.as_str().to_owned()),
                    detail: format!(
                        "{} role={} intake={}",
                        actor.via(),
                        new.role.as_str(),
                        new.intake
                    ),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok::<_, ServiceError>(user)
        })?;
        Ok(CreatedAccount { user, totp_uri })
    }

    /// While no admin exists, replaces any earlier setup link with a new one and returns it.
    pub fn issue_setup_token(&self) -> Result<Option<Secret<String>>, ServiceError> {
        let token = crypto::random_token();
        let digest = crypto::token_digest(token.expose_secret());
        let expires_at = self.clock.now_utc_naive()
            + time::Duration::hours(i64::from(self.settings.setup_token_hours));
        self.store.write(|tx| {
            if users::count_active_admins(tx)? > 0 {
                sessions::clear_setup_tokens(tx)?;
                return Ok::<_, ServiceError>(None);
            }
            sessions::clear_setup_tokens(tx)?;
            sessions::insert_setup_token(tx, &digest, expires_at)?;
            Ok(Some(token))
        })
    }

    pub fn setup_token_is_valid(&self, token: &str) -> Result<bool, ServiceError> {
        let digest = crypto::token_digest(token);
        let now = self.clock.now_utc_naive();
        self.store.read(|tx| {
            Ok::<_, ServiceError>(
                users::count_active_admins(tx)? == 0
                    && sessions::setup_token_valid(tx, &digest, now)?,
            )
        })
    }

    /// Uses the setup link once: creates the organisation if it is new, and the first admin.
    pub fn complete_setup(
        &self,
        token: &str,
        organisation: SetupOrganisation,
        admin: NewAccount,
    ) -> Result<CreatedAccount, ServiceError> {
        let valid = validate_account(&admin)?;
        if let SetupOrganisation::New { slug, name, .. } = &organisation {
            validate_slug(slug)?;
            validate_text("organisation name", name, 1, 200)?;
        }
        let user_id = UserId::generate();
        let material = new_key_material(&user_id, &admin.password, self.password_cost)?;
        let totp_uri = totp::enrolment_uri(material.totp_secret.expose_secret(), &valid.email)?;
        let digest = crypto::token_digest(token);
        let now = self.clock.now_utc_naive();
        let user = self.store.write(|tx| {
            if users::count_active_admins(tx)? > 0 || !sessions::take_setup_token(tx, &digest, now)?
            {
                return Err(ServiceError::NotFound);
            }
            let organisation = match &organisation {
                SetupOrganisation::Existing { slug } => organisations::find_by_slug(tx, slug)?
                    .ok_or_else(|| {
                        ServiceError::invalid("unknown_organisation", "choose an organisation")
                    })?,
                SetupOrganisation::New {
                    slug,
                    name,
                    services,
                } => {
                    let created = new_organisation(slug, name, *services, now);
                    organisations::insert(tx, &created)?;
                    created
                }
            };
            let user = valid.to_user(&user_id, &organisation.id, Role::Admin, &material, now);
            users::insert(tx, &user, &material.credentials)?;
            audit::append(
                tx,
                NewEntry {
                    action: "setup_completed",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    subject_user_id: Some(user.id.as_str().to_owned()),
                    detail: "via=setup role=admin".to_owned(),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(user)
        })?;
        Ok(CreatedAccount { user, totp_uri })
    }
}

/// Which organisation the first admin belongs to.
pub enum SetupOrganisation {
    Existing {
        slug: String,
    },
    New {
        slug: String,
        name: String,
        services: ServiceSet,
    },
}

/// Admin actions are limited to the admin's own organisation.
pub(super) fn require_admin_of(
    tx: &mut Tx,
    admin: &UserId,
    organisation: &OrganisationId,
) -> Result<User, ServiceError> {
    let user = users::find(tx, admin)?.ok_or(ServiceError::NotFound)?;
    if user.role != Role::Admin || !user.active || &user.organisation_id != organisation {
        return Err(ServiceError::NotFound);
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  A.Contact@NHS.scot ").unwrap(),
            "a.contact@nhs.scot"
        );
        for bad in [
            "",
            "x",
            "a@b",
            "a b@c.scot",
            "@c.scot",
            "a@.scot",
            "a@c.scot.",
            "a@b@c.scot",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(validate_password(&Secret::new("short".to_owned())).is_err());
        assert!(validate_password(&Secret::new("correct horse battery".to_owned())).is_ok());
        assert!(validate_password(&Secret::new("x".repeat(2000))).is_err());
    }
}
