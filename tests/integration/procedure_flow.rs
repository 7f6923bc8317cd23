//! The Standards' procedure end to end through the API: receipt → stage 1 → extension →
//! stage 1 response → the reporter asks for stage 2 → acknowledgement → extension → update →
//! final decision, with the reporter seeing each step and ending with the right signposting.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::support::TestApp;

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

#[actix_web::test]
async fn a_concern_goes_from_receipt_to_a_final_decision_with_the_reporter_told_each_step() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    // Monday 16 November 2026.
    let (case_key, reference) = raise(
        &service,
        confidential_concern("Agency staff are not given fire training."),
    )
    .await;
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let events_uri = format!("/api/v1/cases/{reference}/events");
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);

    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let mut reporter = session["token"].as_str().unwrap().to_owned();

    // Stage 1: five working days, Monday to Friday.
    let (status, state) = call(&service, record(json!({"type": "stage1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["stage"], "stage1");
    assert_eq!(state["due"]["respond_by"], "2026-11-20");

    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &reporter)).await;
    assert_eq!(mailbox["stage"], "stage1");
    assert_eq!(mailbox["due"]["respond_by"], "2026-11-20");
    let letter = mailbox["messages"][0]["body"].as_str().unwrap();
    assert!(letter.contains("stage 1, early resolution"), "{letter}");
    assert!(letter.contains("Friday 20 November 2026"), "{letter}");

    // An extension past the stage 1 cap (10 working days: Friday 27 November) is refused.
    let (status, error) = call(
        &service,
        record(json!({"type": "extend", "until": "2026-12-01", "reason": "Witness away", "authorised_by": "Dr Head, Medical Director"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "extension_beyond_cap");
    // Missing the authoriser is refused too.
    let (status, _) = call(
        &service,
        record(json!({"type": "extend", "until": "2026-11-27", "reason": "Witness away"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, state) = call(
        &service,
        record(json!({"type": "extend", "until": "2026-11-27", "reason": "The ward manager is on leave until Monday.", "authorised_by": "Dr Head, Medical Director"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["due"]["respond_by"], "2026-11-27");
    assert_eq!(state["due"]["extended"], true);

    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &reporter)).await;
    let letter = mailbox["messages"][1]["body"].as_str().unwrap();
    assert!(
        letter.contains("new response date is Friday 27 November 2026"),
        "{letter}"
    );
    assert!(
        letter.contains("The ward manager is on leave until Monday."),
        "{letter}"
    );
    // The reporter is told who authorised it, as the handler entered it.
    assert!(letter.contains("authorised by Dr Head"), "{letter}");
    assert!(!letter.contains("A senior manager"), "{letter}");

    // Wednesday 25 November: the stage 1 response.
    app.clock.advance(days(9));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);
    let (status, state) = call(
        &service,
        record(json!({"type": "close", "outcome": "not_upheld", "findings": "Training records show all agency staff were trained."})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["state"], "stage1_closed");

    app.clock.advance(time::Duration::minutes(1));
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    reporter = session["token"].as_str().unwrap().to_owned();
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &reporter)).await;
    assert_eq!(mailbox["state"], "stage1_closed");
    let letter = mailbox["messages"][2]["body"].as_str().unwrap();
    assert!(letter.contains("not upheld"), "{letter}");
    assert!(
        letter.contains("ask for your concern to be investigated at stage 2"),
        "{letter}"
    );
    let signposts = mailbox["signposting"]
        .as_array()
        .expect("signposting after a stage 1 response");
    assert!(
        signposts
            .iter()
            .any(|s| s["body_name"].as_str().unwrap().contains("INWO")),
        "{signposts:?}"
    );

    // The reporter is not satisfied and asks for stage 2.
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/messages",
                json!({"body": "I was never trained. Please investigate."}),
            ),
            &reporter,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Thursday 26 November: stage 2. Acknowledge by day 3 (St Andrew's Day, Monday 30
    // November, is skipped): 26, 27, 1 Dec. Respond by day 20: Thursday 24 December.
    app.clock.advance(days(1));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);
    let (status, state) = call(
        &service,
        record(json!({"type": "stage2", "reason": "reporter_requested"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["due"]["acknowledge_by"], "2026-12-01");
    assert_eq!(state["due"]["respond_by"], "2026-12-24");

    // Friday 27 November: acknowledged (twice is refused).
    app.clock.advance(days(1));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);
    let (status, state) = call(&service, record(json!({"type": "acknowledge"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(state["due"]["acknowledge_by"].is_null());
    let (status, error) = call(&service, record(json!({"type": "acknowledge"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");

    // Refused: an extension earlier than the current due date, and an event dated tomorrow.
    let (status, error) = call(
        &service,
        record(
            json!({"type": "extend", "until": "2026-12-18", "reason": "r", "authorised_by": "a"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "extension_not_later");
    let (status, error) = call(
        &service,
        record(json!({"type": "update", "message": "x", "on": "2026-11-28"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "date_in_future");

    // Extension to Friday 15 January 2027; the reporter must then hear at least every 20
    // working days.
    let (status, state) = call(
        &service,
        record(json!({"type": "extend", "until": "2027-01-15", "reason": "We need to interview night staff over the holidays.", "authorised_by": "Dr Head"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["due"]["respond_by"], "2027-01-15");
    let update_by = state["due"]["update_by"].as_str().unwrap().to_owned();

    // Monday 14 December: an update resets the update clock.
    app.clock.advance(days(17));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);
    let (status, state) = call(
        &service,
        record(json!({"type": "update", "message": "We have spoken to six members of staff."})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(state["due"]["update_by"].as_str().unwrap() > update_by.as_str());

    // Wednesday 13 January 2027: the final decision.
    app.clock.advance(days(30));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let record = |body: Value| bearer(post_json(&events_uri, body), &cora);
    let (status, error) = call(
        &service,
        record(json!({"type": "close", "outcome": "upheld"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a stage 2 decision states findings: {error}"
    );
    let (status, state) = call(
        &service,
        record(json!({
            "type": "close", "outcome": "upheld",
            "findings": "Agency staff on nights were not booked onto fire training.",
            "actions": "Fire training is now part of agency induction.",
            "learning": "Agency induction now includes fire training.",
            "learning_publishable": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["state"], "stage2_closed");
    assert_eq!(state["status"], "closed");
    let (status, error) = call(
        &service,
        record(json!({"type": "close", "outcome": "upheld", "findings": "again"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");

    app.clock.advance(time::Duration::minutes(1));
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let reporter = session["token"].as_str().unwrap();
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), reporter)).await;
    assert_eq!(mailbox["status"], "closed");
    assert_eq!(mailbox["open"], false);
    let bodies: Vec<&str> = mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    // stage 1, extension, stage 1 response, the reporter's request, stage 2, acknowledgement,
    // extension, update, final decision.
    assert_eq!(bodies.len(), 9, "{bodies:#?}");
    let last = bodies[8];
    assert!(last.contains("final decision"), "{last}");
    assert!(last.contains("upheld"), "{last}");
    assert!(
        last.contains("Fire training is now part of agency induction."),
        "{last}"
    );
    assert!(last.contains("contact Cora Contact"), "{last}");
    let inwo = mailbox["signposting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["body_name"].as_str().unwrap().contains("INWO"))
        .expect("an NHS concern is signposted to the INWO");
    // Became aware 2 November 2026: the INWO's 12 months end the day before the anniversary.
    assert_eq!(inwo["deadline"], "2027-11-01");

    // The handler sees the whole timeline with the internal details.
    let (_, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &cora),
    )
    .await;
    let types: Vec<&str> = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "received",
            "stage1",
            "extend",
            "close",
            "stage2",
            "acknowledge",
            "extend",
            "update",
            "close"
        ]
    );
    assert_eq!(
        case["events"][2]["authorised_by"],
        "Dr Head, Medical Director"
    );
    assert_eq!(case["allowed_events"], json!([]));
}

#[actix_web::test]
async fn not_whistleblowing_is_recorded_and_signposted() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(
        &service,
        confidential_concern("My manager refused my leave."),
    )
    .await;
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let uri = format!("/api/v1/cases/{reference}/events");
    let (status, error) = call(
        &service,
        bearer(
            post_json(&uri, json!({"type": "not_whistleblowing"})),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, state) = call(
        &service,
        bearer(post_json(&uri, json!({"type": "not_whistleblowing", "not_whistleblowing": "grievance", "reason": "It is about your own leave."})), &cora),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    assert_eq!(state["status"], "not_whistleblowing");
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let (_, mailbox) = call(
        &service,
        bearer(get("/api/v1/mailbox"), session["token"].as_str().unwrap()),
    )
    .await;
    assert!(
        mailbox["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains("grievance")
    );
    let signposting = mailbox["signposting"].to_string();
    assert!(
        signposting.to_lowercase().contains("grievance"),
        "{signposting}"
    );
}

#[actix_web::test]
async fn only_holders_record_events_and_bad_requests_are_4xx() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, reference) = raise(&service, confidential_concern("Event access test")).await;
    let ivy = sign_in(&app, &service, &staff.investigator).await;
    let uri = format!("/api/v1/cases/{reference}/events");
    let (status, _) = call(
        &service,
        bearer(post_json(&uri, json!({"type": "stage1"})), &ivy),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    for body in [
        json!({"type": "promote"}),
        json!({"type": "extend", "until": "next week"}),
        json!({"type": "close", "outcome": "sort_of"}),
        json!({"type": "received"}),
        json!({"type": "close", "outcome": "upheld"}),
    ] {
        let (status, error) = call(&service, bearer(post_json(&uri, body.clone()), &cora)).await;
        assert!(status.is_client_error(), "{body}: {status} {error}");
        assert!(error["error"]["code"].is_string());
    }
}
