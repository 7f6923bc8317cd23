//! CSRF protection for every HTML form: a random token in a `__Host-` cookie (SameSite=Strict,
//! HttpOnly) that each form repeats in a hidden field. A cross-site page can neither send the
//! cookie nor read it to fill in the field; the `__Host-` prefix stops a sibling subdomain
//! planting one.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{Ready, ready};
use subtle::ConstantTimeEq;

use super::error::{PageError, Problem};
use crate::crypto;

pub const COOKIE: &str = "__Host-speakup-csrf";
const TOKEN_LENGTH: usize = 43;

/// The request's CSRF token, for rendering into forms and checking submissions.
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    pub fn value(&self) -> &str {
        &self.0
    }

    /// Accepts a submission only if its hidden field repeats the cookie's token.
    pub fn verify(&self, submitted: &str) -> Result<(), PageError> {
        let matches: bool = self.0.as_bytes().ct_eq(submitted.as_bytes()).into();
        if matches && submitted.len() == TOKEN_LENGTH {
            Ok(())
        } else {
            Err(PageError(Problem::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "This form has expired or your browser did not send its security cookie. Go \
                 back, reload the page and try again. (This portal needs cookies for its own \
                 address; it sets no tracking cookies.)",
            )))
        }
    }
}

fn well_formed(value: &str) -> bool {
    value.len() == TOKEN_LENGTH
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives every request a token, setting the cookie when the browser has none yet.
pub async fn ensure_token(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = request
        .cookie(COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| well_formed(value));
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (crypto::random_token().expose_secret().clone(), true),
    };
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.call(request).await?;
    if fresh && !response.request().path().starts_with("/api/") {
        let cookie = Cookie::build(COOKIE, token)
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict)
            .finish();
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

impl FromRequest for CsrfToken {
    type Error = actix_web::Error;
    type Future = Ready<Result<CsrfToken, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = request.extensions().get::<CsrfToken>().cloned();
        ready(token.ok_or_else(|| {
            PageError(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side. Please try again.",
            ))
            .into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_matching_token_verifies() {
        let token = CsrfToken(crypto::random_token().expose_secret().clone());
        assert!(token.verify(&token.0.clone()).is_ok());
        assert!(token.verify("").is_err());
        assert!(token.verify(&"A".repeat(TOKEN_LENGTH)).is_err());
        assert!(well_formed(token.value()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"é".repeat(TOKEN_LENGTH)));
    }
}
