//! The one place errors become HTTP responses: JSON for `/api/v1`, an HTML page elsewhere.
//! Bad input is always a 4xx with a readable reason; anything unexpected is logged in full and
//! answered with a generic 500 that reveals nothing.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::views;
use crate::service::ServiceError;

/// A failure described for the person or program that made the request.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_seconds: Option<u64>,
    /// Console pages answer "not signed in" by sending the browser to the sign-in page.
    pub redirect_to_sign_in: bool,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
            redirect_to_sign_in: false,
        }
    }

    pub fn not_found() -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing here. Check the address, or start again from the home page.",
        )
    }

    fn internal() -> Problem {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Nothing you sent has been lost; please try again \
             in a few minutes.",
        )
    }
}

impl From<&ServiceError> for Problem {
    fn from(error: &ServiceError) -> Problem {
        match error {
            ServiceError::Invalid { code, message } => {
                Problem::new(StatusCode::BAD_REQUEST, code, message.clone())
            }
            ServiceError::NotFound => Problem::not_found(),
            ServiceError::Unauthorized { code, message } => {
                Problem::new(StatusCode::UNAUTHORIZED, code, message.clone())
            }
            ServiceError::Conflict { code, message } => {
                Problem::new(StatusCode::CONFLICT, code, message.clone())
            }
            ServiceError::Forbidden { code, message } => {
                Problem::new(StatusCode::FORBIDDEN, code, message.clone())
            }
            ServiceError::TooLarge { code, message } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, code, message.clone())
            }
            ServiceError::RateLimited {
                retry_after_seconds,
            } => Problem {
                retry_after_seconds: Some(*retry_after_seconds),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "Too many attempts. Please wait {retry_after_seconds} seconds and try again."
                    ),
                )
            },
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %error, "request failed");
                Problem::internal()
            }
            ServiceError::Tampered(_) => {
                tracing::error!(error = %error, "a sealed record was altered in the database");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "record_altered",
                    "Part of this case was changed in the database after it was written, so it \
                     cannot be shown as genuine. Nothing has been lost on your side; please tell \
                     the organisation's whistleblowing champion or the portal's operator.",
                )
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

fn with_retry_after(
    mut builder: actix_web::HttpResponseBuilder,
    problem: &Problem,
) -> actix_web::HttpResponseBuilder {
    if let Some(seconds) = problem.retry_after_seconds {
        builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    builder
}

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError(pub Problem);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        ApiError(Problem::from(&error))
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        ApiError(problem)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code,
                message: &self.0.message,
            },
        };
        with_retry_after(HttpResponse::build(self.0.status), &self.0).json(body)
    }
}

/// An error answered with an HTML page in the portal's layout.
#[derive(Debug)]
pub struct PageError(pub Problem);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

impl From<ServiceError> for PageError {
    fn from(error: ServiceError) -> Self {
        PageError(Problem::from(&error))
    }
}

impl From<Problem> for PageError {
    fn from(problem: Problem) -> Self {
        PageError(problem)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.redirect_to_sign_in {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/sign-in"))
                .finish();
        }
        let body = views::error_page(&self.0);
        with_retry_after(HttpResponse::build(self.0.status), &self.0)
            .content_type(ContentType::html())
            .body(body)
    }
}

/// JSON body failures, by kind: too large, not JSON at all, or JSON of the wrong shape.
pub fn json_problem(error: &actix_web::error::JsonPayloadError) -> Problem {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "What you sent is too large. Shorten it and try again.",
            )
        }
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the request body as application/json.",
        ),
        JsonPayloadError::Deserialize(inner) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "The request body is not what this endpoint expects: {}",
                one_line(&inner.to_string())
            ),
        ),
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "The request could not be read: {}",
                one_line(&other.to_string())
            ),
        ),
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// Turns extractor failures (bad forms, query strings, oversized bodies) into readable 4xx answers.
pub fn payload_problem(error: &actix_web::Error) -> Problem {
    let status = error.as_response_error().status_code();
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "What you sent is too large. Shorten it and try again.".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Send the request as application/json.".to_owned(),
        ),
        _ => ("invalid_request", describe_payload_error(error)),
    };
    Problem::new(status, code, message)
}

fn describe_payload_error(error: &actix_web::Error) -> String {
    // serde's messages name the field and the expected type, which helps API clients; they never
    // echo the submitted value back beyond a short fragment, and we cut them to one line.
    let text = error.to_string();
    let first_line = text
        .lines()
        .next()
        .unwrap_or("the request could not be read");
    let mut message: String = first_line.chars().take(200).collect();
    if message.is_empty() {
        message = "the request could not be read".to_owned();
    }
    format!("The request could not be read: {message}")
}
