//! The reporter's JSON API, end to end against a real database.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::support::TestApp;

async fn call(
    service: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    request: TestRequest,
) -> (StatusCode, Value) {
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

fn post_json(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn with_token(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header(("authorization", format!("Bearer {token}")))
}

#[actix_web::test]
async fn a_reporter_raises_a_concern_and_talks_through_the_mailbox() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;

    let (status, organisations) =
        call(&service, TestRequest::get().uri("/api/v1/organisations")).await;
    assert_eq!(status, StatusCode::OK);
    let organisation = &organisations[0];
    assert_eq!(organisation["slug"], "nhs-testshire");
    assert_eq!(organisation["services"], json!(["nhs", "local_authority"]));
    let intake = organisation["intake"].as_array().unwrap();
    assert_eq!(intake.len(), 2);
    assert!(
        intake
            .iter()
            .any(|c| c["name"] == "Colm Contact" && c["role"] == "Colm Contact's job")
    );

    let (status, receipt) = call(
        &service,
        post_json(
            "/api/v1/concerns",
            json!({
                "organisation": "nhs-testshire",
                "service": "nhs",
                "anonymity": "anonymous",
                "concern": "Night shift on ward 7 is routinely left with one nurse.",
                "became_aware_on": "2026-10-01",
            }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let case_key = receipt["case_key"].as_str().unwrap();
    assert_eq!(case_key.len(), 34, "{case_key}");
    assert_eq!(case_key.matches('-').count(), 6);
    let reference = receipt["reference"].as_str().unwrap();
    assert!(reference.starts_with("SU-"));

    // Sign in tolerantly: lower case, spaces instead of dashes.
    let typed = case_key.to_lowercase().replace('-', " ");
    let (status, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": typed})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();

    let (status, mailbox) = call(
        &service,
        with_token(TestRequest::get().uri("/api/v1/mailbox"), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mailbox}");
    assert_eq!(mailbox["reference"], reference);
    assert_eq!(mailbox["stage"], "received");
    assert_eq!(mailbox["status"], "open");
    assert_eq!(mailbox["received_on"], "2026-11-16");
    // Received Monday 16 Nov: the stage 1 clock runs five working days to Friday 20 Nov.
    assert_eq!(mailbox["due"]["respond_by"], "2026-11-20");
    assert_eq!(mailbox["due"]["provisional"], true);
    assert_eq!(mailbox["messages"], json!([]));
    assert!(mailbox.get("signposting").is_none_or(Value::is_null));

    let (status, _) = call(
        &service,
        with_token(
            post_json(
                "/api/v1/mailbox/messages",
                json!({"body": "It happened again last night."}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, mailbox) = call(
        &service,
        with_token(TestRequest::get().uri("/api/v1/mailbox"), &token),
    )
    .await;
    assert_eq!(
        mailbox["messages"],
        json!([{"from": "reporter", "body": "It happened again last night.", "sent_on": "2026-11-16"}])
    );

    // Signing out ends the session.
    let (status, _) = call(
        &service,
        with_token(TestRequest::delete().uri("/api/v1/mailbox/session"), &token),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = call(
        &service,
        with_token(TestRequest::get().uri("/api/v1/mailbox"), &token),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "mailbox_session_expired");
    // Signing out again, or with a token that never was, is refused, not a silent 204.
    for stale in [token.as_str(), "not-a-token"] {
        let (status, error) = call(
            &service,
            with_token(TestRequest::delete().uri("/api/v1/mailbox/session"), stale),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{stale}");
        assert_eq!(error["error"]["code"], "mailbox_session_expired");
    }
    drop(staff);
}

#[actix_web::test]
async fn mailbox_sessions_expire() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let (_, receipt) = call(
        &service,
        post_json(
            "/api/v1/concerns",
            json!({"organisation": "nhs-testshire", "service": "nhs", "anonymity": "anonymous",
                   "concern": "Expiry test"}),
        ),
    )
    .await;
    let (_, session) = call(
        &service,
        post_json(
            "/api/v1/mailbox/session",
            json!({"case_key": receipt["case_key"]}),
        ),
    )
    .await;
    let token = session["token"].as_str().unwrap();
    app.clock.advance(time::Duration::minutes(31));
    let (status, error) = call(
        &service,
        with_token(TestRequest::get().uri("/api/v1/mailbox"), token),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
}

#[actix_web::test]
async fn a_typo_is_reported_as_a_typo_and_an_unknown_key_as_unknown() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let (_, receipt) = call(
        &service,
        post_json(
            "/api/v1/concerns",
            json!({"organisation": "nhs-testshire", "service": "nhs", "anonymity": "anonymous",
                   "concern": "Typo test"}),
        ),
    )
    .await;
    let key = receipt["case_key"].as_str().unwrap();
    // Change one character: the checksum catches it.
    let mut typo: Vec<char> = key.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let (status, error) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": typo})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "case_key_typo");
    let (status, error) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": "ABCD"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "case_key_typo");

    // A well-formed key that was never issued.
    let unknown = speakup::crypto::CaseKey::generate().to_display_string();
    let (status, error) = call(
        &service,
        post_json(
            "/api/v1/mailbox/session",
            json!({"case_key": unknown.expose_secret()}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "unknown_case_key");
}

#[actix_web::test]
async fn a_guessing_client_is_rate_limited_within_tens_of_tries() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let mut limited_after = None;
    for attempt in 1..=30 {
        let guess = speakup::crypto::CaseKey::generate().to_display_string();
        let request = post_json(
            "/api/v1/mailbox/session",
            json!({"case_key": guess.expose_secret()}),
        )
        .peer_addr("203.0.113.9:40000".parse().unwrap());
        let response = test::call_service(&service, request.to_request()).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().get("retry-after").is_some());
            limited_after = Some(attempt);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        limited_after,
        Some(11),
        "the default allows a burst of 10 a minute"
    );
    // Another client is unaffected.
    let guess = speakup::crypto::CaseKey::generate().to_display_string();
    let request = post_json(
        "/api/v1/mailbox/session",
        json!({"case_key": guess.expose_secret()}),
    )
    .peer_addr("198.51.100.7:40000".parse().unwrap());
    let response = test::call_service(&service, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn concerns_that_break_the_rules_are_refused_with_reasons() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let base = json!({"organisation": "nhs-testshire", "service": "nhs", "anonymity": "anonymous",
                      "concern": "Rules test"});
    let with = |changes: Value| {
        let mut body = base.clone();
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (
            with(json!({"anonymity": "confidential"})),
            "identity_missing",
        ),
        (
            with(json!({"identity": {"name": "N", "contact": "c"}})),
            "identity_not_expected",
        ),
        (with(json!({"concern": "   "})), "concern_missing"),
        (
            with(json!({"concern": "x".repeat(20_001)})),
            "concern_too_long",
        ),
        (
            with(json!({"organisation": "nhs-nowhere"})),
            "unknown_organisation",
        ),
        (
            with(json!({"became_aware_on": "2027-01-01"})),
            "invalid_became_aware_on",
        ),
        (
            with(json!({"exclude": [staff.contacts[0].id, staff.contacts[1].id]})),
            "no_readers_left",
        ),
        (
            with(json!({"exclude": [staff.investigator.id]})),
            "unknown_contact",
        ),
    ];
    for (body, code) in cases {
        let (status, error) = call(&service, post_json("/api/v1/concerns", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}: {error}");
        assert_eq!(error["error"]["code"], code, "{error}");
    }
}

#[actix_web::test]
async fn malformed_input_gets_a_clear_4xx_never_a_5xx() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let raw = |body: Vec<u8>, content_type: &str| {
        TestRequest::post()
            .uri("/api/v1/concerns")
            .insert_header(("content-type", content_type.to_owned()))
            .set_payload(body)
    };
    let cases: Vec<(TestRequest, StatusCode)> = vec![
        (raw(b"{not json".to_vec(), "application/json"), StatusCode::BAD_REQUEST),
        (raw(b"".to_vec(), "application/json"), StatusCode::BAD_REQUEST),
        (raw(b"[]".to_vec(), "application/json"), StatusCode::BAD_REQUEST),
        (
            raw(br#"{"organisation": 7, "service": "nhs"}"#.to_vec(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                br#"{"organisation":"nhs-testshire","service":"dental","anonymity":"anonymous","concern":"x"}"#
                    .to_vec(),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                br#"{"organisation":"nhs-testshire","service":"nhs","anonymity":"anonymous","concern":"x","extra":1}"#
                    .to_vec(),
                "application/json",
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(b"{\"concern\": \"\xff\xfe\"}".to_vec(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (raw(b"concern=x".to_vec(), "text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE),

        (
            raw(vec![b'{'; speakup::web::MAX_JSON_BYTES + 1], "application/json"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = call(&service, request).await;
        assert_eq!(status, expected, "{body}");
        assert!(body["error"]["code"].is_string(), "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    // PostgreSQL refuses NUL in text: such strings are refused before they reach it, in a
    // body or in the address.
    let nul_body = raw(
        br#"{"organisation": "nhs-\u0000", "service": "nhs", "anonymity": "anonymous", "concern": "x"}"#
            .to_vec(),
        "application/json",
    );
    let nul_path = TestRequest::get().uri("/api/v1/cases/ab%00c");
    for request in [nul_body, nul_path] {
        let (status, body) = call(&service, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "nul_character", "{body}");
    }
    // Bad mailbox tokens are 401s, not 500s.
    for token in [
        "",
        "x",
        "not a token at all",
        &"A".repeat(64),
        &"é".repeat(40),
    ] {
        let request = TestRequest::get()
            .uri("/api/v1/mailbox")
            .insert_header(("authorization", format!("Bearer {token}")));
        let (status, _) = call(&service, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
}

#[actix_web::test]
async fn a_planted_string_appears_nowhere_in_the_database() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let concern_canary = "CANARY-CONCERN-5d1f0c3e";
    let message_canary = "CANARY-MESSAGE-9b7a2e41";
    let name_canary = "CANARY-NAME-31c8f6aa";
    let (status, receipt) = call(
        &service,
        post_json(
            "/api/v1/concerns",
            json!({"organisation": "nhs-testshire", "service": "local_authority",
                   "anonymity": "confidential",
                   "identity": {"name": name_canary, "contact": "07700 900123"},
                   "concern": format!("The care home rota is falsified. {concern_canary}")}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let case_key = receipt["case_key"].as_str().unwrap().to_owned();
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let token = session["token"].as_str().unwrap();
    let (status, _) = call(
        &service,
        with_token(
            post_json("/api/v1/mailbox/messages", json!({"body": message_canary})),
            token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Make SQLite write its WAL back into the main file too, so both are checked.
    drop(service);
    for needle in [
        concern_canary,
        message_canary,
        name_canary,
        "07700 900123",
        &case_key,
    ] {
        assert!(
            !app.database_contains(needle),
            "{needle} found in the database"
        );
    }
    // The check itself works: a value we do store in the clear is found.
    assert!(app.database_contains("nhs-testshire"));
}

#[actix_web::test]
async fn a_concern_sent_again_with_its_submission_token_is_one_concern() {
    let app = TestApp::with_settings(|raw| raw.concern_submissions_per_hour = 1);
    app.staff();
    let service = app.service().await;
    let token = speakup::crypto::SubmissionToken::generate();
    let token = token.to_form_value();
    let body = json!({
        "organisation": "nhs-testshire",
        "service": "nhs",
        "anonymity": "anonymous",
        "concern": "The fire door on ward 9 is wedged open.",
        "submission_token": token.expose_secret(),
    });
    let (status, first) = call(&service, post_json("/api/v1/concerns", body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["already_sent"], false);
    // A retry (even past the rate limit of one an hour) answers with the same receipt.
    let (status, again) = call(&service, post_json("/api/v1/concerns", body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["already_sent"], true);
    assert_eq!(again["case_key"], first["case_key"]);
    assert_eq!(again["reference"], first["reference"]);
    assert!(!app.database_contains(token.expose_secret()));

    // A day later: 409, without the key.
    app.clock.advance(time::Duration::days(1));
    let (status, later) = call(&service, post_json("/api/v1/concerns", body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{later}");
    assert_eq!(later["error"]["code"], "already_sent");
    assert!(
        !later
            .to_string()
            .contains(first["case_key"].as_str().unwrap())
    );

    // A malformed token is refused, not turned into a key.
    let mut bad = body.clone();
    bad["submission_token"] = json!("too-short");
    let (status, refused) = call(&service, post_json("/api/v1/concerns", bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "invalid_submission_token");
}
