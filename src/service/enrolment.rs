//! Accounts an admin creates or resets are finished by the person themself, through a one-time
//! enrolment link sent to their e-mail address: the admin never chooses or sees a password, a
//! TOTP secret or the link. Until then the account has key material nobody knows.

use time::Duration;

use super::accounts::{
    CreatedAccount, new_key_material, normalise_email, require_admin_of, validate_password,
    validate_text,
};
use super::approvals::request_approval;
use super::sessions::Handler;
use super::{Portal, ServiceError, totp};
use crate::crypto::{self, KeyPair, PasswordCost, Secret};
use crate::ids::UserId;
use crate::model::Role;
use crate::store::audit::{self, NewEntry};
use crate::store::outbox::{self, NewMessage};
use crate::store::users::{self, Credentials, User};
use crate::store::{Tx, enrolments, organisations, sessions, wraps};

/// How long an enrolment link works.
pub const ENROLMENT_DAYS: i64 = 7;

/// What an admin fills in to add someone: no password.
pub struct Invitation {
    pub email: String,
    pub name: String,
    pub job_title: String,
    pub role: Role,
    pub intake: bool,
}

/// The result of an admin reset: how many case grants were lost.
pub struct ResetOutcome {
    pub user: User,
    pub grants_lost: usize,
    pub cases_lost: usize,
}

/// Key material nobody knows: a key pair whose secret is dropped at once and a verifier no
/// password produces. The account cannot sign in, and nothing wrapped to it can be opened,
/// until its owner enrols.
fn unusable_key_material(cost: PasswordCost) -> (Vec<u8>, Credentials) {
    let random = |length: usize| {
        let mut bytes = vec![0u8; length];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        bytes
    };
    let public = KeyPair::generate().public.to_bytes().to_vec();
    (
        public,
        Credentials {
            sealed_secret_key: random(72),
            kdf_salt: random(16),
            kdf_cost: cost.encode(),
            login_verifier: random(32),
            sealed_totp_secret: random(60),
            totp_last_step: None,
        },
    )
}

/// Issues a fresh link for the user (replacing any earlier one) and queues the e-mail that
/// carries it. Answers the link, for the operator's shell only.
fn issue_link(
    tx: &mut Tx,
    portal: &Portal,
    user: &User,
    reason: &str,
) -> Result<Secret<String>, ServiceError> {
    let token = crypto::random_token();
    let now = portal.clock.now_utc_naive();
    enrolments::replace_for_user(
        tx,
        &user.id,
        &crypto::token_digest(token.expose_secret()),
        now + Duration::days(ENROLMENT_DAYS),
    )?;
    let link = format!(
        "{}/enrol/{}",
        portal.settings.public_url.trim_end_matches('/'),
        token.expose_secret()
    );
    outbox::enqueue(
        tx,
        &NewMessage {
            recipient: user.email.clone(),
            recipient_user: Some(user.id.clone()),
            kind: "enrolment".to_owned(),
            subject: "Set up your Speak Up account".to_owned(),
            body: format!(
                "Hello {name},\n\n{reason} Open this link within {ENROLMENT_DAYS} days to choose \
                 your password and add Speak Up to your authenticator app:\n\n{link}\n\nThe link \
                 works once. Nobody else, administrators included, has seen it or will see your \
                 password.\n",
                name = user.display_name
            ),
            held_for_digest: false,
        },
        now,
    )?;
    Ok(Secret::new(link))
}

