//! Who is calling: a signed-in handler, from a bearer token (API) or the session cookie
//! (console). The session is checked on every request by unsealing it; nothing is cached.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::bearer::bearer_token;
use super::blocking;
use super::error::{ApiError, PageError, Problem};
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};

pub const SESSION_COOKIE: &str = "__Host-speakup-session";

/// A handler authenticated by `Authorization: Bearer` (JSON API).
pub struct ApiHandler(pub Handler);

/// A handler authenticated by the console's session cookie (HTML pages).
pub struct ConsoleHandler(pub Handler);

async fn authenticate(
    request: &HttpRequest,
    token: Option<String>,
) -> Result<Handler, ServiceError> {
    let token = token.ok_or_else(|| ServiceError::Unauthorized {
        code: "not_signed_in",
        message: "sign in first".to_owned(),
    })?;
    let portal = request
        .app_data::<web::Data<Portal>>()
        .cloned()
        .ok_or_else(|| ServiceError::Internal("portal missing from app data".into()))?;
    blocking(move || portal.authenticate(&token)).await
}

impl FromRequest for ApiHandler {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<ApiHandler, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let token = bearer_token(&request);
            authenticate(&request, token)
                .await
                .map(ApiHandler)
                .map_err(ApiError::from)
        })
    }
}

impl FromRequest for ConsoleHandler {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<ConsoleHandler, PageError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let token = request.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
            match authenticate(&request, token).await {
                Ok(handler) => Ok(ConsoleHandler(handler)),
                Err(ServiceError::Unauthorized { .. }) => Err(PageError(Problem {
                    redirect_to_sign_in: true,
                    ..Problem::new(StatusCode::UNAUTHORIZED, "not_signed_in", "Please sign in.")
                })),
                Err(other) => Err(other.into()),
            }
        })
    }
}

/// Bounds concurrent Argon2id runs (64 MiB each), so a burst of sign-ins queues instead of
/// exhausting memory.
pub struct KdfPermits {
    semaphore: Semaphore,
}

impl KdfPermits {
    pub fn new(permits: usize) -> Arc<KdfPermits> {
        Arc::new(KdfPermits {
            semaphore: Semaphore::new(permits.max(1)),
        })
    }

    /// Waits up to 10 seconds for a turn; after that the server is too busy to answer well.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, ServiceError> {
        match tokio::time::timeout(Duration::from_secs(10), self.semaphore.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ServiceError::RateLimited {
                retry_after_seconds: 5,
            }),
        }
    }
}
