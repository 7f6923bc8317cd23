//! The reminder schedule (`reminder_schedule`): every change that moves a case's deadline
//! windows rewrites its rows in the same transaction, a calendar change moves an
//! organisation's reminders, the scan reads only the schedule, chunked scans racing each other
//! queue each reminder once, and the migration's backfill rebuilds it from the histories.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use diesel::prelude::*;
use serde_json::{Value, json};
use speakup::ids::CaseId;
use speakup::procedure::{Obligation, ScheduledWindow};
use speakup::store::StoreError;
use speakup::store::organisations::HolidayChange;
use speakup::store::reminders;
use speakup::store::schema::{outbox, reminders_sent};
use time::Date;
use time::macros::date;

use crate::api_client::{bearer, call, confidential_concern, post_json, raise, sign_in};
use crate::support::{TestApp, nth_working_day, working};

const ORGANISATION: &str = "nhs-testshire";

/// The case's schedule rows as (obligation, start, due, next check).
fn schedule(app: &TestApp, reference: &str) -> Vec<(Obligation, Date, Date, Option<Date>)> {
    let case = app.case_id(reference);
    app.portal()
        .store
        .read(|tx| reminders::schedule_of(tx, &case))
        .unwrap()
        .into_iter()
        .map(|w: ScheduledWindow| (w.obligation, w.start, w.due, w.next_check))
        .collect()
}

