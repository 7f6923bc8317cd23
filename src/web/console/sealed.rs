//! The console's JSON for sessions whose key is in the browser (issue 14): the sealed case for
//! `static/console.js` to open, and replies and notes it sealed. Same cookie and CSRF token as
//! the pages; errors are problem JSON. Each route checks the cookie session and CSRF token, reads
//! its form into the shared types of `web/sealed_json.rs` and calls the function there that the
//! API's bearer routes (`web/api/sealed.rs`) call too.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::procedure::{
    EscalationReason, EventType, NotWhistleblowingKind, Outcome, parse_typed_date,
};
use crate::service::case_events::EventInput;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::csrf::CsrfToken;
use crate::web::error::ApiError;
use crate::web::sealed_json::{self, SealedGrant, SealedLetter, SealedRecordRequest};

/// `GET /console/cases/{reference}/sealed`: the case's sealed records and this handler's
/// wraps of its keys. Only for sessions whose key is in the browser (others read the page).
pub async fn case(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let handler = browser_only(handler)?;
    sealed_json::view(portal, handler, reference.into_inner()).await
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

/// `POST /console/cases/{reference}/sealed`: a reply or note sealed in the browser. 201 with
/// its position; 409 `position_taken` or `day_changed` when the browser must seal it again.
pub async fn append(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<SealedForm>,
) -> Result<HttpResponse, ApiError> {
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let form = form.into_inner();
    let request = SealedRecordRequest {
        kind: form.kind,
        id: form.id,
        position: form.position,
        written_on: form.written_on,
        sealed: form.sealed,
    };
    sealed_json::append(portal, handler, reference.into_inner(), request).await
}

#[derive(Deserialize)]
pub struct RecoveryWrapForm {
    #[serde(default)]
    csrf: String,
    /// base64: the case key wrapped to the recovery public key the sealed case named.
    #[serde(default)]
    wrap: String,
}

/// `POST /console/cases/{reference}/sealed/recovery-wrap`: the case key wrapped in the browser
/// for the organisation's recovery key (see [`sealed_json::recovery_wrap`]).
pub async fn recovery_wrap(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<RecoveryWrapForm>,
) -> Result<HttpResponse, ApiError> {
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let form = form.into_inner();
    sealed_json::recovery_wrap(portal, handler, reference.into_inner(), form.wrap).await
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
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let input = form.input()?;
    sealed_json::step_facts(portal, handler, reference.into_inner(), input).await
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
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let input = form.input()?;
    let position = form
        .position
        .parse::<i32>()
        .map_err(|_| ServiceError::invalid("invalid_position", "the position is a whole number"))?;
    let letter = SealedLetter {
        event_id: form.event_id,
        record_id: form.record_id,
        position,
        written_on: form.written_on,
        basis: form.basis,
        sealed: form.sealed,
    };
    sealed_json::record_step(portal, handler, reference.into_inner(), input, letter).await
}

/// A form posted by `console.js`: the page's CSRF token, then a session whose key is in the
/// browser.
fn posted_by_browser(
    handler: ConsoleHandler,
    csrf: &CsrfToken,
    posted: &str,
) -> Result<crate::service::sessions::Handler, ApiError> {
    csrf.verify(posted).map_err(|error| ApiError(error.0))?;
    browser_only(handler)
}

/// The endpoints above are for sessions whose key is in the browser; a session with its key on
/// the server records steps through the page's forms.
fn browser_only(handler: ConsoleHandler) -> Result<crate::service::sessions::Handler, ApiError> {
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

/// `POST /console/cases/{reference}/sealed/grants/recipient`: checks a grant and answers the
/// person's public key and what the browser has to make. Records nothing.
pub async fn grant_recipient(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, ApiError> {
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let form = form.into_inner();
    let with_identity = super::ticked(&form.identity);
    sealed_json::grant_recipient(
        portal,
        handler,
        reference.into_inner(),
        form.email,
        with_identity,
    )
    .await
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
    let handler = posted_by_browser(handler, &csrf, &form.csrf)?;
    let form = form.into_inner();
    let grant = SealedGrant {
        with_identity: super::ticked(&form.identity),
        email: form.email,
        case_wrap: Some(form.case_wrap),
        request_id: form.request_id,
        identity_wrap: Some(form.identity_wrap),
        sealed_reason: Some(form.sealed_reason),
    };
    sealed_json::grant(portal, handler, reference.into_inner(), grant).await
}

// ---------------------------------------------------------------------------------------------
// Evidence files cleaned and sealed in the browser

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
    sealed_json::upload(
        portal,
        handler,
        reference.into_inner(),
        request,
        form,
        crate::web::attachments::FormCheck::Csrf(&csrf),
    )
    .await
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
    sealed_json::download(portal, handler, reference, id).await
}
