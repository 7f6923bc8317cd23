//! Handlers: who can read what, hand-overs, conflicts, sign-in safety, the audit chain.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::api_client::{
    bearer, call, confidential_concern, delete, get, post_json, raise, sign_in, totp_code,
};
use crate::support::TestApp;

#[actix_web::test]
async fn only_holders_read_a_case_and_identity_only_with_its_own_grant() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(
        &service,
        confidential_concern("Drug counts on ward 3 do not add up."),
    )
    .await;
    let case_uri = format!("/api/v1/cases/{reference}");

    // An intake contact sees the new case in their inbox and can read it, identity included.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, inbox) = call(&service, bearer(get("/api/v1/cases"), &cora)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["reference"], reference);
    assert_eq!(inbox[0]["stage"], "received");
    assert_eq!(inbox[0]["status"], "open");
    assert_eq!(inbox[0]["due_on"], "2026-11-20");
    assert_eq!(inbox[0]["unread"], true);
    let (status, case) = call(&service, bearer(get(&case_uri), &cora)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["concern"], "Drug counts on ward 3 do not add up.");
    assert_eq!(case["identity"]["name"], "Rhona Reporter");
    assert_eq!(case["stage"], "received");
    assert_eq!(case["events"][0]["type"], "received");
    let (_, inbox) = call(&service, bearer(get("/api/v1/cases"), &cora)).await;
    assert_eq!(inbox[0]["unread"], false, "reading clears the unread flag");

    // The investigator cannot read it: the answer is the same as for a case that doesn't exist.
    let ivy = sign_in(&app, &service, &staff.investigator).await;
    let (status, missing) = call(&service, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, nonexistent) = call(&service, bearer(get("/api/v1/cases/SU-0000-0000"), &ivy)).await;
    assert_eq!(missing, nonexistent);
    let (_, inbox) = call(&service, bearer(get("/api/v1/cases"), &ivy)).await;
    assert_eq!(inbox, json!([]));

    // Granted the case (not the identity), the investigator reads the concern but not the name.
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, case) = call(&service, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["concern"], "Drug counts on ward 3 do not add up.");
    assert!(case["identity"].is_null());
    assert_eq!(case["identity_withheld"], true);
    // Without the identity she cannot pass it on.
    let (status, error) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.contacts[1].email, "identity": true}),
            ),
            &ivy,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "identity_not_held");

    // A holder of the identity asks to share it; only once the reporter agrees can she read it.
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.investigator.email, "identity": true}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, case) = call(&service, bearer(get(&case_uri), &ivy)).await;
    assert!(case["identity"].is_null(), "not before the reporter agrees");
    crate::insiders::reporter_answers(&service, &case_key, "approve").await;
    let (_, case) = call(&service, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(case["identity"]["contact"], "rhona@example.org");

    // Revoked, she is back to "not found".
    let (status, _) = call(
        &service,
        bearer(
            delete(&format!("{case_uri}/grants/{}", staff.investigator.email)),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&service, bearer(get(&case_uri), &ivy)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Admins and leads read nothing and cannot be given cases.
    for person in [&staff.admin, &staff.lead] {
        let token = sign_in(&app, &service, person).await;
        let (status, inbox) = call(&service, bearer(get("/api/v1/cases"), &token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(inbox, json!([]));
        let (status, _) = call(&service, bearer(get(&case_uri), &token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, error) = call(
            &service,
            bearer(
                post_json(&format!("{case_uri}/grants"), json!({"user": person.email})),
                &cora,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["error"]["code"], "role_cannot_hold_cases");
    }
}

#[actix_web::test]
async fn a_reporter_excluded_contact_never_gets_the_case() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let mut concern = confidential_concern("My manager is one of the contacts.");
    concern["exclude"] = json!([staff.contacts[1].id]);
    let (_, reference) = raise(&service, concern).await;
    let colm = sign_in(&app, &service, &staff.contacts[1]).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &colm),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn conversation_both_ways_and_notes_stay_internal() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Conversation test")).await;
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let case_uri = format!("/api/v1/cases/{reference}");
    let note_canary = "CANARY-NOTE-0a9c1e";
    let reply_canary = "CANARY-REPLY-77d2b0";
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/messages"),
                json!({"body": format!("Thank you. {reply_canary}")}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &service,
        bearer(
            post_json(&format!("{case_uri}/notes"), json!({"body": note_canary})),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let token = session["token"].as_str().unwrap();
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), token)).await;
    let messages = mailbox["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "the note is not shown to the reporter: {mailbox}"
    );
    assert_eq!(messages[0]["from"], "handler");
    assert!(messages[0]["body"].as_str().unwrap().contains(reply_canary));
    call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/messages", json!({"body": "Here is more."})),
            token,
        ),
    )
    .await;

    let (_, inbox) = call(&service, bearer(get("/api/v1/cases"), &cora)).await;
    assert_eq!(
        inbox[0]["unread"], true,
        "a new reporter message is flagged"
    );
    let (_, case) = call(&service, bearer(get(&case_uri), &cora)).await;
    let bodies: Vec<&str> = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1], "Here is more.");
    assert_eq!(case["notes"][0]["body"], note_canary);
    assert_eq!(case["notes"][0]["author"], "Cora Contact");
    drop(service);
    assert!(!app.database_contains(note_canary));
    assert!(!app.database_contains(reply_canary));
}