fn speakup_cli(app: &TestApp, args: &[&str]) -> String {
    let output = app.cli(args);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// What `speakup notify preview --as-of DAY` prints, one JSON value a line.
fn cli_preview(app: &TestApp, day: Date) -> Vec<Value> {
    speakup_cli(app, &["notify", "preview", "--as-of", &day.to_string()])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The preview lines a stage 1 window due on `due` gives on `today` with nothing recorded yet,
/// by the hand count: on a working day, the highest milestone reached: the p % reminder from
/// working day ⌈p·5/100⌉ (3, 4, 5), overdue after the due date.
fn expected_stage1_lines(
    today: Date,
    start: Date,
    due: Date,
    closed: &[Date],
    reference: &str,
    lead: &str,
) -> Vec<Value> {
    let on = |n| nth_working_day(start, n, closed);
    let (kind, percent) = if !working(today, closed) || today < on(3) {
        return Vec::new();
    } else if today > due {
        ("overdue", None)
    } else if today >= on(5) {
        ("reminder", Some(90))
    } else if today >= on(4) {
        ("reminder", Some(75))
    } else {
        ("reminder", Some(50))
    };
    let mut to = vec!["colm@testshire.scot", "cora@testshire.scot"];
    if kind == "overdue" {
        to.push(lead);
        to.sort();
    }
    to.into_iter()
        .map(|email| {
            let mut line = json!({"to": email, "kind": kind, "case": reference,
                                  "due_on": due.to_string()});
            if let Some(percent) = percent {
                line["percent"] = json!(percent);
            }
            line
        })
        .collect()
}

#[actix_web::test]
async fn a_calendar_change_moves_the_reminders_and_the_cli_preview_follows_a_hand_count() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    // Monday 16 November 2026: stage 1 runs to Friday 20; 50 % on Wednesday 18.
    let (_, reference) = raise(&service, confidential_concern("calendar test")).await;
    let start = date!(2026 - 11 - 16);
    assert_eq!(
        schedule(&app, &reference),
        vec![(
            Obligation::Stage1Response,
            start,
            date!(2026 - 11 - 20),
            Some(date!(2026 - 11 - 18))
        )]
    );

    // Tuesday 17 November becomes a local holiday: the window ends on Monday 23, and the 50 %
    // reminder moves to Thursday 19 (working day 3 of 16, 18, 19, 20, 23).
    app.portal()
        .change_holiday(
            None,
            ORGANISATION,
            date!(2026 - 11 - 17),
            Some(HolidayChange::Add),
            "Local holiday",
        )
        .unwrap();
    let closed = [date!(2026 - 11 - 17)];
    let due = nth_working_day(start, 5, &closed);
    assert_eq!(due, date!(2026 - 11 - 23));
    assert_eq!(
        schedule(&app, &reference),
        vec![(
            Obligation::Stage1Response,
            start,
            due,
            Some(nth_working_day(start, 3, &closed))
        )]
    );
    // The command-line preview, day by day, against the hand count with the holiday.
    let mut day = start;
    while day <= date!(2026 - 11 - 27) {
        let wanted = expected_stage1_lines(day, start, due, &closed, &reference, &staff.lead.email);
        assert_eq!(cli_preview(&app, day), wanted, "{day}");
        let in_process: Vec<Value> = app
            .portal()
            .reminder_preview(day)
            .unwrap()
            .iter()
            .map(|line| serde_json::to_value(line).unwrap())
            .collect();
        assert_eq!(in_process, wanted, "{day}");
        day = day.next_day().unwrap();
    }

    // Cleared (still Monday 16): back to Friday 20 and Wednesday 18; added again: moved again.
    let change = |day: Date, change: Option<HolidayChange>| {
        app.portal()
            .change_holiday(None, ORGANISATION, day, change, "Local holiday")
            .unwrap()
    };
    change(date!(2026 - 11 - 17), None);
    assert_eq!(
        schedule(&app, &reference),
        vec![(
            Obligation::Stage1Response,
            start,
            date!(2026 - 11 - 20),
            Some(date!(2026 - 11 - 18))
        )]
    );
    change(date!(2026 - 11 - 17), Some(HolidayChange::Add));
    assert_eq!(schedule(&app, &reference)[0].2, due);

    // The scan sends on the hand count's days: nothing on Wednesday 18, the 50 % on Thursday 19.
    app.clock.advance(time::Duration::days(2));
    assert_eq!(app.portal().run_scheduled_notices().unwrap().reminders, 0);
    app.clock.advance(time::Duration::days(1));
    assert_eq!(app.portal().run_scheduled_notices().unwrap().reminders, 2);
    assert_eq!(app.portal().run_scheduled_notices().unwrap().reminders, 0);
    // Recorded: the next check moves to the 75 % day, Friday 20.
    assert_eq!(schedule(&app, &reference)[0].3, Some(date!(2026 - 11 - 20)));
    // Friday 20 closes too (decided on Thursday 19): the window now ends on Tuesday 24. A
    // period is its obligation and due date, so the new one is reminded afresh, as an extension
    // is: its 50 % day (working day 3, Thursday 19) is today.
    change(date!(2026 - 11 - 20), Some(HolidayChange::Add));
    let closed = [date!(2026 - 11 - 17), date!(2026 - 11 - 20)];
    assert_eq!(
        schedule(&app, &reference),
        vec![(
            Obligation::Stage1Response,
            start,
            nth_working_day(start, 5, &closed),
            Some(nth_working_day(start, 3, &closed))
        )]
    );
    assert_eq!(nth_working_day(start, 5, &closed), date!(2026 - 11 - 24));
    assert_eq!(app.portal().run_scheduled_notices().unwrap().reminders, 2);
    assert_eq!(
        schedule(&app, &reference)[0].3,
        Some(nth_working_day(start, 4, &closed))
    );
    // The working-day rule moved by the settings: day 1 becomes the next working day after
    // receipt only from tomorrow, so this case's window stays where it is.
    app.portal()
        .update_organisation_settings(ORGANISATION, Some(true), None, None)
        .unwrap();
    assert_eq!(
        schedule(&app, &reference)[0],
        (
            Obligation::Stage1Response,
            start,
            date!(2026 - 11 - 24),
            Some(date!(2026 - 11 - 23))
        )
    );
}

#[actix_web::test]
async fn events_that_move_windows_rewrite_the_schedule_with_them() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("events test")).await;
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let events_uri = format!("/api/v1/cases/{reference}/events");
    let record = |body: Value, token: &str| bearer(post_json(&events_uri, body), token);
    let nov = |day| Date::from_calendar_date(2026, time::Month::November, day).unwrap();

    let (status, _) = call(&service, record(json!({"type": "stage1"}), &cora)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        schedule(&app, &reference),
        vec![(Obligation::Stage1Response, nov(16), nov(20), Some(nov(18)))]
    );

    // An extension to Friday 27: ten working days, so 50 % on day 5, Friday 20. No scan runs
    // in between: the request itself rewrote the row.
    let (status, _) = call(
        &service,
        record(
            json!({"type": "extend", "until": "2026-11-27", "reason": "Witness away",
                   "authorised_by": "Dr Head"}),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        schedule(&app, &reference),
        vec![(Obligation::Stage1Response, nov(16), nov(27), Some(nov(20)))]
    );
    // A refused step (past the cap) rolls back and leaves the schedule as it was.
    let (status, _) = call(
        &service,
        record(
            json!({"type": "extend", "until": "2026-12-04", "reason": "r", "authorised_by": "a"}),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        schedule(&app, &reference),
        vec![(Obligation::Stage1Response, nov(16), nov(27), Some(nov(20)))]
    );

    // Wednesday 25: the stage 1 response closes the window.
    app.clock.advance(time::Duration::days(9));
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, _) = call(
        &service,
        record(
            json!({"type": "close", "outcome": "not_upheld", "findings": "Records checked."}),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(schedule(&app, &reference), vec![]);

    // Thursday 26: the reporter asks for stage 2 from the mailbox. Acknowledge within 3
    // working days (26, 27, and 1 December: St Andrew's Day is observed on Monday 30), so
    // 50 % on day 2; respond within 20 (Thursday 24 December), 50 % on day 10 (10 December).
    app.clock.advance(time::Duration::days(1));
    let (_, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    let reporter = session["token"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &service,
        bearer(
            post_json("/api/v1/mailbox/requests", json!({"type": "stage2"})),
            &reporter,
        ),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let closed = [date!(2026 - 11 - 30), date!(2026 - 12 - 25)];
    let day_one = nov(26);
    assert_eq!(
        schedule(&app, &reference),
        vec![
            (
                Obligation::Acknowledge,
                day_one,
                nth_working_day(day_one, 3, &closed),
                Some(nth_working_day(day_one, 2, &closed))
            ),
            (
                Obligation::Stage2Response,
                day_one,
                nth_working_day(day_one, 20, &closed),
                Some(nth_working_day(day_one, 10, &closed))
            ),
        ]
    );
    assert_eq!(nth_working_day(day_one, 20, &closed), date!(2026 - 12 - 24));

    // Acknowledged: that window goes, the response window stays.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, _) = call(&service, record(json!({"type": "acknowledge"}), &cora)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        schedule(&app, &reference),
        vec![(
            Obligation::Stage2Response,
            day_one,
            date!(2026 - 12 - 24),
            Some(date!(2026 - 12 - 10))
        )]
    );
    // Withdrawn: nothing left to remind anyone of.
    let (status, _) = call(
        &service,
        record(
            json!({"type": "withdraw", "reason": "The reporter asked by phone on 26 November."}),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(schedule(&app, &reference), vec![]);
    // The weekly summary's counts come from the schedule: no open case.
    let (open, overdue) = app
        .portal()
        .store
        .read(|tx| reminders::open_and_overdue(tx, app.clock.today()))
        .unwrap();
    assert!(
        open.is_empty() && overdue.is_empty(),
        "{open:?} {overdue:?}"
    );
}

fn count_rows(app: &TestApp) -> (i64, i64) {
    app.portal()
        .store
        .read(|tx| {
            let reminders: i64 = outbox::table
                .filter(outbox::kind.eq("reminder"))
                .count()
                .get_result(tx)?;
            let sent: i64 = reminders_sent::table.count().get_result(tx)?;
            Ok::<_, StoreError>((reminders, sent))
        })
        .unwrap()
}

/// Four scans at once, each reading one window per transaction, so their chunks interleave:
/// every reminder is queued once (on PostgreSQL the schedule turn is taken per chunk, on SQLite
/// the single writer's), and the unique record in `reminders_sent` holds one row per milestone.
#[test]
fn chunked_scans_racing_each_other_queue_each_reminder_once() {
    let app = TestApp::new();
    app.staff();
    actix_web::rt::System::new().block_on(async {
        let service = app.service().await;
        for n in 0..6 {
            raise(&service, confidential_concern(&format!("chunk race {n}"))).await;
        }
    });
    app.clock.advance(time::Duration::days(2));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let portal = app.portal().clone().with_scan_chunk(1);
            std::thread::spawn(move || portal.run_scheduled_notices().unwrap())
        })
        .collect();
    let total: usize = runs
        .into_iter()
        .map(|run| run.join().unwrap().reminders)
        .sum();
    assert_eq!(total, 12, "six cases, two holders, one 50 % reminder each");
    assert_eq!(count_rows(&app), (12, 6));
    // Again the next day (75 %), and once more on the same day: nothing twice.
    app.clock.advance(time::Duration::days(1));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let portal = app.portal().clone().with_scan_chunk(2);
            std::thread::spawn(move || portal.run_scheduled_notices().unwrap())
        })
        .collect();
    let total: usize = runs
        .into_iter()
        .map(|run| run.join().unwrap().reminders)
        .sum();
    assert_eq!(total, 12);
    assert_eq!(app.portal().run_scheduled_notices().unwrap().reminders, 0);
    assert_eq!(count_rows(&app), (24, 12));
}

/// The scan reads only the schedule; the migration's backfill (a marker row the portal takes
/// before its next scan) rebuilds it from the case histories exactly as the events wrote it.
#[actix_web::test]
async fn the_backfill_rebuilds_the_schedule_the_scan_reads() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let mut references = Vec::new();
    for n in 0..3 {
        references.push(
            raise(&service, confidential_concern(&format!("backfill {n}")))
                .await
                .1,
        );
    }
    let before: Vec<_> = references.iter().map(|r| schedule(&app, r)).collect();
    assert!(before.iter().all(|rows| rows.len() == 1));
    let wednesday = date!(2026 - 11 - 18);
    assert_eq!(app.portal().reminder_preview(wednesday).unwrap().len(), 6);

    // A database from before the schedule: no rows, and the migration's request pending.
    app.execute_sql("DELETE FROM reminder_schedule");
    assert!(
        app.portal().reminder_preview(wednesday).unwrap().is_empty(),
        "the scan reads the schedule, not the histories"
    );
    app.execute_sql(
        "INSERT INTO notice_runs (job, period, ran_at) \
         VALUES ('reminder_schedule_backfill', 'pending', CURRENT_TIMESTAMP)",
    );
    assert_eq!(app.portal().reminder_preview(wednesday).unwrap().len(), 6);
    let after: Vec<_> = references.iter().map(|r| schedule(&app, r)).collect();
    assert_eq!(after, before);
    // Taken once: deleting the rows again is not undone.
    app.execute_sql("DELETE FROM reminder_schedule");
    assert!(app.portal().reminder_preview(wednesday).unwrap().is_empty());
    assert_eq!(app.portal().rebuild_reminder_schedule().unwrap(), 3);
    let rebuilt: Vec<_> = references.iter().map(|r| schedule(&app, r)).collect();
    assert_eq!(rebuilt, before);
    let seen: HashSet<CaseId> = references.iter().map(|r| app.case_id(r)).collect();
    assert_eq!(seen.len(), 3);
}

