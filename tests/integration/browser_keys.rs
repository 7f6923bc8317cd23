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
pub(crate) async fn submit<S, B>(
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

pub(crate) fn json(page: &crate::browser::Page) -> Value {
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
pub(crate) fn browser_keys(answer: &Value, password: &str) -> PasswordKeys {
    let (salt, cost) = salt_and_cost(answer);
    speakup::crypto::derive_password_keys(&Secret::new(password.to_owned()), &salt, cost).unwrap()
}

pub(crate) fn proof_of(keys: &PasswordKeys) -> String {
    data_encoding::BASE64.encode(keys.proof().expose_bytes())
}

pub(crate) fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    app.portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 10_000))
        .unwrap()
        .into_iter()
        .map(|entry| {
            (
                entry.action,
                entry.detail,
                entry.subject_user_id.or(entry.actor_user_id),
            )
        })
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
    let params = submit(
        &mut browser,
        "/console/sign-in/parameters",
        &[("email", &cora.email)],
    )
    .await;
    assert_eq!(params.status, StatusCode::OK, "{}", params.body);
    let answer = json(&params);
    // … and for addresses without an account: the same shape, the same answer every time, a
    // different salt for each address.
    let nobody = json(
        &submit(
            &mut browser,
            "/console/sign-in/parameters",
            &[("email", "nobody@testshire.scot")],
        )
        .await,
    );
    let nobody_again = json(
        &submit(
            &mut browser,
            "/console/sign-in/parameters",
            &[("email", "Nobody@Testshire.scot ")],
        )
        .await,
    );
    let someone = json(
        &submit(
            &mut browser,
            "/console/sign-in/parameters",
            &[("email", "someone@testshire.scot")],
        )
        .await,
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
        &[
            ("email", &cora.email),
            ("proof", &proof_of(&wrong)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(json(&refused)["error"]["code"], "sign_in_failed");
    assert!(browser.cookie(SESSION_COOKIE).is_none());
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, _, who)| action == "sign_in_failed"
                && who.as_deref() == Some(cora.id.as_str()))
    );
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
        &[
            ("email", &cora.email),
            ("proof", &proof_of(&keys)),
            ("code", "000000"),
        ],
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
        &[
            ("email", &cora.email),
            ("proof", &proof_of(&keys)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let reply = json(&signed);
    assert_eq!(reply["user_id"], cora.id.as_str());
    assert!(browser.cookie(SESSION_COOKIE).is_some());
    let sealed = data_encoding::BASE64
        .decode(reply["sealed_secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let secret = keys
        .open_handler_secret(&cora.id, &sealed)
        .expect("the KEK opens it");
    let stored_public: Vec<u8> = app
        .portal()
        .store
        .read(|tx| {
            speakup::store::users::find(tx, &speakup::ids::UserId::from_stored(cora.id.clone()))
        })
        .unwrap()
        .unwrap()
        .public_key;
    assert_eq!(secret.public_key().as_bytes().to_vec(), stored_public);
    // The same code again is a replay.
    let again = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[
            ("email", &cora.email),
            ("proof", &proof_of(&keys)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, detail, who)| action == "sign_in"
                && detail == "key kept in the browser"
                && who.as_deref() == Some(cora.id.as_str()))
    );

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
    let mut browser =
        Browser::new(app.service().await).peer_addr("192.0.2.7:5000".parse().unwrap());
    browser.get("/console/sign-in").await;
    let answer = json(
        &submit(
            &mut browser,
            "/console/sign-in/parameters",
            &[("email", &colm.email)],
        )
        .await,
    );
    let wrong = proof_of(&browser_keys(&answer, "wrong password"));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let page = submit(
            &mut browser,
            "/console/sign-in/proof",
            &[
                ("email", &colm.email),
                ("proof", &wrong),
                ("code", "123456"),
            ],
        )
        .await;
        statuses.push(page.status);
    }
    assert_eq!(
        &statuses[..5],
        &[StatusCode::UNAUTHORIZED; 5],
        "{statuses:?}"
    );
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Waiting out the back-off lets the right proof in.
    app.clock.advance(time::Duration::minutes(1));
    let keys = browser_keys(&answer, &colm.password);
    let code = totp_code(&app, colm);
    let signed = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[
            ("email", &colm.email),
            ("proof", &proof_of(&keys)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
}

/// Signs a person in as console.js does; answers their opened secret key.
pub(crate) async fn browser_sign_in<S, B>(
    app: &TestApp,
    browser: &mut Browser<S>,
    person: &Person,
) -> speakup::crypto::SecretKey
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    app.clock.advance(time::Duration::seconds(30));
    browser.get("/console/sign-in").await;
    let answer = json(
        &submit(
            browser,
            "/console/sign-in/parameters",
            &[("email", &person.email)],
        )
        .await,
    );
    let keys = browser_keys(&answer, &person.password);
    let code = totp_code(app, person);
    let signed = submit(
        browser,
        "/console/sign-in/proof",
        &[
            ("email", &person.email),
            ("proof", &proof_of(&keys)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    let sealed = data_encoding::BASE64
        .decode(json(&signed)["sealed_secret"].as_str().unwrap().as_bytes())
        .unwrap();
    keys.open_handler_secret(&person.id, &sealed).unwrap()
}

pub(crate) fn unbase64(value: &Value) -> Vec<u8> {
    data_encoding::BASE64
        .decode(value.as_str().unwrap().as_bytes())
        .unwrap()
}

/// Opens every record of a sealed case as console.js does: (kind, text).
pub(crate) fn open_all(case: &Value, secret: &speakup::crypto::SecretKey) -> Vec<(String, String)> {
    use speakup::crypto::{Aad, KeyKind, Provenance, RecordKind, WrapContext, open, unwrap_key};
    let case_id = case["case_id"].as_str().unwrap();
    let cdk = unwrap_key(
        secret,
        &unbase64(&case["case_key_wrap"]),
        &WrapContext::new(case_id, KeyKind::Case),
    )
    .unwrap();
    let idk = case["identity_key_wrap"].as_str().map(|_| {
        unwrap_key(
            secret,
            &unbase64(&case["identity_key_wrap"]),
            &WrapContext::new(case_id, KeyKind::Identity),
        )
        .unwrap()
    });
    let mut opened = Vec::new();
    for record in case["records"].as_array().unwrap() {
        let kind_text = record["kind"].as_str().unwrap();
        let kind = *RecordKind::ALL
            .iter()
            .find(|kind| kind.as_str() == kind_text)
            .unwrap();
        let position = record["position"].as_i64().unwrap();
        let aad = Aad::new(case_id, kind, record["id"].as_str().unwrap());
        let aad = if record["aad_version"] == 2 {
            aad.with_provenance(Provenance {
                author: record["author"].as_str().unwrap(),
                author_user_id: record["author_user_id"].as_str(),
                event_id: record["event_id"].as_str(),
                position,
                written_on: record["written_on"].as_str().unwrap(),
            })
        } else {
            aad
        };
        let key = if kind == RecordKind::Identity {
            idk.as_ref().unwrap()
        } else {
            &cdk
        };
        let plain = open(key, &aad, &unbase64(&record["sealed"])).expect("opens");
        let content: Value = serde_json::from_slice(plain.expose_secret()).unwrap();
        let text = ["text", "body", "letter", "name"]
            .iter()
            .find_map(|field| content[*field].as_str())
            .unwrap_or_default()
            .to_owned();
        opened.push((kind_text.to_owned(), text));
    }
    opened
}

/// Seals a reply or note as console.js does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn seal_reply(
    case: &Value,
    secret: &speakup::crypto::SecretKey,
    author: &str,
    kind: speakup::crypto::RecordKind,
    id: &str,
    position: i64,
    day: &str,
    body: &str,
) -> String {
    use speakup::crypto::{Aad, KeyKind, Provenance, WrapContext, seal, unwrap_key};
    let case_id = case["case_id"].as_str().unwrap();
    let cdk = unwrap_key(
        secret,
        &unbase64(&case["case_key_wrap"]),
        &WrapContext::new(case_id, KeyKind::Case),
    )
    .unwrap();
    let aad = Aad::new(case_id, kind, id).with_provenance(Provenance {
        author: "handler",
        author_user_id: Some(author),
        event_id: None,
        position,
        written_on: day,
    });
    let content = serde_json::json!({ "body": body }).to_string();
    data_encoding::BASE64.encode(&seal(&cdk, &aad, content.as_bytes()).unwrap())
}

#[actix_web::test]
async fn a_browser_session_opens_cases_and_seals_replies_in_the_browser() {
    use speakup::crypto::RecordKind;
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let concern = "The theatre sterilisation log is being backfilled at night.";
    let (_case_key, reference) = raise(&api, confidential_concern(concern)).await;
    let cora = &staff.contacts[0];
    let mut browser = Browser::new(app.service().await);
    let secret = browser_sign_in(&app, &mut browser, cora).await;
    let base = format!("/console/cases/{reference}");

    // The page: the case's outline, slots for the content, the scripts; no content.
    let page = browser.get(&base).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(
        page.body.contains("data-sealed-slot=\"concern\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("/static/console.js"));
    assert!(!page.body.contains("sterilisation"));
    crate::console_pages::check_accessibility(&page);
    let conversation = browser.get(&format!("{base}/conversation")).await;
    assert!(conversation.body.contains("data-sealed-slot=\"messages\""));

    // The sealed case: ciphertext and labels only, which the handler's key opens.
    let sealed = browser.get(&format!("{base}/sealed")).await;
    assert_eq!(sealed.status, StatusCode::OK, "{}", sealed.body);
    assert!(
        !sealed.body.contains("sterilisation"),
        "plaintext on the wire"
    );
    let case = json(&sealed);
    let opened = open_all(&case, &secret);
    assert!(
        opened.contains(&("concern".to_owned(), concern.to_owned())),
        "{opened:?}"
    );
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, detail, _)| action == "case_viewed"
                && detail == "opened by the handler's browser or API client, with their own key")
    );

    // A reply sealed in the browser at the next position is stored as it came.
    let today = case["today"].as_str().unwrap().to_owned();
    let position = case["next_position"].as_i64().unwrap();
    let reply_text = "Thank you: we are checking the sterilisation records.";
    let id = speakup::crypto::random_id();
    let body = seal_reply(
        &case,
        &secret,
        &cora.id,
        RecordKind::Message,
        &id,
        position,
        &today,
        reply_text,
    );
    let stored = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "message"),
            ("id", &id),
            ("position", &position.to_string()),
            ("written_on", &today),
            ("sealed", &body),
        ],
    )
    .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    assert!(!app.database_contains(reply_text));
    // The same position again (another record took it meanwhile): 409, nothing stored.
    let late_id = speakup::crypto::random_id();
    let late = seal_reply(
        &case,
        &secret,
        &cora.id,
        RecordKind::Note,
        &late_id,
        position,
        &today,
        "late note",
    );
    let conflict = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "note"),
            ("id", &late_id),
            ("position", &position.to_string()),
            ("written_on", &today),
            ("sealed", &late),
        ],
    )
    .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.body);
    assert_eq!(json(&conflict)["error"]["code"], "position_taken");
    // Sealed for another day: 409 day_changed. An unknown kind: 400.
    let refreshed = json(&browser.get(&format!("{base}/sealed")).await);
    let next = refreshed["next_position"].as_i64().unwrap();
    assert_eq!(next, position + 1);
    let stale_day = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "note"),
            ("id", &late_id),
            ("position", &next.to_string()),
            ("written_on", "2001-01-01"),
            ("sealed", &late),
        ],
    )
    .await;
    assert_eq!(stale_day.status, StatusCode::CONFLICT);
    assert_eq!(json(&stale_day)["error"]["code"], "day_changed");
    let odd = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "concern"),
            ("id", &late_id),
            ("position", &next.to_string()),
            ("written_on", &today),
            ("sealed", &late),
        ],
    )
    .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    // Without the CSRF token: refused.
    let forged = browser
        .post_form(
            &format!("{base}/sealed"),
            &[
                ("kind", "note"),
                ("id", &late_id),
                ("position", "1"),
                ("written_on", &today),
                ("sealed", &late),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Re-sealed at the new position: stored.
    let note = seal_reply(
        &refreshed,
        &secret,
        &cora.id,
        RecordKind::Note,
        &late_id,
        next,
        &today,
        "late note",
    );
    let stored_note = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "note"),
            ("id", &late_id),
            ("position", &next.to_string()),
            ("written_on", &today),
            ("sealed", &note),
        ],
    )
    .await;
    assert_eq!(
        stored_note.status,
        StatusCode::CREATED,
        "{}",
        stored_note.body
    );

    // The server cannot open or seal for this session: the no-JavaScript reply form is refused.
    let refused = submit(
        &mut browser,
        &format!("{base}/messages"),
        &[("body", "sent to the server")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    assert!(
        refused.text().contains("only in your browser"),
        "{}",
        refused.text()
    );

    // The browser reads the reply back; so does a colleague signed in with the password, and
    // so does the reporter.
    let reread = open_all(
        &json(&browser.get(&format!("{base}/sealed")).await),
        &secret,
    );
    assert!(
        reread.contains(&("message".to_owned(), reply_text.to_owned())),
        "{reread:?}"
    );
    assert!(
        reread.contains(&("note".to_owned(), "late note".to_owned())),
        "{reread:?}"
    );
    let mut plain = signed_in(&app, app.service().await, cora).await;
    let conversation = plain.get(&format!("{base}/conversation")).await;
    assert!(
        conversation.text().contains(reply_text),
        "{}",
        conversation.text()
    );
    assert!(conversation.text().contains("late note"));
    // A password session gets the page, not the sealed JSON.
    let not_for_server = plain.get(&format!("{base}/sealed")).await;
    assert_eq!(not_for_server.status, StatusCode::CONFLICT);

    // Someone who does not hold the case: 404, as for a case that does not exist.
    let ivy = &staff.investigator;
    let mut other = Browser::new(app.service().await);
    browser_sign_in(&app, &mut other, ivy).await;
    assert_eq!(
        other.get(&format!("{base}/sealed")).await.status,
        StatusCode::NOT_FOUND
    );
    let mut fields = vec![
        ("kind", "note".to_owned()),
        ("id", speakup::crypto::random_id()),
        ("position", (next + 1).to_string()),
        ("written_on", today.clone()),
        ("sealed", note.clone()),
    ];
    let csrf = other.cookie(CSRF_COOKIE).cloned().unwrap_or_default();
    fields.insert(0, ("csrf", csrf));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        other
            .post_form(&format!("{base}/sealed"), &borrowed)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn an_account_sealed_before_proof_sign_in_moves_on_at_its_next_password_sign_in() {
    use speakup::crypto::{Aad, RecordKind, seal};
    use speakup::ids::UserId;
    use speakup::store::users;
    let app = app();
    let staff = app.staff();
    let colm = &staff.contacts[1];
    let id = UserId::from_stored(colm.id.clone());
    // Put the TOTP secret back under the key-encryption key, as accounts made before this
    // change have it.
    let (user, credentials) = app
        .portal()
        .store
        .read(|tx| users::find_with_credentials(tx, &id))
        .unwrap()
        .unwrap();
    let salt: [u8; 16] = credentials.kdf_salt.as_slice().try_into().unwrap();
    let cost = PasswordCost::decode(&credentials.kdf_cost).unwrap();
    let keys =
        speakup::crypto::derive_password_keys(&Secret::new(colm.password.clone()), &salt, cost)
            .unwrap();
    let totp = data_encoding::BASE32_NOPAD
        .decode(
            colm.totp_uri
                .split(['?', '&'])
                .find_map(|part| part.strip_prefix("secret="))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    let mut legacy = credentials.clone();
    legacy.sealed_totp_secret = seal(
        keys.kek(),
        &Aad::new(&colm.id, RecordKind::TotpSecret, &colm.id),
        &totp,
    )
    .unwrap();
    let now = app.portal().clock.now_utc_naive();
    assert!(
        app.portal()
            .store
            .write(|tx| users::replace_password(tx, &id, user.key_generation, &legacy, now))
            .unwrap()
    );

    // A proof sign-in: the proof is right, but the server cannot open the TOTP secret with it.
    let mut browser = Browser::new(app.service().await);
    browser.get("/console/sign-in").await;
    let answer = json(
        &submit(
            &mut browser,
            "/console/sign-in/parameters",
            &[("email", &colm.email)],
        )
        .await,
    );
    let sent = browser_keys(&answer, &colm.password);
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(&app, colm);
    let legacy_try = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[
            ("email", &colm.email),
            ("proof", &proof_of(&sent)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        legacy_try.status,
        StatusCode::CONFLICT,
        "{}",
        legacy_try.body
    );
    assert_eq!(
        json(&legacy_try)["error"]["code"],
        "password_sign_in_needed"
    );
    // One sign-in with the password (as the script then falls back to) re-seals it …
    signed_in(&app, app.service().await, colm).await;
    let (_, moved) = app
        .portal()
        .store
        .read(|tx| users::find_with_credentials(tx, &id))
        .unwrap()
        .unwrap();
    assert_ne!(moved.sealed_totp_secret, legacy.sealed_totp_secret);
    assert_eq!(moved.login_verifier, credentials.login_verifier);
    // … and the proof sign-in works from then on.
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(&app, colm);
    let signed = submit(
        &mut browser,
        "/console/sign-in/proof",
        &[
            ("email", &colm.email),
            ("proof", &proof_of(&sent)),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
}
