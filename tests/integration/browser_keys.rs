//! The console with JavaScript (issue 14): the browser runs Argon2id and signs in with the login
//! proof, never the password; the session holds no key, so the server cannot open a case for
//! it; the handler's secret comes back sealed under the key-encryption key, which only the
//! browser has.

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::api_client::{confidential_concern, raise, totp_code};
use crate::browser::Browser;
use crate::console_pages::{CSRF_COOKIE, SESSION_COOKIE, app, signed_in};
use crate::support::{Person, TestApp};
use speakup::crypto::{PasswordCost, PasswordKeys, Secret};

/// Posts a form with the browser's CSRF token, as console.js does with `fetch`.
async fn submit<S, B>(
    browser: &mut Browser<S>,
    uri: &str,
    fields: &[(&str, &str)],
) -> crate::browser::Page
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let csrf = browser.cookie(CSRF_COOKIE).cloned().unwrap_or_default();
    let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    all.extend_from_slice(fields);
    browser.post_form(uri, &all).await
}

fn json(page: &crate::browser::Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("not JSON: {}", page.body))
}

fn salt_and_cost(answer: &Value) -> ([u8; 16], PasswordCost) {
    let salt = data_encoding::BASE64
        .decode(answer["salt"].as_str().unwrap().as_bytes())
        .unwrap();
    let cost = PasswordCost {
        memory_kib: u32::try_from(answer["cost"]["memory_kib"].as_u64().unwrap()).unwrap(),
        iterations: u32::try_from(answer["cost"]["iterations"].as_u64().unwrap()).unwrap(),
        parallelism: u32::try_from(answer["cost"]["parallelism"].as_u64().unwrap()).unwrap(),
    };
    (salt.try_into().unwrap(), cost)
}

/// What the browser computes: Argon2id over the password with the salt and cost the server gave.
fn browser_keys(answer: &Value, password: &str) -> PasswordKeys {
    let (salt, cost) = salt_and_cost(answer);
    speakup::crypto::derive_password_keys(&Secret::new(password.to_owned()), &salt, cost).unwrap()
}

fn proof_of(keys: &PasswordKeys) -> String {
    data_encoding::BASE64.encode(keys.proof().expose_bytes())
}

fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    app.portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 10_000))
        .unwrap()
        .into_iter()
        .map(|entry| (entry.action, entry.detail, entry.subject_user_id.or(entry.actor_user_id)))
        .collect()
}

