//! Concerns sealed by the client (issue 14): the test plays the browser with the native crypto
//! core (the WebAssembly build is the same source, cross-checked by the vectors), so these run
//! against the real HTTP app and database on SQLite and PostgreSQL.

use actix_web::http::StatusCode;
use data_encoding::{BASE64, HEXLOWER};
use serde_json::{Value, json};
use speakup::crypto::{
    Aad, CaseKey, DataKey, KeyKind, Provenance, PublicKey, RecordKind, WrapContext, random_id,
    seal, wrap_key,
};

use crate::api_client::{bearer, call, get, post_json, sign_in};
use crate::support::TestApp;

const TEXT: &str = "The agency invoices for ward 7 were signed off twice, by the same manager.";

/// What the browser sends, built as static/reporter.js builds it.
struct Sealing {
    case_key: CaseKey,
    body: Value,
}

fn public_key(hex: &Value) -> PublicKey {
    let bytes = HEXLOWER.decode(hex.as_str().unwrap().as_bytes()).unwrap();
    PublicKey::from_bytes(bytes.try_into().unwrap())
}

fn sealed_record(
    key: &DataKey,
    case_id: &str,
    record_id: &str,
    kind: RecordKind,
    position: i64,
    today: &str,
    value: &Value,
) -> String {
    let aad = Aad::new(case_id, kind, record_id).with_provenance(Provenance {
        author: "reporter",
        author_user_id: None,
        event_id: None,
        position,
        written_on: today,
    });
    BASE64.encode(&seal(key, &aad, value.to_string().as_bytes()).unwrap())
}

/// Seals a concern to the keys the portal publishes, leaving out `exclude` (contact ids).
fn seal_concern(keys: &Value, exclude: &[&str], identity: Option<Value>) -> Sealing {
    let case_key = CaseKey::generate();
    let reporter = case_key.reporter_key_pair().unwrap();
    let case_id = random_id();
    let today = keys["today"].as_str().unwrap();
    let case_data_key = DataKey::generate();
    let identity_key = DataKey::generate();
    let wrap = |key: &DataKey, to: &PublicKey, kind: KeyKind| {
        BASE64.encode(&wrap_key(key, to, &WrapContext::new(&case_id, kind)).unwrap())
    };
    let mut wraps = vec![json!({"recipient": "reporter", "kind": "case",
        "wrapped": wrap(&case_data_key, &reporter.public, KeyKind::Case)})];
    for contact in keys["contacts"].as_array().unwrap() {
        let id = contact["id"].as_str().unwrap();
        if exclude.contains(&id) {
            continue;
        }
        let to = public_key(&contact["public_key"]);
        wraps.push(json!({"recipient": id, "kind": "case", "wrapped": wrap(&case_data_key, &to, KeyKind::Case)}));
        if identity.is_some() {
            wraps.push(json!({"recipient": id, "kind": "identity", "wrapped": wrap(&identity_key, &to, KeyKind::Identity)}));
        }
    }
    if let Some(recovery) = keys["recovery_public_key"].as_str() {
        let to = public_key(&json!(recovery));
        wraps.push(json!({"recipient": "recovery", "kind": "case", "wrapped": wrap(&case_data_key, &to, KeyKind::Case)}));
    }
    let concern_record = random_id();
    let mut body = json!({
        "organisation": "nhs-testshire",
        "service": "nhs",
        "anonymity": if identity.is_some() { "confidential" } else { "anonymous" },
        "became_aware_on": "2026-10-01",
        "exclude": exclude,
        "case_id": case_id,
        "received_on": today,
        "lookup_id": HEXLOWER.encode(&case_key.lookup_id()),
        "reporter_public_key": HEXLOWER.encode(reporter.public.as_bytes()),
        "concern": {"record_id": concern_record, "sealed": sealed_record(
            &case_data_key, &case_id, &concern_record, RecordKind::Concern, 1, today,
            &json!({"text": TEXT, "excluded": exclude}))},
        "wraps": wraps,
    });
    if let Some(identity) = identity {
        let record = random_id();
        body["identity"] = json!({"record_id": record, "sealed": sealed_record(
            &identity_key, &case_id, &record, RecordKind::Identity, 2, today, &identity)});
    }
    Sealing { case_key, body }
}

