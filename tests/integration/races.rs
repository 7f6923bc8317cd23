//! Checks that precede writes, raced: each test starts the competing requests together from
//! several threads. On SQLite the writers take turns; on PostgreSQL (SPEAKUP_TEST_POSTGRES_URL)
//! they truly run at once, which is where row locks have to do the work.

use std::sync::Barrier;

use speakup::crypto::Secret;
use speakup::service::ServiceError;
use speakup::service::accounts::{NewAccount, SetupOrganisation};
use speakup::service::organisations::ServiceSet;
use speakup::service::sessions::Handler;
use speakup::store::users;

use crate::api_client::{confidential_concern, raise, totp_code};
use crate::console_pages::app;
use crate::support::{PASSWORD, Person, TestApp};
use speakup::model::Role;

/// Signs `person` in through the service and returns their handler session.
pub fn handler_for(app: &TestApp, person: &Person) -> Handler {
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(app, person);
    let signed = app
        .portal()
        .sign_in(&person.email, &Secret::new(person.password.clone()), &code)
        .unwrap_or_else(|error| panic!("{} cannot sign in: {error}", person.email));
    app.portal()
        .authenticate(signed.token.expose_secret())
        .expect("fresh session")
}

/// Runs both closures at the same moment on two threads and returns both results.
pub(crate) fn at_once<A, B, RA, RB>(first: A, second: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        let a = scope.spawn(|| {
            start.wait();
            first()
        });
        let b = scope.spawn(|| {
            start.wait();
            second()
        });
        (
            a.join().expect("first thread"),
            b.join().expect("second thread"),
        )
    })
}

#[actix_web::test]
async fn two_holders_revoking_each_other_never_leave_a_case_without_a_holder() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let mut references = Vec::new();
    for n in 0..12 {
        let (_, reference) = raise(&api, confidential_concern(&format!("Concern {n}."))).await;
        references.push(reference);
    }
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let (cora_session, colm_session) = (handler_for(&app, cora), handler_for(&app, colm));
    for reference in &references {
        let (first, second) = at_once(
            || app.portal().revoke(&cora_session, reference, &colm.email),
            || app.portal().revoke(&colm_session, reference, &cora.email),
        );
        assert!(
            first.is_ok() != second.is_ok(),
            "exactly one revoke wins: {first:?} / {second:?}"
        );
    }
    let held_by = |session: &Handler| -> Vec<String> {
        app.portal()
            .inbox(session)
            .unwrap()
            .into_iter()
            .map(|entry| entry.reference)
            .collect()
    };
    let (by_cora, by_colm) = (held_by(&cora_session), held_by(&colm_session));
    for reference in &references {
        let holders =
            usize::from(by_cora.contains(reference)) + usize::from(by_colm.contains(reference));
        assert_eq!(
            holders, 1,
            "{reference}: cora {by_cora:?}, colm {by_colm:?}"
        );
    }
}

