//! The sealed casework a client that keeps its own key speaks (issue 14): `console.js` through
//! the console's cookie-and-CSRF routes (`console/sealed.rs`), any other client through the
//! API's bearer routes (`api/sealed.rs`). Both read their requests into the types here and call
//! these functions, which call the same service methods and answer the same JSON; only how the
//! caller is identified, and how its request is encoded, differ.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::model::Author;
use crate::service::browser_cases::BrowserSealed;
use crate::service::case_events::{BrowserStep, EventInput};
use crate::service::casework::{BrowserGrant, BrowserIdentityRequest};
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::blocking;
use crate::web::console::day;
use crate::web::error::ApiError;

#[derive(Serialize)]
struct RecordJson {
    id: String,
    kind: String,
    /// The associated data's labels, exactly as sealed.
    author: &'static str,
    author_user_id: Option<String>,
    event_id: Option<String>,
    position: i32,
    written_on: String,
    aad_version: i32,
    /// base64
    sealed: String,
    /// For the page: who wrote it and when, as the server-rendered page says it.
    who: String,
    class: &'static str,
    day: String,
}

#[derive(Serialize)]
struct CaseJson {
    case_id: String,
    reference: String,
    case_key_wrap: String,
    identity_key_wrap: Option<String>,
    next_position: i32,
    today: String,
    /// base64; only while the case has no wrap for the organisation's recovery key (raised
    /// before it existed): the client wraps the case key to it and posts the wrap to
    /// `…/sealed/recovery-wrap`.
    recovery_public_key: Option<String>,
    records: Vec<RecordJson>,
}

fn who(author: Author, name: Option<&str>) -> (&'static str, String) {
    match author {
        Author::Reporter => ("from-reporter", "The reporter".to_owned()),
        Author::Handler => ("from-handler", name.unwrap_or("A handler").to_owned()),
        Author::System => (
            "from-handler letter",
            match name {
                Some(name) => format!("Procedure letter, sent by {name}"),
                None => "Procedure letter".to_owned(),
            },
        ),
    }
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// Ciphertext as clients send it in JSON; 400 `invalid_sealed` when it is not base64.
fn sealed_base64(text: &str, what: &str) -> Result<Vec<u8>, ServiceError> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map_err(|_| ServiceError::invalid("invalid_sealed", format!("{what} is not base64")))
}

fn no_store() -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// The case's sealed records and this handler's wraps of its keys (audited as a view).
pub async fn view(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let sealed = blocking(move || portal.sealed_case(&handler, &reference)).await?;
    let answer = CaseJson {
        case_id: sealed.case_id,
        reference: sealed.reference,
        case_key_wrap: b64(&sealed.case_key_wrap),
        identity_key_wrap: sealed.identity_key_wrap.as_deref().map(b64),
        next_position: sealed.next_position,
        today: sealed.today.to_string(),
        recovery_public_key: sealed.recovery_public_key.as_ref().map(|key| b64(key)),
        records: sealed
            .records
            .into_iter()
            .map(|record| {
                let (class, who) = who(record.author, record.author_name.as_deref());
                RecordJson {
                    id: record.id,
                    kind: record.kind,
                    author: record.author.as_str(),
                    author_user_id: record.author_user_id,
                    event_id: record.event_id,
                    position: record.position,
                    written_on: record.written_on.to_string(),
                    aad_version: record.aad_version,
                    sealed: b64(&record.sealed),
                    who,
                    class,
                    day: day(record.written_on).long,
                }
            })
            .collect(),
    };
    Ok(no_store().json(answer))
}

/// Stores the case key the client wrapped for the organisation's recovery key, for a case
/// raised before that key existed: 201 `{"added":true}` when stored; 200 `{"added":false}`
/// when the case already had one (a reload, another tab, a colleague), nothing changed; 400
/// `invalid_wrap`; 409 `no_recovery_key`.
pub async fn recovery_wrap(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    wrap: String,
) -> Result<HttpResponse, ApiError> {
    let wrap = optional_base64(Some(&wrap), "the wrapped case key")?.unwrap_or_default();
    let portal = portal.into_inner();
    let added =
        blocking(move || portal.add_browser_recovery_wrap(&handler, &reference, &wrap)).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(serde_json::json!({ "added": added })))
}