/// Paging through the due windows with any page size reads each one once, in the index's order
/// (next check, case, obligation), however the pages fall across ties on the day and on the
/// case; windows not yet due (or done) are not read.
#[actix_web::test]
async fn due_pages_of_any_size_read_every_due_window_once_in_order() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let mut cases = Vec::new();
    for n in 0..3 {
        let reference = raise(&service, confidential_concern(&format!("paging {n}")))
            .await
            .1;
        let case = app
            .portal()
            .store
            .read(|tx| speakup::store::cases::find_by_reference(tx, &reference))
            .unwrap()
            .expect("the case exists");
        cases.push(case);
    }
    let today = date!(2026 - 11 - 20);
    let window = |obligation, next_check| ScheduledWindow {
        obligation,
        start: date!(2026 - 11 - 02),
        due: date!(2026 - 12 - 01),
        next_check,
    };
    // Every case has two windows due today (ties on the day and on the case), the first also
    // one due earlier; one window is not due yet and one is done.
    let schedules: Vec<reminders::CaseSchedule> = cases
        .iter()
        .enumerate()
        .map(|(n, case)| {
            let mut windows = vec![
                window(Obligation::Acknowledge, Some(today)),
                window(Obligation::Stage2Response, Some(today)),
            ];
            match n {
                0 => windows.push(window(Obligation::Update, Some(date!(2026 - 11 - 18)))),
                1 => windows.push(window(Obligation::Update, Some(date!(2026 - 11 - 23)))),
                _ => windows.push(window(Obligation::Update, None)),
            }
            reminders::CaseSchedule {
                case: case.id.clone(),
                organisation: case.organisation_id.clone(),
                windows,
            }
        })
        .collect();
    app.portal()
        .store
        .write(|tx| reminders::replace_schedules(tx, &schedules))
        .unwrap();

    let mut expected: Vec<(Date, String, String, String)> = schedules
        .iter()
        .zip(&cases)
        .flat_map(|(schedule, case)| {
            schedule.windows.iter().filter_map(move |w| {
                w.next_check.filter(|day| *day <= today).map(|day| {
                    (
                        day,
                        case.id.as_str().to_owned(),
                        w.obligation.as_str().to_owned(),
                        case.reference.clone(),
                    )
                })
            })
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 7);

    for size in 1..=8 {
        let mut read = Vec::new();
        let mut after: Option<reminders::DueCursor> = None;
        loop {
            let page = app
                .portal()
                .store
                .read(|tx| reminders::due_page(tx, today, after.as_ref(), size))
                .unwrap();
            assert!(page.len() <= size);
            read.extend(page.iter().map(|due| {
                (
                    due.window
                        .next_check
                        .expect("a due window has a next check"),
                    due.case.id.as_str().to_owned(),
                    due.window.obligation.as_str().to_owned(),
                    due.case.reference.clone(),
                )
            }));
            match page.last() {
                Some(last) if page.len() == size => {
                    after = Some(reminders::DueCursor {
                        next_check: last.window.next_check.unwrap_or(today),
                        case: last.case.id.as_str().to_owned(),
                        obligation: last.window.obligation.as_str().to_owned(),
                    });
                }
                _ => break,
            }
        }
        assert_eq!(read, expected, "pages of {size}");
    }
}

