//! Small helpers for calling the JSON API in tests.

#![allow(dead_code)]

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::support::{Person, TestApp};

pub async fn call<S, B>(service: &S, request: TestRequest) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

pub fn post_json(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

pub fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
}

pub fn delete(uri: &str) -> TestRequest {
    TestRequest::delete().uri(uri)
}

pub fn bearer(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header(("authorization", format!("Bearer {token}")))
}

/// The current TOTP code for a person, from the enrolment URI they were given.
pub fn totp_code(app: &TestApp, person: &Person) -> String {
    let secret = person
        .totp_uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap();
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let now = u64::try_from(app.clock.now().unix_timestamp()).unwrap();
    speakup::service::totp::code_at(&bytes, now).unwrap()
}

/// Signs a person in through the API. Moves the clock on one TOTP step first, because each
/// code can be used once.
pub async fn sign_in<S, B>(app: &TestApp, service: &S, person: &Person) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.clock.advance(time::Duration::seconds(30));
    let (status, body) = call(
        service,
        post_json(
            "/api/v1/session",
            json!({"email": person.email, "password": person.password, "totp": totp_code(app, person)}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{} could not sign in: {body}",
        person.email
    );
    body["token"].as_str().unwrap().to_owned()
}

/// Raises a concern through the API; returns (case key, reference).
pub async fn raise<S, B>(service: &S, body: Value) -> (String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, receipt) = call(service, post_json("/api/v1/concerns", body)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    (
        receipt["case_key"].as_str().unwrap().to_owned(),
        receipt["reference"].as_str().unwrap().to_owned(),
    )
}

pub fn confidential_concern(text: &str) -> Value {
    json!({
        "organisation": "nhs-testshire",
        "service": "nhs",
        "anonymity": "confidential",
        "identity": {"name": "Rhona Reporter", "contact": "rhona@example.org"},
        "concern": text,
        "became_aware_on": "2026-11-02",
    })
}
