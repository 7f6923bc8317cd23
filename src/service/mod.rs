//! Use cases. Each public method is one transaction; the web layer and the CLI both call these,
//! so the HTML pages, the JSON API and the command line behave the same.

pub mod accounts;
pub mod admin;
pub mod approvals;
pub mod attachments;
pub mod audit_log;
pub mod browser_cases;
pub mod calendar;
pub mod case_events;
pub mod casefile;
pub mod casework;
pub mod content;
mod custody;
pub mod enrolment;
mod exclusions;
pub mod governance;
pub mod identity_consent;
pub mod intake;
pub mod mailbox;
pub mod notices;
pub mod organisations;
pub mod oversight;
pub mod recovery;
pub mod reporter_requests;
pub mod retention;
pub mod schedule;
pub mod sealed_mailbox;
pub mod sessions;
pub mod throttle;
pub mod totp;

use std::sync::Arc;

use crate::blobs::{self, BlobStore};
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::PasswordCost;
use crate::store::{Store, StoreError};
use throttle::SignInThrottle;

/// What went wrong in a use case, in terms a caller can act on. Mapped to HTTP once, in `web`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed or breaks a rule; `code` is stable for API clients.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Unknown, or not yours: the two are deliberately indistinguishable.
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Known and visible, but this person may not do it (approving their own change).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Over a size limit (413).
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: u64 },
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
    /// A sealed record does not open with the labels stored beside it: someone with write
    /// access to the database changed it. Never shown; the request fails.
    #[error("altered record: {0}")]
    Tampered(String),
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate(what) => ServiceError::Conflict {
                code: "already_exists",
                message: format!("{what} already exists"),
            },
            StoreError::Erased => ServiceError::NotFound,
            other => ServiceError::Store(other),
        }
    }
}

/// The application core shared by every request and command.
#[derive(Clone)]
pub struct Portal {
    pub store: Store,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// Argon2id cost for new passwords. Always production strength, except in the test suite
    /// (see [`Portal::with_password_cost`]); not reachable from configuration.
    pub password_cost: PasswordCost,
    pub throttle: Arc<SignInThrottle>,
    /// Where sealed attachments live (`attachment_store`).
    pub blobs: Arc<dyn BlobStore>,
    /// The key that derives the fake salts answered for e-mail addresses without an account
    /// (see [`Portal::sign_in_parameters`]): kept in `data_dir/sign-in-salt.key` so the answer
    /// for an address stays the same across restarts and instances sharing the directory.
    pub sign_in_salt_key: Arc<crate::crypto::Secret<[u8; 32]>>,
    /// Windows the reminder scan reads per transaction (see `notices`).
    pub scan_chunk: usize,
}

/// Reads `sign-in-salt.key` from the data directory, creating it (32 random bytes, readable by
/// the owner only) if it is missing. If the directory cannot be written, a key for this process
/// only is used and a warning logged: fake salts then change at restart.
fn sign_in_salt_key(data_dir: &std::path::Path) -> crate::crypto::Secret<[u8; 32]> {
    use zeroize::Zeroize;
    let path = data_dir.join("sign-in-salt.key");
    let read = || {
        std::fs::read(&path).ok().and_then(|mut bytes| {
            let key = <[u8; 32]>::try_from(bytes.as_slice()).ok();
            bytes.zeroize();
            key
        })
    };
    if let Some(mut bytes) = read() {
        let key = crate::crypto::Secret::new(bytes);
        bytes.zeroize();
        return key;
    }
    let mut fresh = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut fresh);
    let written = (|| {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(&fresh)?;
        file.sync_all()
    })();
    let mut bytes = match written {
        Ok(()) => fresh,
        // Another process created it first: use theirs.
        Err(_) => read().unwrap_or_else(|| {
            tracing::warn!(
                path = %path.display(),
                "cannot keep the sign-in salt key; fake salts will change at restart"
            );
            fresh
        }),
    };
    fresh.zeroize();
    let key = crate::crypto::Secret::new(bytes);
    bytes.zeroize();
    key
}

impl Portal {
    pub fn new(store: Store, clock: Clock, settings: Settings) -> Portal {
        let blobs = blobs::open_store(&settings.attachment_store);
        let sign_in_salt_key = Arc::new(sign_in_salt_key(&settings.data_dir));
        Portal {
            blobs,
            sign_in_salt_key,
            store,
            clock,
            settings: Arc::new(settings),
            password_cost: PasswordCost::PRODUCTION,
            throttle: Arc::new(SignInThrottle::default()),
            scan_chunk: notices::SCAN_CHUNK,
        }
    }

    /// Smaller chunks make a few cases span several of the scan's transactions (tests of
    /// interleaved scans); at least 1.
    pub fn with_scan_chunk(mut self, windows: usize) -> Portal {
        self.scan_chunk = windows.max(1);
        self
    }

    /// Tests create many accounts; a 64 MiB derivation each would dominate the suite.
    pub fn with_password_cost(mut self, cost: PasswordCost) -> Portal {
        self.password_cost = cost;
        self
    }
}
