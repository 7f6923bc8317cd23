//! Handler accounts, their sealed key material, and organisations' intake lists.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{intake_contacts, users};
use super::{DbConnection, StoreError, Tx};
use crate::ids::{OrganisationId, UserId};
use crate::model::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub display_name: String,
    pub job_title: String,
    pub role: Role,
    pub active: bool,
    pub public_key: Vec<u8>,
    pub key_generation: i32,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

/// What sign-in needs: everything sealed under the password-derived key, plus the verifier.
/// None of it is useful without the password.
#[derive(Clone)]
pub struct Credentials {
    pub sealed_secret_key: Vec<u8>,
    pub kdf_salt: Vec<u8>,
    pub kdf_cost: String,
    pub login_verifier: Vec<u8>,
    pub sealed_totp_secret: Vec<u8>,
    pub totp_last_step: Option<i64>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    organisation_id: String,
    email: String,
    display_name: String,
    job_title: String,
    role: String,
    active: bool,
    public_key: Vec<u8>,
    sealed_secret_key: Vec<u8>,
    kdf_salt: Vec<u8>,
    kdf_cost: String,
    login_verifier: Vec<u8>,
    sealed_totp_secret: Vec<u8>,
    totp_last_step: Option<i64>,
    key_generation: i32,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl UserRow {
    fn split(self) -> Result<(User, Credentials), StoreError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {:?}", self.role)))?;
        Ok((
            User {
                id: UserId::from_stored(self.id),
                organisation_id: OrganisationId::from_stored(self.organisation_id),
                email: self.email,
                display_name: self.display_name,
                job_title: self.job_title,
                role,
                active: self.active,
                public_key: self.public_key,
                key_generation: self.key_generation,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            Credentials {
                sealed_secret_key: self.sealed_secret_key,
                kdf_salt: self.kdf_salt,
                kdf_cost: self.kdf_cost,
                login_verifier: self.login_verifier,
                sealed_totp_secret: self.sealed_totp_secret,
                totp_last_step: self.totp_last_step,
            },
        ))
    }

    fn join(user: &User, credentials: &Credentials) -> UserRow {
        UserRow {
            id: user.id.as_str().to_owned(),
            organisation_id: user.organisation_id.as_str().to_owned(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            job_title: user.job_title.clone(),
            role: user.role.as_str().to_owned(),
            active: user.active,
            public_key: user.public_key.clone(),
            sealed_secret_key: credentials.sealed_secret_key.clone(),
            kdf_salt: credentials.kdf_salt.clone(),
            kdf_cost: credentials.kdf_cost.clone(),
            login_verifier: credentials.login_verifier.clone(),
            sealed_totp_secret: credentials.sealed_totp_secret.clone(),
            totp_last_step: credentials.totp_last_step,
            key_generation: user.key_generation,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

pub fn insert(tx: &mut Tx, user: &User, credentials: &Credentials) -> Result<(), StoreError> {
    diesel::insert_into(users::table)
        .values(UserRow::join(user, credentials))
        .execute(tx)
        .map_err(|error| {
            StoreError::from(error).duplicate_as("an account with that e-mail address")
        })?;
    Ok(())
}

/// Installs a new key pair, password and TOTP enrolment (admin reset, enrolment), only if the
/// account is still at `generation`; answers whether it was. Touches no other column, so a
/// concurrent disable or e-mail change is never overwritten.
pub fn replace_keys(
    tx: &mut Tx,
    id: &UserId,
    generation: i32,
    public_key: &[u8],
    credentials: &Credentials,
    at: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    set_keys(
        tx,
        id,
        generation,
        generation + 1,
        public_key,
        credentials,
        at,
    )
}

/// Installs the key material a person chose at enrolment, keeping the key generation (an
/// intake approval given for this generation still holds). Only if still at `generation`.
pub fn install_keys(
    tx: &mut Tx,
    id: &UserId,
    generation: i32,
    public_key: &[u8],
    credentials: &Credentials,
    at: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    set_keys(tx, id, generation, generation, public_key, credentials, at)
}

fn set_keys(
    tx: &mut Tx,
    id: &UserId,
    generation: i32,
    next_generation: i32,
    public_key: &[u8],
    credentials: &Credentials,
    at: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        users::table
            .find(id.as_str())
            .filter(users::key_generation.eq(generation)),
    )
    .set((
        users::public_key.eq(public_key),
        users::sealed_secret_key.eq(&credentials.sealed_secret_key),
        users::kdf_salt.eq(&credentials.kdf_salt),
        users::kdf_cost.eq(&credentials.kdf_cost),
        users::login_verifier.eq(&credentials.login_verifier),
        users::sealed_totp_secret.eq(&credentials.sealed_totp_secret),
        users::totp_last_step.eq(credentials.totp_last_step),
        users::key_generation.eq(next_generation),
        users::updated_at.eq(at),
    ))
    .execute(tx)?;
    Ok(changed == 1)
}

/// Re-seals the same key pair under a new password, only while the account is active and still
/// at `generation`: a password change that loses a race with a disable or a reset changes
/// nothing (and so cannot switch the account back on).
pub fn replace_password(
    tx: &mut Tx,
    id: &UserId,
    generation: i32,
    credentials: &Credentials,
    at: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        users::table
            .find(id.as_str())
            .filter(users::key_generation.eq(generation))
            .filter(users::active.eq(true)),
    )
    .set((
        users::sealed_secret_key.eq(&credentials.sealed_secret_key),
        users::kdf_salt.eq(&credentials.kdf_salt),
        users::kdf_cost.eq(&credentials.kdf_cost),
        users::login_verifier.eq(&credentials.login_verifier),
        users::sealed_totp_secret.eq(&credentials.sealed_totp_secret),
        users::updated_at.eq(at),
    ))
    .execute(tx)?;
    Ok(changed == 1)
}

/// Takes the account row's lock until the transaction ends (PostgreSQL; SQLite writers already
/// take turns), so a check of the account and the change that depends on it are one step.
pub fn lock(tx: &mut Tx, id: &UserId) -> Result<(), StoreError> {
    if let DbConnection::Postgres(postgres) = tx {
        users::table
            .find(id.as_str())
            .select(users::id)
            .for_update()
            .first::<String>(postgres)
            .optional()?;
    }
    Ok(())
}

/// Counts active admins while locking their rows, so two admins disabling each other at once
/// cannot both see "another admin is left".
pub fn lock_active_admins(tx: &mut Tx) -> Result<i64, StoreError> {
    match tx {
        DbConnection::Postgres(postgres) => {
            let ids: Vec<String> = users::table
                .filter(users::role.eq(Role::Admin.as_str()))
                .filter(users::active.eq(true))
                .order(users::id.asc())
                .select(users::id)
                .for_update()
                .load(postgres)?;
            Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
        }
        DbConnection::Sqlite(_) => count_active_admins(tx),
    }
}

pub fn find(tx: &mut Tx, id: &UserId) -> Result<Option<User>, StoreError> {
    find_with_credentials(tx, id).map(|found| found.map(|(user, _)| user))
}

pub fn find_with_credentials(
    tx: &mut Tx,
    id: &UserId,
) -> Result<Option<(User, Credentials)>, StoreError> {
    users::table
        .find(id.as_str())
        .select(UserRow::as_select())
        .first(tx)
        .optional()?
        .map(UserRow::split)
        .transpose()
}

pub fn find_by_email(tx: &mut Tx, email: &str) -> Result<Option<(User, Credentials)>, StoreError> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(tx)
        .optional()?
        .map(UserRow::split)
        .transpose()
}

pub fn list_in_organisation(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<User>, StoreError> {
    users::table
        .filter(users::organisation_id.eq(organisation.as_str()))
        .order(users::display_name.asc())
        .select(UserRow::as_select())
        .load(tx)?
        .into_iter()
        .map(|row| row.split().map(|(user, _)| user))
        .collect()
}

pub fn count_active_admins(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .count()
        .get_result(tx)?)
}

pub fn set_active(
    tx: &mut Tx,
    id: &UserId,
    active: bool,
    at: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let changed = diesel::update(users::table.find(id.as_str()))
        .set((users::active.eq(active), users::updated_at.eq(at)))
        .execute(tx)?;
    Ok(changed == 1)
}

/// Records that a TOTP time step was used, refusing a step at or before the last one so a code
/// cannot be replayed. Answers whether the step was accepted.
pub fn claim_totp_step(tx: &mut Tx, id: &UserId, step: i64) -> Result<bool, StoreError> {
    let changed = diesel::update(
        users::table.find(id.as_str()).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(tx)?;
    Ok(changed == 1)
}

/// The organisation's intake contacts: the people a new concern is sealed to by default. Only
/// members whose current key pair and e-mail address a second person approved are listed; a
/// pending join, reset or address change is invisible here (and so to reporters and intake).
pub fn intake_list(tx: &mut Tx, organisation: &OrganisationId) -> Result<Vec<User>, StoreError> {
    users::table
        .inner_join(intake_contacts::table.on(intake_contacts::user_id.eq(users::id)))
        .filter(intake_contacts::organisation_id.eq(organisation.as_str()))
        .filter(users::active.eq(true))
        .filter(intake_contacts::approved_key_generation.eq(users::key_generation.nullable()))
        .filter(intake_contacts::approved_email.eq(users::email.nullable()))
        .order(users::display_name.asc())
        .select(UserRow::as_select())
        .load(tx)?
        .into_iter()
        .map(|row| row.split().map(|(user, _)| user))
        .collect()
}

/// Id, key generation, e-mail, and the generation and e-mail a second person approved.
type IntakeMemberRow = (String, i32, String, Option<i32>, Option<String>);

/// Everyone on the intake list, approved or not, with whether their membership is approved
/// for their current keys and address.
pub fn intake_members(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<(UserId, bool)>, StoreError> {
    let rows: Vec<IntakeMemberRow> = users::table
        .inner_join(intake_contacts::table.on(intake_contacts::user_id.eq(users::id)))
        .filter(intake_contacts::organisation_id.eq(organisation.as_str()))
        .select((
            users::id,
            users::key_generation,
            users::email,
            intake_contacts::approved_key_generation,
            intake_contacts::approved_email,
        ))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, generation, email, approved_generation, approved_email)| {
                let approved = approved_generation == Some(generation)
                    && approved_email.as_deref() == Some(&email);
                (UserId::from_stored(id), approved)
            },
        )
        .collect())
}

/// Puts a person on the intake list; `approved` is the key generation and address already
/// approved (an operator at the command line), or `None` to wait for a second person.
pub fn add_to_intake(
    tx: &mut Tx,
    organisation: &OrganisationId,
    user: &UserId,
    approved: Option<(i32, &str)>,
) -> Result<(), StoreError> {
    remove_from_intake(tx, organisation, user)?;
    diesel::insert_into(intake_contacts::table)
        .values((
            intake_contacts::organisation_id.eq(organisation.as_str()),
            intake_contacts::user_id.eq(user.as_str()),
            intake_contacts::approved_key_generation.eq(approved.map(|(generation, _)| generation)),
            intake_contacts::approved_email.eq(approved.map(|(_, email)| email)),
        ))
        .execute(tx)?;
    Ok(())
}

/// Records a second person's approval of this key generation and address.
pub fn approve_intake(
    tx: &mut Tx,
    organisation: &OrganisationId,
    user: &UserId,
    key_generation: i32,
    email: &str,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        intake_contacts::table
            .filter(intake_contacts::organisation_id.eq(organisation.as_str()))
            .filter(intake_contacts::user_id.eq(user.as_str())),
    )
    .set((
        intake_contacts::approved_key_generation.eq(key_generation),
        intake_contacts::approved_email.eq(email),
    ))
    .execute(tx)?;
    Ok(changed == 1)
}

pub fn remove_from_intake(
    tx: &mut Tx,
    organisation: &OrganisationId,
    user: &UserId,
) -> Result<bool, StoreError> {
    let removed = diesel::delete(
        intake_contacts::table
            .filter(intake_contacts::organisation_id.eq(organisation.as_str()))
            .filter(intake_contacts::user_id.eq(user.as_str())),
    )
    .execute(tx)?;
    Ok(removed > 0)
}
