//! The console's JSON for sessions whose key is in the browser (issue 14): the sealed case for
//! `static/console.js` to open, and replies and notes it sealed. Same cookie and CSRF token as
//! the pages; errors are problem JSON.

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::day;
use crate::model::Author;
use crate::procedure::{
    EscalationReason, EventType, NotWhistleblowingKind, Outcome, parse_typed_date,
};
use crate::service::browser_cases::BrowserSealed;
use crate::service::case_events::{BrowserStep, EventInput};
use crate::service::casework::{BrowserGrant, BrowserIdentityRequest};
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
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
    /// before it existed): the browser wraps the case key to it and posts
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

/// `GET /console/cases/{reference}/sealed`: the case's sealed records and this handler's
/// wraps of its keys. Only for sessions whose key is in the browser (others read the page).
pub async fn case(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sealed = BrowserCall::new(portal, handler, reference, None)?
        .run(|portal, handler, reference| portal.sealed_case(handler, reference))
        .await?;
    let b64 = |bytes: &[u8]| data_encoding::BASE64.encode(bytes);
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
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

#[derive(Deserialize)]
pub struct SealedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    position: i32,
    #[serde(default)]
    written_on: String,
    /// base64
    #[serde(default)]
    sealed: String,
}

#[derive(Serialize)]
struct Stored {
    position: i32,
}

/// `POST /console/cases/{reference}/sealed`: a reply or note sealed in the browser. 201 with
/// its position; 409 `position_taken` or `day_changed` when the browser must seal it again.
pub async fn append(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<SealedForm>,
) -> Result<HttpResponse, ApiError> {
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let form = form.into_inner();
    let sealed = data_encoding::BASE64
        .decode(form.sealed.as_bytes())
        .map_err(|_| ServiceError::invalid("invalid_sealed", "the sealed record is not base64"))?;
    let position = call
        .run(move |portal, handler, reference| {
            portal.append_browser_record(
                handler,
                reference,
                &BrowserSealed {
                    kind: &form.kind,
                    record_id: &form.id,
                    position: form.position,
                    written_on: &form.written_on,
                    sealed: &sealed,
                },
            )
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(Stored { position }))
}

// ---------------------------------------------------------------------------------------------
// Procedure steps whose letter the browser writes and seals

/// A procedure step from `console.js`: the step's facts (as the no-JavaScript form has them),
/// the learning (kept in the clear for the learning reports, as the form says), and for
/// `…/sealed/events` the sealed letter and what it is bound to. The handler's other words
/// (reason, findings, actions, message, points, who authorised it) are refused if sent: they
/// stay in the browser.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    event_type: EventType,
    #[serde(default)]
    escalation: Option<EscalationReason>,
    #[serde(default)]
    until: String,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    not_whistleblowing: Option<NotWhistleblowingKind>,
    #[serde(default)]
    learning: String,
    #[serde(default)]
    learning_publishable: Option<String>,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    record_id: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    written_on: String,
    #[serde(default)]
    basis: String,
    /// base64
    #[serde(default)]
    sealed: String,
}

impl StepForm {
    /// Reads the posted fields; a field this endpoint does not take (such as the words) is a
    /// 400, never silently accepted.
    fn read(posted: Vec<(String, String)>) -> Result<StepForm, ServiceError> {
        let object: serde_json::Map<String, serde_json::Value> = posted
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|error| {
            ServiceError::invalid(
                "invalid_form",
                format!("the step could not be read ({error}); the handler's words stay in the browser and are never sent"),
            )
        })
    }

    fn input(&self) -> Result<EventInput, ServiceError> {
        let until = match self.until.trim() {
            "" => None,
            text => Some(parse_typed_date(text).map_err(|_| {
                ServiceError::invalid(
                    "invalid_date",
                    "enter the new date like 4 December 2026 or 4/12/2026",
                )
            })?),
        };
        let mut input = EventInput::new(self.event_type);
        input.until = until;
        input.escalation = self.escalation;
        input.outcome = self.outcome;
        input.not_whistleblowing = self.not_whistleblowing;
        input.learning = self.learning.clone();
        input.learning_publishable = super::ticked(&self.learning_publishable);
        Ok(input)
    }
}

/// The form of a sealed step: the longest sealed letter the service takes, in base64, and the
/// other fields.
pub const MAX_STEP_FORM_BYTES: usize =
    crate::service::case_events::MAX_SEALED_STEP / 3 * 4 + 16 * 1024;

