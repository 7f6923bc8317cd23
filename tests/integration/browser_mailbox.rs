//! The reporter's mailbox opened in the browser (issue 14): the test plays the browser with the
//! native crypto core (the WebAssembly build is the same source, cross-checked by the vectors).
//! The browser signs in with the lookup id and a mailbox proof, never the case key; the server
//! hands it ciphertext and the reporter's wrap, and stores what the browser sealed.

use actix_web::http::StatusCode;
use data_encoding::{BASE64, HEXLOWER};
use serde_json::{Value, json};
use speakup::crypto::{
    Aad, CaseKey, DataKey, KeyKind, Provenance, RecordKind, Secret, WrapContext, open, random_id,
    seal, unwrap_key,
};
use speakup::ids::RecordId;
use speakup::service::ServiceError;
use speakup::service::sealed_mailbox::SealedMessage;

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::support::TestApp;

const REPLY: &str = "Thank you. Which nights did this happen on?";
const ANSWER: &str = "Tuesday and Thursday last week, both after 2am.";

pub(crate) fn proof_sign_in(case_key: &CaseKey) -> Value {
    json!({
        "lookup_id": HEXLOWER.encode(&case_key.lookup_id()),
        "proof": HEXLOWER.encode(case_key.mailbox_proof().unwrap().expose_bytes()),
    })
}

/// Opens every record of a sealed mailbox as the browser does: unwrap the case data key with the
/// reporter's secret from the case key, rebuild each record's associated data, open.
pub(crate) fn open_mailbox(case_key: &CaseKey, sealed: &Value) -> (DataKey, Vec<(String, String)>) {
    let case_id = sealed["case_id"].as_str().unwrap();
    let reporter = case_key.reporter_key_pair().unwrap();
    let wrapped = BASE64
        .decode(sealed["reporter_wrap"].as_str().unwrap().as_bytes())
        .unwrap();
    let key = unwrap_key(
        &reporter.secret,
        &wrapped,
        &WrapContext::new(case_id, KeyKind::Case),
    )
    .unwrap();
    let mut opened = Vec::new();
    for record in sealed["records"].as_array().unwrap() {
        let kind = match record["kind"].as_str().unwrap() {
            "message" => RecordKind::Message,
            "event-text" => RecordKind::EventText,
            other => panic!("unexpected kind {other}"),
        };
        let id = record["id"].as_str().unwrap();
        let author = record["author"].as_str().unwrap();
        let written_on = record["written_on"].as_str().unwrap();
        assert_eq!(record["aad_version"], 2);
        let aad = Aad::new(case_id, kind, id).with_provenance(Provenance {
            author,
            author_user_id: record["author_user_id"].as_str(),
            event_id: record["event_id"].as_str(),
            position: record["position"].as_i64().unwrap(),
            written_on,
        });
        let bytes = BASE64
            .decode(record["sealed"].as_str().unwrap().as_bytes())
            .unwrap();
        let plain: Value =
            serde_json::from_slice(open(&key, &aad, &bytes).unwrap().expose_secret()).unwrap();
        let text = if kind == RecordKind::Message {
            plain["body"].as_str().unwrap().to_owned()
        } else {
            plain["letter"].as_str().unwrap().to_owned()
        };
        opened.push((author.to_owned(), text));
    }
    (key, opened)
}

/// A reply sealed as static/mailbox.js seals it, for `position` on `day`.
fn sealed_reply(key: &DataKey, case_id: &str, position: i64, day: &str, body: &str) -> Value {
    let record_id = random_id();
    let aad = Aad::new(case_id, RecordKind::Message, &record_id).with_provenance(Provenance {
        author: "reporter",
        author_user_id: None,
        event_id: None,
        position,
        written_on: day,
    });
    let sealed = seal(key, &aad, json!({ "body": body }).to_string().as_bytes()).unwrap();
    json!({"record_id": record_id, "position": position, "written_on": day,
           "sealed": BASE64.encode(&sealed)})
}

