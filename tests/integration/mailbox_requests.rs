//! What a reporter can ask for from the mailbox: stage 2 (the clock starts that day), withdrawal,
//! and reports of detriment that reach the champion; the mailbox never shuts them out.

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use speakup::model::Role;
use speakup::store::outbox;

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::support::{Person, TestApp};

fn many_sign_ins() -> TestApp {
    TestApp::with_settings(|settings| settings.handler_sign_ins_per_minute = 10_000)
}

/// Every notice queued so far, as (recipient, kind, subject + body).
fn queued(app: &TestApp) -> Vec<(String, String, String)> {
    let far = time::macros::datetime!(2100-01-01 00:00);
    app.portal()
        .store
        .write(|tx| outbox::claim_due(tx, far, 1000))
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.kind, format!("{}\n{}", m.subject, m.body)))
        .collect()
}

async fn mailbox_token<S, B>(service: &S, case_key: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, session) = call(
        service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

async fn record<S, B>(app: &TestApp, service: &S, person: &Person, reference: &str, body: Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let token = sign_in(app, service, person).await;
    let (status, answer) = call(
        service,
        bearer(
            post_json(&format!("/api/v1/cases/{reference}/events"), body),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[actix_web::test]
async fn asking_for_stage_2_after_a_stage_1_response_starts_the_clock_that_day() {
    let app = many_sign_ins();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Rota gaps.")).await;
    let cora = &staff.contacts[0];
    record(&app, &service, cora, &reference, json!({"type": "stage1"})).await;
    app.clock.advance(time::Duration::days(2));
    record(
        &app,
        &service,
        cora,
        &reference,
        json!({"type": "close", "outcome": "not_upheld"}),
    )
    .await;
    queued(&app);

    // Thursday 19 November: the reporter is not happy and asks from the mailbox.
    app.clock.advance(time::Duration::days(1));
    let token = mailbox_token(&service, &case_key).await;
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(mailbox["state"], "stage1_closed");
    let why = "WHY-CANARY the rota is still short";
    let (status, receipt) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/requests",
                json!({"type": "stage2", "message": why}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(
        receipt,
        json!({"type": "stage2", "requested_on": "2026-11-19", "state": "stage2"})
    );
    // The stage 2 clock runs from the day of the request: acknowledge by day 3 (Mon 23 Nov),
    // respond by day 20 (Thu 17 Dec: St Andrew's Day, Mon 30 Nov, is not a working day).
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(mailbox["stage"], "stage2");
    assert_eq!(mailbox["due"]["acknowledge_by"], "2026-11-23");
    assert_eq!(mailbox["due"]["respond_by"], "2026-12-17");
    let letters: Vec<&str> = mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(
        letters
            .iter()
            .any(|body| body.contains("You asked for your concern to be investigated")),
        "{letters:?}"
    );

    // The handler reads why, and sees the event dated the day of the request.
    let cora_token = sign_in(&app, &service, cora).await;
    let (_, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &cora_token),
    )
    .await;
    assert!(case.to_string().contains(why), "{case}");
    assert!(
        case["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "stage2" && e["on"] == "2026-11-19"),
        "{case}"
    );
    // The holders are told, without content; nobody else is.
    let notices = queued(&app);
    assert!(!notices.is_empty());
    for (recipient, kind, text) in &notices {
        assert_eq!(kind, "reporter_request");
        assert!(recipient == &cora.email || recipient == &staff.contacts[1].email);
        assert!(!text.contains("WHY-CANARY"));
    }
    assert!(!app.database_contains("WHY-CANARY"));

    // The stage 2 acknowledgement tells the reporter what will be investigated and by whom.
    record(
        &app,
        &service,
        cora,
        &reference,
        json!({"type": "acknowledge", "points": "1. Night rota on Ward 3."}),
    )
    .await;
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    let acknowledgement = mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|body| body.contains("look into these points"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        acknowledgement.contains("1. Night rota on Ward 3.")
            && acknowledgement.contains("Your contact for the investigation is Cora Contact"),
        "{mailbox}"
    );

    // Asking again is refused in plain words.
    let (status, refused) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "stage2"})),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "request_not_possible");
    // Unknown fields and kinds are refused.
    for body in [
        json!({"type": "stage3"}),
        json!({"type": "detriment", "extra": 1}),
    ] {
        let (status, _) = call(
            &service,
            bearer(post_json("/api/v1/mailbox/requests", body), &token),
        )
        .await;
        assert!(status.is_client_error(), "{status}");
    }
}

#[actix_web::test]
async fn a_withdrawn_concern_keeps_its_mailbox_and_points_to_the_inwo() {
    let app = many_sign_ins();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Unsafe lifting.")).await;
    record(
        &app,
        &service,
        &staff.contacts[0],
        &reference,
        json!({"type": "stage1"}),
    )
    .await;
    // A handler cannot withdraw a concern without a reason on record.
    let token = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, refused) = call(
        &service,
        bearer(
            post_json(
                &format!("/api/v1/cases/{reference}/events"),
                json!({"type": "withdraw"}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    let mailbox = mailbox_token(&service, &case_key).await;
    let (status, receipt) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "withdraw"})),
            &mailbox,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["state"], "withdrawn");
    let (_, view) = call(&service, bearer(get("/api/v1/mailbox"), &mailbox)).await;
    assert_eq!(view["status"], "withdrawn");
    let signposts = view["signposting"].to_string();
    assert!(
        signposts.contains("Independent National Whistleblowing Officer"),
        "{signposts}"
    );
    // The reporter can still write, and is still protected.
    let (status, _) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/messages", json!({"body": "Thank you."})),
            &mailbox,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "withdraw"})),
            &mailbox,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "detriment"})),
            &mailbox,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[actix_web::test]
