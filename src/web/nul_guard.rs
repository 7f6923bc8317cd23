//! Refuses NUL characters anywhere in an API request: PostgreSQL cannot store NUL in text and
//! answers such a query with an error, which must be a 400 for the client and not a 500.
//! Applied to `/api/v1`: the address (percent-encoded `%00`) and JSON bodies (`\u0000` in any
//! string or key). Other bodies (attachments) are binary and pass untouched.

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use super::error::{ApiError, Problem};

fn nul_problem() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "nul_character",
        "Text must not contain NUL characters (\\u0000).",
    )
}

/// Whether any string or key of a JSON document contains NUL.
fn has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        _ => false,
    }
}

fn is_json(request: &ServiceRequest) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().contains("json"))
}

pub async fn refuse_nul(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refuse = |request: ServiceRequest, problem: Problem| {
        let response = ApiError(problem).error_response();
        Ok(request.into_response(response).map_into_right_body())
    };
    let address = request.uri().to_string().to_ascii_lowercase();
    if address.contains("%00") {
        return refuse(request, nul_problem());
    }
    if is_json(&request) {
        // The body is read once here (the default payload limit, 256 KiB, is the API's JSON
        // limit: larger is 413) and put back for the JSON extractor.
        let body = request.extract::<Bytes>().await;
        match body {
            Ok(bytes) => {
                if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
                    && has_nul(&value)
                {
                    return refuse(request, nul_problem());
                }
                request.set_payload(actix_web::dev::Payload::from(bytes));
            }
            Err(error) => return refuse(request, super::error::payload_problem(&error)),
        }
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_in_nested_strings_and_keys() {
        assert!(has_nul(&serde_json::json!({"a": ["x", "y\u{0}"]})));
        assert!(has_nul(&serde_json::json!({"k\u{0}": 1})));
        assert!(!has_nul(
            &serde_json::json!({"a": ["x", "\\u0000"], "n": 0})
        ));
    }
}
