//! The JSON API's key-in-client mode (issue 14): an API client derives its login proof itself
//! (Argon2id with the salt and cost of `POST /session/parameters`), signs in with it, opens its
//! secret key and the sealed case itself, and sends back only what it sealed or wrapped. Every
//! body the client sends is recorded here, so the tests can say what the server was given.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, totp_code};
use crate::browser_casework::{b64, case_key_of, grant_fields, sealed_file, sealed_step, unb64};
use crate::browser_keys::{audit_actions, browser_keys, open_all, proof_of, seal_reply};
use crate::console_pages::app;
use crate::support::{Person, TestApp};
use speakup::crypto::{KeyKind, PasswordKeys, RecordKind, SecretKey, WrapContext, wrap_key};

/// What the client sent: every body, as bytes.
#[derive(Default)]
struct Wire {
    bodies: Vec<Vec<u8>>,
}

impl Wire {
    fn json(&mut self, method: &str, uri: &str, token: Option<&str>, body: &Value) -> TestRequest {
        let bytes = body.to_string().into_bytes();
        self.bodies.push(bytes.clone());
        let request = match method {
            "POST" => TestRequest::post(),
            "DELETE" => TestRequest::delete(),
            _ => TestRequest::get(),
        }
        .uri(uri)
        .insert_header(("content-type", "application/json"))
        .set_payload(bytes);
        match token {
            Some(token) => bearer(request, token),
            None => request,
        }
    }

    fn multipart(&mut self, uri: &str, token: &str, body: Vec<u8>) -> TestRequest {
        self.bodies.push(body.clone());
        bearer(
            TestRequest::post()
                .uri(uri)
                .insert_header((
                    "content-type",
                    "multipart/form-data; boundary=----speakup-test-boundary-7d1f",
                ))
                .set_payload(body),
            token,
        )
    }

    /// Whether any body sent contains the text.
    fn carried(&self, text: &str) -> bool {
        self.bodies.iter().any(|body| {
            body.windows(text.len())
                .any(|window| window == text.as_bytes())
        })
    }
}

