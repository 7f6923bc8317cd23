//! Promises that must hold against people with console accounts: the whistleblowing champion
//! sees figures and overdue references only; admins and other handlers cannot read new concerns.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::console_pages::{app, open, signed_in, submit};
use speakup::model::Role;

#[actix_web::test]
async fn the_champion_sees_reports_and_overdue_references_but_never_a_concern() {
    let app = app();
    let staff = app.staff();
    let champion = app.add_person(
        &staff.organisation,
        "chris@testshire.scot",
        "Chris Champion",
        Role::Champion,
        false,
    );
    let api = app.service().await;
    let (_, late) = raise(&api, confidential_concern("Nobody answered this one.")).await;
    // Monday 16 → Monday 23 November: six working days, past the five allowed at stage 1.
    app.clock.advance(time::Duration::days(7));
    let (_, fresh) = raise(&api, confidential_concern("Sent today.")).await;

    let mut browser = signed_in(&app, app.service().await, &champion).await;
    let home = open(&mut browser, "/console").await;
    assert!(
        home.text().contains("Whistleblowing champion"),
        "{}",
        home.text()
    );
    assert!(home.text().contains("cannot read concerns"));
    assert!(home.body.contains("href=\"/console/oversight\""));
    assert!(home.body.contains("href=\"/console/reports\""));
    assert!(!home.body.contains("href=\"/console/admin/users\""));

    let oversight = open(&mut browser, "/console/oversight").await;
    assert_eq!(oversight.status, StatusCode::OK, "{}", oversight.text());
    let text = oversight.text();
    assert!(text.contains(&late), "{text}");
    assert!(!text.contains(&fresh), "not overdue yet: {text}");
    assert!(text.contains("Full response"), "{text}");
    assert!(!text.contains("Nobody answered"), "{text}");
    assert!(!text.contains("Rhona"), "{text}");

    let reports = open(&mut browser, "/console/reports").await;
    assert_eq!(reports.status, StatusCode::OK, "{}", reports.text());

    for page in [
        format!("/console/cases/{late}"),
        "/console/admin/users".to_owned(),
        "/console/admin/holidays".to_owned(),
    ] {
        let answer = open(&mut browser, &page).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{page}");
        assert!(!answer.text().contains("Nobody answered"));
    }

    // The lead is the executive lead only, and has no oversight page.
    let mut lead = signed_in(&app, app.service().await, &staff.lead).await;
    let home = open(&mut lead, "/console").await;
    assert!(home.text().contains("Executive lead"), "{}", home.text());
    assert!(!home.text().contains("champion"), "{}", home.text());
    assert_eq!(
        open(&mut lead, "/console/oversight").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_person_the_reporter_left_out_can_never_be_granted_the_case() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let mut concern = confidential_concern("Please keep Colm out of this.");
    concern["exclude"] = json!([colm.id]);
    let (_, reference) = raise(&api, concern).await;
    let token = sign_in(&app, &api, cora).await;
    for body in [
        json!({"user": colm.email}),
        json!({"user": colm.email, "identity": true}),
    ] {
        let (status, answer) = call(
            &api,
            bearer(
                post_json(&format!("/api/v1/cases/{reference}/grants"), body),
                &token,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_eq!(answer["error"]["code"], "excluded_by_reporter");
    }
    // Nor through the console form.
    let mut browser = signed_in(&app, app.service().await, cora).await;
    let case_uri = format!("/console/cases/{reference}");
    open(&mut browser, &case_uri).await;
    let refused = submit(
        &mut browser,
        &format!("{case_uri}/grants"),
        &[("email", &colm.email)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert!(
        refused.text().contains("should not read it"),
        "{}",
        refused.text()
    );
    // Colm still cannot open it; the investigator, whom nobody excluded, can be granted it.
    let colm_token = sign_in(&app, &api, colm).await;
    let (status, _) = call(
        &api,
        bearer(get(&format!("/api/v1/cases/{reference}")), &colm_token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = call(
        &api,
        bearer(
            post_json(
                &format!("/api/v1/cases/{reference}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// Signs into the mailbox with the case key and answers the one pending identity request.
pub async fn reporter_answers<S, B>(service: &S, case_key: &str, decision: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, session) = call(
        service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let (_, mailbox) = call(service, bearer(get("/api/v1/mailbox"), &token)).await;
    let requests = mailbox["identity_requests"].as_array().unwrap().clone();
    assert_eq!(requests.len(), 1, "{mailbox}");
    let id = requests[0]["id"].as_str().unwrap();
    let (status, answer) = call(
        service,
        bearer(
            post_json(
                &format!("/api/v1/mailbox/identity-requests/{id}"),
                json!({"decision": decision}),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, mailbox) = call(service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(mailbox["identity_requests"], json!([]), "answered once");
    requests[0].clone()
}

#[actix_web::test]
async fn the_identity_goes_to_a_new_holder_only_with_the_reporters_consent() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (case_key, reference) = raise(&api, confidential_concern("Rota fiddling on ward 9.")).await;
    let case_uri = format!("/api/v1/cases/{reference}");
    let cora = sign_in(&app, &api, &staff.contacts[0]).await;
    let ivy_person = &staff.investigator;
    let ivy = sign_in(&app, &api, ivy_person).await;
    let ask = |reason: &'static str| {
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": ivy_person.email, "identity": true, "reason": reason}),
            ),
            &cora,
        )
    };
    let (status, answer) = call(&api, ask("Ivy needs to interview you.")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (_, case) = call(&api, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(case["concern"], "Rota fiddling on ward 9.");
    assert!(case["identity"].is_null(), "{case}");

    // The reporter says no: nothing changes for Ivy.
    let request = reporter_answers(&api, &case_key, "decline").await;
    assert_eq!(request["to_name"], "Ivy Investigator");
    assert_eq!(request["to_role"], "Ivy Investigator's job");
    assert_eq!(request["reason"], "Ivy needs to interview you.");
    let (_, case) = call(&api, bearer(get(&case_uri), &ivy)).await;
    assert!(case["identity"].is_null(), "{case}");

    // Asked again, the reporter agrees through the HTML mailbox, without JavaScript.
    let (status, answer) = call(&api, ask("Please, it matters.")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut browser = Browser::new(app.service().await);
    let sign_in_page = browser.get("/mailbox").await;
    let signed = browser
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &sign_in_page.csrf()), ("case_key", &case_key)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let mailbox = browser.get("/mailbox").await;
    assert!(
        mailbox.text().contains("Please, it matters."),
        "{}",
        mailbox.text()
    );
    let marker = "action=\"/mailbox/identity-requests/";
    let start = mailbox.body.find(marker).expect("an answer form") + marker.len();
    let id = &mailbox.body[start..start + mailbox.body[start..].find('"').unwrap()];
    let approved = browser
        .post_form(
            &format!("/mailbox/identity-requests/{id}"),
            &[("csrf", &mailbox.csrf()), ("decision", "approve")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let (_, case) = call(&api, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(case["identity"]["name"], "Rhona Reporter", "{case}");
    // An answered request cannot be answered again.
    let again = browser
        .post_form(
            &format!("/mailbox/identity-requests/{id}"),
            &[("csrf", &mailbox.csrf()), ("decision", "decline")],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}
