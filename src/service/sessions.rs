//! Handler sign-in and sessions. One Argon2id run per sign-in yields both the login verifier
//! and the key that unseals the handler's secret; the session row keeps that secret sealed
//! under a key that exists only in the handler's cookie or bearer token.

use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};

use super::accounts::{crypto_failure, normalise_email, unlock_password_keys};
use super::{Portal, ServiceError, totp};
use crate::crypto::{self, LoginProof, PasswordCost, Secret, SecretKey, SessionToken, TotpSealing};
use crate::store::audit::{self, NewEntry};
use crate::store::sessions::{self, HandlerSession};
use crate::store::users::{self, User};

/// A signed-in handler for the length of one request.
pub struct Handler {
    pub user: User,
    /// The handler's X25519 secret, for a session signed in with the password. `None` for a
    /// session signed in from the browser with a login proof: the secret is in the browser
    /// only, and the server cannot open anything for this session.
    pub secret: Option<SecretKey>,
    pub session_id: String,
}

impl Handler {
    /// The secret key, or the refusal a browser session gets for work that needs it on the
    /// server.
    pub fn secret(&self) -> Result<&SecretKey, ServiceError> {
        self.secret.as_ref().ok_or_else(key_in_browser)
    }

    /// Whether this session's key is kept in the browser.
    #[must_use]
    pub fn key_in_browser(&self) -> bool {
        self.secret.is_none()
    }
}

/// What a browser session gets for anything that would need the handler's key on the server.
pub fn key_in_browser() -> ServiceError {
    ServiceError::Conflict {
        code: "key_in_browser",
        message: "you signed in without sending your password, so the key that opens your \
                  cases is only in your browser: with JavaScript on, cases open and replies, \
                  notes, procedure letters, grants and files are made there, but this form needs the \
                  server to hold your key; turn JavaScript on, or sign out and sign in again \
                  without ticking that box (an API client signed in with a login proof uses the \
                  /sealed endpoints instead)"
            .to_owned(),
    }
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
    /// For a sign-in with a login proof: the handler's secret key sealed under their
    /// key-encryption key (which only the browser has), for the browser to open.
    pub sealed_secret: Option<Vec<u8>>,
}

/// What a browser needs to run Argon2id for an account: its salt and cost.
#[derive(Debug, Clone)]
pub struct SignInParameters {
    pub salt: [u8; 16],
    pub cost: PasswordCost,
}