#[derive(Serialize)]
struct StepFacts {
    case_id: String,
    /// The facts as the module's `su_step_letter` reads them (`name=value` fields separated
    /// by NUL), to which the browser adds the handler's words.
    facts: String,
    /// Digest of the facts, sent back with the sealed letter.
    basis: String,
    position: i32,
    today: String,
}

/// `POST /console/cases/{reference}/sealed/events/facts`: checks a step's facts (allowed now,
/// the new date, the outcome) and answers what the browser writes its letter from. Records
/// nothing.
pub async fn step_facts(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    posted: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let form = StepForm::read(posted.into_inner())?;
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let input = form.input()?;
    let check = call
        .run(move |portal, handler, reference| {
            portal.check_browser_step(handler, reference, &input)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(StepFacts {
            case_id: check.case_id,
            facts: check.facts,
            basis: check.basis,
            position: check.position,
            today: check.today.to_string(),
        }))
}

/// `POST /console/cases/{reference}/sealed/events`: records a step with the letter the browser
/// sealed. 201 with the case's new stage, status and dates; 409 `case_changed`,
/// `position_taken` or `day_changed` when the browser must write or seal it again.
pub async fn record_step(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    posted: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let form = StepForm::read(posted.into_inner())?;
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let input = form.input()?;
    let sealed = data_encoding::BASE64
        .decode(form.sealed.as_bytes())
        .map_err(|_| ServiceError::invalid("invalid_sealed", "the sealed letter is not base64"))?;
    let position = form
        .position
        .parse::<i32>()
        .map_err(|_| ServiceError::invalid("invalid_position", "the position is a whole number"))?;
    let recorded = call
        .run(move |portal, handler, reference| {
            portal.record_browser_step(
                handler,
                reference,
                &BrowserStep {
                    input,
                    event_id: &form.event_id,
                    record_id: &form.record_id,
                    position,
                    written_on: &form.written_on,
                    basis: &form.basis,
                    sealed: &sealed,
                },
            )
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(recorded))
}

/// A request to one of these endpoints, checked as each of them starts: the form's CSRF token
/// (for a post) first, then a session whose key is in the browser; the work then runs on the
/// worker pool with the case's reference.
struct BrowserCall {
    portal: Arc<Portal>,
    handler: Handler,
    reference: String,
}

impl BrowserCall {
    fn new(
        portal: web::Data<Portal>,
        handler: ConsoleHandler,
        reference: web::Path<String>,
        csrf: Option<(&CsrfToken, &str)>,
    ) -> Result<BrowserCall, ApiError> {
        if let Some((token, posted)) = csrf {
            token.verify(posted).map_err(|error| ApiError(error.0))?;
        }
        Ok(BrowserCall {
            portal: portal.into_inner(),
            handler: browser_only(handler)?,
            reference: reference.into_inner(),
        })
    }

    async fn run<T, F>(self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Portal, &Handler, &str) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        let BrowserCall {
            portal,
            handler,
            reference,
        } = self;
        Ok(blocking(move || work(&portal, &handler, &reference)).await?)
    }
}

/// The endpoints here are for sessions whose key is in the browser; a session with its key on
/// the server reads and writes through the page's forms.
fn browser_only(handler: ConsoleHandler) -> Result<Handler, ApiError> {
    let handler = handler.0;
    if handler.key_in_browser() {
        Ok(handler)
    } else {
        Err(key_on_server().into())
    }
}

fn key_on_server() -> ServiceError {
    ServiceError::Conflict {
        code: "key_on_server",
        message: "this session holds its key on the server; use the page's forms".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Grants whose wraps the browser makes

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    /// `yes`: also ask the reporter to share their identity with this person.
    #[serde(default)]
    identity: Option<String>,
    /// base64: the case key wrapped for the person.
    #[serde(default)]
    case_wrap: String,
    #[serde(default)]
    request_id: String,
    /// base64: the identity key wrapped for the person, kept until the reporter agrees.
    #[serde(default)]
    identity_wrap: String,
    /// base64: the request's reason sealed under the case key.
    #[serde(default)]
    sealed_reason: String,
}

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

/// `POST /console/cases/{reference}/sealed/grants/recipient`: checks a grant and answers the
/// person's public key and what the browser has to make. Records nothing.
pub async fn grant_recipient(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, ApiError> {
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let form = form.into_inner();
    let with_identity = super::ticked(&form.identity);
    let recipient = call
        .run(move |portal, handler, reference| {
            portal.check_browser_grant(handler, reference, &form.email, with_identity)
        })
        .await?;
    let public = crate::crypto::PublicKey::from_bytes(recipient.public_key);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecipientJson {
            case_id: recipient.case_id,
            user_id: recipient.user_id,
            name: recipient.name,
            role: recipient.role,
            public_key: data_encoding::BASE64.encode(public.as_bytes()),
            fingerprint: public.fingerprint(),
            case_wrap: recipient.case_wrap,
            identity_request: recipient.identity_request,
        }))
}

fn optional_base64(field: &str, what: &str) -> Result<Option<Vec<u8>>, ServiceError> {
    if field.is_empty() {
        return Ok(None);
    }
    data_encoding::BASE64
        .decode(field.as_bytes())
        .map(Some)
        .map_err(|_| ServiceError::invalid("invalid_wrap", format!("{what} is not base64")))
}

/// `POST /console/cases/{reference}/sealed/grants`: a grant with the wraps the browser made.
/// 201; 400 when a wrap is missing, unexpected or malformed; 409 as the server-side grant.
pub async fn grant(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, ApiError> {
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let form = form.into_inner();
    let with_identity = super::ticked(&form.identity);
    let case_wrap = optional_base64(&form.case_wrap, "the wrapped case key")?;
    let identity_wrap = optional_base64(&form.identity_wrap, "the wrapped identity key")?;
    let sealed_reason = optional_base64(&form.sealed_reason, "the sealed reason")?;
    call.run(move |portal, handler, reference| {
        let identity = match (&identity_wrap, &sealed_reason) {
            (Some(identity_wrap), Some(sealed_reason)) => Some(BrowserIdentityRequest {
                request_id: &form.request_id,
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
            handler,
            reference,
            &BrowserGrant {
                email: &form.email,
                with_identity,
                case_wrap: case_wrap.as_deref(),
                identity,
            },
        )
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(serde_json::json!({"granted": true})))
}

// ---------------------------------------------------------------------------------------------
// The recovery wrap of a case raised before the organisation's recovery key

#[derive(Deserialize)]
pub struct RecoveryWrapForm {
    #[serde(default)]
    csrf: String,
    /// base64: the case key wrapped to the recovery public key the sealed case named.
    #[serde(default)]
    wrap: String,
}

/// `POST /console/cases/{reference}/sealed/recovery-wrap`: the case key wrapped in the browser
/// for the organisation's recovery key. 201 when stored; 200 when the case already had one (a
/// reload, another tab), nothing changed; 400 `invalid_wrap`; 409 `no_recovery_key`.
pub async fn recovery_wrap(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<RecoveryWrapForm>,
) -> Result<HttpResponse, ApiError> {
    let call = BrowserCall::new(portal, handler, reference, Some((&csrf, &form.csrf)))?;
    let wrap = optional_base64(&form.wrap, "the wrapped case key")?.unwrap_or_default();
    let added = call
        .run(move |portal, handler, reference| {
            portal.add_browser_recovery_wrap(handler, reference, &wrap)
        })
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(serde_json::json!({ "added": added })))
}

// ---------------------------------------------------------------------------------------------
// Evidence files cleaned and sealed in the browser

#[derive(Serialize)]
struct FileStored {
    position: i32,
}

/// `POST /console/cases/{reference}/sealed/attachments` (multipart: `csrf`, `id`, `position`,
/// `written_on`, `record`, then `file`): a file the browser cleaned and sealed, with its sealed
/// description. 201 with the description's position; 409 `position_taken` / `day_changed` when
/// the browser must seal the description again (the file is sent again with it).
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    portal: web::Data<Portal>,
    limits: web::Data<crate::web::rate_limit::RateLimits>,
    client: crate::web::rate_limit::ClientKey,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    request: actix_web::HttpRequest,
    form: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    limits.attachment_uploads.check(client)?;
    let handler = browser_only(handler)?;
    crate::web::attachments::check_declared_length(
        &request,
        crate::crypto::attachment_sealed_len(portal.settings.max_attachment_bytes),
    )?;
    let position = crate::web::attachments::receive_sealed(
        &portal,
        std::sync::Arc::new(handler),
        &reference.into_inner(),
        form,
        &csrf,
    )
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(FileStored { position }))
}

/// `GET /console/cases/{reference}/sealed/attachments/{id}`: the file as stored, sealed, for the
/// browser to open (audited as a download).
pub async fn download(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let handler = browser_only(handler)?;
    let (reference, id) = path.into_inner();
    let worker = portal.clone().into_inner();
    let blob_key = blocking(move || worker.browser_download(&handler, &reference, &id)).await?;
    crate::web::attachments::download_sealed(&portal, blob_key)
        .await
        .map_err(ApiError)
}