/// A reply or note sealed by the client for the case's next position and today.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedRecordRequest {
    pub kind: String,
    pub id: String,
    pub position: i32,
    pub written_on: String,
    /// base64
    pub sealed: String,
}

#[derive(Serialize)]
struct Stored {
    position: i32,
}

/// Stores a sealed reply or note: 201 with its position; 409 `position_taken` or
/// `day_changed` when the client must seal it again.
pub async fn append(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    request: SealedRecordRequest,
) -> Result<HttpResponse, ApiError> {
    let sealed = sealed_base64(&request.sealed, "the sealed record")?;
    let portal = portal.into_inner();
    let position = blocking(move || {
        portal.append_browser_record(
            &handler,
            &reference,
            &BrowserSealed {
                kind: &request.kind,
                record_id: &request.id,
                position: request.position,
                written_on: &request.written_on,
                sealed: &sealed,
            },
        )
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(Stored { position }))
}

// ---------------------------------------------------------------------------------------------
// Procedure steps whose letter the client writes and seals

#[derive(Serialize)]
struct StepFacts {
    case_id: String,
    /// The facts as the module's `su_step_letter` reads them (`name=value` fields separated
    /// by NUL), to which the client adds the handler's words.
    facts: String,
    /// Digest of the facts, sent back with the sealed letter.
    basis: String,
    position: i32,
    today: String,
}

/// Checks a step's facts (allowed now, the new date, the outcome) and answers what the client
/// writes its letter from. Records nothing.
pub async fn step_facts(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    input: EventInput,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let check = blocking(move || portal.check_browser_step(&handler, &reference, &input)).await?;
    Ok(no_store().json(StepFacts {
        case_id: check.case_id,
        facts: check.facts,
        basis: check.basis,
        position: check.position,
        today: check.today.to_string(),
    }))
}

/// The letter a client sealed for a step, and what it is bound to.
pub struct SealedLetter {
    pub event_id: String,
    pub record_id: String,
    pub position: i32,
    pub written_on: String,
    pub basis: String,
    /// base64
    pub sealed: String,
}

/// Records a step with the letter the client sealed: 201 with the case's new stage, status
/// and dates; 409 `case_changed`, `position_taken` or `day_changed` when the client must write
/// or seal it again.
pub async fn record_step(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    input: EventInput,
    letter: SealedLetter,
) -> Result<HttpResponse, ApiError> {
    let sealed = sealed_base64(&letter.sealed, "the sealed letter")?;
    let portal = portal.into_inner();
    let recorded = blocking(move || {
        portal.record_browser_step(
            &handler,
            &reference,
            &BrowserStep {
                input,
                event_id: &letter.event_id,
                record_id: &letter.record_id,
                position: letter.position,
                written_on: &letter.written_on,
                basis: &letter.basis,
                sealed: &sealed,
            },
        )
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(recorded))
}

// ---------------------------------------------------------------------------------------------
// Grants whose wraps the client makes

#[derive(Serialize)]
struct RecipientJson {
    case_id: String,
    user_id: String,
    name: String,
    role: &'static str,
    /// base64
    public_key: String,
    fingerprint: String,
    case_wrap: bool,
    identity_request: bool,
}

/// Checks a grant and answers the person's public key and what the client has to make.
/// Records nothing.
pub async fn grant_recipient(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    email: String,
    with_identity: bool,
) -> Result<HttpResponse, ApiError> {
    let portal = portal.into_inner();
    let recipient =
        blocking(move || portal.check_browser_grant(&handler, &reference, &email, with_identity))
            .await?;
    let public = crate::crypto::PublicKey::from_bytes(recipient.public_key);
    Ok(no_store().json(RecipientJson {
        case_id: recipient.case_id,
        user_id: recipient.user_id,
        name: recipient.name,
        role: recipient.role,
        public_key: b64(public.as_bytes()),
        fingerprint: public.fingerprint(),
        case_wrap: recipient.case_wrap,
        identity_request: recipient.identity_request,
    }))
}

/// A grant with the wraps the client made (base64 each; absent when not needed).
pub struct SealedGrant {
    pub email: String,
    pub with_identity: bool,
    /// The case key wrapped for the person.
    pub case_wrap: Option<String>,
    pub request_id: String,
    /// The identity key wrapped for the person, kept until the reporter agrees.
    pub identity_wrap: Option<String>,
    /// The request's reason sealed under the case key.
    pub sealed_reason: Option<String>,
}

fn optional_base64(field: Option<&str>, what: &str) -> Result<Option<Vec<u8>>, ServiceError> {
    match field {
        None | Some("") => Ok(None),
        Some(text) => data_encoding::BASE64
            .decode(text.as_bytes())
            .map(Some)
            .map_err(|_| ServiceError::invalid("invalid_wrap", format!("{what} is not base64"))),
    }
}

/// Records a grant with the client's wraps: 201; 400 when a wrap is missing, unexpected or
/// malformed; 409 as the server-side grant.
pub async fn grant(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    grant: SealedGrant,
) -> Result<HttpResponse, ApiError> {
    let case_wrap = optional_base64(grant.case_wrap.as_deref(), "the wrapped case key")?;
    let identity_wrap =
        optional_base64(grant.identity_wrap.as_deref(), "the wrapped identity key")?;
    let sealed_reason = optional_base64(grant.sealed_reason.as_deref(), "the sealed reason")?;
    let portal = portal.into_inner();
    blocking(move || {
        let identity = match (&identity_wrap, &sealed_reason) {
            (Some(identity_wrap), Some(sealed_reason)) => Some(BrowserIdentityRequest {
                request_id: &grant.request_id,
                identity_wrap,
                sealed_reason,
            }),
            (None, None) => None,
            _ => {
                return Err(ServiceError::invalid(
                    "wrap_missing",
                    "an identity request needs both the wrapped identity key and the sealed reason",
                ));
            }
        };
        portal.record_browser_grant(
            &handler,
            &reference,
            &BrowserGrant {
                email: &grant.email,
                with_identity: grant.with_identity,
                case_wrap: case_wrap.as_deref(),
                identity,
            },
        )
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(serde_json::json!({"granted": true})))
}

// ---------------------------------------------------------------------------------------------
// Evidence files cleaned and sealed by the client

#[derive(Serialize)]
struct FileStored {
    position: i32,
}

/// Receives a file the client cleaned and sealed, with its sealed description (multipart:
/// `id`, `position`, `written_on`, `record`, then `file`; the console's form also sends `csrf`
/// first, checked as `check` says). 201 with the description's position.
pub async fn upload(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    request: actix_web::HttpRequest,
    form: actix_multipart::Multipart,
    check: crate::web::attachments::FormCheck<'_>,
) -> Result<HttpResponse, ApiError> {
    crate::web::attachments::check_declared_length(
        &request,
        crate::crypto::attachment_sealed_len(portal.settings.max_attachment_bytes),
    )?;
    let stored =
        crate::web::attachments::receive_sealed_file(&portal, form, check, move |worker, id| {
            worker.browser_upload_ticket(&handler, &reference, id)
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(FileStored {
        position: stored.position,
    }))
}

/// The file as stored, sealed, for the client to open (audited as a download).
pub async fn download(
    portal: web::Data<Portal>,
    handler: Handler,
    reference: String,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let worker = portal.clone().into_inner();
    let blob_key = blocking(move || worker.browser_download(&handler, &reference, &id)).await?;
    crate::web::attachments::download_sealed(&portal, blob_key)
        .await
        .map_err(ApiError)
}
