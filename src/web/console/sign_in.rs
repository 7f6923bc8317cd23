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
use crate::web::error::{ApiError, PageError};
use crate::web::metrics::Metrics;
use crate::web::proof::{ParametersAnswer, ProofAnswer, read_proof};
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
        shell(Shell::new("Sign in", csrf, None).with_scripts()),
        &SignInPage { email },
        status,
    )
}

pub async fn show(csrf: CsrfToken, done: web::Query<Done>) -> Result<HttpResponse, PageError> {
    page(&csrf, |s| s.notice(&done), String::new(), StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ParametersForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// `POST /console/sign-in/parameters`: the salt and Argon2id cost for an e-mail address, so the
/// browser can derive the login proof itself. Same shape for addresses without an account.
pub async fn parameters(
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    form: web::Form<ParametersForm>,
) -> Result<HttpResponse, ApiError> {
    // Not counted against the sign-in limit: it answers the same for every address and costs
    // the server one indexed read; the sign-in that follows is counted.
    csrf.verify(&form.csrf).map_err(|error| ApiError(error.0))?;
    let email = form.into_inner().email;
    let portal = portal.into_inner();
    let answer = blocking(move || portal.sign_in_parameters(&email)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ParametersAnswer::from(answer)))
}

#[derive(Deserialize)]
pub struct ProofForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    /// The login proof, base64: the second half of the Argon2id output.
    #[serde(default)]
    proof: String,
    #[serde(default)]
    code: String,
}

/// `POST /console/sign-in/proof`: sign-in from a browser that ran Argon2id itself. Sets the
/// same session cookie as the form; the session holds no key. Answers the sealed secret key
/// for the browser to open with its key-encryption key.
#[allow(clippy::too_many_arguments)]
pub async fn submit_proof(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    metrics: web::Data<Metrics>,
    client: ClientKey,
    csrf: CsrfToken,
    form: web::Form<ProofForm>,
) -> Result<HttpResponse, ApiError> {
    csrf.verify(&form.csrf).map_err(|error| ApiError(error.0))?;
    limits.handler_sign_ins.check(client)?;
    let form = form.into_inner();
    let proof = read_proof(&form.proof)?;
    let portal = portal.into_inner();
    let outcome = blocking(move || {
        portal.sign_in_with_proof(&form.email, &proof, form.code.trim(), client.bucket())
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
    let signed_in = outcome?;
    let mut response = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ProofAnswer::new(&signed_in, None)?);
    response
        .add_cookie(&session_cookie(signed_in.token.expose_secret()))
        .map_err(|_| ServiceError::Internal("session cookie".to_owned()))?;
    Ok(response)
}

fn session_cookie(token: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
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
            let cookie = session_cookie(token.expose_secret());
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
