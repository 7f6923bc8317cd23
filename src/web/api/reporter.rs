//! Reporter endpoints: no account; a mailbox session token is a bearer token that expires.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::crypto::{KeyKind, MailboxProof, Secret, SubmissionToken};
use crate::ids::{CaseId, RecordId, UserId};
use crate::model::RequestKind;
use crate::procedure::dates::iso_date;
use crate::procedure::{Anonymity, Service, Topic};
use crate::service::identity_consent::Decision;
use crate::service::intake::{
    NewConcern, Recipient, ReporterIdentity, SealedConcern, SealedPart, SealedWrap,
};
use crate::service::sealed_mailbox::SealedMessage;
use crate::service::{Portal, ServiceError};
use crate::web::attachments::{self, FormCheck};
use crate::web::bearer::BearerToken;
use crate::web::blocking;
use crate::web::error::ApiError;
use crate::web::rate_limit::{ClientKey, RateLimits};

pub async fn organisations(portal: web::Data<Portal>) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let organisations = blocking(move || portal.intake_organisations()).await?;
    Ok(HttpResponse::Ok().json(organisations))
}

/// `GET /organisations/{slug}/intake-keys`: the public keys a browser seals a concern to.
pub async fn intake_keys(
    portal: web::Data<Portal>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let slug = slug.into_inner();
    let keys = blocking(move || portal.intake_keys(&slug)).await?;
    Ok(HttpResponse::Ok().json(keys))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedPartRequest {
    record_id: String,
    /// Standard base64.
    sealed: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapRequest {
    /// `reporter`, `recovery`, or an intake contact's id.
    recipient: String,
    kind: String,
    /// Standard base64.
    wrapped: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedConcernRequest {
    organisation: String,
    service: Service,
    anonymity: Anonymity,
    #[serde(default)]
    topic: Option<Topic>,
    #[serde(default, with = "iso_date::option")]
    became_aware_on: Option<Date>,
    #[serde(default)]
    exclude: Vec<String>,
    case_id: String,
    #[serde(with = "iso_date")]
    received_on: Date,
    /// Lowercase hex, 32 bytes each.
    lookup_id: String,
    reporter_public_key: String,
    /// Lowercase hex, 32 bytes: the stored hash of the mailbox proof (optional).
    #[serde(default)]
    mailbox_proof_hash: Option<String>,
    concern: SealedPartRequest,
    #[serde(default)]
    identity: Option<SealedPartRequest>,
    wraps: Vec<WrapRequest>,
}

fn decoded(
    encoding: &data_encoding::Encoding,
    field: &'static str,
    text: &str,
) -> Result<Vec<u8>, ServiceError> {
    encoding.decode(text.as_bytes()).map_err(|_| {
        ServiceError::invalid(
            "invalid_encoding",
            format!("{field} is not encoded as documented"),
        )
    })
}

fn hex32(field: &'static str, text: &str) -> Result<[u8; 32], ServiceError> {
    <[u8; 32]>::try_from(decoded(&data_encoding::HEXLOWER, field, text)?)
        .map_err(|_| ServiceError::invalid("invalid_encoding", format!("{field} must be 32 bytes")))
}

fn sealed_part(part: SealedPartRequest) -> Result<SealedPart, ServiceError> {
    Ok(SealedPart {
        record_id: RecordId::from_stored(part.record_id),
        sealed: decoded(&data_encoding::BASE64, "sealed", &part.sealed)?,
    })
}

impl TryFrom<SealedConcernRequest> for SealedConcern {
    type Error = ServiceError;

    fn try_from(request: SealedConcernRequest) -> Result<SealedConcern, ServiceError> {
        let wraps = request
            .wraps
            .into_iter()
            .map(|wrap| {
                let kind = match wrap.kind.as_str() {
                    "case" => KeyKind::Case,
                    "identity" => KeyKind::Identity,
                    _ => {
                        return Err(ServiceError::invalid(
                            "invalid_wrap",
                            "a wrap's kind is case or identity",
                        ));
                    }
                };
                let recipient = match wrap.recipient.as_str() {
                    "reporter" => Recipient::Reporter,
                    "recovery" => Recipient::Recovery,
                    _ => Recipient::User(UserId::from_stored(wrap.recipient)),
                };
                Ok(SealedWrap {
                    recipient,
                    kind,
                    wrapped: decoded(&data_encoding::BASE64, "wrapped", &wrap.wrapped)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(SealedConcern {
            organisation: request.organisation,
            service: request.service,
            anonymity: request.anonymity,
            topic: request.topic.unwrap_or(Topic::General),
            became_aware_on: request.became_aware_on,
            exclude: request
                .exclude
                .into_iter()
                .map(UserId::from_stored)
                .collect(),
            case_id: CaseId::from_stored(request.case_id),
            received_on: request.received_on,
            lookup_id: hex32("lookup_id", &request.lookup_id)?,
            reporter_public_key: hex32("reporter_public_key", &request.reporter_public_key)?,
            mailbox_proof_hash: request
                .mailbox_proof_hash
                .as_deref()
                .map(|hash| hex32("mailbox_proof_hash", hash))
                .transpose()?,
            concern: sealed_part(request.concern)?,
            identity: request.identity.map(sealed_part).transpose()?,
            wraps,
        })
    }
}

#[derive(Serialize)]
struct SealedReceipt {
    reference: String,
}

/// `POST /concerns/sealed`: a concern sealed in the browser; the case key stays there.
pub async fn submit_sealed_concern(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    request: web::Json<SealedConcernRequest>,
) -> Result<HttpResponse, ApiError> {
    let concern = SealedConcern::try_from(request.into_inner())?;
    limits.concern_submissions.check(client)?;
    let portal = portal.into_inner();
    let reference = blocking(move || portal.submit_sealed_concern(concern)).await?;
    Ok(HttpResponse::Created().json(SealedReceipt { reference }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    pub(super) name: String,
    pub(super) contact: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernRequest {
    pub(super) organisation: String,
    pub(super) service: Service,
    pub(super) anonymity: Anonymity,
    pub(super) concern: String,
    #[serde(default, with = "iso_date::option")]
    pub(super) became_aware_on: Option<Date>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
    #[serde(default)]
    pub(super) identity: Option<IdentityRequest>,
    #[serde(default)]
    pub(super) topic: Option<Topic>,
    /// 32 random bytes as 43 base64url characters, chosen by the client once per concern:
    /// sending again with it answers with the same receipt instead of a second concern.
    #[serde(default)]
    pub(super) submission_token: Option<String>,
}

impl From<ConcernRequest> for NewConcern {
    fn from(request: ConcernRequest) -> NewConcern {
        NewConcern {
            organisation: request.organisation,
            service: request.service,
            anonymity: request.anonymity,
            topic: request.topic.unwrap_or(Topic::General),
            concern: Secret::new(request.concern),
            became_aware_on: request.became_aware_on,
            exclude: request
                .exclude
                .into_iter()
                .map(UserId::from_stored)
                .collect(),
            identity: request.identity.map(|identity| ReporterIdentity {
                name: Secret::new(identity.name),
                contact: Secret::new(identity.contact),
            }),
        }
    }
}

#[derive(Serialize)]
struct ReceiptAnswer<'a> {
    case_key: &'a str,
    reference: &'a str,
    already_sent: bool,
}

pub async fn submit_concern(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    request: web::Json<ConcernRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut request = request.into_inner();
    let token = match request.submission_token.take() {
        None => None,
        Some(text) => Some(SubmissionToken::parse(&text).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_submission_token",
                "submission_token must be 32 random bytes as 43 base64url characters",
            )
        })?),
    };
    let portal = portal.into_inner();
    // A token sent again answers before the rate limit: a retry is not a second concern.
    let receipt = match token {
        Some(token) => {
            let replaying = portal.clone();
            let (sent, token) =
                blocking(move || replaying.sent_with(&token).map(|sent| (sent, token))).await?;
            match sent {
                Some(receipt) => receipt,
                None => {
                    limits.concern_submissions.check(client)?;
                    let concern = NewConcern::from(request);
                    blocking(move || portal.submit_concern_once(concern, &token)).await?
                }
            }
        }
        None => {
            limits.concern_submissions.check(client)?;
            let concern = NewConcern::from(request);
            blocking(move || portal.submit_concern(concern)).await?
        }
    };
    let status = if receipt.already_sent {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::CREATED
    };
    Ok(HttpResponse::build(status).json(ReceiptAnswer {
        case_key: receipt.case_key.expose_secret(),
        reference: &receipt.reference,
        already_sent: receipt.already_sent,
    }))
}

/// Either the case key (the server opens the mailbox) or, from a browser that opens the
/// mailbox itself, the lookup id and the mailbox proof derived from the case key.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum MailboxSignIn {
    CaseKey(CaseKeySignIn),
    Proof(ProofSignIn),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseKeySignIn {
    case_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofSignIn {
    /// Lowercase hex, 32 bytes each.
    lookup_id: String,
    proof: String,
}

#[derive(Serialize)]
struct TokenAnswer<'a> {
    token: &'a str,
}

pub async fn open_mailbox(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    request: web::Json<MailboxSignIn>,
) -> Result<HttpResponse, ApiError> {
    limits.mailbox_sign_ins.check(client)?;
    let portal = portal.into_inner();
    let token = match request.into_inner() {
        MailboxSignIn::CaseKey(CaseKeySignIn { case_key }) => {
            let case_key = Secret::new(case_key);
            blocking(move || portal.open_mailbox(case_key.expose_secret())).await?
        }
        MailboxSignIn::Proof(ProofSignIn { lookup_id, proof }) => {
            let lookup_id = hex32("lookup_id", &lookup_id)?;
            let proof = MailboxProof::from_bytes(Secret::new(hex32("proof", &proof)?));
            blocking(move || portal.open_mailbox_with_proof(&lookup_id, &proof)).await?
        }
    };
    Ok(HttpResponse::Ok().json(TokenAnswer {
        token: token.expose_secret(),
    }))
}

pub async fn mailbox(
    portal: web::Data<Portal>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let view = blocking(move || portal.mailbox(token.0.expose_secret())).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    body: String,
}

pub async fn send_message(
    portal: web::Data<Portal>,
    token: BearerToken,
    request: web::Json<MessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = Secret::new(request.into_inner().body);
    let portal = portal.into_inner();
    blocking(move || portal.reporter_message(token.0.expose_secret(), &body)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"sent": true})))
}

pub async fn close_mailbox(
    portal: web::Data<Portal>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    // Signing out twice, or with a token that never was, is refused like any other bad token.
    if !blocking(move || portal.close_mailbox(token.0.expose_secret())).await? {
        return Err(crate::service::mailbox::session_ended().into());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDecisionRequest {
    decision: Decision,
}

/// `POST /mailbox/identity-requests/{id}`: the reporter agrees (or not) to share their identity.
pub async fn decide_identity_request(
    portal: web::Data<Portal>,
    token: BearerToken,
    id: web::Path<String>,
    request: web::Json<IdentityDecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let decision = request.into_inner().decision;
    let portal = portal.into_inner();
    blocking(move || portal.decide_identity_request(token.0.expose_secret(), &id, decision))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"decided": true})))
}

pub async fn upload_attachment(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    token: BearerToken,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    limits.attachment_uploads.check(client)?;
    attachments::check_declared_length(&request, portal.settings.max_attachment_bytes)?;
    let worker = portal.clone().into_inner();
    let ticket = blocking(move || worker.reporter_upload_ticket(token.0.expose_secret())).await?;
    let receipt = attachments::receive(&portal, ticket, form, FormCheck::None).await?;
    Ok(HttpResponse::Created().json(receipt))
}

pub async fn download_attachment(
    portal: web::Data<Portal>,
    token: BearerToken,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let worker = portal.clone().into_inner();
    let ticket = blocking(move || {
        worker.reporter_download_ticket(token.0.expose_secret(), &id.into_inner())
    })
    .await?;
    Ok(attachments::download(&portal, ticket).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxRequest {
    #[serde(rename = "type")]
    kind: RequestKind,
    #[serde(default)]
    message: Option<String>,
}

/// `POST /mailbox/requests`: the reporter asks for stage 2, withdraws, or reports detriment.
pub async fn make_request(
    portal: web::Data<Portal>,
    token: BearerToken,
    request: web::Json<MailboxRequest>,
) -> Result<HttpResponse, ApiError> {
    let MailboxRequest { kind, message } = request.into_inner();
    let message = message.map(Secret::new);
    let portal = portal.into_inner();
    let receipt =
        blocking(move || portal.reporter_request(token.0.expose_secret(), kind, message.as_ref()))
            .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// `GET /mailbox/sealed`: the mailbox as ciphertext, for a browser that opens it itself.
pub async fn sealed_mailbox(
    portal: web::Data<Portal>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let view = blocking(move || portal.sealed_mailbox(token.0.expose_secret())).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMessageRequest {
    record_id: String,
    position: i32,
    #[serde(with = "iso_date")]
    written_on: Date,
    /// Standard base64.
    sealed: String,
}

impl TryFrom<SealedMessageRequest> for SealedMessage {
    type Error = ServiceError;

    fn try_from(request: SealedMessageRequest) -> Result<SealedMessage, ServiceError> {
        Ok(SealedMessage {
            record_id: RecordId::from_stored(request.record_id),
            position: request.position,
            written_on: request.written_on,
            sealed: decoded(&data_encoding::BASE64, "sealed", &request.sealed)?,
        })
    }
}

/// `POST /mailbox/sealed/messages`: a message sealed in the browser.
pub async fn send_sealed_message(
    portal: web::Data<Portal>,
    token: BearerToken,
    request: web::Json<SealedMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let message = SealedMessage::try_from(request.into_inner())?;
    let portal = portal.into_inner();
    let position =
        blocking(move || portal.sealed_reporter_message(token.0.expose_secret(), &message)).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"position": position})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMailboxRequest {
    #[serde(rename = "type")]
    kind: RequestKind,
    #[serde(default)]
    message: Option<SealedMessageRequest>,
}

/// `POST /mailbox/sealed/requests`: stage 2, withdrawal or detriment from a browser that opened
/// the mailbox itself; the reporter's words, if any, sealed there.
pub async fn make_sealed_request(
    portal: web::Data<Portal>,
    token: BearerToken,
    request: web::Json<SealedMailboxRequest>,
) -> Result<HttpResponse, ApiError> {
    let SealedMailboxRequest { kind, message } = request.into_inner();
    let message = message.map(SealedMessage::try_from).transpose()?;
    let portal = portal.into_inner();
    let receipt = blocking(move || {
        portal.sealed_reporter_request(token.0.expose_secret(), kind, message.as_ref())
    })
    .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// `POST /mailbox/sealed/attachments` (multipart: `id`, `position`, `written_on`, `record`, then
/// `file`): a file the reporter's browser cleaned and sealed under the case data key, with its
/// description sealed for the case's next position, for any mailbox session (a proof session
/// included). The same checks as the console's browser upload (one code path); 201 with the
/// id and the description's position; 409 `position_taken` / `day_changed` when the browser
/// must seal the description again.
pub async fn upload_sealed_attachment(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    token: BearerToken,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    limits.attachment_uploads.check(client)?;
    attachments::check_declared_length(
        &request,
        crate::crypto::attachment_sealed_len(portal.settings.max_attachment_bytes),
    )?;
    let stored =
        attachments::receive_sealed_file(&portal, form, FormCheck::None, move |worker, file_id| {
            worker.reporter_browser_upload_ticket(token.0.expose_secret(), file_id)
        })
        .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// `GET /mailbox/sealed/attachments/{id}`: a file of the case as stored, sealed, for the
/// browser to open with the case data key.
pub async fn download_sealed_attachment(
    portal: web::Data<Portal>,
    token: BearerToken,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let worker = portal.clone().into_inner();
    let blob_key = blocking(move || {
        worker.reporter_browser_download(token.0.expose_secret(), &id.into_inner())
    })
    .await?;
    attachments::download_sealed(&portal, blob_key)
        .await
        .map_err(ApiError)
}
