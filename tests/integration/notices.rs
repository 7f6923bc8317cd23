//! E-mail notices against a real SMTP server (aiosmtpd on loopback): the right people are told,
//! nothing of the concern is in any message, reminders follow the working-day count, and a mail
//! server that dies mid-run loses nothing and duplicates nothing.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use diesel::prelude::*;
use serde_json::{Value, json};
use speakup::notify::smtp::Mailer;
use speakup::notify::worker::deliver_due;
use speakup::notify::{self, Notice, Recipient};
use speakup::store::outbox::DeliveryPreference;
use speakup::store::schema::outbox;
use tempfile::TempDir;

use crate::api_client::{bearer, call, confidential_concern, post_json, raise, sign_in};
use crate::console_pages::{assert_redirect, open, signed_in, submit};
use crate::support::TestApp;

/// A real SMTP server in a child process, recording what it accepts as JSON lines.
struct SmtpSink {
    port: u16,
    child: Option<Child>,
    _dir: TempDir,
    file: PathBuf,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl SmtpSink {
    fn start(hang_after: Option<usize>) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mail.jsonl");
        let mut sink = SmtpSink {
            port: free_port(),
            child: None,
            _dir: dir,
            file,
        };
        sink.restart(hang_after);
        sink
    }

    fn restart(&mut self, hang_after: Option<usize>) {
        crate::support::python_module("aiosmtpd", "aiosmtpd");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(count) = hang_after {
            command.arg(count.to_string());
        }
        let mut child = command.spawn().expect("python3 with aiosmtpd");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(
            ready.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed? `python3 -m pip install aiosmtpd`)"
        );
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn configure(&self, raw: &mut speakup::config::RawSettings) {
        raw.smtp_url = format!("smtp://127.0.0.1:{}", self.port);
        raw.mail_from = "speakup <speakup@testshire.scot>".to_owned();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.kill();
    }
}

fn mailer(app: &TestApp) -> Mailer {
    Mailer::from_settings(&app.portal().settings.mail)
        .unwrap()
        .expect("smtp_url is set")
}

fn recipients(messages: &[Value]) -> Vec<String> {
    let mut all: Vec<String> = messages
        .iter()
        .flat_map(|message| message["to"].as_array().unwrap().clone())
        .map(|to| to.as_str().unwrap().to_owned())
        .collect();
    all.sort();
    all
}

