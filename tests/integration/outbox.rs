//! The outbox on both backends: queued with the change that caused it, claimed by one worker at
//! a time, retried with back-off, never handed out again once sent.

use std::collections::HashSet;

use speakup::notify::{self, Notice, Recipient};
use speakup::store::outbox;
use speakup::store::{Store, StoreError};
use time::{Duration, PrimitiveDateTime};

use crate::support::TestApp;

fn now(app: &TestApp) -> PrimitiveDateTime {
    app.clock.now_utc_naive()
}

fn queue_one(store: &Store, reference: &str, at: PrimitiveDateTime) -> String {
    store
        .write(|tx| {
            notify::queue(
                tx,
                &Recipient {
                    email: "contact@example.test".to_owned(),
                    user: None,
                },
                &Notice::NewConcern {
                    reference: reference.to_owned(),
                },
                "https://speakup.test",
                at,
            )
        })
        .expect("queue")
}

#[test]
fn a_rolled_back_change_queues_nothing() {
    let app = TestApp::new();
    let store = &app.portal().store;
    let at = now(&app);
    let outcome: Result<(), StoreError> = store.write(|tx| {
        notify::queue(
            tx,
            &Recipient {
                email: "a@example.test".to_owned(),
                user: None,
            },
            &Notice::Granted {
                reference: "SU-X".to_owned(),
            },
            "https://speakup.test",
            at,
        )?;
        Err(StoreError::Corrupt("the change failed".to_owned()))
    });
    assert!(outcome.is_err());
    let backlog = store.read(outbox::backlog).unwrap();
    assert_eq!(backlog.queued, 0);
}

#[test]
fn claimed_rows_are_leased_retried_with_backoff_and_sent_once() {
    let app = TestApp::new();
    let store = &app.portal().store;
    let at = now(&app);
    let id = queue_one(store, "SU-1", at);
    assert_eq!(store.read(outbox::backlog).unwrap().queued, 1);

    let first = store.write(|tx| outbox::claim_due(tx, at, 10)).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, id);
    assert_eq!(first[0].attempts, 1);
    assert_eq!(first[0].subject, "New concern SU-1");
    // Leased: nobody else gets it meanwhile.
    assert!(
        store
            .write(|tx| outbox::claim_due(tx, at, 10))
            .unwrap()
            .is_empty()
    );

    store
        .write(|tx| outbox::mark_failed(tx, &id, "connection refused", at))
        .unwrap();
    let (last_error, next_attempt_at) = error_and_next_attempt(store, &id);
    assert_eq!(last_error.as_deref(), Some("connection refused"));
    assert_eq!(next_attempt_at, at + Duration::seconds(30));
    assert_eq!(store.read(outbox::backlog).unwrap().failing, 1);
    // Not before the back-off has passed.
    let early = at + Duration::seconds(29);
    assert!(
        store
            .write(|tx| outbox::claim_due(tx, early, 10))
            .unwrap()
            .is_empty()
    );
    let later = at + Duration::seconds(30);
    let second = store.write(|tx| outbox::claim_due(tx, later, 10)).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    // In flight again: no longer counted as failed.
    assert_eq!(error_and_next_attempt(store, &id).0, None);
    assert_eq!(store.read(outbox::backlog).unwrap().failing, 0);

    store.write(|tx| outbox::mark_sent(tx, &id, later)).unwrap();
    // A late failure report for a row already sent changes nothing.
    store
        .write(|tx| outbox::mark_failed(tx, &id, "late", later))
        .unwrap();
    let much_later = later + Duration::days(1);
    assert!(
        store
            .write(|tx| outbox::claim_due(tx, much_later, 10))
            .unwrap()
            .is_empty()
    );
    let backlog = store.read(outbox::backlog).unwrap();
    assert_eq!((backlog.queued, backlog.failing), (0, 0));
}

fn error_and_next_attempt(store: &Store, id: &str) -> (Option<String>, PrimitiveDateTime) {
    use diesel::prelude::*;
    use speakup::store::schema::outbox as table;
    store
        .read(|tx| {
            table::table
                .find(id)
                .select((table::last_error, table::next_attempt_at))
                .first(tx)
                .map_err(StoreError::from)
        })
        .unwrap()
}

#[test]
fn an_abandoned_claim_is_taken_again_after_the_lease() {
    let app = TestApp::new();
    let store = &app.portal().store;
    let at = now(&app);
    let id = queue_one(store, "SU-2", at);
    assert_eq!(
        store
            .write(|tx| outbox::claim_due(tx, at, 10))
            .unwrap()
            .len(),
        1
    );
    let before_lease_ends = at + outbox::CLAIM_LEASE - Duration::seconds(1);
    assert!(
        store
            .write(|tx| outbox::claim_due(tx, before_lease_ends, 10))
            .unwrap()
            .is_empty()
    );
    let again = store
        .write(|tx| outbox::claim_due(tx, at + outbox::CLAIM_LEASE, 10))
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, id);
}

#[test]
fn instances_claiming_at_once_never_share_a_row() {
    let app = TestApp::new();
    let store = app.portal().store.clone();
    let at = now(&app);
    let queued: HashSet<String> = (0..60)
        .map(|n| queue_one(&store, &format!("SU-{n}"), at))
        .collect();
    // On PostgreSQL each worker is a separate instance (its own store and pool), as several
    // `serve` processes on one database would be; SQLite serves one instance.
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = if app.database.is_postgres() {
                Store::open(&app.database.url, 2).expect("a second instance")
            } else {
                store.clone()
            };
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let batch = store.write(|tx| outbox::claim_due(tx, at, 3)).unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|message| message.id));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.join().unwrap());
    }
    let distinct: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 60, "every row claimed exactly once");
    assert_eq!(distinct, queued);
}
