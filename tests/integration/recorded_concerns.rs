//! Concerns raised outside the portal (in person, by phone, e-mail, letter, to a line manager),
//! recorded by a contact: dated the day they were raised, readable by the same people, counted
//! by channel, and followed by the reporter in the mailbox with the key the contact hands over.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::api_client::{bearer, call, get, post_json, sign_in};
use crate::console_pages::{open, signed_in, submit};
use crate::support::TestApp;

fn many_sign_ins() -> TestApp {
    TestApp::with_settings(|settings| settings.handler_sign_ins_per_minute = 10_000)
}

fn phoned_in(received_on: &str) -> serde_json::Value {
    json!({
        "organisation": "nhs-testshire",
        "service": "nhs",
        "anonymity": "confidential",
        "identity": {"name": "Pat Porter", "contact": "07700 900123"},
        "concern": "PHONED-CANARY: the hoist on Ward 2 is broken.",
        "received_on": received_on,
        "channel": "phone",
    })
}

#[actix_web::test]
async fn a_contact_records_a_phoned_in_concern_dated_the_day_it_was_raised() {
    let app = many_sign_ins();
    let staff = app.staff();
    let service = app.service().await;
    let ivy = sign_in(&app, &service, &staff.investigator).await;
    // Tuesday 10 November, six days before today.
    let (status, recorded) = call(
        &service,
        bearer(post_json("/api/v1/cases", phoned_in("2026-11-10")), &ivy),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    let reference = recorded["reference"].as_str().unwrap().to_owned();
    let case_key = recorded["case_key"].as_str().unwrap().to_owned();
    assert!(!app.database_contains(&case_key));
    assert!(!app.database_contains("PHONED-CANARY"));

    // The recorder and both intake contacts read it; its clock ran from the 10th: day 5 is
    // Monday 16 November.
    for person in [&staff.investigator, &staff.contacts[0], &staff.contacts[1]] {
        let token = sign_in(&app, &service, person).await;
        let (status, case) = call(
            &service,
            bearer(get(&format!("/api/v1/cases/{reference}")), &token),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", person.email);
        assert!(case["concern"].as_str().unwrap().contains("PHONED-CANARY"));
        assert_eq!(case["events"][0]["on"], "2026-11-10", "{case}");
    }
    // The reporter follows it with the key.
    let (status, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mailbox) = call(
        &service,
        bearer(get("/api/v1/mailbox"), session["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(mailbox["reference"], reference.as_str());
    assert_eq!(mailbox["due"]["respond_by"], "2026-11-16", "{mailbox}");

    // Counted by channel in the board figures.
    app.portal()
        .update_organisation_settings("nhs-testshire", None, None, Some(true))
        .unwrap();
    let lead = sign_in(&app, &service, &staff.lead).await;
    let (_, board) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4&version=board"),
            &lead,
        ),
    )
    .await;
    assert_eq!(board["received"], 1);
    assert_eq!(board["received_by_channel"]["phone"], 1);
    assert_eq!(board["received_by_channel"]["portal"], 0);

    // Refused: a day in the future, the portal as a channel, unknown fields, and anyone who
    // may not hold cases.
    for body in [
        phoned_in("2026-11-17"),
        {
            let mut portal = phoned_in("2026-11-10");
            portal["channel"] = json!("portal");
            portal
        },
        {
            let mut extra = phoned_in("2026-11-10");
            extra["recorded_by"] = json!("someone");
            extra
        },
    ] {
        let (status, answer) = call(&service, bearer(post_json("/api/v1/cases", body), &ivy)).await;
        assert!(status.is_client_error(), "{status} {answer}");
    }
    for person in [&staff.lead, &staff.admin] {
        let token = sign_in(&app, &service, person).await;
        let (status, _) = call(
            &service,
            bearer(post_json("/api/v1/cases", phoned_in("2026-11-10")), &token),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", person.email);
    }
    let (status, _) = call(
        &service,
        post_json("/api/v1/cases", phoned_in("2026-11-10")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn the_console_form_prints_a_letter_with_the_key_once() {
    let app = many_sign_ins();
    let staff = app.staff();
    let mut browser = signed_in(&app, app.service().await, &staff.contacts[0]).await;
    let form = open(&mut browser, "/console/record").await;
    assert_eq!(form.status, StatusCode::OK);
    let refused = submit(
        &mut browser,
        "/console/record",
        &[
            ("channel", "letter"),
            ("received_on", "30 February 2026"),
            ("service", "nhs"),
            ("anonymity", "anonymous"),
            ("concern", "Kept when refused."),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("Kept when refused."));
    let recorded = submit(
        &mut browser,
        "/console/record",
        &[
            ("channel", "letter"),
            ("received_on", "12/11/2026"),
            ("service", "nhs"),
            ("anonymity", "anonymous"),
            ("concern", "A letter about the night rota."),
        ],
    )
    .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.text());
    let text = recorded.text();
    assert!(text.contains("Your case key is"), "{text}");
    assert!(text.contains("Thursday 12 November 2026"), "{text}");
    assert!(text.contains("https://speakup.test/mailbox"), "{text}");
}

#[actix_web::test]
async fn only_people_who_hold_cases_may_record() {
    let app = many_sign_ins();
    let staff = app.staff();
    for person in [&staff.lead, &staff.admin] {
        let mut browser = signed_in(&app, app.service().await, person).await;
        let page = open(&mut browser, "/console/record").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", person.email);
    }
}
