//! Handler endpoints: a bearer token from `POST /session`; every case route answers 404 to
//! anyone who does not hold the case.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::crypto::Secret;
use crate::service::Portal;
use crate::web::auth::{ApiHandler, KdfPermits};
use crate::web::blocking;
use crate::web::error::ApiError;
use crate::web::metrics::Metrics;
use crate::web::rate_limit::{ClientKey, RateLimits};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    email: String,
    password: String,
    totp: String,
}

#[derive(Serialize)]
struct TokenAnswer<'a> {
    token: &'a str,
}

pub async fn sign_in(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    permits: web::Data<KdfPermits>,
    metrics: web::Data<Metrics>,
    client: ClientKey,
    request: web::Json<SignInRequest>,
) -> Result<HttpResponse, ApiError> {
    limits.handler_sign_ins.check(client)?;
    let request = request.into_inner();
    let password = Secret::new(request.password);
    let _turn = permits.acquire().await?;
    let portal = portal.into_inner();
    let outcome = blocking(move || portal.sign_in(&request.email, &password, &request.totp)).await;
    Metrics::count_outcome(
        &metrics.handler_sign_ins,
        if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
    );
    let signed_in = outcome?;
    Ok(HttpResponse::Ok().json(TokenAnswer {
        token: signed_in.token.expose_secret(),
    }))
}

pub async fn sign_out(
    portal: web::Data<Portal>,
    handler: ApiHandler,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    blocking(move || portal.sign_out(&handler.0)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn cases(
    portal: web::Data<Portal>,
    handler: ApiHandler,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let inbox = blocking(move || portal.inbox(&handler.0)).await?;
    Ok(HttpResponse::Ok().json(inbox))
}

pub async fn case(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let detail = blocking(move || portal.case_detail(&handler.0, &reference)).await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyRequest {
    body: String,
}

pub async fn message(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<BodyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = Secret::new(request.into_inner().body);
    let portal = portal.into_inner();
    blocking(move || portal.handler_message(&handler.0, &reference, &body)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"sent": true})))
}

pub async fn note(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<BodyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = Secret::new(request.into_inner().body);
    let portal = portal.into_inner();
    blocking(move || portal.add_note(&handler.0, &reference, &body)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"saved": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    user: String,
    #[serde(default)]
    identity: bool,
}

pub async fn grant(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<GrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let portal = portal.into_inner();
    blocking(move || portal.grant(&handler.0, &reference, &request.user, request.identity)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"granted": true})))
}

pub async fn revoke(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (reference, email) = path.into_inner();
    let portal = portal.into_inner();
    blocking(move || portal.revoke(&handler.0, &reference, &email)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn conflict(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    blocking(move || portal.declare_conflict(&handler.0, &reference)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"declared": true})))
}