/// How a handler proves who they are.
enum Credential<'a> {
    /// The password, sent to the server (a form without JavaScript, or the API).
    Password(&'a Secret<String>),
    /// The second half of the Argon2id output, computed in the browser (see [`LoginProof`]).
    Proof(&'a LoginProof),
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

const FAKE_SALT_LABEL: &[u8] = b"speakup/fake-salt/v1";

/// What checking a credential yields: the secret (password sign-ins only), the TOTP step, and
/// a re-sealed TOTP secret when it was still sealed the old way.
struct Checked {
    secret: Option<SecretKey>,
    step: i64,
    resealed_totp: Option<Vec<u8>>,
}

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
        self.sign_in_with(email, Credential::Password(password), code, client_bucket)
    }

    /// Sign-in from a browser that ran Argon2id itself: it sends the login proof, never the
    /// password. Same throttling, audit and answers as [`Portal::sign_in_from`]; the session
    /// holds no key, and the answer carries the handler's secret key sealed under the KEK for
    /// the browser to open.
    pub fn sign_in_with_proof(
        &self,
        email: &str,
        proof: &LoginProof,
        code: &str,
        client_bucket: u64,
    ) -> Result<SignedIn, ServiceError> {
        self.sign_in_with(email, Credential::Proof(proof), code, client_bucket)
    }

    /// The salt and cost a browser runs Argon2id with. For an e-mail address without an
    /// active account the answer has the same shape: a salt derived from the address with a
    /// server-side key (the same every time) and the current cost, so the answer does not
    /// reveal who has an account.
    pub fn sign_in_parameters(&self, email: &str) -> Result<SignInParameters, ServiceError> {
        let email_key = normalise_email(email).unwrap_or_else(|_| email.trim().to_owned());
        let found = self
            .store
            .read(|tx| users::find_by_email(tx, &email_key).map_err(ServiceError::from))?;
        let fake = || SignInParameters {
            salt: self.fake_salt(&email_key),
            cost: self.password_cost,
        };
        let Some((user, credentials)) = found.filter(|(user, _)| user.active) else {
            return Ok(fake());
        };
        let corrupt = || ServiceError::Internal(format!("account {} has a bad salt", user.id));
        let salt: [u8; 16] = credentials
            .kdf_salt
            .as_slice()
            .try_into()
            .map_err(|_| corrupt())?;
        let cost = PasswordCost::decode(&credentials.kdf_cost).map_err(|_| corrupt())?;
        Ok(SignInParameters { salt, cost })
    }

    fn fake_salt(&self, email_key: &str) -> [u8; 16] {
        let digest = Sha256::new()
            .chain_update(FAKE_SALT_LABEL)
            .chain_update(self.sign_in_salt_key.expose_secret())
            .chain_update(email_key.as_bytes())
            .finalize();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&digest[..16]);
        salt
    }

    fn sign_in_with(
        &self,
        email: &str,
        credential: Credential<'_>,
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
            match credential {
                Credential::Password(password) => {
                    let _ = crypto::derive_password_keys(password, &[0u8; 16], self.password_cost);
                }
                Credential::Proof(proof) => {
                    let _ = proof.verifies(&[0u8; 32]);
                }
            }
            self.throttle.record_failure(&account, now);
            return Err(refused());
        };
        let outcome = self.check_credentials(&user, &credentials, &credential, code);
        let naive_now = self.clock.now_utc_naive();
        let checked = match outcome {
            Ok(checked) => checked,
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
        let (sealed, sealed_secret, detail) = match &checked.secret {
            Some(secret) => (
                token
                    .seal_handler_secret(user.id.as_str(), secret)
                    .map_err(crypto_failure)?,
                None,
                String::new(),
            ),
            None => (
                token
                    .seal_browser_session(user.id.as_str())
                    .map_err(crypto_failure)?,
                Some(credentials.sealed_secret_key.clone()),
                "key kept in the browser".to_owned(),
            ),
        };
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
                if !users::claim_totp_step(tx, &user.id, checked.step)? {
                    return Err(refused());
                }
                if let Some(resealed) = &checked.resealed_totp {
                    // The TOTP secret moves to the proof's key, so this account can next sign
                    // in from a browser. A concurrent password change wins; this waits a turn.
                    let mut updated = credentials.clone();
                    updated.sealed_totp_secret = resealed.clone();
                    users::replace_password(
                        tx,
                        &user.id,
                        user.key_generation,
                        &updated,
                        naive_now,
                    )?;
                }
                sessions::purge_expired(tx, naive_now, self.idle_cutoff(naive_now))?;
                sessions::insert_handler(tx, &session)?;
                audit::append(
                    tx,
                    NewEntry {
                        actor_user_id: Some(user.id.as_str().to_owned()),
                        action: "sign_in",
                        organisation_id: Some(user.organisation_id.as_str().to_owned()),
                        detail,
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
            sealed_secret,
        })
    }

    /// Password or proof, then TOTP.
    fn check_credentials(
        &self,
        user: &User,
        credentials: &users::Credentials,
        credential: &Credential<'_>,
        code: &str,
    ) -> Result<Checked, ServiceError> {
        let (keys, totp_secret, resealed_totp) = match credential {
            Credential::Password(password) => {
                let keys =
                    unlock_password_keys(&user.id, credentials, password)?.ok_or_else(refused)?;
                let (totp_secret, sealing) = keys
                    .open_totp_secret_sealing(user.id.as_str(), &credentials.sealed_totp_secret)
                    .map_err(crypto_failure)?;
                let resealed = match sealing {
                    TotpSealing::Proof => None,
                    TotpSealing::Legacy => Some(
                        keys.seal_totp_secret(user.id.as_str(), totp_secret.expose_secret())
                            .map_err(crypto_failure)?,
                    ),
                };
                (Some(keys), totp_secret, resealed)
            }
            Credential::Proof(proof) => {
                let stored: [u8; 32] =
                    credentials
                        .login_verifier
                        .as_slice()
                        .try_into()
                        .map_err(|_| {
                            ServiceError::Internal(format!(
                                "account {} has a bad verifier",
                                user.id
                            ))
                        })?;
                if !proof.verifies(&stored) {
                    return Err(refused());
                }
                let totp_secret = proof
                    .open_totp_secret(user.id.as_str(), &credentials.sealed_totp_secret)
                    .map_err(|_| ServiceError::Conflict {
                        code: "password_sign_in_needed",
                        message: "this account was set up before sign-in from the browser: \
                                  sign in once with JavaScript off, then this works"
                            .to_owned(),
                    })?;
                (None, totp_secret, None)
            }
        };
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
        let secret = match keys {
            Some(keys) => Some(
                keys.open_handler_secret(user.id.as_str(), &credentials.sealed_secret_key)
                    .map_err(crypto_failure)?,
            ),
            None => None,
        };
        Ok(Checked {
            secret,
            step: i64::try_from(step).unwrap_or(i64::MAX),
            resealed_totp,
        })
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
        let secret = match token.open_handler_secret(user.id.as_str(), &session.sealed) {
            Ok(secret) => Some(secret),
            Err(_) => {
                token
                    .open_browser_session(user.id.as_str(), &session.sealed)
                    .map_err(|_| signed_out())?;
                None
            }
        };
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