impl Portal {
    /// Creates an account that its owner finishes through the e-mailed enrolment link. A place
    /// on the intake list waits for a second admin or the champion.
    pub fn invite_account(
        &self,
        admin: &Handler,
        invitation: Invitation,
    ) -> Result<User, ServiceError> {
        let email = normalise_email(&invitation.email)?;
        let name = validate_text("name", &invitation.name, 1, 200)?;
        let job_title = validate_text("job title", &invitation.job_title, 0, 200)?;
        if invitation.intake && invitation.role != Role::Contact {
            return Err(ServiceError::invalid(
                "intake_needs_contact",
                "only confidential contacts can be on the intake list",
            ));
        }
        let now = self.clock.now_utc_naive();
        let today = self.clock.today();
        let (public_key, credentials) = unusable_key_material(self.password_cost);
        self.store.write(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            let user = User {
                id: UserId::generate(),
                organisation_id: admin.user.organisation_id.clone(),
                email,
                display_name: name,
                job_title,
                role: invitation.role,
                active: true,
                public_key,
                key_generation: 1,
                created_at: now,
                updated_at: now,
            };
            users::insert(tx, &user, &credentials)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(admin.user.id.as_str().to_owned()),
                    action: "account_created",
                    organisation_id: Some(user.organisation_id.as_str().to_owned()),
                    subject_user_id: Some(user.id.as_str().to_owned()),
                    detail: format!(
                        "via=console role={} enrolment=emailed intake_requested={}",
                        user.role.as_str(),
                        invitation.intake
                    ),
                    ..NewEntry::default()
                },
                now,
            )?;
            if invitation.intake {
                users::add_to_intake(tx, &user.organisation_id, &user.id, None)?;
                request_approval(tx, self, admin, &user, "intake_join", today)?;
            }
            issue_link(tx, self, &user, "An account has been created for you.")?;
            Ok(user)
        })
    }

    /// Replaces the person's key pair, password and TOTP with material nobody knows and e-mails
    /// them a new enrolment link. Their case grants are lost (refused if that would leave a
    /// case with no active holder); an intake member receives no new concern until a second
    /// person approves the reset.
    pub fn reset_account(
        &self,
        admin: &Handler,
        user: &UserId,
    ) -> Result<ResetOutcome, ServiceError> {
        let now = self.clock.now_utc_naive();
        let today = self.clock.today();
        let (public_key, credentials) = unusable_key_material(self.password_cost);
        self.store.write(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            users::lock(tx, user)?;
            let mut target = users::find(tx, user)?
                .filter(|found| found.organisation_id == admin.user.organisation_id)
                .ok_or(ServiceError::NotFound)?;
            super::custody::ensure_not_sole_holder(tx, &target.id, &target.display_name)?;
            if !users::replace_keys(
                tx,
                &target.id,
                target.key_generation,
                &public_key,
                &credentials,
                now,
            )? {
                return Err(ServiceError::Conflict {
                    code: "account_changed",
                    message: "this account changed in the meantime; nothing was saved".to_owned(),
                });
            }
            target.public_key = public_key.clone();
            target.key_generation += 1;
            sessions::delete_handler_sessions_of(tx, &target.id)?;
            let cases_lost = wraps::cases_held_by(tx, &target.id)?.len();
            let grants_lost = wraps::delete_all_for(tx, &target.id)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(admin.user.id.as_str().to_owned()),
                    action: "account_reset",
                    organisation_id: Some(target.organisation_id.as_str().to_owned()),
                    subject_user_id: Some(target.id.as_str().to_owned()),
                    detail: format!("grants_removed={grants_lost} enrolment=emailed"),
                    ..NewEntry::default()
                },
                now,
            )?;
            let on_intake = users::intake_members(tx, &target.organisation_id)?
                .iter()
                .any(|(member, _)| member == &target.id);
            if on_intake {
                request_approval(tx, self, admin, &target, "intake_key_reset", today)?;
            }
            issue_link(
                tx,
                self,
                &target,
                "An administrator has reset your Speak Up account.",
            )?;
            Ok(ResetOutcome {
                user: target,
                grants_lost,
                cases_lost,
            })
        })
    }

    /// For the operator at the server's shell (without SMTP): a fresh link for the person,
    /// replacing any earlier one. The e-mail is queued as well.
    pub fn enrolment_link(&self, slug: &str, email: &str) -> Result<Secret<String>, ServiceError> {
        let email = normalise_email(email)?;
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            let (user, _) = users::find_by_email(tx, &email)?
                .filter(|(user, _)| user.organisation_id == organisation.id && user.active)
                .ok_or(ServiceError::NotFound)?;
            let link = issue_link(
                tx,
                self,
                &user,
                "Here is a new link to set up your account.",
            )?;
            audit::append(
                tx,
                NewEntry {
                    action: "enrolment_link_issued",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    subject_user_id: Some(user.id.as_str().to_owned()),
                    detail: "via=cli".to_owned(),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(link)
        })
    }

    /// Whose link this is, if it still works (to show the form).
    pub fn enrolment_holder(&self, token: &str) -> Result<User, ServiceError> {
        let digest = crypto::token_digest(token);
        let now = self.clock.now_utc_naive();
        self.store.read(|tx| {
            let user = enrolments::holder(tx, &digest, now)?.ok_or(ServiceError::NotFound)?;
            users::find(tx, &user)?
                .filter(|user| user.active)
                .ok_or(ServiceError::NotFound)
        })
    }

    /// The person chooses their password; a new key pair and TOTP secret are made for them and
    /// the TOTP enrolment is shown to them once. Uses the link up.
    pub fn enrol(
        &self,
        token: &str,
        password: &Secret<String>,
    ) -> Result<CreatedAccount, ServiceError> {
        validate_password(password)?;
        let holder = self.enrolment_holder(token)?;
        let material = new_key_material(&holder.id, password, self.password_cost)?;
        let digest = crypto::token_digest(token);
        let now = self.clock.now_utc_naive();
        let user = self.store.write(|tx| {
            let user_id = enrolments::take(tx, &digest, now)?.ok_or(ServiceError::NotFound)?;
            users::lock(tx, &user_id)?;
            let user = users::find(tx, &user_id)?
                .filter(|user| user.active && user.id == holder.id)
                .ok_or(ServiceError::NotFound)?;
            // Same generation: what a second person approved for the intake list stays approved.
            if !users::install_keys(
                tx,
                &user.id,
                user.key_generation,
                &material.public_key,
                &material.credentials,
                now,
            )? {
                return Err(ServiceError::NotFound);
            }
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(user.id.as_str().to_owned()),
                    action: "account_enrolled",
                    organisation_id: Some(user.organisation_id.as_str().to_owned()),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok::<_, ServiceError>(user)
        })?;
        let totp_uri = totp::enrolment_uri(material.totp_secret.expose_secret(), &user.email)?;
        Ok(CreatedAccount { user, totp_uri })
    }
}
