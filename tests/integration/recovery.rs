//! The organisation recovery key: a reset account loses its grants; the offline key restores
//! the case (never the identity).

use std::io::Write;
use std::process::{Command, Stdio};

use actix_web::http::StatusCode;

use crate::api_client::{bearer, call, confidential_concern, get, raise, sign_in};
use crate::support::TestApp;

/// `speakup recover` for a case of the test organisation, the recovery key typed on stdin.
pub(crate) fn recover_with_cli(
    app: &TestApp,
    reference: &str,
    to: &str,
    recovery_text: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args([
            "recover",
            "--org",
            "nhs-testshire",
            "--case",
            reference,
            "--to",
            to,
            "--key-stdin",
            "--database-url",
        ])
        .arg(app.database.cli_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{recovery_text}").unwrap();
    child.wait_with_output().unwrap()
}

#[actix_web::test]
async fn a_reset_handler_gets_a_case_back_from_the_recovery_key() {
    let app = TestApp::new();
    let staff = app.staff();
    let recovery = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let service = app.service().await;

    let (_, organisations) = call(&service, get("/api/v1/organisations")).await;
    assert_eq!(organisations[0]["recovery_key"], true, "reporters are told");
    let (_, reference) = raise(&service, confidential_concern("Recovery test")).await;

    // An admin resets Cora: new key pair, so her old grant is gone.
    let admin = app
        .portal()
        .authenticate(&sign_in(&app, &service, &staff.admin).await)
        .unwrap();
    let reset = app
        .portal()
        .reset_account(
            &admin,
            &speakup::ids::UserId::from_stored(staff.contacts[0].id.clone()),
        )
        .unwrap();
    assert_eq!(reset.grants_lost, 2, "case key and identity key");
    let cora = app.enrol(
        &staff.contacts[0],
        &staff.organisation,
        "a brand new password please",
    );
    let token = sign_in(&app, &service, &cora).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The lead brings the offline key; the operator runs `speakup recover`.
    let output = recover_with_cli(
        &app,
        &reference,
        &cora.email,
        &recovery.expose_secret().to_lowercase(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (status, case) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["concern"], "Recovery test");
    assert!(
        case["identity"].is_null(),
        "the recovery key never opens the identity"
    );
    let actions: Vec<&str> = case["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"case_recovered"), "{actions:?}");

    // A wrong key is refused.
    let wrong = speakup::crypto::SecretKey::generate().to_recovery_text();
    let error = app
        .portal()
        .recover_case(&staff.organisation, &reference, &wrong, &cora.email)
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("not this organisation's recovery key")
    );
}

#[actix_web::test]
async fn cases_raised_before_the_key_gain_a_recovery_wrap_when_opened() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, reference) = raise(&service, confidential_concern("Older case")).await;
    let recovery = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let error = app
        .portal()
        .recover_case(
            &staff.organisation,
            &reference,
            &recovery,
            &staff.investigator.email,
        )
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("before the recovery key existed"),
        "{error}"
    );
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &cora),
    )
    .await;
    app.portal()
        .recover_case(
            &staff.organisation,
            &reference,
            &recovery,
            &staff.investigator.email,
        )
        .unwrap();
    let ivy = sign_in(&app, &service, &staff.investigator).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{reference}")), &ivy),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
