//! The recovery wrap of a case raised before its organisation had a recovery key, made in the
//! browser (issue 14): a session whose key is in the browser is told the recovery public key
//! while the wrap is missing, wraps the case key for it and posts it; the server keeps the first
//! and audits it. The server cannot open what it is sent, so the recovery key is what finds out
//! a wrap that does not open the case: a clear refusal naming the case.

use actix_web::http::StatusCode;

use crate::api_client::{confidential_concern, raise};
use crate::browser::Browser;
use crate::browser_casework::{Started, b64, case_key_of, raised_and_signed_in, unb64};
use crate::browser_keys::{audit_actions, browser_sign_in, json as json_of, submit};
use crate::console_pages::{app, signed_in};
use crate::support::TestApp;
use speakup::crypto::{DataKey, KeyKind, PublicKey, SecretKey, WrapContext, wrap_key};
use speakup::service::ServiceError;

fn recovery_wraps_added(app: &TestApp) -> Vec<(String, Option<String>)> {
    audit_actions(app)
        .into_iter()
        .filter(|(action, ..)| action == "recovery_wrap_added")
        .map(|(_, detail, who)| (detail, who))
        .collect()
}

#[actix_web::test]
async fn a_browser_session_wraps_a_case_raised_before_the_recovery_key_for_it() {
    let app = app();
    let concern = "The bed rails on ward 12 were reported broken in March and are still in use.";
    let Started {
        staff,
        reference,
        base,
        mut browser,
        secret,
        ..
    } = raised_and_signed_in(&app, concern).await;
    let cora = &staff.contacts[0];
    let sealed_uri = format!("{base}/sealed");
    let uri = format!("{sealed_uri}/recovery-wrap");

    // No recovery key yet: nothing is asked for, and a wrap has nothing to be for.
    let case = json_of(&browser.get(&sealed_uri).await);
    assert!(case["recovery_public_key"].is_null(), "{case}");
    let cdk = case_key_of(&case, &secret);
    let any = wrap_key(
        &cdk,
        &SecretKey::generate().public_key(),
        &WrapContext::new(case["case_id"].as_str().unwrap(), KeyKind::Case),
    )
    .unwrap();
    let early = submit(&mut browser, &uri, &[("wrap", &b64(&any))]).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert_eq!(json_of(&early)["error"]["code"], "no_recovery_key");

    // The organisation makes its recovery key; this case has no wrap for it.
    let recovery_text = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let recovery = SecretKey::from_recovery_text(recovery_text.expose_secret()).unwrap();
    let not_yet = app
        .portal()
        .recover_case(
            &staff.organisation,
            &reference,
            &recovery_text,
            &staff.investigator.email,
        )
        .unwrap_err();
    assert!(
        matches!(
            not_yet,
            ServiceError::Invalid {
                code: "not_recoverable",
                ..
            }
        ),
        "{not_yet:?}"
    );
    // Opened in the browser: the sealed case names the key to wrap for.
    let case = json_of(&browser.get(&sealed_uri).await);
    assert_eq!(
        unb64(&case["recovery_public_key"]),
        recovery.public_key().to_bytes(),
        "{case}"
    );
    assert!(
        recovery_wraps_added(&app).is_empty(),
        "opening alone adds nothing: the server has no key to wrap"
    );
    let public = PublicKey::from_bytes(
        unb64(&case["recovery_public_key"])
            .try_into()
            .expect("32 bytes"),
    );
    let wrapped = wrap_key(
        &cdk,
        &public,
        &WrapContext::new(case["case_id"].as_str().unwrap(), KeyKind::Case),
    )
    .unwrap();

    // Refused: not a wrap, no CSRF token, a session whose key is on the server.
    for bad in ["AAAA", "not base64!", ""] {
        let refused = submit(&mut browser, &uri, &[("wrap", bad)]).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            refused.body
        );
        assert_eq!(json_of(&refused)["error"]["code"], "invalid_wrap");
    }
    let forged = browser.post_form(&uri, &[("wrap", &b64(&wrapped))]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut plain = signed_in(&app, app.service().await, &staff.contacts[1]).await;
    let on_server = submit(&mut plain, &uri, &[("wrap", &b64(&wrapped))]).await;
    assert_eq!(on_server.status, StatusCode::CONFLICT);
    assert_eq!(json_of(&on_server)["error"]["code"], "key_on_server");
    assert!(recovery_wraps_added(&app).is_empty());
    // Someone who does not hold the case (the investigator, not given it yet; the admin, who
    // reads no case) is answered as for a case that does not exist, and nothing is kept.
    for outsider in [&staff.investigator, &staff.admin] {
        let mut other = Browser::new(app.service().await);
        browser_sign_in(&app, &mut other, outsider).await;
        let refused = submit(&mut other, &uri, &[("wrap", &b64(&wrapped))]).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{}: {}",
            outsider.email,
            refused.body
        );
    }
    assert!(recovery_wraps_added(&app).is_empty());

    // Stored once, audited once, as Cora's; a reload (or another tab) changes nothing.
    let stored = submit(&mut browser, &uri, &[("wrap", &b64(&wrapped))]).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    assert_eq!(json_of(&stored)["added"], true);
    let again = submit(&mut browser, &uri, &[("wrap", &b64(&any))]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(json_of(&again)["added"], false);
    assert_eq!(
        recovery_wraps_added(&app),
        vec![("wrapped in the browser".to_owned(), Some(cora.id.clone()))]
    );
    let case = json_of(&browser.get(&sealed_uri).await);
    assert!(case["recovery_public_key"].is_null(), "no longer asked for");
    // Colm opens it on the server: it has its wrap, so nothing is added.
    assert_eq!(
        plain
            .get(&format!("/console/cases/{reference}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(recovery_wraps_added(&app).len(), 1);

    // The offline key now recovers the case, with the wrap the browser made (the first one).
    app.portal()
        .recover_case(
            &staff.organisation,
            &reference,
            &recovery_text,
            &staff.investigator.email,
        )
        .unwrap();
    let mut ivy = signed_in(&app, app.service().await, &staff.investigator).await;
    let page = ivy.get(&format!("/console/cases/{reference}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(concern), "{}", page.text());
}

#[actix_web::test]
async fn a_recovery_wrap_that_does_not_open_the_case_is_refused_naming_the_case() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (_, garbled) = raise(&api, confidential_concern("First older case.")).await;
    let (_, other_key) = raise(&api, confidential_concern("Second older case.")).await;
    let recovery_text = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let mut browser = Browser::new(app.service().await);
    browser_sign_in(&app, &mut browser, &staff.contacts[0]).await;

    // What a buggy or malicious browser could post: bytes of the right length, and a proper
    // wrap of some other key. The server cannot tell either from a good one.
    let garbage: Vec<u8> = (0..speakup::crypto::WRAPPED_KEY_LEN)
        .map(|n| u8::try_from(n % 251).unwrap())
        .collect();
    let case = json_of(
        &browser
            .get(&format!("/console/cases/{other_key}/sealed"))
            .await,
    );
    let public = PublicKey::from_bytes(unb64(&case["recovery_public_key"]).try_into().unwrap());
    let wrong = wrap_key(
        &DataKey::generate(),
        &public,
        &WrapContext::new(case["case_id"].as_str().unwrap(), KeyKind::Case),
    )
    .unwrap();
    for (reference, wrap) in [(&garbled, garbage), (&other_key, wrong)] {
        let stored = submit(
            &mut browser,
            &format!("/console/cases/{reference}/sealed/recovery-wrap"),
            &[("wrap", &b64(&wrap))],
        )
        .await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    }

    // The recovery key is right; the wraps do not open these cases: refused, the case named,
    // nothing handed on.
    for reference in [&garbled, &other_key] {
        let refused = app
            .portal()
            .recover_case(
                &staff.organisation,
                reference,
                &recovery_text,
                &staff.investigator.email,
            )
            .unwrap_err();
        match &refused {
            ServiceError::Conflict { code, message } => {
                assert_eq!(*code, "recovery_wrap_unreadable");
                assert!(message.contains(reference.as_str()), "{message}");
            }
            other => panic!("{reference}: a refusal, not {other:?}"),
        }
    }
    assert!(
        !audit_actions(&app)
            .iter()
            .any(|(action, ..)| action == "case_recovered")
    );
    // The operator running `speakup recover` reads the same, not an internal error.
    let output = crate::recovery::recover_with_cli(
        &app,
        &garbled,
        &staff.investigator.email,
        recovery_text.expose_secret(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(garbled.as_str()) && stderr.contains("cannot be recovered"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
}
