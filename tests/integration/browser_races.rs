//! Browser sessions racing (issue 14): two tabs, or a tab and a colleague, posting what the
//! browser made for the same case at the same moment. Each request is decided under the case's
//! lock, so exactly one of them records anything and the other gets a clear answer, never a
//! 500. On SQLite the writers take turns; on PostgreSQL (SPEAKUP_TEST_POSTGRES_URL) they truly
//! run at once.

use speakup::crypto::{
    DataKey, KeyKind, PublicKey, Secret, SecretKey, WrapContext, unwrap_key, wrap_key,
};
use speakup::service::ServiceError;
use speakup::service::casework::BrowserGrant;
use speakup::service::sessions::Handler;

use crate::api_client::{confidential_concern, raise, totp_code};
use crate::browser_keys::audit_actions;
use crate::console_pages::app;
use crate::races::{at_once, handler_for};
use crate::support::{Person, TestApp};

/// A session whose key is in the browser, signed in through the service as console.js signs
/// in (Argon2id here, the login proof sent), and the handler's secret key the browser opens.
pub(crate) fn browser_handler_for(app: &TestApp, person: &Person) -> (Handler, SecretKey) {
    app.clock.advance(time::Duration::seconds(30));
    let portal = app.portal();
    let parameters = portal.sign_in_parameters(&person.email).unwrap();
    let keys = speakup::crypto::derive_password_keys(
        &Secret::new(person.password.clone()),
        &parameters.salt,
        parameters.cost,
    )
    .unwrap();
    let signed = portal
        .sign_in_with_proof(&person.email, keys.proof(), &totp_code(app, person), 0)
        .unwrap();
    let secret = keys
        .open_handler_secret(&person.id, signed.sealed_secret.as_deref().unwrap())
        .unwrap();
    let handler = portal.authenticate(signed.token.expose_secret()).unwrap();
    assert!(handler.key_in_browser());
    (handler, secret)
}

/// The case key as the browser unwraps it from the sealed case.
fn case_key(app: &TestApp, handler: &Handler, secret: &SecretKey, reference: &str) -> DataKey {
    let case = app.portal().sealed_case(handler, reference).unwrap();
    unwrap_key(
        secret,
        &case.case_key_wrap,
        &WrapContext::new(&case.case_id, KeyKind::Case),
    )
    .unwrap()
}

fn count(app: &TestApp, action: &str) -> usize {
    audit_actions(app)
        .iter()
        .filter(|(name, ..)| name == action)
        .count()
}

#[actix_web::test]
async fn two_tabs_adding_the_recovery_wrap_at_once_store_one_and_audit_it_once() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let mut references = Vec::new();
    for n in 0..4 {
        let (_, reference) = raise(&api, confidential_concern(&format!("Older case {n}."))).await;
        references.push(reference);
    }
    let recovery = app
        .portal()
        .create_recovery_key(&staff.organisation)
        .unwrap();
    let recovery = SecretKey::from_recovery_text(recovery.expose_secret()).unwrap();
    let cora = &staff.contacts[0];
    let (first_tab, secret) = browser_handler_for(&app, cora);
    let (second_tab, _) = browser_handler_for(&app, cora);
    // Two tabs, each with its own wrap (a wrap is randomised): one is kept, the other is told
    // the case has one already.
    let (tabs, rest) = references.split_at(2);
    for reference in tabs {
        let case = app.portal().sealed_case(&first_tab, reference).unwrap();
        let public = PublicKey::from_bytes(case.recovery_public_key.expect("the wrap is missing"));
        assert_eq!(public.to_bytes(), recovery.public_key().to_bytes());
        let key = case_key(&app, &first_tab, &secret, reference);
        let context = WrapContext::new(&case.case_id, KeyKind::Case);
        let (one, two) = (
            wrap_key(&key, &public, &context).unwrap(),
            wrap_key(&key, &public, &context).unwrap(),
        );
        let (first, second) = at_once(
            || {
                app.portal()
                    .add_browser_recovery_wrap(&first_tab, reference, &one)
            },
            || {
                app.portal()
                    .add_browser_recovery_wrap(&second_tab, reference, &two)
            },
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        assert!(first != second, "exactly one is stored: {first} / {second}");
        assert!(
            app.portal()
                .sealed_case(&first_tab, reference)
                .unwrap()
                .recovery_public_key
                .is_none(),
            "no longer asked for"
        );
    }
    // A tab and a colleague whose key is on the server opening the case at the same moment.
    let colm = handler_for(&app, &staff.contacts[1]);
    for reference in rest {
        let case = app.portal().sealed_case(&first_tab, reference).unwrap();
        let public = PublicKey::from_bytes(case.recovery_public_key.unwrap());
        let key = case_key(&app, &first_tab, &secret, reference);
        let wrapped = wrap_key(
            &key,
            &public,
            &WrapContext::new(&case.case_id, KeyKind::Case),
        )
        .unwrap();
        let (browser, server) = at_once(
            || {
                app.portal()
                    .add_browser_recovery_wrap(&first_tab, reference, &wrapped)
            },
            || app.portal().case_detail(&colm, reference).map(|_| ()),
        );
        browser.unwrap();
        server.unwrap();
    }
    assert_eq!(count(&app, "recovery_wrap_added"), references.len());
    // Every case now recovers with the offline key, whichever wrap was kept.
    for reference in &references {
        let recovery_text = recovery.to_recovery_text();
        app.portal()
            .recover_case(
                &staff.organisation,
                reference,
                &recovery_text,
                &staff.investigator.email,
            )
            .unwrap_or_else(|error| panic!("{reference}: {error}"));
    }
}

