//! Casework from a console session whose key is in the browser (issue 14): procedure steps
//! whose letters the browser writes (with the server's own letter code, compiled into the
//! module) and seals, grants whose wraps the browser makes, conflicts of interest, and evidence
//! files sealed in the browser. The server holds no key for such a session and never sees the
//! words; each test does here what `static/console.js` does.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise};
use crate::browser::Browser;
use crate::browser_keys::{audit_actions, browser_sign_in, json as json_of, open_all, submit};
use crate::console_pages::{CSRF_COOKIE, app, signed_in};
use crate::support::{Staff, TestApp};
use speakup::crypto::{
    Aad, DataKey, KeyKind, Provenance, RecordKind, SecretKey, WrapContext, seal, unwrap_key,
};

/// What each test of a browser session starts from: a confidential concern raised through the
/// API (case key, reference), and Cora signed in with her key in the browser.
pub(crate) struct Started<S> {
    pub staff: Staff,
    pub case_key: String,
    pub reference: String,
    /// `/console/cases/{reference}`
    pub base: String,
    pub browser: Browser<S>,
    pub secret: SecretKey,
}

pub(crate) async fn raised_and_signed_in(
    app: &TestApp,
    concern: &str,
) -> Started<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let staff = app.staff();
    let (case_key, reference) = raise(&app.service().await, confidential_concern(concern)).await;
    let mut browser = Browser::new(app.service().await);
    let secret = browser_sign_in(app, &mut browser, &staff.contacts[0]).await;
    Started {
        base: format!("/console/cases/{reference}"),
        staff,
        case_key,
        reference,
        browser,
        secret,
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

pub(crate) fn unb64(value: &Value) -> Vec<u8> {
    data_encoding::BASE64
        .decode(value.as_str().unwrap().as_bytes())
        .unwrap()
}

/// The case data key, unwrapped from the handler's wrap in the sealed case.
pub(crate) fn case_key_of(case: &Value, secret: &SecretKey) -> DataKey {
    unwrap_key(
        secret,
        &unb64(&case["case_key_wrap"]),
        &WrapContext::new(case["case_id"].as_str().unwrap(), KeyKind::Case),
    )
    .unwrap()
}

/// A step as console.js writes it: the server's facts with the handler's words added, composed
/// by `procedure::steps` (the code the module runs), sealed under the case key for the
/// position and day the facts name, bound to the handler and the event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sealed_step(
    case: &Value,
    secret: &SecretKey,
    facts: &Value,
    words: &[(&str, &str)],
    author: &str,
    event_id: &str,
    record_id: &str,
) -> String {
    let words_text: Vec<String> = words.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut text = facts["facts"].as_str().unwrap().to_owned();
    for field in &words_text {
        text.push('\0');
        text.push_str(field);
    }
    let composed = speakup::procedure::steps::compose(&text).unwrap();
    let word = |name: &str| {
        words
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| *v)
    };
    let content = json!({
        "letter": composed.letter,
        "detail": composed.detail,
        "authorised_by": word("authorised_by").trim(),
        "not_whistleblowing": Value::Null,
    });
    let case_id = case["case_id"].as_str().unwrap();
    let aad = Aad::new(case_id, RecordKind::EventText, record_id).with_provenance(Provenance {
        author: "system",
        author_user_id: Some(author),
        event_id: Some(event_id),
        position: facts["position"].as_i64().unwrap(),
        written_on: facts["today"].as_str().unwrap(),
    });
    b64(&seal(
        &case_key_of(case, secret),
        &aad,
        content.to_string().as_bytes(),
    )
    .unwrap())
}

