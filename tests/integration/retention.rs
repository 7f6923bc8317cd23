//! Retention end to end: a finished case's content, keys and files go once the organisation's
//! period has passed since its last activity; open cases and cases still in use stay; the
//! figures never change; the reporter is told; two runs at once erase once.

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use speakup::store::audit::{self, ChainCheck};
use speakup::store::{retention, wraps};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::attachments::{evidence, multipart, upload};
use crate::support::{Attachments, TestApp};

/// (key wraps, latest record day) still stored for the case.
fn stored_content(app: &TestApp, reference: &str) -> (usize, Option<time::Date>) {
    let id = app.case_id(reference);
    app.portal()
        .store
        .read(|tx| {
            Ok::<_, speakup::store::StoreError>((
                wraps::for_case(tx, &id)?.len(),
                retention::last_record_day(tx, &id)?,
            ))
        })
        .unwrap()
}

fn erased_references(app: &TestApp, today: time::Date) -> Vec<String> {
    app.portal()
        .cases_due_for_erasure(today)
        .unwrap()
        .into_iter()
        .map(|case| case.reference)
        .collect()
}

/// A report's figures, without when it was made and the audit checkpoint it printed.
fn figures(mut report: Value) -> Value {
    for stamp in ["generated_on", "audit_checkpoint"] {
        report.as_object_mut().unwrap().remove(stamp);
    }
    report
}

async fn mailbox_sign_in<S, B>(service: &S, case_key: &str) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    call(
        service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await
}

#[actix_web::test]
async fn a_finished_case_is_erased_after_its_period_from_a_directory() {
    finished_cases_are_erased(Attachments::Directory).await;
}

#[actix_web::test]
async fn a_finished_case_is_erased_after_its_period_from_object_storage() {
    finished_cases_are_erased(Attachments::S3).await;
}

