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

/// User recipients of every case key wrap of the case with this reference.
fn readers_of(app: &crate::support::TestApp, reference: &str) -> Vec<String> {
    use speakup::crypto::KeyKind;
    use speakup::store::wraps::Recipient;
    app.portal()
        .store
        .read(|tx| {
            let case = speakup::store::cases::find_by_reference(tx, reference)?.unwrap();
            speakup::store::wraps::for_case(tx, &case.id)
        })
        .unwrap()
        .into_iter()
        .filter(|wrap| wrap.key_kind == KeyKind::Case)
        .filter_map(|wrap| match wrap.recipient {
            Recipient::User(id) => Some(id.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

pub(crate) fn outbox_bodies_to(app: &crate::support::TestApp, email: &str) -> Vec<String> {
    use diesel::prelude::*;
    use speakup::store::schema::outbox;
    app.portal()
        .store
        .read(|tx| {
            outbox::table
                .filter(outbox::recipient.eq(email))
                .select(outbox::body)
                .load::<String>(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap()
}

/// An admin acting alone, through every console page and API route open to them, cannot make a
/// new concern readable to any key they control: accounts they add or reset are finished by
/// the person through an e-mailed link they never see, and intake changes wait for a second
/// person.
#[actix_web::test]
async fn a_malicious_admin_cannot_make_new_concerns_readable_to_themselves() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let ada = sign_in(&app, &api, &staff.admin).await;
    let as_ada = |request| bearer(request, &ada);

    // Unknown fields (a password, say) are refused outright.
    let (status, answer) = call(
        &api,
        as_ada(post_json(
            "/api/v1/admin/users",
            json!({"email": "mole@testshire.scot", "name": "Mole", "role": "contact",
                   "password": "chosen by the admin"}),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // 1. A new intake contact of the admin's own making: pending, invisible, not wrapped to.
    let (status, created) = call(
        &api,
        as_ada(post_json(
            "/api/v1/admin/users",
            json!({"email": "mole@testshire.scot", "name": "Mole", "role": "contact", "intake": true}),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mole = created["id"].as_str().unwrap().to_owned();
    assert!(!created.to_string().contains("/enrol/"));

    // 2. Reset an intake contact: the admin sees no password, TOTP secret or link.
    let (status, reset) = call(
        &api,
        as_ada(post_json(
            &format!("/api/v1/admin/users/{}/reset", cora.id),
            json!({}),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reset}");
    for secret in ["otpauth", "/enrol/", "password"] {
        assert!(!reset.to_string().contains(secret), "{reset}");
    }
    // The link went to Cora's own address only.
    assert!(
        outbox_bodies_to(&app, &cora.email)
            .iter()
            .any(|body| body.contains("/enrol/"))
    );
    // Through the console too.
    let mut console = signed_in(&app, app.service().await, &staff.admin).await;
    let users = open(&mut console, "/console/admin/users").await;
    for secret in ["otpauth", "/enrol/"] {
        assert!(!users.body.contains(secret));
    }

    // 3. Put an existing contact (Colm is already on) and the new one on the list, then try to
    //    approve it themself.
    let (status, _) = call(
        &api,
        as_ada(post_json(
            "/api/v1/admin/intake",
            json!({"user": mole, "on": true}),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, pending) = call(&api, as_ada(get("/api/v1/admin/approvals"))).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|approval| approval["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"intake_join") && kinds.contains(&"intake_key_reset"),
        "{pending}"
    );
    for approval in pending.as_array().unwrap() {
        let (status, answer) = call(
            &api,
            as_ada(post_json(
                &format!(
                    "/api/v1/admin/approvals/{}",
                    approval["id"].as_str().unwrap()
                ),
                json!({"decision": "approve"}),
            )),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(answer["error"]["code"], "own_request");
    }
    // 4. A second admin of the admin's own making must enrol through a link the admin never
    //    sees, so cannot be used to approve.
    let (status, _) = call(
        &api,
        as_ada(post_json(
            "/api/v1/admin/users",
            json!({"email": "sock@testshire.scot", "name": "Sock Puppet", "role": "admin"}),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // 5. Case routes are closed to the admin.
    let (status, cases) = call(&api, as_ada(get("/api/v1/cases"))).await;
    assert!(
        status == StatusCode::OK && cases == json!([]),
        "{status} {cases}"
    );

    // Reporters see only Colm, and a new concern is sealed to Colm alone.
    let (_, organisations) = call(&api, get("/api/v1/organisations")).await;
    let intake = organisations[0]["intake"].to_string();
    assert!(
        intake.contains("Colm") && !intake.contains("Mole") && !intake.contains("Cora"),
        "{intake}"
    );
    let (_, reference) = raise(&api, confidential_concern("After the admin's attempts.")).await;
    assert_eq!(readers_of(&app, &reference), vec![colm.id.clone()]);
    let (status, _) = call(&api, as_ada(get(&format!("/api/v1/cases/{reference}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only a second person brings Cora back: she enrols herself, the champion approves.
    let cora_again = app.enrol(cora, &staff.organisation, "cora's own new password");
    let champion = app.add_person(
        &staff.organisation,
        "chris@testshire.scot",
        "Chris Champion",
        Role::Champion,
        false,
    );
    let chris = sign_in(&app, &api, &champion).await;
    let (_, pending) = call(&api, bearer(get("/api/v1/admin/approvals"), &chris)).await;
    let reset_request = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|approval| approval["kind"] == "intake_key_reset")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, answer) = call(
        &api,
        bearer(
            post_json(
                &format!("/api/v1/admin/approvals/{reset_request}"),
                json!({"decision": "approve"}),
            ),
            &chris,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, reference) = raise(&api, confidential_concern("After the approval.")).await;
    let mut readers = readers_of(&app, &reference);
    readers.sort();
    let mut expected = vec![cora.id.clone(), colm.id.clone()];
    expected.sort();
    assert_eq!(readers, expected);
    let token = sign_in(&app, &api, &cora_again).await;
    let (status, case) = call(
        &api,
        bearer(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["concern"], "After the approval.");
}

#[actix_web::test]
async fn the_person_enrols_through_their_one_time_link_and_the_operator_can_print_one() {
    let app = app();
    let staff = app.staff();
    let admin = crate::races::handler_for(&app, &staff.admin);
    let user = app
        .portal()
        .invite_account(
            &admin,
            speakup::service::enrolment::Invitation {
                email: "nina@testshire.scot".to_owned(),
                name: "Nina New".to_owned(),
                job_title: String::new(),
                role: Role::Investigator,
                intake: false,
            },
        )
        .unwrap();
    // The operator prints a fresh link on the server's shell (replacing the e-mailed one).
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args([
            "user",
            "enrolment-link",
            "--org",
            &staff.organisation,
            "--email",
            "nina@testshire.scot",
            "--database-url",
            &app.database.cli_url(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let link = printed["link"].as_str().unwrap();
    let path = link[link.find("/enrol/").expect("an enrolment link")..].to_owned();
    // The queued e-mail carries the same link, to Nina's address only.
    assert!(
        outbox_bodies_to(&app, "nina@testshire.scot")
            .iter()
            .any(|body| body.contains(&path))
    );

    let mut browser = Browser::new(app.service().await);
    let form = browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.text().contains("Nina New"));
    let mismatch = browser
        .post_form(
            &path,
            &[
                ("csrf", &form.csrf()),
                ("password", "nina's own long password"),
                ("password_again", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    let done = browser
        .post_form(
            &path,
            &[
                ("csrf", &form.csrf()),
                ("password", "nina's own long password"),
                ("password_again", "nina's own long password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("<svg role=\"img\""),
        "QR code for her own app"
    );
    let uri_start = done.text().find("otpauth://totp/").unwrap();
    let totp_uri = done.text()[uri_start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    // The link works once.
    assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND);
    let nina = crate::support::Person {
        id: user.id.as_str().to_owned(),
        email: "nina@testshire.scot".to_owned(),
        name: "Nina New".to_owned(),
        password: "nina's own long password".to_owned(),
        totp_uri,
    };
    crate::races::handler_for(&app, &nina);
}

#[actix_web::test]
async fn wrong_current_passwords_on_the_account_page_are_throttled_and_audited() {
    let app = app();
    let staff = app.staff();
    let session = crate::races::handler_for(&app, &staff.investigator);
    let wrong = speakup::crypto::Secret::new("not the password at all".to_owned());
    let new = speakup::crypto::Secret::new("a different long password".to_owned());
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(app.portal().change_password(&session, &wrong, &new));
    }
    for outcome in &outcomes[..5] {
        assert!(
            matches!(
                outcome,
                Err(speakup::service::ServiceError::Invalid {
                    code: "wrong_password",
                    ..
                })
            ),
            "{outcome:?}"
        );
    }
    assert!(
        matches!(
            outcomes[5],
            Err(speakup::service::ServiceError::RateLimited { .. })
        ),
        "{:?}",
        outcomes[5]
    );
    let failures = app
        .portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 10_000))
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == "password_change_failed")
        .count();
    assert_eq!(failures, 5);
}

#[actix_web::test]
async fn someone_guessing_a_handlers_password_cannot_keep_the_handler_out() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let ivy = &staff.investigator;
    let from = |address: &str, password: &str, code: &str| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/session")
            .peer_addr(address.parse().unwrap())
            .set_json(json!({"email": ivy.email, "password": password, "totp": code}))
    };
    // The guesser keeps at it, twenty seconds apart, until each wrong guess costs a longer wait.
    for _ in 0..10 {
        call(
            &api,
            from("198.51.100.7:4000", "guess guess guess", "000000"),
        )
        .await;
        app.clock.advance(time::Duration::seconds(20));
    }
    let (status, _) = call(
        &api,
        from("198.51.100.7:4000", "guess guess guess", "000000"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is slowed down"
    );
    // At that same moment Ivy, from her own machine, signs in at once.
    let code = crate::api_client::totp_code(&app, ivy);
    let (status, answer) = call(&api, from("192.0.2.44:5000", &ivy.password, &code)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