pub(crate) fn outbox_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use speakup::store::schema::outbox;
    app.portal()
        .store
        .read(|tx| {
            outbox::table
                .count()
                .get_result::<i64>(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap()
}

#[actix_web::test]
async fn the_browser_opens_the_mailbox_with_a_proof_and_the_handler_reads_what_it_sealed() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) =
        raise(&service, confidential_concern("Ward 7 is left unstaffed.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let cora = &staff.contacts[0];
    let handler = sign_in(&app, &service, cora).await;
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                &format!("/api/v1/cases/{reference}/messages"),
                json!({ "body": REPLY }),
            ),
            &handler,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Sign in with the proof: the case key is not in the request.
    let body = proof_sign_in(&case_key);
    assert!(!body.to_string().contains(&typed));
    let (status, session) = call(&service, post_json("/api/v1/mailbox/session", body)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();

    // A proof session carries no key: the server cannot open the mailbox for it.
    let (status, error) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(error["error"]["code"], "mailbox_opened_in_browser");
    let (status, _) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/messages", json!({"body": "server-side"})),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The sealed mailbox: stage and dates in the clear, content sealed.
    let (status, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    assert_eq!(status, StatusCode::OK, "{sealed}");
    assert_eq!(sealed["reference"], reference);
    assert_eq!(sealed["state"], "received");
    assert_eq!(sealed["due"]["respond_by"], "2026-11-20");
    assert_eq!(sealed["today"], "2026-11-16");
    assert!(!sealed.to_string().contains(REPLY));
    let (key, opened) = open_mailbox(&case_key, &sealed);
    assert_eq!(opened, vec![("handler".to_owned(), REPLY.to_owned())]);

    // A reply sealed in the browser for the next position.
    let case_id = sealed["case_id"].as_str().unwrap();
    let position = sealed["next_position"].as_i64().unwrap();
    let queued = outbox_rows(&app);
    let reply = sealed_reply(&key, case_id, position, "2026-11-16", ANSWER);
    let (status, stored) = call(
        &service,
        bearer(post_json("/api/v1/mailbox/sealed/messages", reply), &token),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["position"], position);
    assert!(!app.database_contains(ANSWER));
    // The holders are told, as for a message the server sealed.
    assert!(outbox_rows(&app) > queued, "a notice is queued");

    // The handler reads it; the browser reads it back.
    let (status, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &handler),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert!(case.to_string().contains(ANSWER), "{case}");
    let (_, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let (_, opened) = open_mailbox(&case_key, &sealed);
    assert_eq!(
        opened.last().unwrap(),
        &("reporter".to_owned(), ANSWER.to_owned())
    );

    // Sealed for a position already taken, or another day: refused, nothing stored.
    for (reply, code) in [
        (
            sealed_reply(&key, case_id, position, "2026-11-16", "late"),
            "position_taken",
        ),
        (
            sealed_reply(&key, case_id, position + 1, "2026-11-15", "yesterday"),
            "day_changed",
        ),
    ] {
        let (status, error) = call(
            &service,
            bearer(post_json("/api/v1/mailbox/sealed/messages", reply), &token),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert_eq!(error["error"]["code"], code);
    }
    // Malformed: an id the server would not make, ciphertext too short to hold anything.
    let mut bad_id = sealed_reply(&key, case_id, position + 1, "2026-11-16", "x");
    bad_id["record_id"] = json!("../x");
    let mut short = sealed_reply(&key, case_id, position + 1, "2026-11-16", "x");
    short["sealed"] = json!(BASE64.encode(&[0u8; 40]));
    for (body, code) in [(bad_id, "invalid_id"), (short, "invalid_sealed")] {
        let (status, error) = call(
            &service,
            bearer(post_json("/api/v1/mailbox/sealed/messages", body), &token),
        )
        .await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code))
        );
    }
    // Without a session nothing is served.
    let (status, _) = call(&service, get("/api/v1/mailbox/sealed")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_wrong_proof_is_refused_like_an_unknown_key_and_an_erased_case_says_so() {
    let app = TestApp::new();
    let _staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(&service, confidential_concern("Sharps left out.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();

    // Right lookup id, another key's proof.
    let mut wrong = proof_sign_in(&case_key);
    wrong["proof"] =
        json!(HEXLOWER.encode(CaseKey::generate().mailbox_proof().unwrap().expose_bytes()));
    // A lookup id no case has.
    let unknown = proof_sign_in(&CaseKey::generate());
    for body in [wrong, unknown] {
        let (status, error) = call(&service, post_json("/api/v1/mailbox/session", body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
        assert_eq!(error["error"]["code"], "unknown_case_key");
    }
    // Not hex, the wrong length, or both forms at once.
    let mut short = proof_sign_in(&case_key);
    short["proof"] = json!("abcd");
    let mut both = proof_sign_in(&case_key);
    both["case_key"] = json!(typed);
    for body in [short, both] {
        let (status, error) = call(&service, post_json("/api/v1/mailbox/session", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    }

    // Once the content is erased, the right proof learns that; a wrong one still does not.
    app.execute_sql(&format!(
        "UPDATE cases SET erased_on = '2026-11-16' WHERE reference = '{reference}'"
    ));
    let (status, error) = call(
        &service,
        post_json("/api/v1/mailbox/session", proof_sign_in(&case_key)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "case_erased");
    let mut wrong = proof_sign_in(&case_key);
    wrong["proof"] = json!("00".repeat(32));
    let (_, error) = call(&service, post_json("/api/v1/mailbox/session", wrong)).await;
    assert_eq!(error["error"]["code"], "unknown_case_key");
}

#[actix_web::test]
async fn an_older_case_gets_its_proof_at_its_next_server_side_sign_in() {
    let app = TestApp::new();
    let _staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(&service, confidential_concern("Rotas are falsified.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    // As a case sent before proofs existed.
    app.execute_sql(&format!(
        "UPDATE cases SET mailbox_proof_hash = NULL WHERE reference = '{reference}'"
    ));
    let (status, error) = call(
        &service,
        post_json("/api/v1/mailbox/session", proof_sign_in(&case_key)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "mailbox_proof_not_set");
    // A wrong key does not set anything.
    let (status, _) = call(
        &service,
        post_json(
            "/api/v1/mailbox/session",
            json!({"case_key": CaseKey::generate().to_display_string().expose_secret()}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The server-side sign-in (the no-JavaScript way) stores the proof's hash ...
    let (status, _) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": typed})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // ... and from then on the browser signs in without the key.
    let (status, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", proof_sign_in(&case_key)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    // Only the hash is stored, never the proof.
    let proof = HEXLOWER.encode(case_key.mailbox_proof().unwrap().expose_bytes());
    assert!(!app.database_contains(&proof));
}

#[actix_web::test]
async fn racing_sealed_replies_get_distinct_positions_or_a_conflict() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(&service, confidential_concern("The hoist is broken.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let (status, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", proof_sign_in(&case_key)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = session["token"].as_str().unwrap().to_owned();
    let (_, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let (key, _) = open_mailbox(&case_key, &sealed);
    let case_id = sealed["case_id"].as_str().unwrap().to_owned();
    let position = sealed["next_position"].as_i64().unwrap();

    // Two tabs and a handler write at once, each sealed for the same next position.
    let portal = app.portal().clone();
    let message = |body: &str| {
        let record_id = random_id();
        let aad = Aad::new(&case_id, RecordKind::Message, &record_id).with_provenance(Provenance {
            author: "reporter",
            author_user_id: None,
            event_id: None,
            position,
            written_on: "2026-11-16",
        });
        SealedMessage {
            record_id: RecordId::from_stored(record_id.clone()),
            position: i32::try_from(position).unwrap(),
            written_on: time::macros::date!(2026 - 11 - 16),
            sealed: seal(&key, &aad, json!({ "body": body }).to_string().as_bytes()).unwrap(),
        }
    };
    let (first, second) = (message("first tab"), message("second tab"));
    let handler = crate::races::handler_for(&app, &staff.contacts[0]);
    let start = std::sync::Barrier::new(3);
    let outcomes = std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            start.wait();
            portal.sealed_reporter_message(&token, &first)
        });
        let b = scope.spawn(|| {
            start.wait();
            portal.sealed_reporter_message(&token, &second)
        });
        let c = scope.spawn(|| {
            start.wait();
            portal.handler_message(
                &handler,
                &reference,
                &Secret::new("From the ward manager.".to_owned()),
            )
        });
        (a.join().unwrap(), b.join().unwrap(), c.join().unwrap())
    });
    let (a, b, handler_sent) = outcomes;
    assert!(handler_sent.is_ok(), "{handler_sent:?}");
    let taken = [&a, &b]
        .iter()
        .filter(|outcome| {
            matches!(
                outcome,
                Err(ServiceError::Conflict {
                    code: "position_taken",
                    ..
                })
            )
        })
        .count();
    let stored: Vec<i32> = [&a, &b]
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok().copied())
        .collect();
    // At most one browser message took the position; every other writer was refused.
    assert_eq!(stored.len() + taken, 2, "{a:?} {b:?}");
    assert!(stored.len() <= 1);
    // Every record opens where it sits: positions are distinct and bound.
    let (_, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let positions: Vec<i64> = sealed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["position"].as_i64().unwrap())
        .collect();
    let mut distinct = positions.clone();
    distinct.dedup();
    assert_eq!(positions, distinct);
    let (_, opened) = open_mailbox(&case_key, &sealed);
    assert_eq!(opened.len(), 1 + stored.len());
    // A refused tab fetches the next position, seals again and gets in.
    if taken > 0 {
        let next = sealed["next_position"].as_i64().unwrap();
        let (status, _) = call(
            &service,
            bearer(
                post_json(
                    "/api/v1/mailbox/sealed/messages",
                    sealed_reply(&key, &case_id, next, "2026-11-16", "second tab again"),
                ),
                &token,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
}

#[actix_web::test]
async fn procedure_requests_from_the_browser_carry_sealed_words_and_tell_the_holders() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(&service, confidential_concern("Rotas are rewritten.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", proof_sign_in(&case_key)),
    )
    .await;
    let token = session["token"].as_str().unwrap().to_owned();
    let (_, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let (key, _) = open_mailbox(&case_key, &sealed);
    let case_id = sealed["case_id"].as_str().unwrap().to_owned();
    let position = sealed["next_position"].as_i64().unwrap();
    const WHY: &str = "Nothing has changed since I raised it; please investigate.";

    // Sealed for a position already gone: refused and nothing recorded.
    let stale = sealed_reply(&key, &case_id, position - 1, "2026-11-16", WHY);
    let (status, error) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/sealed/requests",
                json!({"type": "stage2", "message": stale}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "position_taken");

    let queued = outbox_rows(&app);
    let words = sealed_reply(&key, &case_id, position, "2026-11-16", WHY);
    let (status, receipt) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/sealed/requests",
                json!({"type": "stage2", "message": words}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["state"], "stage2");
    assert!(outbox_rows(&app) > queued, "the holders are told");
    assert!(!app.database_contains(WHY));

    // The new stage shows in the sealed mailbox; the words open in the browser and for the
    // handler.
    let (_, sealed) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    assert_eq!(sealed["state"], "stage2");
    let (_, opened) = open_mailbox(&case_key, &sealed);
    assert_eq!(
        opened.last().unwrap(),
        &("reporter".to_owned(), WHY.to_owned())
    );
    let handler = sign_in(&app, &service, &staff.contacts[0]).await;
    let (_, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &handler),
    )
    .await;
    assert!(case.to_string().contains(WHY), "{case}");

    // The letter the request adds: the server held no key to seal it, so it writes it on each
    // view from the step and its dates, word for word the letter a server-side session's
    // request seals (a second case asks the same on the same day).
    let request_letters = sealed["request_letters"].as_array().unwrap();
    assert_eq!(request_letters.len(), 1, "{sealed}");
    let derived = request_letters[0]["letter"].as_str().unwrap().to_owned();
    assert_eq!(request_letters[0]["written_on"], "2026-11-16");
    let (other_key, _) = raise(&service, confidential_concern("Rotas again.")).await;
    let (_, other) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": other_key})),
    )
    .await;
    let other_token = other["token"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/requests",
                json!({"type": "stage2", "message": "Same."}),
            ),
            &other_token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, other_mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &other_token)).await;
    let sealed_letter = other_mailbox["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sealed_letter.contains("You asked for your concern to be investigated"));
    assert_eq!(derived, sealed_letter);
    // A server-side sign-in to the first case shows the same letter after the reporter's words.
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": typed})),
    )
    .await;
    let server_token = session["token"].as_str().unwrap().to_owned();
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &server_token)).await;
    let bodies: Vec<&str> = mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies[bodies.len() - 2..],
        [WHY, derived.as_str()],
        "{mailbox}"
    );

    // Asking again is refused as for a server-side session; a detriment report needs no words.
    let (status, error) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/sealed/requests", json!({"type": "stage2"})),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "request_not_possible");
    let (status, receipt) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/sealed/requests",
                json!({"type": "detriment"}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    // A proof session cannot use the server-side request (the server could not seal the words).
    let (status, _) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "withdraw"})),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