async fn finished_cases_are_erased(attachments: Attachments) {
    let app = TestApp::with_store(attachments, |settings| {
        settings.mailbox_sign_ins_per_minute = 1000;
        settings.handler_sign_ins_per_minute = 1000;
    });
    let staff = app.staff();
    let service = app.service().await;
    app.portal()
        .set_retention_months(&staff.organisation, 12)
        .unwrap();
    app.portal()
        .update_organisation_settings(&staff.organisation, None, None, Some(true))
        .unwrap();

    // Three concerns: one to finish and forget, one to finish but keep using, one left open.
    let (finished_key, finished) =
        raise(&service, confidential_concern("Ward 7 rota CANARY-A")).await;
    let (used_key, used) = raise(&service, confidential_concern("Theatre checklist")).await;
    let (open_key, open) = raise(&service, confidential_concern("Pharmacy stock")).await;

    let (status, session) = mailbox_sign_in(&service, &finished_key).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "rota.txt", &evidence("FILE-CANARY-", 100_000)),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(app.stored_attachments().len(), 1);

    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    for reference in [&finished, &used] {
        let events = format!("/api/v1/cases/{reference}/events");
        for event in [
            json!({"type": "stage1"}),
            json!({"type": "close", "outcome": "not_upheld", "findings": "Checked the records."}),
        ] {
            let (status, body) = call(&service, bearer(post_json(&events, event), &cora)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let lead = sign_in(&app, &service, &staff.lead).await;
    let report = "/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4&version=board";
    let (status, figures_before) = call(&service, bearer(get(report), &lead)).await;
    assert_eq!(status, StatusCode::OK, "{figures_before}");
    assert_eq!(figures_before["closed"]["stage1"]["count"], 2);

    // A day short of twelve months: nothing is due. The reporter of the second case writes.
    let last_activity = app.clock.today();
    app.clock.advance(time::Duration::days(364));
    let day_before = app.clock.today();
    let mut due = erased_references(&app, day_before);
    due.sort();
    assert!(due.is_empty(), "{due:?}");
    let (status, session) = mailbox_sign_in(&service, &used_key).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, body) = call(
        &service,
        bearer(
            post_json(
                "/api/v1/mailbox/messages",
                json!({"body": "One more thing."}),
            ),
            session["token"].as_str().unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Twelve months to the day: only the untouched finished case goes.
    app.clock.advance(time::Duration::days(1));
    let today = app.clock.today();
    assert_eq!(erased_references(&app, today), vec![finished.clone()]);
    let run = speakup::housekeeping::apply_retention(app.portal(), today)
        .await
        .unwrap();
    let erased: Vec<_> = run
        .erased
        .iter()
        .map(|case| case.reference.clone())
        .collect();
    assert_eq!(erased, vec![finished.clone()]);
    assert_eq!(run.erased[0].last_activity, last_activity);
    assert_eq!((run.files_deleted, run.files_left), (1, 0));
    assert!(app.stored_attachments().is_empty(), "the file is gone");

    // Nothing of it is left to open: no records, no wraps (holders, recovery, the reporter).
    assert_eq!(stored_content(&app, &finished), (0, None));
    let (wraps_left, records_left) = stored_content(&app, &used);
    assert!(wraps_left > 0 && records_left.is_some());
    let (wraps_left, records_left) = stored_content(&app, &open);
    assert!(wraps_left > 0 && records_left.is_some());

    // The reporter is told, with the day; the others still open their mailboxes.
    let (status, refused) = mailbox_sign_in(&service, &finished_key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(refused["error"]["code"], "case_erased");
    let words = speakup::procedure::date_words(today);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&words),
        "{refused}"
    );
    let mut browser = crate::browser::Browser::new(app.service().await);
    let form = browser.get("/mailbox").await;
    let page = browser
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &form.csrf()), ("case_key", &finished_key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.text().contains(&format!("deleted on {words}")),
        "{}",
        page.text()
    );
    assert!(!page.text().contains("Check it against"), "{}", page.text());
    for key in [&used_key, &open_key] {
        let (status, body) = mailbox_sign_in(&service, key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A session opened before the erasure ends with the same explanation.
    let (status, body) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Handlers no longer have it; the figures for the quarter are exactly as they were.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/cases/{finished}")), &cora),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, inbox) = call(&service, bearer(get("/api/v1/cases"), &cora)).await;
    assert!(!inbox.to_string().contains(&finished), "{inbox}");
    assert!(inbox.to_string().contains(&used), "{inbox}");
    let lead = sign_in(&app, &service, &staff.lead).await;
    let (_, figures_after) = call(&service, bearer(get(report), &lead)).await;
    assert_eq!(figures(figures_after), figures(figures_before));

    // Audited, the chain intact, and a second run has nothing to do.
    let (check, entries) = app
        .portal()
        .store
        .read(|tx| {
            let id = app.case_id(&finished);
            Ok::<_, speakup::store::StoreError>((
                audit::verify(tx)?,
                audit::for_case(tx, id.as_str())?,
            ))
        })
        .unwrap();
    assert!(matches!(check, ChainCheck::Intact { .. }), "{check:?}");
    let erasures: Vec<_> = entries
        .iter()
        .filter(|entry| entry.action == "case_erased")
        .collect();
    assert_eq!(erasures.len(), 1);
    assert!(
        erasures[0].detail.contains("retention_months=12"),
        "{}",
        erasures[0].detail
    );
    let again = speakup::housekeeping::apply_retention(app.portal(), today)
        .await
        .unwrap();
    assert!(again.erased.is_empty());
    assert_eq!(again.files_deleted, 0);
    assert!(!app.database_contains("CANARY-A"));
}

#[actix_web::test]
async fn two_runs_at_once_erase_each_case_once() {
    let app = TestApp::with_settings(|settings| settings.handler_sign_ins_per_minute = 1000);
    let staff = app.staff();
    let service = app.service().await;
    app.portal()
        .set_retention_months(&staff.organisation, 12)
        .unwrap();
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let mut references = Vec::new();
    for n in 0..4 {
        let (_, reference) = raise(&service, confidential_concern(&format!("Concern {n}"))).await;
        let (status, body) = call(
            &service,
            bearer(
                post_json(
                    &format!("/api/v1/cases/{reference}/events"),
                    json!({"type": "not_whistleblowing", "not_whistleblowing": "grievance", "reason": "A personal grievance."}),
                ),
                &cora,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        references.push(reference);
    }
    app.clock.advance(time::Duration::days(400));
    let today = app.clock.today();
    let portal = app.portal().clone();
    let twin = app.portal().clone();
    let (first, second) = std::thread::scope(|scope| {
        let a = scope.spawn(|| portal.erase_due_cases(today).unwrap());
        let b = scope.spawn(|| twin.erase_due_cases(today).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut erased: Vec<String> = first
        .iter()
        .chain(second.iter())
        .map(|case| case.reference.clone())
        .collect();
    erased.sort();
    references.sort();
    assert_eq!(erased, references, "each case erased by exactly one run");
    let audited = app
        .portal()
        .store
        .read(|tx| {
            let mut count = 0;
            for reference in &references {
                let id = app.case_id(reference);
                count += audit::for_case(tx, id.as_str())?
                    .iter()
                    .filter(|entry| entry.action == "case_erased")
                    .count();
            }
            Ok::<_, speakup::store::StoreError>(count)
        })
        .unwrap();
    assert_eq!(audited, references.len());
}

#[actix_web::test]
async fn the_retention_period_is_bounded_and_its_changes_audited() {
    let app = TestApp::new();
    let staff = app.staff();
    let refused = app
        .portal()
        .set_retention_months(&staff.organisation, 6)
        .unwrap_err();
    assert!(
        refused.to_string().contains("between 12 and 1200"),
        "{refused}"
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(["org", "settings", "--org", &staff.organisation])
        .args(["--retention-months", "84"])
        .args(["--database-url", &app.database.cli_url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["retention_months"], 84);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(["retention", "preview", "--as-of", "2040-01-01"])
        .args(["--database-url", &app.database.cli_url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty(), "no finished cases yet");

    let changes = app
        .portal()
        .store
        .read(|tx| audit::page(tx, 0, 1000))
        .unwrap();
    assert!(
        changes
            .iter()
            .any(|entry| entry.action == "settings_changed"
                && entry.detail.contains("retention_months=84 was=72")),
        "{changes:?}"
    );
}