#[actix_web::test]
async fn a_setup_link_used_by_parallel_requests_creates_exactly_one_admin() {
    let app = TestApp::new();
    let token = app
        .portal()
        .issue_setup_token()
        .unwrap()
        .expect("no admin yet");
    let token = token.expose_secret().clone();
    let start = Barrier::new(4);
    let outcomes: Vec<Result<(), ServiceError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let (start, token, portal) = (&start, &token, app.portal());
                scope.spawn(move || {
                    start.wait();
                    portal
                        .complete_setup(
                            token,
                            SetupOrganisation::New {
                                slug: format!("org-{n}"),
                                name: format!("Organisation {n}"),
                                services: ServiceSet {
                                    nhs: true,
                                    local_authority: false,
                                },
                            },
                            NewAccount {
                                organisation: String::new(),
                                email: format!("admin{n}@example.scot"),
                                name: format!("Admin {n}"),
                                job_title: String::new(),
                                role: Role::Admin,
                                intake: false,
                                password: Secret::new(PASSWORD.to_owned()),
                            },
                        )
                        .map(|_| ())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let admins = app.portal().store.read(users::count_active_admins).unwrap();
    assert_eq!(admins, 1);
}

#[actix_web::test]
async fn a_password_change_racing_a_disable_never_switches_the_account_back_on() {
    let app = app();
    let staff = app.staff();
    let admin = handler_for(&app, &staff.admin);
    let ivy = &staff.investigator;
    let ivy_id = speakup::ids::UserId::from_stored(ivy.id.clone());
    let mut password = ivy.password.clone();
    for round in 0..6 {
        app.portal()
            .set_account_active(&admin, &ivy_id, true)
            .unwrap();
        let mut person = Person::clone_of(ivy);
        person.password = password.clone();
        let session = handler_for(&app, &person);
        let new_password = format!("{PASSWORD} round {round}");
        let (changed, disabled) = at_once(
            || {
                app.portal().change_password(
                    &session,
                    &Secret::new(password.clone()),
                    &Secret::new(new_password.clone()),
                )
            },
            || app.portal().set_account_active(&admin, &ivy_id, false),
        );
        disabled.expect("the disable always succeeds");
        if changed.is_ok() {
            password = new_password;
        }
        let user = app
            .portal()
            .store
            .read(|tx| users::find(tx, &ivy_id))
            .unwrap()
            .unwrap();
        assert!(
            !user.active,
            "round {round}: the account was switched back on"
        );
    }
}

#[actix_web::test]
async fn two_admins_disabling_each_other_leave_one_admin() {
    let app = app();
    let staff = app.staff();
    let second = app.add_person(
        &staff.organisation,
        "abe@testshire.scot",
        "Abe Admin",
        Role::Admin,
        false,
    );
    let (ada, abe) = (handler_for(&app, &staff.admin), handler_for(&app, &second));
    let (ada_id, abe_id) = (ada.user.id.clone(), abe.user.id.clone());
    let (first, other) = at_once(
        || app.portal().set_account_active(&ada, &abe_id, false),
        || app.portal().set_account_active(&abe, &ada_id, false),
    );
    assert!(first.is_ok() != other.is_ok(), "{first:?} / {other:?}");
    let admins = app.portal().store.read(users::count_active_admins).unwrap();
    assert_eq!(admins, 1);
}

#[actix_web::test]
async fn a_reset_or_disable_never_leaves_a_case_without_a_holder() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let mut concern = confidential_concern("Only Cora may read this.");
    concern["exclude"] = serde_json::json!([colm.id]);
    raise(&api, concern).await;
    let admin = handler_for(&app, &staff.admin);
    let cora_id = speakup::ids::UserId::from_stored(cora.id.clone());
    let refused = |outcome: Result<(), ServiceError>| match outcome {
        Err(ServiceError::Conflict { code, message }) => {
            assert_eq!(code, "sole_holder");
            assert!(message.contains("Cora Contact"), "{message}");
        }
        other => panic!("expected sole_holder, got {other:?}"),
    };
    refused(app.portal().set_account_active(&admin, &cora_id, false));
    refused(app.portal().reset_account(&admin, &cora_id).map(|_| ()));
    // Colm, who holds nothing alone, can be disabled.
    let colm_id = speakup::ids::UserId::from_stored(colm.id.clone());
    app.portal()
        .set_account_active(&admin, &colm_id, false)
        .unwrap();
}

/// Every case has at least one active handler holding its key.
fn every_case_has_an_active_holder(app: &TestApp, references: &[String]) {
    use speakup::store::cases;
    use speakup::store::wraps::{self, Recipient};
    app.portal()
        .store
        .read(|tx| {
            for reference in references {
                let case = cases::find_by_reference(tx, reference)?.unwrap();
                let mut active = 0;
                for wrap in wraps::for_case(tx, &case.id)? {
                    if let (Recipient::User(user), speakup::crypto::KeyKind::Case) =
                        (&wrap.recipient, wrap.key_kind)
                        && users::find(tx, user)?.is_some_and(|user| user.active)
                    {
                        active += 1;
                    }
                }
                assert!(active > 0, "{reference} has no active holder");
            }
            Ok::<_, speakup::store::StoreError>(())
        })
        .unwrap();
}

fn refused_as_sole_holder(outcome: &Result<(), ServiceError>) -> bool {
    matches!(
        outcome,
        Err(ServiceError::Conflict {
            code: "sole_holder",
            ..
        })
    )
}

#[actix_web::test]
async fn disables_resets_and_revokes_racing_never_leave_a_case_without_an_active_holder() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let mut references = Vec::new();
    for n in 0..4 {
        let (_, reference) = raise(&api, confidential_concern(&format!("Concern {n}."))).await;
        references.push(reference);
    }
    // Every case is held by exactly Cora and Colm, the two intake contacts.
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let cora_id = speakup::ids::UserId::from_stored(cora.id.clone());
    let colm_id = speakup::ids::UserId::from_stored(colm.id.clone());
    let admin = handler_for(&app, &staff.admin);
    let enable = |id: &speakup::ids::UserId| {
        app.portal().set_account_active(&admin, id, true).unwrap();
    };

    // Two disables at once: each alone is fine, together they would leave nobody.
    for round in 0..3 {
        let (first, second) = at_once(
            || app.portal().set_account_active(&admin, &cora_id, false),
            || app.portal().set_account_active(&admin, &colm_id, false),
        );
        assert!(
            first.is_ok() != second.is_ok(),
            "round {round}: {first:?} / {second:?}"
        );
        assert!(refused_as_sole_holder(if first.is_ok() {
            &second
        } else {
            &first
        }));
        every_case_has_an_active_holder(&app, &references);
        enable(if first.is_ok() { &cora_id } else { &colm_id });
    }

    // A disable racing the other holder's revoke, on each case in turn.
    for reference in &references {
        let cora_session = handler_for(&app, cora);
        let (revoked, disabled) = at_once(
            || app.portal().revoke(&cora_session, reference, &colm.email),
            || app.portal().set_account_active(&admin, &cora_id, false),
        );
        assert!(
            revoked.is_ok() != disabled.is_ok(),
            "{reference}: revoke {revoked:?} / disable {disabled:?}"
        );
        every_case_has_an_active_holder(&app, &references);
        if disabled.is_ok() {
            enable(&cora_id);
        } else {
            // Give it back so the next round starts from two holders again.
            let cora_session = handler_for(&app, cora);
            app.portal()
                .grant(&cora_session, reference, &colm.email, false)
                .unwrap();
        }
    }

    // A reset racing a disable of the other holder.
    let (reset, disabled) = at_once(
        || app.portal().reset_account(&admin, &cora_id).map(|_| ()),
        || app.portal().set_account_active(&admin, &colm_id, false),
    );
    assert!(
        reset.is_ok() != disabled.is_ok(),
        "reset {reset:?} / disable {disabled:?}"
    );
    every_case_has_an_active_holder(&app, &references);
}