#[actix_web::test]
async fn two_browser_grants_of_a_case_to_the_same_person_at_once_make_one_wrap() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let cora = &staff.contacts[0];
    let ivy = &staff.investigator;
    let outbox_before = crate::insiders::outbox_bodies_to(&app, &ivy.email).len();
    let mut references = Vec::new();
    for n in 0..3 {
        let (_, reference) = raise(&api, confidential_concern(&format!("Grant race {n}."))).await;
        references.push(reference);
    }
    let (first_tab, secret) = browser_handler_for(&app, cora);
    let (second_tab, _) = browser_handler_for(&app, cora);
    for reference in &references {
        // Each tab checked the grant and wrapped the case key for Ivy before either posted.
        let wraps: Vec<Vec<u8>> = [&first_tab, &second_tab]
            .into_iter()
            .map(|tab| {
                let recipient = app
                    .portal()
                    .check_browser_grant(tab, reference, &ivy.email, false)
                    .unwrap();
                assert!(recipient.case_wrap);
                let key = case_key(&app, tab, &secret, reference);
                wrap_key(
                    &key,
                    &PublicKey::from_bytes(recipient.public_key),
                    &WrapContext::new(&recipient.case_id, KeyKind::Case),
                )
                .unwrap()
            })
            .collect();
        let grant = |tab: &Handler, wrap: &[u8]| {
            app.portal().record_browser_grant(
                tab,
                reference,
                &BrowserGrant {
                    email: &ivy.email,
                    with_identity: false,
                    case_wrap: Some(wrap),
                    identity: None,
                },
            )
        };
        let (first, second) = at_once(
            || grant(&first_tab, &wraps[0]),
            || grant(&second_tab, &wraps[1]),
        );
        let refused = match (&first, &second) {
            (Ok(()), Err(refused)) | (Err(refused), Ok(())) => refused,
            _ => panic!("exactly one grant wins: {first:?} / {second:?}"),
        };
        assert!(
            matches!(
                refused,
                ServiceError::Conflict {
                    code: "already_granted",
                    ..
                }
            ),
            "the other is told Ivy holds the case already: {refused:?}"
        );
    }
    assert_eq!(
        count(&app, "grant"),
        references.len(),
        "one audit entry each"
    );
    assert_eq!(
        crate::insiders::outbox_bodies_to(&app, &ivy.email).len() - outbox_before,
        references.len(),
        "one notice each"
    );
    // One wrap each, and it is one of the two the tabs made: Ivy opens every case.
    let ivy_session = handler_for(&app, ivy);
    for reference in &references {
        assert!(app.portal().case_detail(&ivy_session, reference).is_ok());
    }
    assert_eq!(
        app.portal().inbox(&ivy_session).unwrap().len(),
        references.len()
    );
}
