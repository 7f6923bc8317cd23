//! Handler sign-in and sessions. One Argon2id run per sign-in yields both the login verifier
//! and the key that unseals the handler's secret; the session row keeps that secret sealed
//! under a key that exists only in the handler's cookie or bearer token.

use time::{Duration, PrimitiveDateTime};

use super::accounts::{crypto_failure, normalise_email, unlock_password_keys};
use super::{Portal, ServiceError, totp};
use crate::crypto::{self, Secret, SecretKey, SessionToken};
use crate::store::audit::{self, NewEntry};
use crate::store::sessions::{self, HandlerSession};
use crate::store::users::{self, User};

/// A signed-in handler for the length of one request.
pub struct Handler {
    pub user: User,
    pub secret: SecretKey,
    pub session_id: String,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("user", &self.user.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A sign-in that worked.
pub struct SignedIn {
    pub token: Secret<String>,
    pub user: User,
}

fn refused() -> ServiceError {
    ServiceError::Unauthorized {
        code: "sign_in_failed",
        message: "the e-mail address, password or 6-digit code is not right".to_owned(),
    }
}

fn signed_out() -> ServiceError {
    ServiceError::Unauthorized {
        code: "session_expired",
        message: "you have been signed out; please sign in again".to_owned(),
    }
}

/// Only refresh `last_seen_at` this often, so reading pages is not a stream of writes.
const TOUCH_EVERY: Duration = Duration::minutes(1);

impl Portal {
    pub fn sign_in(
        &self,
        email: &str,
        password: &Secret<String>,
        code: &str,
    ) -> Result<SignedIn, ServiceError> {
        self.sign_in_from(email, password, code, 0)
    }

    /// As [`Portal::sign_in`], from the client with this opaque bucket (a keyed hash of its
    /// address). The back-off after failures is kept per account *and* client: someone
    /// guessing a handler's password slows only themself, and cannot keep the handler out.
    /// Guessing from many clients is bounded by the per-client request limits and the
    /// Argon2id permits in the web layer.
    pub fn sign_in_from(
        &self,
        email: &str,
        password: &Secret<String>,
        code: &str,
        client_bucket: u64,
    ) -> Result<SignedIn, ServiceError> {
        let email_key = normalise_email(email).map_err(|_| refused())?;
        let account = format!("{email_key}|{client_bucket:016x}");
        let email_key = email_key.as_str();
        let now = self.clock.now();
        if let Some(retry_after_seconds) = self.throttle.wait(&account, now) {
            return Err(ServiceError::RateLimited {
                retry_after_seconds,
            });
        }
        let found = self
            .store
            .read(|tx| users::find_by_email(tx, email_key).map_err(ServiceError::from))?;
        let Some((user, credentials)) = found.filter(|(user, _)| user.active) else {
            // Spend the same effort as a real check so timing does not reveal which accounts exist.
            let _ = crypto::derive_password_keys(password, &[0u8; 16], self.password_cost);
            self.throttle.record_failure(&account, now);
            return Err(refused());
        };
        let outcome = self.check_credentials(&user, &credentials, password, code);
        let naive_now = self.clock.now_utc_naive();
        let (secret, step) = match outcome {
            Ok(opened) => opened,
            Err(error) => {
                self.throttle.record_failure(&account, now);
                self.store.write(|tx| {
                    audit::append(
                        tx,
                        NewEntry {
                            action: "sign_in_failed",
                            organisation_id: Some(user.organisation_id.as_str().to_owned()),
                            subject_user_id: Some(user.id.as_str().to_owned()),
                            ..NewEntry::default()
                        },
                        naive_now,
                    )?;
                    Ok::<_, ServiceError>(())
                })?;
                return Err(error);
            }
        };
        let token = SessionToken::generate();
        let sealed = token
            .seal_handler_secret(user.id.as_str(), &secret)
            .map_err(crypto_failure)?;
        let session = HandlerSession {
            id: token.id_hex(),
            user_id: user.id.clone(),
            sealed,
            created_at: naive_now,
            last_seen_at: naive_now,
            expires_at: naive_now
                + Duration::hours(i64::from(self.settings.handler_absolute_hours)),
        };
        self.store
            .write(|tx| {
                // The step check is inside the transaction, so two sign-ins racing with one code
                // cannot both succeed.
                if !users::claim_totp_step(tx, &user.id, step)? {
                    return Err(refused());
                }
                sessions::purge_expired(tx, naive_now, self.idle_cutoff(naive_now))?;
                sessions::insert_handler(tx, &session)?;
                audit::append(
                    tx,
                    NewEntry {
                        actor_user_id: Some(user.id.as_str().to_owned()),
                        action: "sign_in",
                        organisation_id: Some(user.organisation_id.as_str().to_owned()),
                        ..NewEntry::default()
                    },
                    naive_now,
                )?;
                Ok(())
            })
            .inspect_err(|_| self.throttle.record_failure(&account, now))?;
        self.throttle.record_success(&account);
        Ok(SignedIn {
            token: token.encode(),
            user,
        })
    }

    /// Password, then TOTP; returns the unsealed secret and the code's time step.
    fn check_credentials(
        &self,
        user: &User,
        credentials: &users::Credentials,
        password: &Secret<String>,
        code: &str,
    ) -> Result<(SecretKey, i64), ServiceError> {
        let keys = unlock_password_keys(&user.id, credentials, password)?.ok_or_else(refused)?;
        let totp_secret = keys
            .open_totp_secret(user.id.as_str(), &credentials.sealed_totp_secret)
            .map_err(crypto_failure)?;
        let unix_seconds = u64::try_from(self.clock.now().unix_timestamp()).unwrap_or(0);
        let step = totp::matching_step(totp_secret.expose_secret(), code, unix_seconds)
            .ok_or_else(refused)?;
        if credentials
            .totp_last_step
            .is_some_and(|last| last >= step as i64)
        {
            // A code already used (or an older one): a replay.
            return Err(refused());
        }
        let secret = keys
            .open_handler_secret(user.id.as_str(), &credentials.sealed_secret_key)
            .map_err(crypto_failure)?;
        Ok((secret, i64::try_from(step).unwrap_or(i64::MAX)))
    }

    fn idle_cutoff(&self, now: PrimitiveDateTime) -> PrimitiveDateTime {
        now - Duration::minutes(i64::from(self.settings.handler_idle_minutes))
    }

    /// Resolves a session token to the signed-in handler, or says they are signed out.
    pub fn authenticate(&self, token: &str) -> Result<Handler, ServiceError> {
        let token = SessionToken::parse(token).map_err(|_| signed_out())?;
        let session_id = token.id_hex();
        let now = self.clock.now_utc_naive();
        let (session, user) = self.store.read(|tx| {
            let session = sessions::find_handler(tx, &session_id)?.ok_or_else(signed_out)?;
            let user = users::find(tx, &session.user_id)?.ok_or_else(signed_out)?;
            Ok::<_, ServiceError>((session, user))
        })?;
        let expired = session.expires_at <= now || session.last_seen_at <= self.idle_cutoff(now);
        if expired || !user.active {
            self.store.write(|tx| {
                sessions::delete_handler(tx, &session_id)?;
                Ok::<_, ServiceError>(())
            })?;
            return Err(signed_out());
        }
        let secret = token
            .open_handler_secret(user.id.as_str(), &session.sealed)
            .map_err(|_| signed_out())?;
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.write(|tx| {
                sessions::touch_handler(tx, &session_id, now)?;
                Ok::<_, ServiceError>(())
            })?;
        }
        Ok(Handler {
            user,
            secret,
            session_id,
        })
    }

    pub fn sign_out(&self, handler: &Handler) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            sessions::delete_handler(tx, &handler.session_id)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(handler.user.id.as_str().to_owned()),
                    action: "sign_out",
                    organisation_id: Some(handler.user.organisation_id.as_str().to_owned()),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }
}
