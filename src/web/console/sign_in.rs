//! Signing in and out of the console. The session token lives only in a `__Host-` cookie that
//! dies with the browser; the server enforces the idle and absolute timeouts.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{CsrfOnly, Done, Shell, render, see_other};
use crate::crypto::Secret;
use crate::service::{Portal, ServiceError};
use crate::web::auth::{ConsoleHandler, KdfPermits, SESSION_COOKIE};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;
use crate::web::metrics::Metrics;
use crate::web::rate_limit::{ClientKey, RateLimits};

#[derive(Serialize)]
struct SignInPage {
    email: String,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

fn page(
    csrf: &CsrfToken,
    shell: impl FnOnce(Shell) -> Shell,
    email: String,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    render(
        "console/sign_in.html",
        shell(Shell::new("Sign in", csrf, None)),
        &SignInPage { email },
        status,
    )
}

pub async fn show(csrf: CsrfToken, done: web::Query<Done>) -> Result<HttpResponse, PageError> {
    page(&csrf, |s| s.notice(&done), String::new(), StatusCode::OK)
}

#[allow(clippy::too_many_arguments)]
pub async fn submit(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    permits: web::Data<KdfPermits>,
    metrics: web::Data<Metrics>,
    client: ClientKey,
    csrf: CsrfToken,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let email = form.email.clone();
    let outcome = attempt(&portal, &limits, &permits, &metrics, client, form).await;
    let (status, message, retry_after) = match outcome {
        Ok(token) => {
            let cookie = Cookie::build(SESSION_COOKIE, token.expose_secret().clone())
                .path("/")
                .secure(true)
                .http_only(true)
                .same_site(SameSite::Strict)
                .finish();
            let mut response = see_other("/console");
            response.add_cookie(&cookie).map_err(|_| {
                PageError::from(ServiceError::Internal("session cookie".to_owned()))
            })?;
            return Ok(response);
        }
        Err(ServiceError::Unauthorized { message, .. }) => {
            (StatusCode::UNAUTHORIZED, message, None)
        }
        Err(ServiceError::Invalid { message, .. }) => (StatusCode::BAD_REQUEST, message, None),
        Err(ServiceError::RateLimited {
            retry_after_seconds,
        }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many attempts: please wait {retry_after_seconds} second{}, then try again",
                if retry_after_seconds == 1 { "" } else { "s" }
            ),
            Some(retry_after_seconds),
        ),
        Err(other) => return Err(other.into()),
    };
    let mut response = page(&csrf, |s| s.error(Some(message)), email, status)?;
    if let Some(seconds) = retry_after
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

async fn attempt(
    portal: &Portal,
    limits: &RateLimits,
    permits: &KdfPermits,
    metrics: &Metrics,
    client: ClientKey,
    form: SignInForm,
) -> Result<Secret<String>, ServiceError> {
    limits.handler_sign_ins.check(client)?;
    let password = Secret::new(form.password);
    let _turn = permits.acquire().await?;
    let portal = portal.clone();
    let outcome = blocking(move || {
        portal.sign_in_from(&form.email, &password, form.code.trim(), client.bucket())
    })
    .await;
    Metrics::count_outcome(
        &metrics.handler_sign_ins,
        if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
    );
    Ok(outcome?.token)
}

pub async fn sign_out(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let portal = portal.into_inner();
    blocking(move || portal.sign_out(&handler.0)).await?;
    let mut removal = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    removal.make_removal();
    let mut response = see_other("/console/sign-in?done=signed_out");
    response
        .add_cookie(&removal)
        .map_err(|_| PageError::from(ServiceError::Internal("session cookie".to_owned())))?;
    Ok(response)
}
