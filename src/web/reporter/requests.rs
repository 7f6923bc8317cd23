//! `POST /mailbox/requests` from the mailbox page: ask for stage 2, withdraw, or report being
//! treated badly for speaking up. No JavaScript: one small form each, answered with a redirect
//! back to the mailbox and a sentence saying what happened.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::mailbox::{session_ended, token_from};
use super::see_other;
use crate::crypto::Secret;
use crate::model::RequestKind;
use crate::service::{Portal, ServiceError};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
    /// The withdrawal form's "yes, withdraw it" box: a withdrawal ends the procedure.
    #[serde(default)]
    confirm: Option<String>,
}

/// The sentence the mailbox shows after a request, from the redirect's query.
pub fn notice(requested: Option<&str>, refused: Option<&str>) -> Option<&'static str> {
    match (requested.and_then(RequestKind::parse), refused) {
        (Some(RequestKind::Stage2), None) => Some(
            "You asked for stage 2. Your concern is now being investigated at stage 2; the dates \
             are below and a letter explains what happens next.",
        ),
        (Some(RequestKind::Withdraw), None) => {
            Some("Your concern has been withdrawn. You can still write to us here.")
        }
        (Some(RequestKind::Detriment), None) => Some(
            "Your report has been sent. The people handling your concern will read it and the \
             whistleblowing champion has been told that a report was made.",
        ),
        (_, Some("confirm")) => Some(
            "Nothing was withdrawn: tick the box to confirm you want to withdraw your concern.",
        ),
        (_, Some(_)) => Some(
            "That request was not possible any more. The page below shows where your concern is \
             now.",
        ),
        (None, None) => None,
    }
}

pub async fn make_request(
    request: HttpRequest,
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let Some(kind) = RequestKind::parse(&form.kind) else {
        return Err(
            ServiceError::invalid("invalid_request", "choose what you are asking for").into(),
        );
    };
    if kind == RequestKind::Withdraw && form.confirm.as_deref() != Some("yes") {
        return Ok(see_other("/mailbox?refused=confirm#requests"));
    }
    let Some(token) = token_from(&request) else {
        return session_ended(&csrf, Some(form.message), StatusCode::UNAUTHORIZED);
    };
    let message = Secret::new(form.message);
    let asking = portal.into_inner();
    match blocking(move || asking.reporter_request(token.expose_secret(), kind, Some(&message)))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/mailbox?requested={}", kind.as_str()))),
        Err(ServiceError::Conflict { .. }) => Ok(see_other(&format!(
            "/mailbox?refused={}#requests",
            kind.as_str()
        ))),
        Err(ServiceError::Unauthorized { .. }) => {
            session_ended(&csrf, None, StatusCode::UNAUTHORIZED)
        }
        Err(other) => Err(other.into()),
    }
}
