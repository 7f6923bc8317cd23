//! `Authorization: Bearer …` for the JSON API.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};

use super::error::{ApiError, Problem};
use crate::crypto::Secret;

pub struct BearerToken(pub Secret<String>);

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<BearerToken, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(|token| token.trim().to_owned())
            .filter(|token| !token.is_empty());
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