#[actix_web::test]
async fn a_conflict_of_interest_removes_the_grant_and_blocks_regranting() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, reference) = raise(&service, confidential_concern("Conflict test")).await;
    let case_uri = format!("/api/v1/cases/{reference}");
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let colm = sign_in(&app, &service, &staff.contacts[1]).await;
    let (status, _) = call(
        &service,
        bearer(post_json(&format!("{case_uri}/conflict"), json!({})), &colm),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&service, bearer(get(&case_uri), &colm)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.contacts[1].email}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "conflict_of_interest");
    // Cora is now the only holder: she cannot leave the case without a successor.
    let (status, error) = call(
        &service,
        bearer(post_json(&format!("{case_uri}/conflict"), json!({})), &cora),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "last_holder");
    let (_, case) = call(&service, bearer(get(&case_uri), &cora)).await;
    assert_eq!(case["conflicts"], json!(["Colm Contact"]));
    let actions: Vec<&str> = case["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"conflict_declared"), "{actions:?}");
}

#[actix_web::test]
async fn sign_in_needs_password_and_a_fresh_code() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let cora = &staff.contacts[0];
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(&app, cora);
    let attempt = |password: &str, code: &str| {
        post_json(
            "/api/v1/session",
            json!({"email": cora.email, "password": password, "totp": code}),
        )
    };
    let (status, error) = call(&service, attempt("wrong password entirely", &code)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "sign_in_failed");
    let (status, _) = call(&service, attempt(&cora.password, "000000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&service, attempt(&cora.password, &code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The same code again is a replay.
    let (status, _) = call(&service, attempt(&cora.password, &code)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Unknown accounts look the same as wrong passwords.
    let (status, error) = call(
        &service,
        post_json(
            "/api/v1/session",
            json!({"email": "nobody@testshire.scot", "password": "x", "totp": "123456"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "sign_in_failed");
}

#[actix_web::test]
async fn repeated_failures_back_off_per_account_and_client() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let colm = &staff.contacts[1];
    let wrong_from = |address: &str| {
        post_json(
            "/api/v1/session",
            json!({"email": colm.email, "password": "not the password", "totp": "123456"}),
        )
        .peer_addr(address.parse().unwrap())
    };
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(call(&service, wrong_from("192.0.2.1:5000")).await.0);
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Another client is not held back by the first one's failures (no lock-out by others) …
    assert_eq!(
        call(&service, wrong_from("192.0.2.2:5000")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // … and waiting out the back-off lets the right password in again.
    app.clock.advance(time::Duration::minutes(1));
    sign_in(&app, &service, colm).await;
}

#[actix_web::test]
async fn sessions_end_on_sign_out_and_when_idle() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let token = sign_in(&app, &service, &staff.investigator).await;
    assert_eq!(
        call(&service, bearer(get("/api/v1/cases"), &token)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&service, bearer(delete("/api/v1/session"), &token))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&service, bearer(get("/api/v1/cases"), &token)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let token = sign_in(&app, &service, &staff.investigator).await;
    app.clock.advance(time::Duration::minutes(31));
    let (status, error) = call(&service, bearer(get("/api/v1/cases"), &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "session_expired");
    for bad in ["", "garbage", &"A".repeat(64)] {
        assert_eq!(
            call(&service, bearer(get("/api/v1/cases"), bad)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        call(&service, get("/api/v1/cases")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn the_audit_chain_records_actions_and_detects_a_one_byte_edit() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, reference) = raise(&service, confidential_concern("Audit test")).await;
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &cora),
    )
    .await;
    call(
        &service,
        bearer(
            post_json(
                &format!("/api/v1/cases/{reference}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &cora,
        ),
    )
    .await;
    use speakup::store::audit::ChainCheck;
    let ChainCheck::Intact { entries } = app.portal().verify_audit_log().unwrap() else {
        panic!("chain should verify");
    };
    // Five accounts created, one sign-in, one view, one grant.
    assert_eq!(entries, 8);

    // Flip one byte of one entry's detail, straight in the database.
    app.portal()
        .store
        .write(|tx| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE audit_log SET detail = 'keys=cast' WHERE action = 'grant'")
                .execute(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap();
    let check = app.portal().verify_audit_log().unwrap();
    assert_eq!(
        check,
        ChainCheck::Broken {
            seq: 8,
            reason: "entry was altered"
        }
    );

    // The command line reports the same and fails.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(["audit", "verify", "--database-url", &app.database.cli_url()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["first_broken"], 8);

    // Deleting an entry is caught too.
    app.portal()
        .store
        .write(|tx| {
            use diesel::RunQueryDsl;
            diesel::sql_query("DELETE FROM audit_log WHERE seq = 3")
                .execute(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap();
    assert_eq!(
        app.portal().verify_audit_log().unwrap(),
        ChainCheck::Broken {
            seq: 3,
            reason: "entry missing"
        }
    );
}
