//! The reporter's mailbox pages: sign in with the case key, read the stage, dates and messages,
//! reply, sign out.
//!
//! The session token lives in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict) that
//! expires with the session. The case key itself is never put in a cookie or echoed back.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{
    SummaryItem, format_thousands, long_date, page_with_status, retry_after, see_other, sentence,
    wait_words,
};
use crate::config::Settings;
use crate::crypto::Secret;
use crate::model::Author;
use crate::procedure::{Anonymity, Due, Signpost, State};
use crate::service::identity_consent::{Decision, IdentityRequestView};
use crate::service::mailbox::{MAX_MESSAGE_CHARS, MailboxView};
use crate::service::{Portal, ServiceError};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;
use crate::web::rate_limit::{ClientKey, RateLimits};
use crate::web::scripts::{self, Scripts};

pub const COOKIE: &str = "__Host-speakup-mailbox";

const SESSION_ENDED: &str =
    "Your session ended, so you have been signed out. Sign in again with your case key.";

pub(super) fn token_from(request: &HttpRequest) -> Option<Secret<String>> {
    request
        .cookie(COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
        .map(Secret::new)
}

/// A browser-session cookie (no Max-Age or Expires): it goes when the browser closes, as the
/// page promises. The server ends the session after `reporter_session_minutes` whatever the
/// cookie does.
fn session_cookie(token: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, token.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

fn cleared_cookie() -> Cookie<'static> {
    Cookie::build(COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::ZERO)
        .finish()
}

fn clearing_cookie(mut response: HttpResponse) -> Result<HttpResponse, PageError> {
    response
        .add_cookie(&cleared_cookie())
        .map_err(|_| ServiceError::Internal("could not clear the mailbox cookie".to_owned()))?;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Signing in

#[derive(Serialize)]
struct SignInView<'a> {
    title: &'static str,
    /// static/mailbox.js and the crypto module: with JavaScript the browser opens the mailbox.
    scripts: Scripts,
    csrf: &'a str,
    notice: Option<&'static str>,
    /// A message that could not be sent because the session had ended, to copy.
    unsent: Option<String>,
    field_error: Option<String>,
    error: Option<String>,
    errors: Vec<SummaryItem>,
}

fn sign_in_page(
    csrf: &CsrfToken,
    notice: Option<&'static str>,
    unsent: Option<String>,
    problem: Option<(Option<&'static str>, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let field_error = problem
        .as_ref()
        .filter(|(field, _)| field.is_some())
        .map(|(_, message)| message.clone());
    let errors = problem
        .map(|(field, message)| SummaryItem { field, message })
        .into_iter()
        .collect::<Vec<_>>();
    page_with_status(
        "mailbox_sign_in.html",
        &SignInView {
            title: if errors.is_empty() {
                "Check your concern"
            } else {
                "Error: Check your concern"
            },
            scripts: scripts::crypto_scripts(scripts::PageScript::Mailbox),
            csrf: csrf.value(),
            notice,
            unsent,
            field_error,
            error: None,
            errors,
        },
        status,
    )
    .map(scripts::allow_crypto)
}

#[derive(Serialize)]
struct BrowserMailboxView {
    title: &'static str,
    scripts: Scripts,
}

/// `GET /mailbox/browser`: the mailbox opened by the browser (static/mailbox.js fills it in
/// from the sealed mailbox; the page itself holds nothing of the case). Without JavaScript it
/// points to the sign-in form, which works without it.
pub async fn show_in_browser() -> Result<HttpResponse, PageError> {
    page_with_status(
        "mailbox_browser.html",
        &BrowserMailboxView {
            title: "Your concern",
            scripts: scripts::crypto_scripts(scripts::PageScript::Mailbox),
        },
        StatusCode::OK,
    )
    .map(scripts::allow_crypto)
}

/// The sign-in form after a session has ended, with the cookie cleared.
pub(super) fn session_ended(
    csrf: &CsrfToken,
    unsent: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    clearing_cookie(sign_in_page(
        csrf,
        Some(SESSION_ENDED),
        unsent,
        None,
        status,
    )?)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    case_key: String,
}

/// `POST /mailbox/sign-in`.
pub async fn sign_in(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    csrf: CsrfToken,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let case_key = Secret::new(form.into_inner().case_key);
    match limits.mailbox_sign_ins.check(client) {
        Ok(()) => {}
        Err(ServiceError::RateLimited {
            retry_after_seconds,
        }) => {
            let message = format!(
                "You have tried to sign in too many times. {}",
                wait_words(retry_after_seconds)
            );
            let response = sign_in_page(
                &csrf,
                None,
                None,
                Some((None, message)),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            return Ok(retry_after(response, retry_after_seconds));
        }
        Err(other) => return Err(other.into()),
    }
    let opening = portal.clone();
    let outcome = blocking(move || opening.open_mailbox(case_key.expose_secret())).await;
    match outcome {
        Ok(token) => {
            let mut response = see_other("/mailbox");
            response
                .add_cookie(&session_cookie(token.expose_secret()))
                .map_err(|_| {
                    ServiceError::Internal("could not set the mailbox cookie".to_owned())
                })?;
            Ok(response)
        }
        Err(ServiceError::Invalid { message, .. }) => sign_in_page(
            &csrf,
            None,
            None,
            Some((Some("case_key"), sentence(&message))),
            StatusCode::BAD_REQUEST,
        ),
        Err(ServiceError::Unauthorized {
            code: "case_erased",
            message,
        }) => sign_in_page(
            &csrf,
            None,
            None,
            Some((Some("case_key"), message)),
            StatusCode::UNAUTHORIZED,
        ),
        Err(ServiceError::Unauthorized { message, .. }) => sign_in_page(
            &csrf,
            None,
            None,
            Some((
                Some("case_key"),
                format!("{} Check it against the key you saved.", sentence(&message)),
            )),
            StatusCode::UNAUTHORIZED,
        ),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The mailbox

#[derive(Serialize)]
struct MessageView {
    from_handler: bool,
    who: &'static str,
    sent_on: String,
    body: String,
}

#[derive(Serialize)]
struct ContactLine {
    text: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct SignpostView {
    body_name: String,
    plain_text: String,
    contact: Vec<ContactLine>,
    deadline: Option<String>,
}

impl From<Signpost> for SignpostView {
    fn from(signpost: Signpost) -> SignpostView {
        SignpostView {
            body_name: signpost.body_name,
            plain_text: signpost.plain_text,
            contact: signpost
                .contact
                .into_iter()
                .map(|line| {
                    let is_web_address = (line.starts_with("https://")
                        || line.starts_with("http://"))
                        && !line.contains(char::is_whitespace);
                    ContactLine {
                        href: is_web_address.then(|| line.clone()),
                        text: line,
                    }
                })
                .collect(),
            deadline: signpost.deadline.map(long_date),
        }
    }
}

#[derive(Serialize)]
struct MailboxPage<'a> {
    title: String,
    csrf: &'a str,
    reference: String,
    organisation: String,
    received_on: String,
    anonymous: bool,
    state_label: &'static str,
    state_text: &'static str,
    dates: Vec<String>,
    messages: Vec<MessageView>,
    attachments: Vec<crate::web::attachments::AttachmentView>,
    attached: bool,
    max_attachment: String,
    signposts: Option<Vec<SignpostView>>,
    stage1_closed: bool,
    /// What the reporter may ask for now (detriment can always be reported).
    can_ask_stage2: bool,
    can_withdraw: bool,
    request_notice: Option<&'static str>,
    sent: bool,
    reply: String,
    max_message_chars: String,
    session_minutes: u32,
    field_error: Option<String>,
    error: Option<String>,
    errors: Vec<SummaryItem>,
    identity_requests: Vec<IdentityRequestView>,
    decided: bool,
}

/// What the stage means, in a sentence.
fn state_text(state: &str) -> &'static str {
    match state {
        "received" => {
            "Your concern has been received. The people handling it will decide whether it can \
             be sorted out quickly (stage 1) or needs an investigation (stage 2)."
        }
        "stage1" => "Stage 1 is early resolution: it aims to sort the concern out quickly.",
        "stage1_closed" => {
            "Stage 1 has finished and you have had a response. If you are not happy with it, you \
             can ask for stage 2: see below."
        }
        "stage2" => "Stage 2 is an investigation.",
        "stage2_closed" => "The investigation has finished and you have had the final response.",
        "not_whistleblowing" => {
            "Your concern has been recorded, but it is not a whistleblowing concern. See below \
             for where to take it."
        }
        "withdrawn" => "This concern has been withdrawn.",
        _ => "",
    }
}

/// The next dates, in words.
fn due_lines(due: &Due) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(date) = due.acknowledge_by {
        lines.push(format!(
            "They will acknowledge your concern in writing by {}.",
            long_date(date)
        ));
    }
    if let Some(date) = due.respond_by {
        let mut line = if due.provisional {
            format!(
                "Your concern has not been assessed yet. If it stays at stage 1, the full \
                 response is due by {}.",
                long_date(date)
            )
        } else {
            format!("The full response is due by {}.", long_date(date))
        };
        if due.extended {
            line.push_str(
                " The time for this has been extended: the people handling your concern should \
                 have told you why.",
            );
        }
        lines.push(line);
    }
    if let Some(date) = due.update_by {
        lines.push(format!(
            "You will get an update on progress by {}.",
            long_date(date)
        ));
    }
    lines
}

struct Reply {
    /// What happened to a request just made, in a sentence.
    request_notice: Option<&'static str>,
    sent: bool,
    decided: bool,
    attached: bool,
    body: String,
    problem: Option<String>,
}

fn mailbox_page(
    csrf: &CsrfToken,
    settings: &Settings,
    view: MailboxView,
    reply: Reply,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let errors: Vec<SummaryItem> = reply
        .problem
        .as_ref()
        .map(|message| SummaryItem {
            field: Some("body"),
            message: message.clone(),
        })
        .into_iter()
        .collect();
    let title = format!("Your concern {}", view.reference);
    page_with_status(
        "mailbox.html",
        &MailboxPage {
            title: if errors.is_empty() {
                title
            } else {
                format!("Error: {title}")
            },
            csrf: csrf.value(),
            attachments: crate::web::attachments::views(&view.attachments, |id| {
                format!("/mailbox/attachments/{id}")
            }),
            attached: reply.attached,
            max_attachment: crate::web::attachments::human_size(settings.max_attachment_bytes),
            dates: due_lines(&view.due),
            state_text: state_text(view.state),
            state_label: view.state_label,
            received_on: long_date(view.received_on),
            anonymous: view.anonymity == Anonymity::Anonymous,
            messages: view
                .messages
                .into_iter()
                .map(|message| {
                    let from_handler = message.from != Author::Reporter;
                    MessageView {
                        from_handler,
                        who: if from_handler {
                            "From the people handling your concern"
                        } else {
                            "From you"
                        },
                        sent_on: long_date(message.sent_on),
                        body: message.body,
                    }
                })
                .collect(),
            signposts: view
                .signposting
                .map(|list| list.into_iter().map(SignpostView::from).collect()),
            stage1_closed: view.state == State::Stage1Closed.as_str(),
            can_ask_stage2: [State::Received, State::Stage1, State::Stage1Closed]
                .iter()
                .any(|state| view.state == state.as_str()),
            can_withdraw: [State::Received, State::Stage1, State::Stage2]
                .iter()
                .any(|state| view.state == state.as_str()),
            request_notice: reply.request_notice,
            sent: reply.sent,
            reply: reply.body,
            max_message_chars: format_thousands(MAX_MESSAGE_CHARS),
            session_minutes: settings.reporter_session_minutes,
            field_error: reply.problem,
            error: None,
            errors,
            reference: view.reference,
            organisation: view.organisation,
            identity_requests: view.identity_requests,
            decided: reply.decided,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    sent: Option<String>,
    #[serde(default)]
    decided: Option<String>,
    #[serde(default)]
    attached: Option<String>,
    #[serde(default)]
    requested: Option<String>,
    #[serde(default)]
    refused: Option<String>,
}

/// `GET /mailbox`: the mailbox when signed in, otherwise the sign-in form.
pub async fn show(
    request: HttpRequest,
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(token) = token_from(&request) else {
        return sign_in_page(&csrf, None, None, None, StatusCode::OK);
    };
    let reading = portal.clone();
    match blocking(move || reading.mailbox(token.expose_secret())).await {
        Ok(view) => mailbox_page(
            &csrf,
            &portal.settings,
            view,
            Reply {
                request_notice: super::requests::notice(
                    query.requested.as_deref(),
                    query.refused.as_deref(),
                ),
                sent: query.sent.as_deref() == Some("1"),
                decided: query.decided.as_deref() == Some("1"),
                attached: query.attached.as_deref() == Some("1"),
                body: String::new(),
                problem: None,
            },
            StatusCode::OK,
        ),
        Err(ServiceError::Unauthorized { .. }) => session_ended(&csrf, None, StatusCode::OK),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

enum Sending {
    Sent,
    Refused {
        message: String,
        view: Box<MailboxView>,
    },
    Ended,
}

/// `POST /mailbox/messages`: a reply from the reporter.
pub async fn send_message(
    request: HttpRequest,
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    form: web::Form<MessageForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let body = Secret::new(form.into_inner().body);
    let Some(token) = token_from(&request) else {
        return session_ended(
            &csrf,
            Some(body.expose_secret().clone()),
            StatusCode::UNAUTHORIZED,
        );
    };
    let sending = portal.clone();
    let (outcome, body) = blocking(move || {
        let outcome = match sending.reporter_message(token.expose_secret(), &body) {
            Ok(()) => Sending::Sent,
            Err(ServiceError::Invalid { message, .. }) => Sending::Refused {
                message,
                view: Box::new(sending.mailbox(token.expose_secret())?),
            },
            Err(ServiceError::Unauthorized { .. }) => Sending::Ended,
            Err(other) => return Err(other),
        };
        Ok((outcome, body))
    })
    .await?;
    match outcome {
        Sending::Sent => Ok(see_other("/mailbox?sent=1")),
        Sending::Refused { message, view } => mailbox_page(
            &csrf,
            &portal.settings,
            *view,
            Reply {
                request_notice: None,
                sent: false,
                decided: false,
                attached: false,
                body: body.expose_secret().clone(),
                problem: Some(sentence(&message)),
            },
            StatusCode::BAD_REQUEST,
        ),
        Sending::Ended => session_ended(
            &csrf,
            Some(body.expose_secret().clone()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    decision: Decision,
}

/// `POST /mailbox/identity-requests/{id}`: the reporter's answer to a request to share their
/// identity with someone new.
pub async fn decide_identity_request(
    request: HttpRequest,
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let Some(token) = token_from(&request) else {
        return session_ended(&csrf, None, StatusCode::UNAUTHORIZED);
    };
    let decision = form.decision;
    let deciding = portal.clone();
    match blocking(move || deciding.decide_identity_request(token.expose_secret(), &id, decision))
        .await
    {
        Ok(()) => Ok(see_other("/mailbox?decided=1")),
        Err(ServiceError::Unauthorized { .. }) => {
            session_ended(&csrf, None, StatusCode::UNAUTHORIZED)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /mailbox/sign-out`: ends the session now and clears the cookie.
pub async fn sign_out(
    request: HttpRequest,
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    form: web::Form<SignOutForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    if let Some(token) = token_from(&request) {
        let closing = portal.clone();
        blocking(move || closing.close_mailbox(token.expose_secret())).await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(cleared_cookie())
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses_become_links_and_other_lines_do_not() {
        let view = SignpostView::from(Signpost {
            body_name: "INWO".to_owned(),
            plain_text: "text".to_owned(),
            contact: vec![
                "Freephone 0800 008 6112".to_owned(),
                "https://inwo.spso.org.uk".to_owned(),
            ],
            deadline: None,
        });
        assert!(view.contact[0].href.is_none());
        assert_eq!(
            view.contact[1].href.as_deref(),
            Some("https://inwo.spso.org.uk")
        );
    }

    #[test]
    fn provisional_dates_say_so() {
        let due = Due {
            respond_by: Some(time::macros::date!(2026 - 11 - 20)),
            provisional: true,
            ..Due::default()
        };
        let lines = due_lines(&due);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("not been assessed yet"));
        assert!(lines[0].contains("Friday 20 November 2026"));
    }
}
