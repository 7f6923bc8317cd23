//! `Authorization: Bearer …` for the JSON API.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};

use super::error::{ApiError, Problem};
use crate::crypto::Secret;

pub struct BearerToken(pub Secret<String>);

/// The token of an `Authorization: Bearer …` header, if there is a non-empty one.
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then(|| token.to_owned())
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<BearerToken, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request);
        ready(match token {
            Some(token) => Ok(BearerToken(Secret::new(token))),
            None => Err(ApiError(Problem::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send the token from the sign-in answer as `Authorization: Bearer TOKEN`",
            ))),
        })
    }
}