#[actix_web::test]
async fn a_concern_tells_only_the_chosen_contacts_and_no_message_carries_content() {
    let sink = SmtpSink::start(None);
    let app = TestApp::with_settings(|raw| sink.configure(raw));
    let staff = app.staff();
    let service = app.service().await;
    let canary = "CANARY-7d1f-falsified-rota";
    let mut concern = confidential_concern(&format!("Ward 4 rota is falsified {canary}"));
    concern["identity"] =
        json!({"name": "Rhona CanaryName", "contact": "rhona-canary@example.org"});
    concern["exclude"] = json!([staff.contacts[1].id]);
    let (case_key, reference) = raise(&service, concern).await;

    // The reporter writes; the holders hear that there is a message, not what it says.
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let token = session["token"].as_str().unwrap();
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/messages",
                json!({"body": format!("more {canary}")}),
            ),
            token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // A file from the reporter: the holders hear that there is one, never its name.
    let (status, receipt) = call(
        &service,
        bearer(
            crate::attachments::upload(
                "/api/v1/mailbox/attachments",
                crate::attachments::multipart(&[], &format!("{canary}.txt"), b"rota copy"),
            ),
            token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");

    // A grant tells the new holder.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, answer) = call(
        &service,
        bearer(
            post_json(
                &format!("/api/v1/cases/{reference}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let round = deliver_due(&app.portal().store, &app.clock, &mailer(&app))
        .await
        .unwrap();
    assert_eq!((round.sent, round.failed), (4, 0));
    let messages = sink.messages();
    assert_eq!(
        recipients(&messages),
        vec![
            "cora@testshire.scot".to_owned(),
            "cora@testshire.scot".to_owned(),
            "cora@testshire.scot".to_owned(),
            "ivy@testshire.scot".to_owned(),
        ],
        "Colm was left out by the reporter and hears nothing"
    );
    let subjects: HashSet<&str> = messages
        .iter()
        .map(|message| message["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(format!("New concern {reference}").as_str()));
    assert!(subjects.contains(format!("New message on {reference}").as_str()));
    assert!(subjects.contains(format!("New file on {reference}").as_str()));
    assert!(subjects.contains(format!("You have been given case {reference}").as_str()));
    for message in &messages {
        for field in ["raw", "text", "subject"] {
            let text = message[field].as_str().unwrap();
            for secret in [canary, "CanaryName", "rhona-canary", "Ward 4"] {
                assert!(
                    !text.contains(secret),
                    "{secret} leaked into {field}: {text}"
                );
            }
        }
        assert!(
            message["text"]
                .as_str()
                .unwrap()
                .contains(&format!("https://speakup.test/console/cases/{reference}"))
        );
        assert_eq!(message["from"], "speakup@testshire.scot");
    }
    // Sent rows keep no body (not even the console link).
    let bodies: Vec<String> = app
        .portal()
        .store
        .read(|tx| {
            outbox::table
                .select(outbox::body)
                .load::<String>(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap();
    assert!(bodies.iter().all(String::is_empty));
}

#[actix_web::test]
async fn a_mail_server_that_dies_mid_run_loses_nothing_and_sends_nothing_twice() {
    // The sink stores 5 messages, then leaves the 6th unanswered until it is killed.
    let mut sink = SmtpSink::start(Some(5));
    let app = TestApp::with_settings(|raw| sink.configure(raw));
    let store = app.portal().store.clone();
    let now = app.clock.now_utc_naive();
    let queued: HashSet<String> = (0..20)
        .map(|n| {
            store
                .write(|tx| {
                    notify::queue(
                        tx,
                        &Recipient {
                            email: format!("person{n}@testshire.scot"),
                            user: None,
                        },
                        &Notice::NewConcern {
                            reference: format!("REF-{n}"),
                        },
                        "https://speakup.test",
                        now,
                    )
                })
                .unwrap()
        })
        .collect();

    let mail = mailer(&app);
    let worker = {
        let store = store.clone();
        let clock = app.clock.clone();
        actix_web::rt::spawn(async move { deliver_due(&store, &clock, &mail).await })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.messages().len() < 5 {
        assert!(Instant::now() < deadline, "the first five never arrived");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    sink.kill();
    let first = worker.await.unwrap().unwrap();
    assert_eq!((first.sent, first.failed), (5, 15));

    let service = app.service().await;
    let (status, health) = {
        let response = actix_web::test::call_service(
            &service,
            actix_web::test::TestRequest::get()
                .uri("/healthz")
                .to_request(),
        )
        .await;
        let status = response.status();
        (status, actix_web::test::read_body(response).await)
    };
    assert_eq!(status, StatusCode::OK);
    let health = String::from_utf8(health.to_vec()).unwrap();
    assert!(health.contains("outbox_queued 15\n"), "{health}");
    assert!(health.contains("outbox_failing 15\n"), "{health}");

    // The server comes back. Nothing is retried before its back-off has passed.
    sink.restart(None);
    let too_soon = deliver_due(&store, &app.clock, &mailer(&app))
        .await
        .unwrap();
    assert_eq!(too_soon.sent, 0);
    app.clock.advance(time::Duration::hours(2));
    let second = deliver_due(&store, &app.clock, &mailer(&app))
        .await
        .unwrap();
    assert_eq!((second.sent, second.failed), (15, 0));
    let third = deliver_due(&store, &app.clock, &mailer(&app))
        .await
        .unwrap();
    assert_eq!(third.sent, 0);

    let messages = sink.messages();
    let ids: Vec<String> = messages
        .iter()
        .map(|message| {
            let id = message["message_id"].as_str().unwrap();
            id.trim_matches(['<', '>'])
                .trim_end_matches("@speakup.outbox")
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 20, "every notice delivered exactly once");
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), queued);
    assert_eq!(app.portal().outbox_backlog().unwrap().failing, 0);
}

/// What was queued, by kind and recipient, since the last call.
fn queued_since(app: &TestApp, seen: &mut HashSet<String>) -> BTreeMap<String, Vec<String>> {
    let rows: Vec<(String, String, String, String)> = app
        .portal()
        .store
        .read(|tx| {
            outbox::table
                .select((outbox::id, outbox::kind, outbox::recipient, outbox::subject))
                .load(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap();
    let mut fresh: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, kind, recipient, subject) in rows {
        if seen.insert(id) {
            fresh
                .entry(kind)
                .or_default()
                .push(format!("{recipient} {subject}"));
        }
    }
    for list in fresh.values_mut() {
        list.sort();
    }
    fresh
}

/// The working days of November 2026 counted by hand: weekends only (St Andrew's Day is
/// observed on Monday 30 November, after this window).
fn nth_working_day_from_16_november(n: u32) -> time::Date {
    crate::support::nth_working_day(time::macros::date!(2026 - 11 - 16), n, &[])
}

#[actix_web::test]
async fn reminders_go_once_on_the_working_days_an_independent_count_gives() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (_, reference) = raise(&service, confidential_concern("reminder test")).await;
    let mut seen = HashSet::new();
    queued_since(&app, &mut seen);

    // Stage 1: 5 working days from Monday 16 November. The rule: p % is reached on working day
    // ⌈p·5/100⌉, so 50 % on day 3, 75 % on day 4, 90 % on day 5; overdue the next working day.
    let due = nth_working_day_from_16_november(5);
    let expected: BTreeMap<time::Date, (&str, Option<u8>)> = [
        (nth_working_day_from_16_november(3), ("reminder", Some(50))),
        (nth_working_day_from_16_november(4), ("reminder", Some(75))),
        (nth_working_day_from_16_november(5), ("reminder", Some(90))),
        (nth_working_day_from_16_november(6), ("overdue", None)),
    ]
    .into_iter()
    .collect();
    let holders = ["colm@testshire.scot", "cora@testshire.scot"];
    for offset in 0..10 {
        let today = app.clock.today();
        let preview = app.portal().reminder_preview(today).unwrap();
        // Twice, as after a restart: the second run queues nothing.
        let first = app.portal().run_scheduled_notices().unwrap();
        let second = app.portal().run_scheduled_notices().unwrap();
        assert_eq!(second.reminders, 0, "{today}");
        let fresh = queued_since(&app, &mut seen);
        match expected.get(&today) {
            Some((kind, percent)) => {
                let mut to: Vec<&str> = holders.to_vec();
                if *kind == "overdue" {
                    to.push(&staff.lead.email);
                    to.sort();
                }
                let lines: Vec<Value> = preview
                    .iter()
                    .map(|line| serde_json::to_value(line).unwrap())
                    .collect();
                let mut wanted: Vec<Value> = to
                    .iter()
                    .map(|email| {
                        let mut line = json!({"to": email, "kind": kind, "case": reference,
                                              "due_on": due.to_string()});
                        if let Some(percent) = percent {
                            line["percent"] = json!(percent);
                        }
                        line
                    })
                    .collect();
                wanted.sort_by_key(|line| line["to"].as_str().unwrap().to_owned());
                assert_eq!(lines, wanted, "{today}");
                assert_eq!(first.reminders, to.len(), "{today}");
                let sent = fresh.get(*kind).cloned().unwrap_or_default();
                assert_eq!(sent.len(), to.len(), "{today}: {fresh:?}");
                for (line, email) in sent.iter().zip(&to) {
                    assert!(line.starts_with(email), "{line}");
                    assert!(line.contains(&reference));
                }
            }
            None => {
                assert!(preview.is_empty(), "{today}: {preview:?}");
                assert_eq!(first.reminders, 0, "{today}");
                assert!(!fresh.contains_key("reminder") && !fresh.contains_key("overdue"));
            }
        }
        // The weekly summary goes to the lead on the first run of each ISO week.
        let summaries = fresh.get("weekly_summary").cloned().unwrap_or_default();
        if offset == 0 || today.weekday() == time::Weekday::Monday {
            assert_eq!(summaries.len(), 1, "{today}");
            assert!(summaries[0].starts_with("lee@testshire.scot speakup weekly summary"));
        } else {
            assert!(summaries.is_empty(), "{today}");
        }
        app.clock.advance(time::Duration::days(1));
    }
}

#[actix_web::test]
async fn digest_readers_get_one_daily_email_but_reminders_at_once() {
    let app = TestApp::new();
    let staff = app.staff();
    // Colm chooses the digest on his account page, as anyone would: a plain form.
    let mut colm = signed_in(&app, app.service().await, &staff.contacts[1]).await;
    let account = open(&mut colm, "/console/account").await;
    assert!(account.body.contains(r#"value="immediate" checked"#));
    let chosen = submit(
        &mut colm,
        "/console/account/notices",
        &[("delivery", "daily_digest")],
    )
    .await;
    assert_redirect(&chosen, "/console/account?done=notices_daily_digest");
    let account = open(&mut colm, "/console/account?done=notices_daily_digest").await;
    assert!(account.body.contains(r#"value="daily_digest" checked"#));
    assert!(
        account
            .text()
            .contains("Deadline reminders still come at once")
    );
    let colm_id = speakup::ids::UserId::from_stored(staff.contacts[1].id.clone());
    assert_eq!(
        app.portal().notice_preference(&colm_id).unwrap(),
        DeliveryPreference::DailyDigest
    );
    let audited = app
        .portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 1000))
        .unwrap();
    let entry = audited
        .iter()
        .find(|entry| entry.action == "notice_preference_changed")
        .expect("the choice is audited");
    assert_eq!(entry.actor_user_id.as_deref(), Some(colm_id.as_str()));
    assert_eq!(entry.detail, "delivery=daily_digest");
    // An unknown choice, or a post without the CSRF token, changes nothing.
    let odd = submit(
        &mut colm,
        "/console/account/notices",
        &[("delivery", "weekly")],
    )
    .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    let forged = colm
        .post_form("/console/account/notices", &[("delivery", "immediate")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text());
    assert_eq!(
        app.portal().notice_preference(&colm_id).unwrap(),
        DeliveryPreference::DailyDigest
    );
    let service = app.service().await;
    let (_, first) = raise(&service, confidential_concern("one")).await;
    let (_, second) = raise(&service, confidential_concern("two")).await;
    let backlog = app.portal().outbox_backlog().unwrap();
    assert_eq!(
        (backlog.queued, backlog.held),
        (2, 2),
        "Cora at once, Colm held"
    );

    let summary = app.portal().run_scheduled_notices().unwrap();
    assert_eq!(summary.digests, 1);
    let again = app.portal().run_scheduled_notices().unwrap();
    assert_eq!(again.digests, 0, "one digest a day");
    let backlog = app.portal().outbox_backlog().unwrap();
    assert_eq!(backlog.held, 0);
    let mut seen = HashSet::new();
    let all = queued_since(&app, &mut seen);
    let digest = &all["digest"];
    assert_eq!(digest.len(), 1);
    assert!(digest[0].starts_with("colm@testshire.scot speakup: 2 notices"));
    // The digest body lists both references.
    let body: String = app
        .portal()
        .store
        .read(|tx| {
            outbox::table
                .filter(outbox::kind.eq("digest"))
                .select(outbox::body)
                .first(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap();
    assert!(body.contains(&format!("New concern {first}")), "{body}");
    assert!(body.contains(&format!("New concern {second}")), "{body}");

    // Two days on, the 50 % reminder goes to Colm at once despite the digest preference.
    app.clock.advance(time::Duration::days(2));
    app.portal().run_scheduled_notices().unwrap();
    let fresh = queued_since(&app, &mut seen);
    let reminders = &fresh["reminder"];
    assert_eq!(reminders.len(), 4, "two cases, two holders: {fresh:?}");
    assert_eq!(app.portal().outbox_backlog().unwrap().held, 0);
}

#[test]
fn instances_scanning_at_once_queue_each_reminder_once() {
    let app = TestApp::new();
    app.staff();
    actix_web::rt::System::new().block_on(async {
        let service = app.service().await;
        for n in 0..5 {
            raise(&service, confidential_concern(&format!("race {n}"))).await;
        }
    });
    app.clock.advance(time::Duration::days(2));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let portal = app.portal().clone();
            std::thread::spawn(move || portal.run_scheduled_notices().unwrap())
        })
        .collect();
    let total: usize = runs
        .into_iter()
        .map(|run| run.join().unwrap().reminders)
        .sum();
    assert_eq!(total, 10, "five cases, two holders, one 50 % reminder each");
    let mut seen = HashSet::new();
    assert_eq!(queued_since(&app, &mut seen)["reminder"].len(), 10);
}

/// Queues a new-concern notice to `person` and fails its first attempt, as a refusing mail
/// server would. Answers the outbox row id.
fn failed_notice_to(app: &TestApp, person: &crate::support::Person, reference: &str) -> String {
    let store = &app.portal().store;
    let now = app.clock.now_utc_naive();
    let id = store
        .write(|tx| {
            notify::queue(
                tx,
                &Recipient::user(
                    &speakup::ids::UserId::from_stored(person.id.clone()),
                    &person.email,
                ),
                &Notice::NewConcern {
                    reference: reference.to_owned(),
                },
                "https://speakup.test",
                now,
            )
        })
        .unwrap();
    let claimed = store
        .write(|tx| speakup::store::outbox::claim_due(tx, now, 100))
        .unwrap();
    assert!(claimed.iter().any(|message| message.id == id));
    store
        .write(|tx| speakup::store::outbox::mark_failed(tx, &id, "550 mailbox unavailable", now))
        .unwrap();
    id
}

fn next_attempt_of(app: &TestApp, id: &str) -> time::PrimitiveDateTime {
    app.portal()
        .store
        .read(|tx| {
            outbox::table
                .find(id)
                .select(outbox::next_attempt_at)
                .first(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap()
}

#[actix_web::test]
async fn admins_see_and_retry_only_their_own_organisations_failed_deliveries() {
    use speakup::model::Role;
    let app = TestApp::new();
    let staff = app.staff();
    app.portal()
        .add_organisation(
            "borders-council",
            "Borders Council",
            speakup::service::organisations::ServiceSet {
                nhs: false,
                local_authority: true,
            },
        )
        .unwrap();
    let bea = app.add_person(
        "borders-council",
        "bea@borders.scot",
        "Bea Admin",
        Role::Admin,
        false,
    );
    let ben = app.add_person(
        "borders-council",
        "ben@borders.scot",
        "Ben Contact",
        Role::Contact,
        true,
    );
    let cora_row = failed_notice_to(&app, &staff.contacts[0], "SU-AAAA");
    let ben_row = failed_notice_to(&app, &ben, "SU-BBBB");

    let mut ada = signed_in(&app, app.service().await, &staff.admin).await;
    let page = open(&mut ada, "/console/admin/deliveries").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    assert!(text.contains("cora@testshire.scot"), "{text}");
    assert!(text.contains("New concern"), "{text}");
    assert!(text.contains("550 mailbox unavailable"), "{text}");
    assert!(
        !text.contains("ben@borders.scot"),
        "another organisation's row: {text}"
    );
    assert!(!page.body.contains(&ben_row));
    // The page names the kind of notice, never the case reference.
    assert!(!text.contains("SU-AAAA"), "{text}");

    let mut bea_browser = signed_in(&app, app.service().await, &bea).await;
    let theirs = open(&mut bea_browser, "/console/admin/deliveries")
        .await
        .text();
    assert!(theirs.contains("ben@borders.scot"), "{theirs}");
    assert!(!theirs.contains("cora@testshire.scot"), "{theirs}");

    // Ada cannot bring Borders' notice forward, even knowing its id.
    let before = next_attempt_of(&app, &ben_row);
    let cross = submit(
        &mut ada,
        &format!("/console/admin/deliveries/{ben_row}/retry"),
        &[],
    )
    .await;
    assert_redirect(&cross, "/console/admin/deliveries?done=delivery_gone");
    assert_eq!(next_attempt_of(&app, &ben_row), before);

    // Without the form's CSRF token nothing happens.
    let cora_before = next_attempt_of(&app, &cora_row);
    let forged = ada
        .post_form(&format!("/console/admin/deliveries/{cora_row}/retry"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(next_attempt_of(&app, &cora_row), cora_before);

    // Her own: due at once, and audited.
    let retried = submit(
        &mut ada,
        &format!("/console/admin/deliveries/{cora_row}/retry"),
        &[],
    )
    .await;
    assert_redirect(&retried, "/console/admin/deliveries?done=delivery_retried");
    assert_eq!(next_attempt_of(&app, &cora_row), app.clock.now_utc_naive());
    let audited = app
        .portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 1000))
        .unwrap();
    let entries: Vec<_> = audited
        .iter()
        .filter(|entry| entry.action == "delivery_retried")
        .collect();
    assert_eq!(entries.len(), 1, "only the retry that happened is audited");
    assert_eq!(
        entries[0].actor_user_id.as_deref(),
        Some(staff.admin.id.as_str())
    );
    assert_eq!(entries[0].detail, format!("outbox={cora_row}"));

    // Once the worker has taken it again it is in flight, not failed: no second retry, so no
    // second copy.
    let now = app.clock.now_utc_naive();
    let claimed = app
        .portal()
        .store
        .write(|tx| speakup::store::outbox::claim_due(tx, now, 100))
        .unwrap();
    assert!(claimed.iter().any(|message| message.id == cora_row));
    assert!(
        !ada.get("/console/admin/deliveries")
            .await
            .text()
            .contains("cora@testshire.scot")
    );
    let again = submit(
        &mut ada,
        &format!("/console/admin/deliveries/{cora_row}/retry"),
        &[],
    )
    .await;
    assert_redirect(&again, "/console/admin/deliveries?done=delivery_gone");

    // Anyone but an admin finds no such page.
    let mut cora = signed_in(&app, app.service().await, &staff.contacts[0]).await;
    assert_eq!(
        cora.get("/console/admin/deliveries").await.status,
        StatusCode::NOT_FOUND
    );
}
