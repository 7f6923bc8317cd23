//! The first-admin setup link.

use actix_web::http::StatusCode;

use crate::browser::Browser;
use crate::support::TestApp;

#[actix_web::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::new();
    let token = app
        .portal()
        .issue_setup_token()
        .unwrap()
        .expect("no admin yet");
    let token = token.expose_secret().clone();
    let mut browser = Browser::new(app.service().await);

    let form = browser.get(&format!("/setup/{token}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.text().contains("cannot read any concern"));
    let csrf = form.csrf();

    let fields = |password_again: &'static str| {
        vec![
            ("new_name", "NHS Borders"),
            ("new_slug", "nhs-borders"),
            ("nhs", "yes"),
            ("name", "Ada Admin"),
            ("email", "Ada@Borders.scot.nhs.uk"),
            ("password", "correct horse battery staple"),
            ("password_again", password_again),
        ]
    };

    // A mismatch re-shows the form with the reason and keeps what was typed.
    let mut mismatch = fields("something else entirely");
    mismatch.push(("csrf", &csrf));
    let again = browser
        .post_form(&format!("/setup/{token}"), &mismatch)
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.text().contains("the two passwords are not the same"));
    assert_eq!(
        again.input_value("new_name").as_deref(),
        Some("NHS Borders")
    );
    assert!(
        !again.body.contains("correct horse"),
        "passwords are never echoed"
    );

    // A forged post without the CSRF field is refused.
    let forged = browser
        .post_form(
            &format!("/setup/{token}"),
            &fields("correct horse battery staple"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut good = fields("correct horse battery staple");
    good.push(("csrf", &csrf));
    let done = browser.post_form(&format!("/setup/{token}"), &good).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.text().contains("ada@borders.scot.nhs.uk"));
    assert!(done.body.contains("<svg role=\"img\""), "QR code inline");
    assert!(done.body.contains("otpauth://totp/"));

    // The link is spent, and a new one is not issued now that an admin exists.
    let spent = browser.get(&format!("/setup/{token}")).await;
    assert_eq!(spent.status, StatusCode::NOT_FOUND);
    assert!(app.portal().issue_setup_token().unwrap().is_none());
    let organisations = app.portal().organisations().unwrap();
    assert_eq!(organisations.len(), 1);
    assert_eq!(organisations[0].slug, "nhs-borders");
}

#[actix_web::test]
async fn an_unknown_or_expired_setup_link_is_not_found() {
    let app = TestApp::new();
    let token = app.portal().issue_setup_token().unwrap().unwrap();
    let mut browser = Browser::new(app.service().await);
    assert_eq!(
        browser.get("/setup/not-a-token").await.status,
        StatusCode::NOT_FOUND
    );
    app.clock.advance(time::Duration::hours(25));
    let expired = browser
        .get(&format!("/setup/{}", token.expose_secret()))
        .await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_form_cookie_is_host_only_secure_and_strict() {
    let app = TestApp::new();
    let token = app.portal().issue_setup_token().unwrap().unwrap();
    let mut browser = Browser::new(app.service().await);
    let page = browser
        .get(&format!("/setup/{}", token.expose_secret()))
        .await;
    let cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-speakup-csrf="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}