/// Signs a person in as a key-in-client API client: parameters, Argon2id in the client, the
/// proof. Answers the token, the person's secret key as the client opened it, and its keys.
async fn proof_sign_in<S, B>(
    app: &TestApp,
    api: &S,
    wire: &mut Wire,
    person: &Person,
) -> (String, SecretKey, PasswordKeys)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    app.clock.advance(time::Duration::seconds(30));
    let (status, parameters) = call(
        api,
        wire.json(
            "POST",
            "/api/v1/session/parameters",
            None,
            &json!({"email": person.email}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{parameters}");
    let keys = browser_keys(&parameters, &person.password);
    let (status, signed) = call(
        api,
        wire.json(
            "POST",
            "/api/v1/session",
            None,
            &json!({"email": person.email, "login_proof": proof_of(&keys), "totp": totp_code(app, person)}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["user_id"], person.id.as_str());
    let secret = keys
        .open_handler_secret(&person.id, &unb64(&signed["sealed_secret"]))
        .expect("the client opens its own secret key");
    (signed["token"].as_str().unwrap().to_owned(), secret, keys)
}

#[actix_web::test]
async fn an_api_client_keeps_its_key_opens_the_case_and_seals_a_reply_the_reporter_reads() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let concern = "The pharmacy fridge alarm on ward 5 has been taped over for a month.";
    let (case_key, reference) = raise(&api, confidential_concern(concern)).await;
    let cora = &staff.contacts[0];
    let mut wire = Wire::default();

    // Parameters: the same shape for an address without an account, the same every time.
    let (_, known) = call(
        &api,
        post_json("/api/v1/session/parameters", json!({"email": cora.email})),
    )
    .await;
    let (status, nobody) = call(
        &api,
        post_json(
            "/api/v1/session/parameters",
            json!({"email": "nobody@testshire.scot"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, nobody_again) = call(
        &api,
        post_json(
            "/api/v1/session/parameters",
            json!({"email": "Nobody@Testshire.scot"}),
        ),
    )
    .await;
    assert_eq!(nobody, nobody_again);
    assert_ne!(nobody["salt"], known["salt"]);
    assert_eq!(nobody["cost"], known["cost"]);
    assert_eq!(
        nobody.as_object().unwrap().keys().collect::<Vec<_>>(),
        known.as_object().unwrap().keys().collect::<Vec<_>>()
    );

    let (token, secret, keys) = proof_sign_in(&app, &api, &mut wire, cora).await;
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, detail, who)| action == "sign_in"
                && detail == "key kept in the browser"
                && who.as_deref() == Some(cora.id.as_str()))
    );

    // Exactly one credential: both, or neither, is a 400 (and counts as no attempt).
    for body in [
        json!({"email": cora.email, "password": cora.password, "login_proof": proof_of(&keys), "totp": "123456"}),
        json!({"email": cora.email, "totp": "123456"}),
    ] {
        let (status, answer) = call(&api, post_json("/api/v1/session", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], "one_credential");
    }
    let (status, answer) = call(
        &api,
        post_json(
            "/api/v1/session",
            json!({"email": cora.email, "login_proof": "c2hvcnQ=", "totp": "123456"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "invalid_proof");

    // The sealed case: ciphertext and labels only; the client's own key opens it.
    let base = format!("/api/v1/cases/{reference}");
    let (status, case) = call(&api, bearer(get(&format!("{base}/sealed")), &token)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert!(!case.to_string().contains("pharmacy fridge"));
    let opened = open_all(&case, &secret);
    assert!(
        opened.contains(&("concern".to_owned(), concern.to_owned())),
        "{opened:?}"
    );
    // The reporter's identity too: the intake contact holds its key.
    assert!(
        opened.contains(&("identity".to_owned(), "Rhona Reporter".to_owned())),
        "{opened:?}"
    );
    assert!(!case.to_string().contains("Rhona"));

    // A reply sealed by the client at the next position.
    let reply = "Thank you: the alarm is being repaired and the fridge log checked.";
    let id = speakup::crypto::random_id();
    let position = case["next_position"].as_i64().unwrap();
    let today = case["today"].as_str().unwrap().to_owned();
    let sealed = seal_reply(
        &case,
        &secret,
        &cora.id,
        RecordKind::Message,
        &id,
        position,
        &today,
        reply,
    );
    let (status, stored) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed"),
            Some(&token),
            &json!({"kind": "message", "id": id, "position": position, "written_on": today, "sealed": sealed}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["position"], position);
    // The same position again: 409, to seal again for the next one.
    let late = speakup::crypto::random_id();
    let (status, taken) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed"),
            Some(&token),
            &json!({"kind": "note", "id": late, "position": position, "written_on": today, "sealed": sealed}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    assert_eq!(taken["error"]["code"], "position_taken");
    // Unknown fields are refused.
    let (status, _) = call(
        &api,
        bearer(
            post_json(
                &format!("{base}/sealed"),
                json!({"kind": "note", "id": late, "position": position + 1, "written_on": today, "sealed": sealed, "body": "x"}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The reporter reads the reply (their mailbox opens it with the case key).
    let (status, mailbox) = call(
        &api,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mailbox}");
    let reporter = mailbox["token"].as_str().unwrap().to_owned();
    let (status, read) = call(&api, bearer(get("/api/v1/mailbox"), &reporter)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(
        read["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|message| message["body"] == reply && message["from"] == "handler"),
        "{read}"
    );

    // What the client sent never held the words, the concern or the password; neither do the
    // stored rows.
    assert!(!wire.bodies.is_empty());
    for text in [reply, concern, cora.password.as_str()] {
        assert!(!wire.carried(text), "the client sent {text:?}");
    }
    assert!(!app.database_contains(reply));
    assert!(!app.database_contains(concern));

    // The endpoints that need the key on the server answer 409 key_in_browser for this session.
    let key_needed = [
        bearer(
            get(&format!(
                "{base}/attachments/{}",
                speakup::crypto::random_id()
            )),
            &token,
        ),
        bearer(
            post_json(&format!("{base}/messages"), json!({"body": "x"})),
            &token,
        ),
        bearer(
            post_json(&format!("{base}/notes"), json!({"body": "x"})),
            &token,
        ),
        bearer(
            post_json(
                &format!("{base}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &token,
        ),
        bearer(
            post_json(&format!("{base}/events"), json!({"type": "stage1"})),
            &token,
        ),
        bearer(
            TestRequest::post()
                .uri(&format!("{base}/attachments"))
                .insert_header((
                    "content-type",
                    "multipart/form-data; boundary=----speakup-test-boundary-7d1f",
                ))
                .set_payload(crate::attachments::multipart(&[], "a.txt", b"plain")),
            &token,
        ),
    ];
    for request in key_needed {
        let (status, answer) = call(&api, request).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(answer["error"]["code"], "key_in_browser", "{answer}");
    }
    // Reading the case gives its outline only, as the console's page without JavaScript does.
    let (status, outline) = call(&api, bearer(get(&base), &token)).await;
    assert_eq!(status, StatusCode::OK, "{outline}");
    assert_eq!(outline["opened_in_browser"], true);
    assert_eq!(outline["concern"], "");
    assert!(!outline.to_string().contains("pharmacy fridge"));
    assert!(!outline.to_string().contains("alarm is being repaired"));
    // The list of cases needs no key.
    let (status, inbox) = call(&api, bearer(get("/api/v1/cases"), &token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox[0]["reference"], reference.as_str());

    // A password session has its key on the server: the sealed endpoints are not for it.
    let password_token = crate::api_client::sign_in(&app, &api, cora).await;
    let (status, answer) = call(
        &api,
        bearer(get(&format!("{base}/sealed")), &password_token),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"]["code"], "key_on_server");

    // Someone who does not hold the case: 404.
    let mut other_wire = Wire::default();
    let (ivy_token, ..) = proof_sign_in(&app, &api, &mut other_wire, &staff.investigator).await;
    let (status, _) = call(&api, bearer(get(&format!("{base}/sealed")), &ivy_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Signing out ends the session.
    let (status, _) = call(
        &api,
        bearer(TestRequest::delete().uri("/api/v1/session"), &token),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&api, bearer(get(&format!("{base}/sealed")), &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn an_api_client_records_steps_grants_and_files_it_sealed_and_wrapped_itself() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (case_key, reference) = raise(
        &api,
        confidential_concern("Bank staff on ward 8 are told not to report falls."),
    )
    .await;
    let cora = &staff.contacts[0];
    let ivy = &staff.investigator;
    let mut wire = Wire::default();
    let (token, secret, _) = proof_sign_in(&app, &api, &mut wire, cora).await;
    let base = format!("/api/v1/cases/{reference}");

    // A procedure step: the facts, then the letter the client writes and seals.
    let (status, facts) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed/events/facts"),
            Some(&token),
            &json!({"type": "stage1"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{facts}");
    assert!(facts["facts"].as_str().unwrap().contains("type=stage1"));
    // The handler's words are not taken with the facts.
    let (status, _) = call(
        &api,
        bearer(
            post_json(
                &format!("{base}/sealed/events/facts"),
                json!({"type": "stage1", "message": "words"}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, case) = call(&api, bearer(get(&format!("{base}/sealed")), &token)).await;
    let words = "We will speak to the ward manager about the falls log this week.";
    let (event_id, record_id) = (speakup::crypto::random_id(), speakup::crypto::random_id());
    let letter = sealed_step(
        &case,
        &secret,
        &facts,
        &[("message", words)],
        &cora.id,
        &event_id,
        &record_id,
    );
    let (status, recorded) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed/events"),
            Some(&token),
            &json!({
                "step": {"type": "stage1"},
                "letter": {
                    "event_id": event_id,
                    "record_id": record_id,
                    "position": facts["position"],
                    "written_on": facts["today"],
                    "basis": facts["basis"],
                    "sealed": letter,
                },
            }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    let (_, mailbox) = call(
        &api,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let reporter = mailbox["token"].as_str().unwrap().to_owned();
    let (_, read) = call(&api, bearer(get("/api/v1/mailbox"), &reporter)).await;
    assert!(read.to_string().contains(words), "{read}");
    assert_eq!(read["stage"], "stage1", "{read}");

    // A grant whose wrap the client makes: the investigator then opens the case with theirs.
    let (status, recipient) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed/grants/recipient"),
            Some(&token),
            &json!({"user": ivy.email}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{recipient}");
    assert_eq!(recipient["case_wrap"], true);
    let case = call(&api, bearer(get(&format!("{base}/sealed")), &token))
        .await
        .1;
    let fields = grant_fields(&case, &secret, &recipient, &ivy.email);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (status, granted) = call(
        &api,
        wire.json(
            "POST",
            &format!("{base}/sealed/grants"),
            Some(&token),
            &json!({"user": ivy.email, "case_wrap": field("case_wrap")}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{granted}");
    let mut ivy_wire = Wire::default();
    let (ivy_token, ivy_secret, _) = proof_sign_in(&app, &api, &mut ivy_wire, ivy).await;
    let (status, ivy_case) = call(&api, bearer(get(&format!("{base}/sealed")), &ivy_token)).await;
    assert_eq!(status, StatusCode::OK, "{ivy_case}");
    assert!(
        open_all(&ivy_case, &ivy_secret)
            .iter()
            .any(|(_, text)| text.contains("not to report falls"))
    );

    // A file the client cleaned and sealed, downloaded as stored for it to open.
    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let id = speakup::crypto::random_id();
    let (_clean, sealed, record) = sealed_file(&case, &secret, &cora.id, &id, "falls.jpg", photo);
    let position = case["next_position"].to_string();
    let today = case["today"].as_str().unwrap().to_owned();
    let body = crate::attachments::multipart(
        &[
            ("id", &id),
            ("position", &position),
            ("written_on", &today),
            ("record", &record),
        ],
        "sealed",
        &sealed,
    );
    let (status, stored) = call(
        &api,
        wire.multipart(&format!("{base}/sealed/attachments"), &token, body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let response = actix_web::test::call_service(
        &api,
        bearer(get(&format!("{base}/sealed/attachments/{id}")), &token).to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let downloaded = actix_web::test::read_body(response).await;
    assert_eq!(downloaded.as_ref(), sealed.as_slice());
    assert!(!wire.carried("falls.jpg"), "the file name went sealed");

    // Conflict and revocation need no key: the investigator declares a conflict (and loses
    // the case); the contact takes back the other intake contact's access.
    let (status, _) = call(
        &api,
        bearer(
            post_json(&format!("{base}/conflict"), json!({})),
            &ivy_token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&api, bearer(get(&format!("{base}/sealed")), &ivy_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let colleague = &staff.contacts[1];
    let (status, answer) = call(
        &api,
        bearer(
            TestRequest::delete().uri(&format!("{base}/grants/{}", colleague.email)),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");

    // Nothing the client sent held the step's words.
    assert!(!wire.carried(words));
    assert!(!app.database_contains(words));
}

#[actix_web::test]
async fn proof_sign_ins_share_the_password_sign_ins_limit_and_back_off() {
    let app = TestApp::with_settings(|raw| raw.handler_sign_ins_per_minute = 7);
    let staff = app.staff();
    let api = app.service().await;
    let colm = &staff.contacts[1];
    let (_, parameters) = call(
        &api,
        post_json("/api/v1/session/parameters", json!({"email": colm.email})),
    )
    .await;
    let wrong = proof_of(&browser_keys(&parameters, "wrong password"));
    let mut statuses = Vec::new();
    for attempt in 0..7 {
        // Proof and password attempts count alike.
        let body = if attempt == 2 {
            json!({"email": colm.email, "password": "wrong password", "totp": "123456"})
        } else {
            json!({"email": colm.email, "login_proof": wrong, "totp": "123456"})
        };
        statuses.push(call(&api, post_json("/api/v1/session", body)).await.0);
    }
    // Five failures, then the account's back-off for this client.
    assert_eq!(
        &statuses[..5],
        &[StatusCode::UNAUTHORIZED; 5],
        "{statuses:?}"
    );
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // The per-client limit (7 a minute) covers both: an eighth attempt, for an account with
    // no back-off of its own, is refused too.
    let cora = &staff.contacts[0];
    let (status, answer) = call(
        &api,
        post_json(
            "/api/v1/session",
            json!({"email": cora.email, "login_proof": wrong, "totp": "123456"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(answer["error"]["code"], "rate_limited");
}

#[actix_web::test]
async fn an_api_client_wraps_a_case_raised_before_the_recovery_key_for_it() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let concern = "Agency staff on ward 9 are rostered for 16-hour shifts without a break.";
    let (_, reference) = raise(&api, confidential_concern(concern)).await;
    let recovery_text = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let recovery = SecretKey::from_recovery_text(recovery_text.expose_secret()).unwrap();
    let mut wire = Wire::default();
    let (token, secret, _) = proof_sign_in(&app, &api, &mut wire, &staff.contacts[0]).await;

    let base = format!("/api/v1/cases/{reference}/sealed");
    let (status, case) = call(&api, bearer(get(&base), &token)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(
        unb64(&case["recovery_public_key"]),
        recovery.public_key().to_bytes(),
        "{case}"
    );
    let context = WrapContext::new(case["case_id"].as_str().unwrap(), KeyKind::Case);
    let wrapped = wrap_key(
        &case_key_of(&case, &secret),
        &recovery.public_key(),
        &context,
    )
    .unwrap();
    let uri = format!("{base}/recovery-wrap");
    let (status, answer) = call(
        &api,
        wire.json("POST", &uri, Some(&token), &json!({"wrap": b64(&wrapped)})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["added"], true);
    // A second client (or a retry) changes nothing.
    let (status, answer) = call(
        &api,
        wire.json("POST", &uri, Some(&token), &json!({"wrap": b64(&wrapped)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["added"], false);
    let (_, case) = call(&api, bearer(get(&base), &token)).await;
    assert!(case["recovery_public_key"].is_null(), "{case}");

    // The offline recovery key now opens the case through the wrap the client made.
    app.portal()
        .recover_case(
            &staff.organisation,
            &reference,
            &recovery_text,
            &staff.investigator.email,
        )
        .unwrap();
    assert!(!wire.carried(concern), "the client never sent the concern");
}
