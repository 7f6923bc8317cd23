//! Use cases. Each public method is one transaction; the web layer and the CLI both call these,
//! so the HTML pages, the JSON API and the command line behave the same.

pub mod accounts;
pub mod admin;
pub mod approvals;
pub mod attachments;
pub mod audit_log;
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
    /// Windows the reminder scan reads per transaction (see `notices`).
    pub scan_chunk: usize,
}

impl Portal {
    pub fn new(store: Store, clock: Clock, settings: Settings) -> Portal {
        let blobs = blobs::open_store(&settings.attachment_store);
        Portal {
            blobs,
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
