//! What an organisation's admins do: accounts, the intake list, the working-day calendar.
//! Admins hold no case keys; nothing here can open a case.

use time::Date;

use super::accounts::{
    crypto_failure, require_admin_of, unlock_password_keys, validate_password, validate_text,
};
use super::casefile::calendar_history;
use super::custody::ensure_not_sole_holder;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::{self, Secret};
use crate::ids::UserId;
use crate::model::Role;
use crate::procedure::check_changeable;
use crate::store::audit::{self, NewEntry};
use crate::store::organisations::{self, HolidayChange, HolidayOverride, Organisation};
use crate::store::users::{self, User};
use crate::store::{Tx, sessions};

/// An account as an admin sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountSummary {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub job_title: String,
    pub role: Role,
    pub role_label: &'static str,
    pub active: bool,
    pub intake: bool,
    /// On the intake list, but waiting for a second person's approval.
    pub intake_pending: bool,
}

pub(super) fn admin_audit(
    tx: &mut Tx,
    admin: &Handler,
    action: &'static str,
    subject: Option<&UserId>,
    detail: String,
    at: time::PrimitiveDateTime,
) -> Result<(), ServiceError> {
    audit::append(
        tx,
        NewEntry {
            actor_user_id: Some(admin.user.id.as_str().to_owned()),
            action,
            organisation_id: Some(admin.user.organisation_id.as_str().to_owned()),
            case_id: None,
            subject_user_id: subject.map(|id| id.as_str().to_owned()),
            detail,
        },
        at,
    )?;
    Ok(())
}

/// The account was disabled or reset between reading it and writing the change.
fn changed_meanwhile() -> ServiceError {
    ServiceError::Conflict {
        code: "account_changed",
        message: "this account was changed or disabled in the meantime; nothing was saved"
            .to_owned(),
    }
}

/// Loads a user of the admin's own organisation (anyone else is "not found").
fn member(tx: &mut Tx, admin: &Handler, user: &UserId) -> Result<User, ServiceError> {
    require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
    users::lock(tx, user)?;
    users::find(tx, user)?
        .filter(|found| found.organisation_id == admin.user.organisation_id)
        .ok_or(ServiceError::NotFound)
}

