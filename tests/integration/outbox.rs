//! The outbox on both backends: queued with the change that caused it, claimed by one worker at
//! a time, retried with back-off, never handed out again once sent.

use std::collections::HashSet;

use diesel::prelude::*;
use speakup::ids::UserId;
use speakup::notify::{self, Notice, Recipient};
use speakup::store::{Store, StoreError};
use speakup::store::{outbox, schema};
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

/// Notices queued together (the reminder scan's way: one multi-row insert on SQLite, one COPY on
/// PostgreSQL) are all kept, each as it was rendered, with the account behind it or none, and ids
/// of the usual shape that no other call repeats.
#[test]
fn notices_queued_together_are_kept_each_with_its_own_id() {
    let app = TestApp::new();
    let store = &app.portal().store;
    let at = now(&app);
    let anyone = Recipient {
        email: "anyone@example.test".to_owned(),
        user: None,
    };
    let notices: Vec<Notice> = (0..5)
        .map(|n| Notice::Overdue {
            reference: format!("SU-{n}"),
            obligation: speakup::procedure::Obligation::Stage1Response,
            due_on: time::macros::date!(2026 - 11 - 20),
        })
        .collect();
    let someone = Recipient::user(
        &UserId::from_stored("user-1".to_owned()),
        "someone@example.test",
    );
    // Every other notice to an account.
    let to = |n: usize| {
        if n.is_multiple_of(2) {
            &anyone
        } else {
            &someone
        }
    };
    let batch: Vec<(Recipient, &Notice)> = notices
        .iter()
        .enumerate()
        .map(|(n, notice)| (to(n).clone(), notice))
        .collect();
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.extend(
            store
                .write(|tx| notify::queue_all(tx, &batch, "https://speakup.test", at))
                .unwrap(),
        );
    }
    assert!(
        store
            .write(|tx| notify::queue_all(tx, &[], "https://speakup.test", at))
            .unwrap()
            .is_empty()
    );
    assert_eq!(ids.len(), 10);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 10, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())),
        "{ids:?}"
    );
    let stored: Vec<(
        String,
        Option<String>,
        bool,
        PrimitiveDateTime,
        PrimitiveDateTime,
    )> = store
        .read(|tx| {
            Ok::<_, StoreError>(
                schema::outbox::table
                    .filter(schema::outbox::sent_at.is_null())
                    .select((
                        schema::outbox::id,
                        schema::outbox::recipient_user_id,
                        schema::outbox::held_for_digest,
                        schema::outbox::created_at,
                        schema::outbox::next_attempt_at,
                    ))
                    .load(tx)?,
            )
        })
        .unwrap();
    assert_eq!(stored.len(), 10);
    let claimed = store.write(|tx| outbox::claim_due(tx, at, 100)).unwrap();
    assert_eq!(claimed.len(), 10);
    for (n, id) in ids.iter().enumerate() {
        let notice = &notices[n % 5];
        let recipient = to(n % 5);
        let row = claimed
            .iter()
            .find(|m| &m.id == id)
            .expect("every row kept");
        let (_, user, held, created_at, next_attempt_at) = stored
            .iter()
            .find(|row| &row.0 == id)
            .expect("every row kept");
        assert_eq!(user.as_deref(), recipient.user.as_ref().map(UserId::as_str));
        assert!(!held, "reminders are not held for a digest");
        assert_eq!((*created_at, *next_attempt_at), (at, at));
        let rendered = notice.render("https://speakup.test");
        assert_eq!(row.recipient, recipient.email);
        assert_eq!(row.kind, "overdue");
        assert_eq!(row.subject, rendered.subject);
        assert_eq!(row.body, rendered.body);
        assert_eq!(row.attempts, 1);
    }
}
