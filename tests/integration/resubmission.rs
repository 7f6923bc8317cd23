//! Sending the same concern twice (a reload of the case key page, back and send again, a double
//! click, two requests racing) saves one concern, on SQLite and on PostgreSQL.

use std::sync::Barrier;

use speakup::crypto::{CaseKey, Secret, SubmissionToken};
use speakup::procedure::{Anonymity, Service, Topic};
use speakup::service::ServiceError;
use speakup::service::intake::{ALREADY_SENT, NewConcern, Receipt};
use speakup::store::cases;

use crate::support::TestApp;

fn concern() -> NewConcern {
    NewConcern {
        organisation: "nhs-testshire".to_owned(),
        service: Service::Nhs,
        anonymity: Anonymity::Anonymous,
        topic: Topic::General,
        concern: Secret::new("Night shifts on ward 2 run with one nurse.".to_owned()),
        became_aware_on: None,
        exclude: Vec::new(),
        identity: None,
    }
}

fn case_count(app: &TestApp) -> usize {
    let organisation = app
        .portal()
        .organisation_by_slug("nhs-testshire")
        .unwrap()
        .id;
    app.portal()
        .store
        .read(|tx| cases::in_organisation(tx, &organisation))
        .unwrap()
        .len()
}

#[test]
fn the_same_token_sends_once_and_shows_the_same_key_that_day() {
    let app = TestApp::new();
    app.staff();
    let token = SubmissionToken::generate();
    let first = app.portal().submit_concern_once(concern(), &token).unwrap();
    assert!(!first.already_sent);
    let again = app.portal().submit_concern_once(concern(), &token).unwrap();
    assert!(again.already_sent);
    assert_eq!(
        again.case_key.expose_secret(),
        first.case_key.expose_secret()
    );
    assert_eq!(again.reference, first.reference);
    assert_eq!(case_count(&app), 1);
    // The key opens the mailbox, and is stored nowhere, nor is the token.
    let key = CaseKey::parse(first.case_key.expose_secret()).unwrap();
    app.portal()
        .store
        .read(|tx| cases::find_by_lookup_id(tx, &key.lookup_id()))
        .unwrap()
        .expect("found by its lookup id");
    assert!(!app.database_contains(first.case_key.expose_secret()));
    assert!(!app.database_contains(token.to_form_value().expose_secret()));

    // Another token is another concern.
    let other = app
        .portal()
        .submit_concern_once(concern(), &SubmissionToken::generate())
        .unwrap();
    assert_ne!(other.reference, first.reference);
    assert_eq!(case_count(&app), 2);

    // A day later an old page sent again is refused, without the key.
    app.clock.advance(time::Duration::days(1));
    match app.portal().submit_concern_once(concern(), &token) {
        Err(ServiceError::Conflict { code, message }) => {
            assert_eq!(code, ALREADY_SENT);
            assert!(message.contains(&first.reference), "{message}");
            assert!(message.contains("16 November 2026"), "{message}");
            assert!(!message.contains(first.case_key.expose_secret()));
        }
        Ok(_) => panic!("sent again a day later"),
        Err(other) => panic!("unexpected {other:?}"),
    }
    assert_eq!(case_count(&app), 2);
}

#[test]
fn two_identical_sends_racing_save_one_concern() {
    let app = TestApp::new();
    app.staff();
    for round in 0..4 {
        let token = SubmissionToken::generate();
        let barrier = Barrier::new(2);
        let receipts: Vec<Result<Receipt, ServiceError>> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        app.portal().submit_concern_once(concern(), &token)
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|racer| racer.join().unwrap())
                .collect()
        });
        let receipts: Vec<Receipt> = receipts
            .into_iter()
            .map(|receipt| receipt.expect("both sends answer with the receipt"))
            .collect();
        assert_eq!(case_count(&app), round + 1, "one concern per token");
        assert_eq!(
            receipts[0].case_key.expose_secret(),
            receipts[1].case_key.expose_secret()
        );
        assert_eq!(receipts[0].reference, receipts[1].reference);
        assert_eq!(
            receipts
                .iter()
                .filter(|receipt| !receipt.already_sent)
                .count(),
            1,
            "exactly one of them saved it"
        );
    }
}