impl Portal {
    pub fn accounts(&self, admin: &Handler) -> Result<Vec<AccountSummary>, ServiceError> {
        self.store.read(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            let members = users::intake_members(tx, &admin.user.organisation_id)?;
            Ok(
                users::list_in_organisation(tx, &admin.user.organisation_id)?
                    .into_iter()
                    .map(|user| AccountSummary {
                        intake: members.iter().any(|(id, _)| id == &user.id),
                        intake_pending: members
                            .iter()
                            .any(|(id, approved)| id == &user.id && !approved),
                        id: user.id,
                        name: user.display_name,
                        email: user.email,
                        job_title: user.job_title,
                        role: user.role,
                        role_label: user.role.label(),
                        active: user.active,
                    })
                    .collect(),
            )
        })
    }

    /// Disables or re-enables an account. Disabling ends its sessions at once.
    pub fn set_account_active(
        &self,
        admin: &Handler,
        user: &UserId,
        active: bool,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            // Admin rows first (in id order), then the target's: one lock order for everyone, so
            // two admins disabling each other wait in turn instead of deadlocking, and the second
            // sees that only one admin is left.
            let active_admins = if active {
                None
            } else {
                Some(users::lock_active_admins(tx)?)
            };
            let target = member(tx, admin, user)?;
            if target.role == Role::Admin && active_admins.is_some_and(|count| count <= 1) {
                return Err(ServiceError::Conflict {
                    code: "last_admin",
                    message: "this is the only active admin; add another admin first".to_owned(),
                });
            }
            if !active {
                ensure_not_sole_holder(tx, &target.id, &target.display_name)?;
            }
            users::set_active(tx, &target.id, active, now)?;
            if !active {
                sessions::delete_handler_sessions_of(tx, &target.id)?;
                users::remove_from_intake(tx, &target.organisation_id, &target.id)?;
            }
            admin_audit(
                tx,
                admin,
                if active {
                    "account_enabled"
                } else {
                    "account_disabled"
                },
                Some(&target.id),
                String::new(),
                now,
            )
        })
    }

    /// Puts a confidential contact on, or takes them off, the intake list for new concerns.
    pub fn set_intake(
        &self,
        admin: &Handler,
        user: &UserId,
        on_intake: bool,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let target = member(tx, admin, user)?;
            if on_intake {
                if target.role != Role::Contact || !target.active {
                    return Err(ServiceError::invalid(
                        "intake_needs_contact",
                        "only active confidential contacts can be on the intake list",
                    ));
                }
                let already = users::intake_members(tx, &target.organisation_id)?
                    .iter()
                    .any(|(member, _)| member == &target.id);
                if !already {
                    users::add_to_intake(tx, &target.organisation_id, &target.id, None)?;
                    super::approvals::request_approval(
                        tx,
                        self,
                        admin,
                        &target,
                        "intake_join",
                        self.clock.today(),
                    )?;
                }
            } else {
                users::remove_from_intake(tx, &target.organisation_id, &target.id)?;
            }
            admin_audit(
                tx,
                admin,
                if on_intake {
                    "intake_added"
                } else {
                    "intake_removed"
                },
                Some(&target.id),
                String::new(),
                now,
            )
        })
    }

    /// Changes one's own password: the same key pair, re-sealed under the new password.
    pub fn change_password(
        &self,
        handler: &Handler,
        current: &Secret<String>,
        new: &Secret<String>,
    ) -> Result<(), ServiceError> {
        validate_password(new)?;
        let now = self.clock.now_utc_naive();
        let (user, credentials) = self
            .store
            .read(|tx| {
                users::find_with_credentials(tx, &handler.user.id).map_err(ServiceError::from)
            })?
            .ok_or(ServiceError::NotFound)?;
        // Someone at an unattended, signed-in console must not be able to guess the password
        // (and so the key that seals the person's cases) at full speed, or unnoticed.
        let throttle_key = format!("password-change:{}", user.id);
        let started = self.clock.now();
        if let Some(retry_after_seconds) = self.throttle.wait(&throttle_key, started) {
            return Err(ServiceError::RateLimited {
                retry_after_seconds,
            });
        }
        let Some(old_keys) = unlock_password_keys(&user.id, &credentials, current)? else {
            self.throttle.record_failure(&throttle_key, started);
            self.store.write(|tx| {
                audit::append(
                    tx,
                    NewEntry {
                        actor_user_id: Some(user.id.as_str().to_owned()),
                        action: "password_change_failed",
                        organisation_id: Some(user.organisation_id.as_str().to_owned()),
                        detail: "wrong current password".to_owned(),
                        ..NewEntry::default()
                    },
                    now,
                )
                .map_err(ServiceError::from)
            })?;
            return Err(ServiceError::invalid(
                "wrong_password",
                "your current password is not right",
            ));
        };
        self.throttle.record_success(&throttle_key);
        let totp_secret = old_keys
            .open_totp_secret(user.id.as_str(), &credentials.sealed_totp_secret)
            .map_err(crypto_failure)?;
        let new_salt = crypto::new_password_salt();
        let new_keys = crypto::derive_password_keys(new, &new_salt, self.password_cost)
            .map_err(crypto_failure)?;
        let mut updated = credentials.clone();
        // The secret comes from the current password, not the session: a session whose key is
        // kept in the browser can change the password too.
        let secret = old_keys
            .open_handler_secret(user.id.as_str(), &credentials.sealed_secret_key)
            .map_err(crypto_failure)?;
        updated.sealed_secret_key = new_keys
            .seal_handler_secret(user.id.as_str(), &secret)
            .map_err(crypto_failure)?;
        updated.sealed_totp_secret = new_keys
            .seal_totp_secret(user.id.as_str(), totp_secret.expose_secret())
            .map_err(crypto_failure)?;
        updated.kdf_salt = new_salt.to_vec();
        updated.kdf_cost = self.password_cost.encode();
        updated.login_verifier = new_keys.verifier().to_vec();
        self.store.write(|tx| {
            if !users::replace_password(tx, &user.id, user.key_generation, &updated, now)? {
                return Err(changed_meanwhile());
            }
            sessions::delete_other_handler_sessions(tx, &user.id, &handler.session_id)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(user.id.as_str().to_owned()),
                    action: "password_changed",
                    organisation_id: Some(user.organisation_id.as_str().to_owned()),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }

    /// The organisation an admin manages (their own), for pages that need its slug or name.
    pub fn own_organisation(&self, admin: &Handler) -> Result<Organisation, ServiceError> {
        self.store.read(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            organisations::find(tx, &admin.user.organisation_id)?.ok_or(ServiceError::NotFound)
        })
    }

    /// The organisation's calendar changes that decide their day (local holidays added, bank
    /// holidays worked): standing changes for days to come, and those that days already counted
    /// were counted with.
    pub fn holiday_overrides(
        &self,
        slug: &str,
    ) -> Result<(Organisation, Vec<HolidayOverride>), ServiceError> {
        self.store.read(|tx| {
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            let overrides = organisations::holidays(tx, &organisation.id)?;
            let history = calendar_history(&overrides);
            let standing = overrides
                .into_iter()
                .zip(history)
                .filter(|(_, change)| change.in_force())
                .map(|(o, _)| o)
                .collect();
            Ok((organisation, standing))
        })
    }

    /// Adds a local non-working day, or marks a bank holiday as worked, or clears either, for a
    /// day after today: days that have come keep the calendar they were counted on.
    /// `admin` is `None` from the command line.
    pub fn change_holiday(
        &self,
        admin: Option<&Handler>,
        slug: &str,
        day: Date,
        change: Option<HolidayChange>,
        label: &str,
    ) -> Result<(), ServiceError> {
        let label = validate_text("label", label, 0, 100)?;
        let now = self.clock.now_utc_naive();
        let today = self.clock.today();
        check_changeable(day, today)
            .map_err(|error| ServiceError::invalid(error.code(), error.to_string()))?;
        self.store.write(|tx| {
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            if let Some(admin) = admin {
                require_admin_of(tx, &admin.user.id, &organisation.id)?;
            }
            let detail = match change {
                Some(change) => {
                    organisations::set_holiday(tx, &organisation.id, day, change, &label, today)?;
                    format!(
                        "{day} {}",
                        if change == HolidayChange::Add {
                            "added"
                        } else {
                            "worked"
                        }
                    )
                }
                None => {
                    organisations::clear_holiday(tx, &organisation.id, day, today)?;
                    format!("{day} cleared")
                }
            };
            // The calendar moved the open cases' days: their reminders move with it.
            super::schedule::reschedule_organisation(
                tx,
                &organisation,
                super::schedule::Scope::Scheduled,
            )?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: admin.map(|a| a.user.id.as_str().to_owned()),
                    action: "calendar_changed",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    detail: if admin.is_some() {
                        detail
                    } else {
                        format!("via=cli {detail}")
                    },
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }
}