#[actix_web::test]
async fn a_concern_sealed_in_the_browser_is_read_by_the_contacts_it_was_sealed_to() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);

    let (status, keys) = call(
        &service,
        get("/api/v1/organisations/nhs-testshire/intake-keys"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    assert_eq!(keys["today"], "2026-11-16");
    assert_eq!(keys["contacts"].as_array().unwrap().len(), 2);
    assert!(keys["contacts"][0]["public_key"].as_str().unwrap().len() == 64);
    let (status, missing) = call(
        &service,
        get("/api/v1/organisations/nhs-nowhere/intake-keys"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    let identity = json!({"name": "Dana Reporter", "contact": "07700 900123"});
    let sealing = seal_concern(&keys, &[colm.id.as_str()], Some(identity));
    let (status, receipt) = call(
        &service,
        post_json("/api/v1/concerns/sealed", sealing.body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let reference = receipt["reference"].as_str().unwrap();
    assert!(receipt.get("case_key").is_none());
    assert!(!app.database_contains(TEXT) && !app.database_contains("Dana Reporter"));

    // Cora was sealed to: she reads the concern and the identity. Colm was left out.
    let token = sign_in(&app, &service, cora).await;
    let (status, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["concern"], TEXT);
    assert_eq!(case["identity"]["name"], "Dana Reporter");
    let token = sign_in(&app, &service, colm).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The case key made by the client opens the mailbox (here the no-JavaScript way).
    let key = sealing.case_key.to_display_string();
    let (status, session) = call(
        &service,
        post_json(
            "/api/v1/mailbox/session",
            json!({"case_key": key.expose_secret()}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, mailbox) = call(
        &service,
        bearer(get("/api/v1/mailbox"), session["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mailbox}");
    assert_eq!(mailbox["reference"], reference);

    // The same sealed concern again is not a second case.
    let (status, error) = call(&service, post_json("/api/v1/concerns/sealed", sealing.body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "already_sent");
}

#[actix_web::test]
async fn the_server_refuses_sealed_concerns_it_could_not_deliver_as_promised() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, keys) = call(
        &service,
        get("/api/v1/organisations/nhs-testshire/intake-keys"),
    )
    .await;
    let colm = staff.contacts[1].id.as_str();
    let refused = |mut body: Value, change: &dyn Fn(&mut Value)| {
        change(&mut body);
        body
    };
    let base = || seal_concern(&keys, &[], None).body;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        // A contact silently dropped from the wraps (not excluded as the reporter chose).
        (
            refused(base(), &|b| {
                let wraps = b["wraps"].as_array_mut().unwrap();
                wraps.retain(|w| w["recipient"] != colm);
            }),
            StatusCode::BAD_REQUEST,
            "wraps_mismatch",
        ),
        // A key wrapped to someone who is not an intake contact.
        (
            refused(base(), &|b| {
                let extra = b["wraps"][0].clone();
                let mut extra = extra;
                extra["recipient"] = json!(staff.lead.id);
                b["wraps"].as_array_mut().unwrap().push(extra);
            }),
            StatusCode::BAD_REQUEST,
            "wraps_mismatch",
        ),
        // Sealed for another day.
        (
            refused(base(), &|b| b["received_on"] = json!("2026-11-15")),
            StatusCode::CONFLICT,
            "day_changed",
        ),
        // A name in an anonymous concern.
        (
            refused(base(), &|b| b["identity"] = b["concern"].clone()),
            StatusCode::BAD_REQUEST,
            "identity_not_expected",
        ),
        // An id the server would never make.
        (
            refused(base(), &|b| b["case_id"] = json!("../case")),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        // A low-order reporter key.
        (
            refused(base(), &|b| {
                b["reporter_public_key"] = json!("00".repeat(32))
            }),
            StatusCode::BAD_REQUEST,
            "invalid_reporter_key",
        ),
        // Ciphertext too short to hold anything.
        (
            refused(base(), &|b| {
                b["concern"]["sealed"] = json!(BASE64.encode(&[0u8; 40]))
            }),
            StatusCode::BAD_REQUEST,
            "invalid_sealed",
        ),
        // Not base64.
        (
            refused(base(), &|b| b["wraps"][0]["wrapped"] = json!("not base64!")),
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
        ),
        // Everyone excluded.
        (
            refused(
                seal_concern(&keys, &[staff.contacts[0].id.as_str(), colm], None).body,
                &|_| {},
            ),
            StatusCode::BAD_REQUEST,
            "no_readers_left",
        ),
    ];
    for (body, status, code) in cases {
        let (got, error) = call(&service, post_json("/api/v1/concerns/sealed", body)).await;
        assert_eq!(
            (got, error["error"]["code"].as_str()),
            (status, Some(code)),
            "{error}"
        );
    }
    // The same concern, well formed, goes through.
    let (status, receipt) = call(&service, post_json("/api/v1/concerns/sealed", base())).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
}