#[actix_web::test]
async fn a_browser_session_records_procedure_steps_whose_letters_it_writes_and_seals() {
    let app = app();
    let Started {
        staff,
        case_key,
        base,
        mut browser,
        secret,
        ..
    } = raised_and_signed_in(
        &app,
        "Agency staff on ward 3 are not given the sepsis training.",
    )
    .await;
    let api = app.service().await;
    let cora = &staff.contacts[0];
    let facts_uri = format!("{base}/sealed/events/facts");
    let steps_uri = format!("{base}/sealed/events");

    // The procedure page offers the steps, and says where the letter is written.
    let page = browser.get(&format!("{base}/procedure")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-browser-case="), "{}", page.body);
    assert!(
        page.text()
            .contains("the letter is written and sealed here")
    );
    crate::console_pages::check_accessibility(&page);

    // The facts of a step: what the server knows, no words.
    let facts_page = submit(&mut browser, &facts_uri, &[("event_type", "stage1")]).await;
    assert_eq!(facts_page.status, StatusCode::OK, "{}", facts_page.body);
    let facts = json_of(&facts_page);
    let text = facts["facts"].as_str().unwrap();
    assert!(text.contains("type=stage1"), "{text:?}");
    assert!(text.contains("state_before=received"));
    assert!(text.contains("contact=Cora Contact"));
    assert_eq!(facts["basis"].as_str().unwrap().len(), 64);
    // Nothing was recorded by asking.
    assert!(
        !audit_actions(&app)
            .iter()
            .any(|(action, ..)| action == "event_recorded")
    );

    // The step with its letter sealed in the browser.
    let case = json_of(&browser.get(&format!("{base}/sealed")).await);
    let stage1_words = "We will look at the training records this week.";
    let (event_id, record_id) = (speakup::crypto::random_id(), speakup::crypto::random_id());
    let sealed = sealed_step(
        &case,
        &secret,
        &facts,
        &[("message", stage1_words)],
        &cora.id,
        &event_id,
        &record_id,
    );
    let step_fields = |facts: &Value, event_id: &str, record_id: &str, sealed: &str| {
        vec![
            ("event_id".to_owned(), event_id.to_owned()),
            ("record_id".to_owned(), record_id.to_owned()),
            ("position".to_owned(), facts["position"].to_string()),
            (
                "written_on".to_owned(),
                facts["today"].as_str().unwrap().to_owned(),
            ),
            (
                "basis".to_owned(),
                facts["basis"].as_str().unwrap().to_owned(),
            ),
            ("sealed".to_owned(), sealed.to_owned()),
        ]
    };
    let post_step =
        async |browser: &mut Browser<_>, extra: &[(&str, &str)], fields: Vec<(String, String)>| {
            let mut all: Vec<(&str, &str)> = extra.to_vec();
            all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            submit(browser, &steps_uri, &all).await
        };

    // Refusals first, none of which records anything.
    // The words themselves are never taken.
    let with_words = submit(
        &mut browser,
        &facts_uri,
        &[("event_type", "stage1"), ("message", stage1_words)],
    )
    .await;
    assert_eq!(
        with_words.status,
        StatusCode::BAD_REQUEST,
        "{}",
        with_words.body
    );
    assert_eq!(json_of(&with_words)["error"]["code"], "invalid_form");
    // Letters written from other facts (the case moved on meanwhile): written again.
    let mut stale = step_fields(&facts, &event_id, &record_id, &sealed);
    stale[4].1 = "0".repeat(64);
    let changed = post_step(&mut browser, &[("event_type", "stage1")], stale).await;
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.body);
    assert_eq!(json_of(&changed)["error"]["code"], "case_changed");
    // Sealed for another day.
    let mut other_day = step_fields(&facts, &event_id, &record_id, &sealed);
    other_day[3].1 = "2001-01-01".to_owned();
    let day = post_step(&mut browser, &[("event_type", "stage1")], other_day).await;
    assert_eq!(json_of(&day)["error"]["code"], "day_changed");
    // Ids that are not the browser's 32 hex characters.
    let odd = post_step(
        &mut browser,
        &[("event_type", "stage1")],
        step_fields(&facts, "../x", &record_id, &sealed),
    )
    .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    // Without the CSRF token.
    let forged = browser
        .post_form(&facts_uri, &[("event_type", "stage1")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A position another record took meanwhile (a reply from another tab): sealed again.
    let reply_id = speakup::crypto::random_id();
    let reply = {
        let aad = Aad::new(
            case["case_id"].as_str().unwrap(),
            RecordKind::Note,
            &reply_id,
        )
        .with_provenance(Provenance {
            author: "handler",
            author_user_id: Some(&cora.id),
            event_id: None,
            position: facts["position"].as_i64().unwrap(),
            written_on: facts["today"].as_str().unwrap(),
        });
        b64(&seal(&case_key_of(&case, &secret), &aad, br#"{"body":"a note"}"#).unwrap())
    };
    let noted = submit(
        &mut browser,
        &format!("{base}/sealed"),
        &[
            ("kind", "note"),
            ("id", &reply_id),
            ("position", &facts["position"].to_string()),
            ("written_on", facts["today"].as_str().unwrap()),
            ("sealed", &reply),
        ],
    )
    .await;
    assert_eq!(noted.status, StatusCode::CREATED, "{}", noted.body);
    let taken = post_step(
        &mut browser,
        &[("event_type", "stage1")],
        step_fields(&facts, &event_id, &record_id, &sealed),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert_eq!(json_of(&taken)["error"]["code"], "position_taken");
    assert!(
        !audit_actions(&app)
            .iter()
            .any(|(action, ..)| action == "event_recorded"),
        "a refused step records nothing"
    );

    // Asked again, the facts are the same and the position moved on; sealed again, stored.
    let facts = json_of(&submit(&mut browser, &facts_uri, &[("event_type", "stage1")]).await);
    let sealed = sealed_step(
        &case,
        &secret,
        &facts,
        &[("message", stage1_words)],
        &cora.id,
        &event_id,
        &record_id,
    );
    let recorded = post_step(
        &mut browser,
        &[("event_type", "stage1")],
        step_fields(&facts, &event_id, &record_id, &sealed),
    )
    .await;
    assert_eq!(recorded.status, StatusCode::CREATED, "{}", recorded.body);
    let answer = json_of(&recorded);
    assert_eq!(answer["state"], "stage1");
    assert!(answer["due"]["respond_by"].is_string());
    assert!(!app.database_contains(stage1_words));
    assert!(audit_actions(&app).iter().any(|(action, detail, _)| {
        action == "event_recorded" && detail == "type=stage1; letter sealed in the browser"
    }));
    // The same step again: it is no longer allowed.
    let again = submit(&mut browser, &facts_uri, &[("event_type", "stage1")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // The browser reads its letter back.
    let reread = open_all(
        &json_of(&browser.get(&format!("{base}/sealed")).await),
        &secret,
    );
    assert!(
        reread
            .iter()
            .any(|(kind, text)| kind == "event-text" && text.contains(stage1_words)),
        "{reread:?}"
    );

    // Closing with findings, actions and learning: the learning (and only it) is kept in the
    // clear, for the learning reports, as the form says.
    let findings = "The agency induction pack left out the sepsis module.";
    let actions = "The module is now part of every agency induction.";
    let learning = "Induction packs for agency staff are checked each quarter.";
    let close_facts = [("event_type", "close"), ("outcome", "upheld")];
    let facts = json_of(&submit(&mut browser, &facts_uri, &close_facts).await);
    assert!(facts["facts"].as_str().unwrap().contains("outcome=upheld"));
    let case = json_of(&browser.get(&format!("{base}/sealed")).await);
    let (event_id, record_id) = (speakup::crypto::random_id(), speakup::crypto::random_id());
    let sealed = sealed_step(
        &case,
        &secret,
        &facts,
        &[
            ("findings", findings),
            ("actions", actions),
            ("learning", learning),
        ],
        &cora.id,
        &event_id,
        &record_id,
    );
    let closed = post_step(
        &mut browser,
        &[
            ("event_type", "close"),
            ("outcome", "upheld"),
            ("learning", learning),
            ("learning_publishable", "yes"),
        ],
        step_fields(&facts, &event_id, &record_id, &sealed),
    )
    .await;
    assert_eq!(closed.status, StatusCode::CREATED, "{}", closed.body);
    assert_eq!(json_of(&closed)["state"], "stage1_closed");
    assert!(!app.database_contains(findings));
    assert!(!app.database_contains(actions));
    assert!(
        app.database_contains(learning),
        "learning is kept for the reports"
    );
    // The same ids again: refused, nothing doubled.
    let stage2 = [
        ("event_type", "stage2"),
        ("escalation", "reporter_requested"),
    ];
    let facts = json_of(&submit(&mut browser, &facts_uri, &stage2).await);
    let twice = post_step(
        &mut browser,
        &stage2,
        step_fields(&facts, &event_id, &speakup::crypto::random_id(), &sealed),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert_eq!(json_of(&twice)["error"]["code"], "already_recorded");

    // A colleague signed in with the password reads the letters and the detail the browser
    // sealed, through the server …
    let colm = &staff.contacts[1];
    let mut plain = signed_in(&app, app.service().await, colm).await;
    let conversation = plain.get(&format!("{base}/conversation")).await;
    assert!(
        conversation.text().contains(stage1_words),
        "{}",
        conversation.text()
    );
    assert!(conversation.text().contains(findings));
    let procedure = plain.get(&format!("{base}/procedure")).await;
    assert!(
        procedure.text().contains(&format!("Findings: {findings}")),
        "{}",
        procedure.text()
    );
    // … and these endpoints are not for a session whose key is on the server.
    let not_here = submit(&mut plain, &facts_uri, &[("event_type", "stage2")]).await;
    assert_eq!(not_here.status, StatusCode::CONFLICT);
    assert_eq!(json_of(&not_here)["error"]["code"], "key_on_server");
    // The reporter reads both letters in the mailbox.
    let (status, session) = call(
        &api,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (_, mailbox) = call(
        &api,
        bearer(get("/api/v1/mailbox"), session["token"].as_str().unwrap()),
    )
    .await;
    let bodies: Vec<&str> = mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains(stage1_words)),
        "{bodies:?}"
    );
    assert!(bodies.iter().any(|b| b.contains(findings)), "{bodies:?}");

    // Someone who does not hold the case: 404, as for a case that does not exist.
    let mut other = Browser::new(app.service().await);
    browser_sign_in(&app, &mut other, &staff.investigator).await;
    let csrf = other.cookie(CSRF_COOKIE).cloned().unwrap_or_default();
    assert_eq!(
        other
            .post_form(&facts_uri, &[("csrf", &csrf), ("event_type", "stage2")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// The wraps console.js makes for a grant: the case key for the new holder and, when an identity
/// request is due, the identity key (held back until the reporter agrees) and the sealed reason.
pub(crate) fn grant_fields(
    case: &Value,
    secret: &SecretKey,
    recipient: &Value,
    email: &str,
) -> Vec<(String, String)> {
    use speakup::crypto::{PublicKey, wrap_key};
    let case_id = case["case_id"].as_str().unwrap();
    let public = PublicKey::from_bytes(unb64(&recipient["public_key"]).try_into().unwrap());
    let cdk = case_key_of(case, secret);
    let mut fields = vec![("email".to_owned(), email.to_owned())];
    if recipient["case_wrap"] == true {
        let wrapped = wrap_key(&cdk, &public, &WrapContext::new(case_id, KeyKind::Case)).unwrap();
        fields.push(("case_wrap".to_owned(), b64(&wrapped)));
    }
    if recipient["identity_request"] == true {
        let idk = unwrap_key(
            secret,
            &unb64(&case["identity_key_wrap"]),
            &WrapContext::new(case_id, KeyKind::Identity),
        )
        .unwrap();
        let wrapped =
            wrap_key(&idk, &public, &WrapContext::new(case_id, KeyKind::Identity)).unwrap();
        let request_id = speakup::crypto::random_id();
        let reason = seal(
            &cdk,
            &Aad::new(case_id, RecordKind::IdentityRequest, &request_id),
            br#"{"body":""}"#,
        )
        .unwrap();
        fields.extend([
            ("identity".to_owned(), "yes".to_owned()),
            ("identity_wrap".to_owned(), b64(&wrapped)),
            ("request_id".to_owned(), request_id),
            ("sealed_reason".to_owned(), b64(&reason)),
        ]);
    }
    fields
}

pub(crate) fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[actix_web::test]
async fn a_browser_session_gives_access_with_wraps_it_makes_and_declares_conflicts() {
    let app = app();
    let concern = "The controlled drugs register on ward 9 does not balance.";
    let Started {
        staff,
        case_key,
        base,
        mut browser,
        secret,
        ..
    } = raised_and_signed_in(&app, concern).await;
    let api = app.service().await;
    let ivy = &staff.investigator;
    let recipient_uri = format!("{base}/sealed/grants/recipient");
    let grant_uri = format!("{base}/sealed/grants");

    // The server checks who may hold the case, as for any grant.
    for (email, status, code) in [
        (
            "nobody@testshire.scot",
            StatusCode::BAD_REQUEST,
            "unknown_user",
        ),
        (
            staff.lead.email.as_str(),
            StatusCode::BAD_REQUEST,
            "role_cannot_hold_cases",
        ),
        (
            staff.contacts[1].email.as_str(),
            StatusCode::CONFLICT,
            "already_granted",
        ),
    ] {
        let refused = submit(&mut browser, &recipient_uri, &[("email", email)]).await;
        assert_eq!(refused.status, status, "{email}: {}", refused.body);
        assert_eq!(json_of(&refused)["error"]["code"], code);
    }
    // Someone who may: their public key, and what the browser has to make.
    let found = submit(&mut browser, &recipient_uri, &[("email", &ivy.email)]).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let recipient = json_of(&found);
    assert_eq!(recipient["user_id"], ivy.id.as_str());
    assert_eq!(recipient["case_wrap"], true);
    assert_eq!(recipient["identity_request"], false);
    assert_eq!(recipient["fingerprint"].as_str().unwrap().len(), 19);

    let case = json_of(&browser.get(&format!("{base}/sealed")).await);
    let fields = grant_fields(&case, &secret, &recipient, &ivy.email);
    // Without the wrap, or with one of the wrong length: refused, nothing stored.
    let missing = submit(&mut browser, &grant_uri, &[("email", &ivy.email)]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    assert_eq!(json_of(&missing)["error"]["code"], "wrap_missing");
    let short = submit(
        &mut browser,
        &grant_uri,
        &[("email", &ivy.email), ("case_wrap", "AAAA")],
    )
    .await;
    assert_eq!(json_of(&short)["error"]["code"], "invalid_wrap");
    let forged = browser.post_form(&grant_uri, &borrowed(&fields)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
    // With the wrap: stored, audited, and Ivy (signed in with her password) reads the case.
    let granted = submit(&mut browser, &grant_uri, &borrowed(&fields)).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, detail, who)| action == "grant"
                && detail == "keys=case; wrapped in the browser"
                && who.as_deref() == Some(ivy.id.as_str()))
    );
    let again = submit(&mut browser, &grant_uri, &borrowed(&fields)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(json_of(&again)["error"]["code"], "already_granted");
    let mut ivy_plain = signed_in(&app, app.service().await, ivy).await;
    let page = ivy_plain.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(concern), "{}", page.text());
    assert!(
        page.text().contains("Withheld"),
        "no identity without consent"
    );

    // The identity: a request the reporter answers, made with wraps from the browser.
    let found = submit(
        &mut browser,
        &recipient_uri,
        &[("email", &ivy.email), ("identity", "yes")],
    )
    .await;
    let recipient = json_of(&found);
    assert_eq!(recipient["case_wrap"], false);
    assert_eq!(recipient["identity_request"], true);
    let fields = grant_fields(&case, &secret, &recipient, &ivy.email);
    let asked = submit(&mut browser, &grant_uri, &borrowed(&fields)).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.body);
    let request = crate::insiders::reporter_answers(&api, &case_key, "approve").await;
    assert_eq!(request["to_name"], ivy.name.as_str());
    let page = ivy_plain.get(&base).await;
    assert!(page.text().contains("Rhona Reporter"), "{}", page.text());

    // Ivy, signed in with her key in the browser, declares a conflict of interest: no key is
    // needed for that; she loses the case, and nobody can give it back to her.
    let mut ivy_browser = Browser::new(app.service().await);
    browser_sign_in(&app, &mut ivy_browser, ivy).await;
    let declared = submit(
        &mut ivy_browser,
        &format!("{base}/conflict"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(
        declared.status,
        StatusCode::SEE_OTHER,
        "{}",
        declared.text()
    );
    assert_eq!(
        ivy_browser.get(&format!("{base}/sealed")).await.status,
        StatusCode::NOT_FOUND
    );
    let barred = submit(&mut browser, &recipient_uri, &[("email", &ivy.email)]).await;
    assert_eq!(barred.status, StatusCode::CONFLICT);
    assert_eq!(json_of(&barred)["error"]["code"], "conflict_of_interest");

    // Removing someone's access needs no key either.
    let colm = &staff.contacts[1];
    let removed = submit(
        &mut browser,
        &format!("{base}/revoke"),
        &[("email", &colm.email), ("confirm", "yes")],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text());
    assert!(
        audit_actions(&app)
            .iter()
            .any(|(action, _, who)| action == "revoke" && who.as_deref() == Some(colm.id.as_str()))
    );
    // The last holder cannot leave the case without anyone.
    let last = submit(
        &mut browser,
        &format!("{base}/conflict"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.text());
}

/// What console.js sends for a file: cleaned and sealed (by the module's copy of `strip` and
/// the attachment sealer), with its description sealed for the next position.
pub(crate) fn sealed_file(
    case: &Value,
    secret: &SecretKey,
    author: &str,
    id: &str,
    name: &str,
    content: &[u8],
) -> (Vec<u8>, Vec<u8>, String) {
    use speakup::crypto::{AttachmentBinding, AttachmentSealer};
    let case_id = case["case_id"].as_str().unwrap();
    let mut stripper = speakup::strip::Stripper::new();
    let mut clean = Vec::new();
    stripper.push(content, &mut clean).unwrap();
    let report = stripper.finish(&mut clean).unwrap();
    let cdk = case_key_of(case, secret);
    let mut sealer = AttachmentSealer::new(&cdk, &AttachmentBinding::new(case_id, id)).unwrap();
    let mut sealed = Vec::new();
    sealer.push(&clean, &mut sealed).unwrap();
    sealer.finish(&mut sealed).unwrap();
    let description = json!({
        "name": speakup::strip::clean_file_name(name),
        "size": clean.len(),
        "removed_metadata": report.removed,
    });
    let aad = Aad::new(case_id, RecordKind::Attachment, id).with_provenance(Provenance {
        author: "handler",
        author_user_id: Some(author),
        event_id: None,
        position: case["next_position"].as_i64().unwrap(),
        written_on: case["today"].as_str().unwrap(),
    });
    let record = b64(&seal(&cdk, &aad, description.to_string().as_bytes()).unwrap());
    (clean, sealed, record)
}

#[actix_web::test]
async fn a_browser_session_adds_files_it_cleaned_and_sealed_and_opens_them_itself() {
    use crate::attachments::multipart;
    let multipart_type = "multipart/form-data; boundary=----speakup-test-boundary-7d1f";
    let app = app();
    let Started {
        staff,
        case_key,
        base,
        mut browser,
        secret,
        ..
    } = raised_and_signed_in(&app, "The fire doors on ward 2 are wedged open at night.").await;
    let api = app.service().await;
    let cora = &staff.contacts[0];
    let upload_uri = format!("{base}/sealed/attachments");

    // The conversation page offers the file form with the size limit for the script.
    let page = browser.get(&format!("{base}/conversation")).await;
    assert!(
        page.body.contains("data-sealed-slot=\"evidence\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-max-bytes=\""));

    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let name = "Ward 2 fire door, Tuesday night.jpg";
    let case = json_of(&browser.get(&format!("{base}/sealed")).await);
    let id = speakup::crypto::random_id();
    let (clean, sealed, record) = sealed_file(&case, &secret, &cora.id, &id, name, photo);
    assert!(clean.len() < photo.len(), "the GPS block went");
    let csrf = browser.cookie(CSRF_COOKIE).cloned().unwrap();
    let position = case["next_position"].to_string();
    let today = case["today"].as_str().unwrap().to_owned();
    let fields = |id: &str, position: &str, record: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("id".to_owned(), id.to_owned()),
            ("position".to_owned(), position.to_owned()),
            ("written_on".to_owned(), today.clone()),
            ("record".to_owned(), record.to_owned()),
        ]
    };
    let body =
        |fields: Vec<(String, String)>, file: &[u8]| multipart(&borrowed(&fields), "sealed", file);

    // Refusals: a file not sealed in the browser, a stream too short to be one (the server
    // checks the shape; only a key holder can tell a cut inside the last chunk), a stale
    // position, no CSRF token.
    let plain = browser
        .post_body(
            &upload_uri,
            multipart_type,
            body(fields(&id, &position, &record), photo),
        )
        .await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST, "{}", plain.body);
    assert_eq!(json_of(&plain)["error"]["code"], "not_sealed");
    let cut = browser
        .post_body(
            &upload_uri,
            multipart_type,
            body(fields(&id, &position, &record), &sealed[..30]),
        )
        .await;
    assert_eq!(json_of(&cut)["error"]["code"], "not_sealed", "{}", cut.body);
    let stale = browser
        .post_body(
            &upload_uri,
            multipart_type,
            body(fields(&id, "1", &record), &sealed),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(json_of(&stale)["error"]["code"], "position_taken");
    let mut no_csrf = fields(&id, &position, &record);
    no_csrf.remove(0);
    let forged = browser
        .post_body(&upload_uri, multipart_type, body(no_csrf, &sealed))
        .await;
    assert!(forged.status.is_client_error(), "{}", forged.status);
    // Nothing was kept of the refused uploads.
    assert_eq!(
        browser
            .get(&format!("{base}/sealed/attachments/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Sealed and described: stored as sent, never readable at rest.
    let stored = browser
        .post_body(
            &upload_uri,
            multipart_type,
            body(fields(&id, &position, &record), &sealed),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    assert!(!app.database_contains("fire door, Tuesday"));
    assert!(audit_actions(&app).iter().any(|(action, detail, _)| {
        action == "attachment_added" && *detail == format!("{id}; sealed in the browser")
    }));
    // The same id again cannot overwrite it.
    let again = browser
        .post_body(
            &upload_uri,
            multipart_type,
            body(fields(&id, &position, &record), &sealed),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(json_of(&again)["error"]["code"], "already_sent");

    // The browser lists it from the sealed case and gets it back sealed (audited).
    let reread = json_of(&browser.get(&format!("{base}/sealed")).await);
    let opened = open_all(&reread, &secret);
    assert!(
        opened.contains(&("attachment".to_owned(), name.to_owned())),
        "{opened:?}"
    );
    let (status, back) = browser
        .download(&format!("{base}/sealed/attachments/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back, sealed, "the stored bytes, as sealed in the browser");
    assert!(audit_actions(&app).iter().any(|(action, detail, _)| {
        action == "attachment_downloaded" && *detail == format!("{id}; opened in the browser")
    }));

    // A colleague signed in with the password downloads it through the server, cleaned.
    let mut plain = signed_in(&app, app.service().await, &staff.contacts[1]).await;
    let (status, opened) = plain.download(&format!("{base}/attachments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(opened, clean);
    assert_eq!(
        plain
            .get(&format!("{base}/sealed/attachments/{id}"))
            .await
            .status,
        StatusCode::CONFLICT,
        "the sealed download is for browser sessions"
    );
    // The reporter sees it in the mailbox.
    let (_, session) = call(
        &api,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let (_, mailbox) = call(
        &api,
        bearer(get("/api/v1/mailbox"), session["token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(mailbox["attachments"][0]["name"], name, "{mailbox}");

    // Someone who does not hold the case: 404.
    let mut other = Browser::new(app.service().await);
    browser_sign_in(&app, &mut other, &staff.investigator).await;
    assert_eq!(
        other
            .get(&format!("{base}/sealed/attachments/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
