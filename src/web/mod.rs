//! HTTP shell: routes, extractors, middleware and views. Handlers stay thin: extract, call the
//! service, map the error.

pub mod api;
pub mod attachments;
pub mod auth;
pub mod bearer;
pub mod console;
pub mod csrf;
pub mod enrol;
pub mod error;
pub mod governance_pages;
pub mod headers;
pub mod health;
pub mod metrics;
pub mod nul_guard;
pub mod pages;
pub mod proof;
pub mod qr;
pub mod rate_limit;
pub mod reporter;
pub mod reports;
pub mod request_log;
pub mod scripts;
pub mod sealed_json;
pub mod setup;
pub mod views;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};

use crate::service::{Portal, ServiceError};
use error::{ApiError, PageError, Problem};
use metrics::Metrics;
use rate_limit::RateLimits;

/// Largest form body accepted where no larger limit is set; a concern is text, not a
/// document store.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest JSON body the API accepts (413 above it). A concern of 20 000 characters can take
/// four bytes a character in UTF-8, or six to twelve when a client escapes it as `\uXXXX`, so
/// 64 KiB would refuse concerns the service accepts.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
const _: () = assert!(
    MAX_JSON_BYTES <= 262_144,
    "nul_guard reads JSON with the default limit"
);

/// Largest body of an HTML form that carries a concern or a message. Browsers percent-encode
/// every non-ASCII byte, so 20 000 characters of, say, Polish or Arabic can take three times
/// their UTF-8 size; 64 KiB would refuse concerns the service accepts.
pub const MAX_TEXT_FORM_BYTES: usize = 256 * 1024;

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub portal: Portal,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<RateLimits>,
    pub kdf_permits: Arc<auth::KdfPermits>,
}

impl AppState {
    pub fn new(portal: Portal) -> AppState {
        let limits = Arc::new(RateLimits::from_settings(&portal.settings));
        let kdf_permits =
            auth::KdfPermits::new(portal.settings.max_concurrent_password_checks as usize);
        AppState {
            portal,
            metrics: Arc::new(Metrics::new()),
            limits,
            kdf_permits,
        }
    }
}

/// The application, used both by `speakup serve` and by the tests.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let https = state.portal.settings.public_url.starts_with("https://");
    App::new()
        .app_data(web::Data::new(state.portal.clone()))
        .app_data(web::Data::from(state.metrics.clone()))
        .app_data(web::Data::from(state.limits.clone()))
        .app_data(web::Data::from(state.kdf_permits.clone()))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BYTES)
                .error_handler(|error, _| ApiError(error::json_problem(&error)).into()),
        )
        .app_data(form_config(MAX_BODY_BYTES))
        .app_data(web::PathConfig::default().error_handler(|_, request| not_found_for(request)))
        .app_data(web::QueryConfig::default().error_handler(|error, request| {
            let problem = error::payload_problem(&error.into());
            if is_api(request) {
                ApiError(problem).into()
            } else {
                PageError(problem).into()
            }
        }))
        .wrap(from_fn(csrf::ensure_token))
        .wrap(headers::security_headers(https))
        .wrap(from_fn(request_log::log_request))
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/static/style.css", web::get().to(pages::stylesheet))
        .route("/static/speakup.js", web::get().to(scripts::loader))
        .route("/static/reporter.js", web::get().to(scripts::reporter))
        .route("/static/mailbox.js", web::get().to(scripts::mailbox))
        .route("/static/console.js", web::get().to(scripts::console))
        .route(
            "/static/speakup-crypto.wasm",
            web::get().to(scripts::module),
        )
        .route("/favicon.svg", web::get().to(pages::favicon))
        .route("/favicon.ico", web::get().to(pages::favicon))
        .route("/", web::get().to(pages::start))
        .route(
            "/what-changed",
            web::get().to(governance_pages::what_changed_index),
        )
        .route(
            "/what-changed/{slug}",
            web::get().to(governance_pages::what_changed),
        )
        .route("/console/reports", web::get().to(governance_pages::reports))
        .route(
            "/console/reports/download",
            web::get().to(governance_pages::download),
        )
        .route(
            "/console/reports/narratives",
            web::post().to(governance_pages::save_narrative),
        )
        .route("/enrol/{token}", web::get().to(enrol::show))
        .route("/enrol/{token}", web::post().to(enrol::submit))
        .route("/setup/{token}", web::get().to(setup::show))
        .route("/setup/{token}", web::post().to(setup::submit))
        .route("/concerns/new", web::get().to(reporter::concern::start))
        .service(
            web::resource("/concerns/check")
                .app_data(form_config(MAX_TEXT_FORM_BYTES))
                .route(web::post().to(reporter::concern::check)),
        )
        .service(
            web::resource("/concerns")
                .app_data(form_config(MAX_TEXT_FORM_BYTES))
                .route(web::post().to(reporter::concern::submit)),
        )
        .route("/concerns/saved", web::post().to(reporter::concern::saved))
        .route("/protection", web::get().to(pages::protection))
        .route("/mailbox", web::get().to(reporter::mailbox::show))
        .route(
            "/mailbox/browser",
            web::get().to(reporter::mailbox::show_in_browser),
        )
        .route(
            "/mailbox/sign-in",
            web::post().to(reporter::mailbox::sign_in),
        )
        .service(
            web::resource("/mailbox/messages")
                .app_data(form_config(MAX_TEXT_FORM_BYTES))
                .route(web::post().to(reporter::mailbox::send_message)),
        )
        .route(
            "/mailbox/identity-requests/{id}",
            web::post().to(reporter::mailbox::decide_identity_request),
        )
        .service(
            web::resource("/mailbox/requests")
                .app_data(form_config(MAX_TEXT_FORM_BYTES))
                .route(web::post().to(reporter::requests::make_request)),
        )
        .route(
            "/mailbox/sign-out",
            web::post().to(reporter::mailbox::sign_out),
        )
        .route(
            "/mailbox/attachments",
            web::post().to(reporter::evidence::upload),
        )
        .route(
            "/mailbox/attachments/{id}",
            web::get().to(reporter::evidence::download),
        )
        .configure(console::routes)
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(nul_guard::refuse_nul))
                .configure(api::routes)
                .default_service(web::to(api_not_found)),
        )
        .default_service(web::to(page_not_found))
}

/// HTML form bodies: a readable error page for anything that cannot be read.
pub(crate) fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(|error, _| PageError(error::payload_problem(&error.into())).into())
}

fn is_api(request: &HttpRequest) -> bool {
    request.path().starts_with("/api/")
}

fn not_found_for(request: &HttpRequest) -> actix_web::Error {
    if is_api(request) {
        ApiError(Problem::not_found()).into()
    } else {
        PageError(Problem::not_found()).into()
    }
}

async fn api_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError(Problem::not_found()))
}

async fn page_not_found(request: HttpRequest) -> Result<HttpResponse, PageError> {
    if request.method() == actix_web::http::Method::GET
        || request.method() == actix_web::http::Method::HEAD
    {
        Err(PageError(Problem::not_found()))
    } else {
        Err(PageError(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This page cannot be used that way. Go back and try again.",
        )))
    }
}

/// Runs blocking service work (database, key derivation) off the async executor.
pub async fn blocking<T, F>(work: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work)
        .await
        .map_err(|_| ServiceError::Internal("worker pool unavailable".to_owned()))?
}