/// Recording a chunk's milestones answers false when one of them was recorded first (another
/// scan got in): the caller rolls back and nothing of the chunk stays. All new answers true.
#[actix_web::test]
async fn a_milestone_recorded_first_fails_the_whole_chunk() {
    let app = TestApp::new();
    app.staff();
    let service = app.service().await;
    let reference = raise(&service, confidential_concern("recorded first"))
        .await
        .1;
    let case = app.case_id(&reference);
    let due = date!(2026 - 12 - 01);
    let today = date!(2026 - 11 - 20);
    let row = |milestone| (case.clone(), Obligation::Stage1Response, due, milestone);
    let store = &app.portal().store;
    assert!(
        store
            .write(|tx| reminders::record_all(
                tx,
                &[row(speakup::procedure::Milestone::Percent50)],
                today
            ))
            .unwrap()
    );
    let outcome: Result<(), StoreError> = store.write(|tx| {
        let all_new = reminders::record_all(
            tx,
            &[
                row(speakup::procedure::Milestone::Percent75),
                row(speakup::procedure::Milestone::Percent50),
            ],
            today,
        )?;
        assert!(!all_new, "the 50 % milestone was recorded first");
        Err(StoreError::Corrupt("roll back".to_owned()))
    });
    assert!(outcome.is_err());
    let recorded: i64 = store
        .read(|tx| {
            Ok::<_, StoreError>(
                reminders_sent::table
                    .filter(reminders_sent::case_id.eq(case.as_str()))
                    .count()
                    .get_result(tx)?,
            )
        })
        .unwrap();
    assert_eq!(recorded, 1, "nothing of the failed chunk stays");
    assert!(
        store
            .write(|tx| reminders::record_all(tx, &[], today))
            .unwrap(),
        "nothing to record is all new"
    );
}
