//! Handler endpoints: a bearer token from `POST /session`; every case route answers 404 to
//! anyone who does not hold the case.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use time::Date;

use crate::crypto::{LoginProof, Secret};
use crate::procedure::dates::iso_date;
use crate::procedure::{EscalationReason, EventType, NotWhistleblowingKind, Outcome};
use crate::service::case_events::EventInput;
use crate::service::{Portal, ServiceError};
use crate::web::attachments::{self, FormCheck};
use crate::web::auth::{ApiHandler, KdfPermits};
use crate::web::blocking;
use crate::web::error::ApiError;
use crate::web::metrics::Metrics;
use crate::web::proof::{ParametersAnswer, ProofAnswer, read_proof};
use crate::web::rate_limit::{ClientKey, RateLimits};

/// `POST /session`: the password, or the login proof a client derived itself (never both).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    email: String,
    #[serde(default)]
    password: Option<String>,
    /// base64 of the second half of Argon2id(password, salt) with the salt and cost of
    /// `POST /session/parameters`: the session then holds no key (issue 14).
    #[serde(default)]
    login_proof: Option<String>,
    totp: String,
}

enum Credential {
    Password(Secret<String>),
    Proof(LoginProof),
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
    let request = request.into_inner();
    let credential = match (request.password, request.login_proof) {
        (Some(password), None) => Credential::Password(Secret::new(password)),
        (None, Some(proof)) => Credential::Proof(read_proof(&proof)?),
        _ => {
            return Err(ServiceError::invalid(
                "one_credential",
                "send either the password or the login proof, not both",
            )
            .into());
        }
    };
    limits.handler_sign_ins.check(client)?;
    let portal = portal.into_inner();
    let (email, totp) = (request.email, request.totp);
    // Only the password needs Argon2id on the server, so only it waits for a permit; a proof
    // is checked with one hash, as the console's sign-in from the browser is.
    let outcome = match credential {
        Credential::Password(password) => {
            let _turn = permits.acquire().await?;
            blocking(move || portal.sign_in_from(&email, &password, &totp, client.bucket())).await
        }
        Credential::Proof(proof) => {
            blocking(move || portal.sign_in_with_proof(&email, &proof, &totp, client.bucket()))
                .await
        }
    };
    Metrics::count_outcome(
        &metrics.handler_sign_ins,
        if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
    );
    let signed_in = outcome?;
    let token = signed_in.token.expose_secret();
    if signed_in.sealed_secret.is_some() {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(ProofAnswer::new(&signed_in, Some(token))?));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenAnswer { token }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParametersRequest {
    email: String,
}

/// `POST /session/parameters`: the salt and Argon2id cost a client derives its login proof
/// with; the same shape (and the same answer every time) for an address without an account.
pub async fn sign_in_parameters(
    portal: web::Data<Portal>,
    request: web::Json<ParametersRequest>,
) -> Result<HttpResponse, ApiError> {
    // As in the console: not counted against the sign-in limit, since it answers alike for
    // every address and costs one indexed read; the sign-in that follows is counted.
    let email = request.into_inner().email;
    let portal = portal.into_inner();
    let answer = blocking(move || portal.sign_in_parameters(&email)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ParametersAnswer::from(answer)))
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
    /// Shown to the reporter when `identity` asks for their consent.
    #[serde(default)]
    reason: String,
}

pub async fn grant(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<GrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let portal = portal.into_inner();
    blocking(move || {
        portal.grant_with_reason(
            &handler.0,
            &reference,
            &request.user,
            request.identity,
            &request.reason,
        )
    })
    .await?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    #[serde(rename = "type")]
    event_type: EventType,
    #[serde(default, with = "iso_date::option")]
    on: Option<Date>,
    #[serde(default, with = "iso_date::option")]
    until: Option<Date>,
    #[serde(default)]
    escalation: Option<EscalationReason>,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    not_whistleblowing: Option<NotWhistleblowingKind>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    authorised_by: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    learning: String,
    #[serde(default)]
    learning_publishable: bool,
    #[serde(default)]
    message: String,
    /// For a stage 2 acknowledgement: the points the investigation will look into.
    #[serde(default)]
    points: String,
}

impl From<EventRequest> for EventInput {
    fn from(request: EventRequest) -> EventInput {
        // For a stage 2 event the contract's free-text `reason` may name the escalation.
        let escalation = request.escalation.or_else(|| {
            EscalationReason::ALL
                .into_iter()
                .find(|reason| reason.as_str() == request.reason.trim())
        });
        EventInput {
            event_type: request.event_type,
            on: request.on,
            until: request.until,
            escalation,
            outcome: request.outcome,
            not_whistleblowing: request.not_whistleblowing,
            reason: request.reason,
            authorised_by: request.authorised_by,
            findings: request.findings,
            actions: request.actions,
            learning: request.learning,
            learning_publishable: request.learning_publishable,
            message: request.message,
            points: request.points,
        }
    }
}

pub async fn event(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    let input = EventInput::from(request.into_inner());
    let portal = portal.into_inner();
    let recorded = blocking(move || portal.record_event(&handler.0, &reference, input)).await?;
    Ok(HttpResponse::Created().json(recorded))
}

pub async fn upload_attachment(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    limits.attachment_uploads.check(client)?;
    attachments::check_declared_length(&request, portal.settings.max_attachment_bytes)?;
    let worker = portal.clone().into_inner();
    let ticket = blocking(move || worker.handler_upload_ticket(&handler.0, &reference)).await?;
    let receipt = attachments::receive(&portal, ticket, form, FormCheck::None).await?;
    Ok(HttpResponse::Created().json(receipt))
}

pub async fn download_attachment(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (reference, id) = path.into_inner();
    let worker = portal.clone().into_inner();
    let ticket =
        blocking(move || worker.handler_download_ticket(&handler.0, &reference, &id)).await?;
    Ok(attachments::download(&portal, ticket).await?)
}