#[actix_web::test]
async fn sign_in_with_a_proof_never_sends_the_password_and_keeps_the_key_in_the_browser() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (_case_key, reference) = raise(
        &api,
        confidential_concern("Night shift rotas leave ward 7 with one nurse."),
    )
    .await;
    let cora: &Person = &staff.contacts[0];
    let mut browser = Browser::new(app.service().await);
    browser.get("/console/sign-in").await;

    // The page loads the crypto module and the console script, pinned by integrity.
    let form = browser.get("/console/sign-in").await;
    assert!(form.body.contains("/static/console.js"), "{}", form.body);
    assert!(form.body.contains("integrity=\"sha384-"));

    // Salt and cost for the account …
    let params = submit(&mut browser, "/console/sign-in/parameters", &[("email", &cora.email)]).await;
    assert_eq!(params.status, StatusCode::OK, "{}", params.body);
    let answer = json(&params);
    // … and for addresses without an account: the same shape, the same answer every time, a
    // different salt for each address.
    let nobody = json(
        &submit(&mut browser, "/console/sign-in/parameters", &[("email", "nobody@testshire.scot")]).await,
    );
    let nobody_again = json(
        &submit(&mut browser, "/console/sign-in/parameters", &[("email", "Nobody@Testshire.scot ")]).await,
    );
    let someone = json(
        &submit(&mut browser, "/console/sign-in/parameters", &[("email", "someone@testshire.scot")]).await,
    );
    assert_eq!(nobody, nobody_again);
    assert_ne!(nobody["salt"], someone["salt"]);
    assert_ne!(nobody["salt"], answer["salt"]);
    assert_eq!(nobody["cost"], answer["cost"]);
    assert_eq!(
        nobody.as_object().unwrap().keys().collect::<Vec<_>>(),
        answer.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    // Without the CSRF token: refused.
    let forged = browser
        .post_form("/console/sign-in/parameters", &[("email", &cora.email)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);

    // A wrong password gives a proof that does not verify: refused like a wrong password, audited.
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(&app, cora);
    let wrong = browser_keys(&answer, "not the password at all");
    let refused = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &cora.email), ("proof", &proof_of(&wrong)), ("code", &code)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(json(&refused)["error"]["code"], "sign_in_failed");
    assert!(browser.cookie(SESSION_COOKIE).is_none());
    assert!(audit_actions(&app).iter().any(|(action, _, who)| action == "sign_in_failed"
        && who.as_deref() == Some(cora.id.as_str())));
    // The stored verifier itself is not a proof (a stolen database does not sign anyone in).
    let keys = browser_keys(&answer, &cora.password);
    let replayed = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[
            ("email", &cora.email),
            ("proof", &data_encoding::BASE64.encode(&keys.verifier())),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    // The right proof with a wrong code: refused.
    let no_code = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &cora.email), ("proof", &proof_of(&keys)), ("code", "000000")],
    )
    .await;
    assert_eq!(no_code.status, StatusCode::UNAUTHORIZED);
    // Malformed proofs are a bad request.
    let short = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &cora.email), ("proof", "AAAA"), ("code", &code)],
    )
    .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);

    // The right proof and code: a session cookie, and the secret key sealed under the KEK.
    let signed = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &cora.email), ("proof", &proof_of(&keys)), ("code", &code)],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let reply = json(&signed);
    assert_eq!(reply["user_id"], cora.id.as_str());
    assert!(browser.cookie(SESSION_COOKIE).is_some());
    let sealed = data_encoding::BASE64
        .decode(reply["sealed_secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let secret = keys.open_handler_secret(&cora.id, &sealed).expect("the KEK opens it");
    let stored_public: Vec<u8> = app
        .portal()
        .store
        .read(|tx| speakup::store::users::find(tx, &speakup::ids::UserId::from_stored(cora.id.clone())))
        .unwrap()
        .unwrap()
        .public_key;
    assert_eq!(secret.public_key().as_bytes().to_vec(), stored_public);
    // The same code again is a replay.
    let again = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &cora.email), ("proof", &proof_of(&keys)), ("code", &code)],
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(audit_actions(&app).iter().any(|(action, detail, who)| action == "sign_in"
        && detail == "key kept in the browser"
        && who.as_deref() == Some(cora.id.as_str())));

    // Signed in: the inbox lists the case, but the server cannot open it for this session.
    let inbox = browser.get("/console").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    assert!(inbox.text().contains(&reference), "{}", inbox.text());
    let api_case = browser.get(&format!("/console/cases/{reference}")).await;
    assert!(
        !api_case.body.contains("Night shift rotas"),
        "the server opened a case for a browser session"
    );

    // The same person signed in with the password (no JavaScript) still reads it on the server.
    let mut plain = signed_in(&app, app.service().await, cora).await;
    let page = plain.get(&format!("/console/cases/{reference}")).await;
    assert!(page.text().contains("Night shift rotas"), "{}", page.text());
}

#[actix_web::test]
async fn proof_sign_ins_back_off_like_password_sign_ins() {
    let app = app();
    let staff = app.staff();
    let colm = &staff.contacts[1];
    let mut browser = Browser::new(app.service().await).peer_addr("192.0.2.7:5000".parse().unwrap());
    browser.get("/console/sign-in").await;
    let answer = json(&submit(&mut browser, "/console/sign-in/parameters", &[("email", &colm.email)]).await);
    let wrong = proof_of(&browser_keys(&answer, "wrong password"));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let page = submit(
            &mut browser,
            "/console/sign-in/proof",
            &[("email", &colm.email), ("proof", &wrong), ("code", "123456")],
        )
        .await;
        statuses.push(page.status);
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Waiting out the back-off lets the right proof in.
    app.clock.advance(time::Duration::minutes(1));
    let keys = browser_keys(&answer, &colm.password);
    let code = totp_code(&app, colm);
    let signed = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[("email", &colm.email), ("proof", &proof_of(&keys)), ("code", &code)],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
}