async fn detriment_reaches_the_champion_by_reference_only_and_is_counted() {
    let app = many_sign_ins();
    let staff = app.staff();
    let champion = app.add_person(
        "nhs-testshire",
        "chris@testshire.scot",
        "Chris Champion",
        Role::Champion,
        false,
    );
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Falsified notes.")).await;
    queued(&app);
    let mailbox = mailbox_token(&service, &case_key).await;
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/requests",
                json!({"type": "detriment", "message": "HARM-CANARY moved to nights"}),
            ),
            &mailbox,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let notices = queued(&app);
    let to_champion: Vec<_> = notices
        .iter()
        .filter(|(recipient, _, _)| recipient == &champion.email)
        .collect();
    assert_eq!(to_champion.len(), 1, "{notices:?}");
    assert_eq!(to_champion[0].1, "detriment_report");
    assert!(to_champion[0].2.contains(&reference));
    assert!(
        notices
            .iter()
            .all(|(_, _, text)| !text.contains("HARM-CANARY"))
    );
    // The state did not change.
    let (_, view) = call(&service, bearer(get("/api/v1/mailbox"), &mailbox)).await;
    assert_eq!(view["state"], "received");

    // The champion's oversight page lists it by reference and date, without its words.
    let listed = app
        .portal()
        .detriment_reports(&signed_in_handler(&app, &champion))
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reference, reference);
    assert_eq!(listed[0].reported_on.to_string(), "2026-11-16");
    // Nobody else may see that list.
    assert!(
        app.portal()
            .detriment_reports(&signed_in_handler(&app, &staff.lead))
            .is_err()
    );

    // The board figures count it (the board version shows it exactly).
    app.portal()
        .update_organisation_settings("nhs-testshire", None, None, Some(true))
        .unwrap();
    let lead = sign_in(&app, &service, &staff.lead).await;
    let (status, board) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4&version=board"),
            &lead,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["detriment_reports"], 1);
    let (_, published) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4"),
            &lead,
        ),
    )
    .await;
    assert_eq!(published["detriment_reports"], "fewer than 5");
}

/// Two requests for stage 2 at once (a double click, two tabs): one is recorded.
#[actix_web::test]
async fn racing_requests_record_one_event() {
    let app = many_sign_ins();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Two tabs.")).await;
    record(
        &app,
        &service,
        &staff.contacts[0],
        &reference,
        json!({"type": "stage1"}),
    )
    .await;
    let token = mailbox_token(&service, &case_key).await;
    let portal = app.portal().clone();
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let portal = portal.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                portal.reporter_request(&token, speakup::model::RequestKind::Stage2, None)
            })
        })
        .collect();
    let results: Vec<_> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (_, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &cora),
    )
    .await;
    let stage2_events = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "stage2")
        .count();
    assert_eq!(stage2_events, 1, "{case}");
}

fn signed_in_handler(app: &TestApp, person: &Person) -> speakup::service::sessions::Handler {
    let code = crate::api_client::totp_code(app, person);
    let signed_in = app
        .portal()
        .sign_in(
            &person.email,
            &speakup::crypto::Secret::new(person.password.clone()),
            &code,
        )
        .unwrap();
    app.portal()
        .authenticate(signed_in.token.expose_secret())
        .unwrap()
}
