//! Casework for an API client that keeps its own key (issue 14): signed in with a login proof
//! (`POST /session` with `login_proof`), it gets the case sealed, opens it with its own secret
//! key, and sends back only what it sealed or wrapped itself. The same service calls and JSON
//! as the console's browser mode (`web/sealed_json.rs`); here the caller is a bearer token and
//! requests are JSON with unknown fields refused.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use time::Date;

use crate::procedure::dates::iso_date;
use crate::procedure::{EscalationReason, EventType, NotWhistleblowingKind, Outcome};
use crate::service::case_events::EventInput;
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ApiHandler;
use crate::web::error::ApiError;
use crate::web::rate_limit::{ClientKey, RateLimits};
use crate::web::sealed_json::{self, SealedGrant, SealedLetter, SealedRecordRequest};

/// These endpoints are for sessions that hold no key; a password session has its key on the
/// server and uses the endpoints without `/sealed`.
fn client_keyed(handler: ApiHandler) -> Result<Handler, ApiError> {
    let handler = handler.0;
    if handler.key_in_browser() {
        Ok(handler)
    } else {
        Err(ServiceError::Conflict {
            code: "key_on_server",
            message: "this session signed in with the password, so the server holds its key: \
                      use the case endpoints without /sealed, or sign in with a login proof"
                .to_owned(),
        }
        .into())
    }
}

/// `GET /cases/{reference}/sealed`
pub async fn case(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    sealed_json::view(portal, handler, reference.into_inner()).await
}

/// `POST /cases/{reference}/sealed`: a message or note the client sealed.
pub async fn append(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<SealedRecordRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    sealed_json::append(
        portal,
        handler,
        reference.into_inner(),
        request.into_inner(),
    )
    .await
}

/// A procedure step's facts: what `POST /cases/{reference}/events` takes, less the handler's
/// words (reason, findings, actions, message, points, who authorised it), which stay in the
/// client and go only into the letter it seals.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    #[serde(rename = "type")]
    event_type: EventType,
    #[serde(default)]
    escalation: Option<EscalationReason>,
    #[serde(default, with = "iso_date::option")]
    until: Option<Date>,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    not_whistleblowing: Option<NotWhistleblowingKind>,
    /// Kept in the clear for the learning reports, as in the console.
    #[serde(default)]
    learning: String,
    #[serde(default)]
    learning_publishable: bool,
}

impl From<StepRequest> for EventInput {
    fn from(request: StepRequest) -> EventInput {
        let mut input = EventInput::new(request.event_type);
        input.until = request.until;
        input.escalation = request.escalation;
        input.outcome = request.outcome;
        input.not_whistleblowing = request.not_whistleblowing;
        input.learning = request.learning;
        input.learning_publishable = request.learning_publishable;
        input
    }
}

/// The letter the client wrote from the facts and sealed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterRequest {
    event_id: String,
    record_id: String,
    position: i32,
    written_on: String,
    basis: String,
    /// base64
    sealed: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedStepRequest {
    step: StepRequest,
    letter: LetterRequest,
}

/// `POST /cases/{reference}/sealed/events/facts`
pub async fn step_facts(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<StepRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    let input = EventInput::from(request.into_inner());
    sealed_json::step_facts(portal, handler, reference.into_inner(), input).await
}

/// `POST /cases/{reference}/sealed/events`
pub async fn record_step(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<SealedStepRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    let SealedStepRequest { step, letter } = request.into_inner();
    let letter = SealedLetter {
        event_id: letter.event_id,
        record_id: letter.record_id,
        position: letter.position,
        written_on: letter.written_on,
        basis: letter.basis,
        sealed: letter.sealed,
    };
    let input = EventInput::from(step);
    sealed_json::record_step(portal, handler, reference.into_inner(), input, letter).await
}

/// Who a grant is for: as `POST /cases/{reference}/grants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientRequest {
    user: String,
    /// Also ask the reporter to share their identity with this person.
    #[serde(default)]
    identity: bool,
}

/// The identity request a client made: its id, the identity key wrapped for the person
/// (kept until the reporter agrees), and the reason sealed under the case key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequestJson {
    id: String,
    identity_wrap: String,
    sealed_reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedGrantRequest {
    user: String,
    #[serde(default)]
    identity: bool,
    /// base64: the case key wrapped for the person (absent when they already hold the case).
    #[serde(default)]
    case_wrap: Option<String>,
    #[serde(default)]
    identity_request: Option<IdentityRequestJson>,
}

/// `POST /cases/{reference}/sealed/grants/recipient`
pub async fn grant_recipient(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<RecipientRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    let request = request.into_inner();
    sealed_json::grant_recipient(
        portal,
        handler,
        reference.into_inner(),
        request.user,
        request.identity,
    )
    .await
}

/// `POST /cases/{reference}/sealed/grants`
pub async fn grant(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<SealedGrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    let request = request.into_inner();
    let (request_id, identity_wrap, sealed_reason) = match request.identity_request {
        Some(asked) => (
            asked.id,
            Some(asked.identity_wrap),
            Some(asked.sealed_reason),
        ),
        None => (String::new(), None, None),
    };
    let grant = SealedGrant {
        email: request.user,
        with_identity: request.identity,
        case_wrap: request.case_wrap,
        request_id,
        identity_wrap,
        sealed_reason,
    };
    sealed_json::grant(portal, handler, reference.into_inner(), grant).await
}

/// `POST /cases/{reference}/sealed/attachments` (multipart: `id`, `position`, `written_on`,
/// `record`, then `file`)
pub async fn upload(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    limits.attachment_uploads.check(client)?;
    let handler = client_keyed(handler)?;
    sealed_json::upload(
        portal,
        handler,
        reference.into_inner(),
        request,
        form,
        crate::web::attachments::FormCheck::None,
    )
    .await
}

/// `GET /cases/{reference}/sealed/attachments/{id}`
pub async fn download(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    let (reference, id) = path.into_inner();
    sealed_json::download(portal, handler, reference, id).await
}

/// The case key the client wrapped for the organisation's recovery key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryWrapRequest {
    /// base64
    wrap: String,
}

/// `POST /cases/{reference}/sealed/recovery-wrap`: for a case whose sealed view names a
/// `recovery_public_key` (raised before the organisation had one).
pub async fn recovery_wrap(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    reference: web::Path<String>,
    request: web::Json<RecoveryWrapRequest>,
) -> Result<HttpResponse, ApiError> {
    let handler = client_keyed(handler)?;
    sealed_json::recovery_wrap(
        portal,
        handler,
        reference.into_inner(),
        request.into_inner().wrap,
    )
    .await
}
