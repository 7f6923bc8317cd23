//! Board reports from real case records: a synthetic quarter with hand-computed answers, the
//! same figures from the API and the CLI, suppression, the printable paper, access control.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::browser::Browser;
use crate::support::{Staff, TestApp};

/// Five concerns received on Monday 16 November 2026 (2026-Q4), handled like this:
/// A (NHS) stage 1, closed Wed 18 Nov upheld: 3 working days, on time.
/// B (NHS) stage 1, extended to Fri 27 Nov, closed Wed 25 Nov not upheld: 8 working days,
///   within the extension.
/// C (local authority) stage 2, acknowledged, closed Mon 14 Dec partially upheld: day 20
///   (16–20, 23–27, 1–4 Dec after St Andrew's Day, 7–11, 14), on time; learning published.
/// D (NHS, anonymous) not whistleblowing.
/// E (NHS) still open.
/// The fixture signs people in many times within a real minute; lift the per-client limit.
fn many_sign_ins() -> TestApp {
    TestApp::with_settings(|settings| settings.handler_sign_ins_per_minute = 10_000)
}

async fn synthetic_quarter(app: &TestApp) -> Staff {
    let staff = app.staff();
    let service = app.service().await;
    let anonymous = |text: &str| json!({"organisation": "nhs-testshire", "service": "nhs", "anonymity": "anonymous", "concern": text});
    let (_, a) = raise(&service, confidential_concern("A")).await;
    let (_, b) = raise(&service, confidential_concern("B")).await;
    let mut c_body = confidential_concern("C");
    c_body["service"] = json!("local_authority");
    let (_, c) = raise(&service, c_body).await;
    let (_, d) = raise(&service, anonymous("D")).await;
    raise(&service, confidential_concern("E")).await;

    // Each step: move the clock, sign Cora in afresh (sessions expire when idle), record.
    let steps: [(i64, &str, Value); 9] = [
        (0, &a, json!({"type": "stage1"})),
        (0, &b, json!({"type": "stage1"})),
        (0, &c, json!({"type": "stage2"})),
        (0, &c, json!({"type": "acknowledge"})),
        (
            0,
            &d,
            json!({"type": "not_whistleblowing", "not_whistleblowing": "patient_complaint"}),
        ),
        // Wednesday 18 November.
        (
            2,
            &a,
            json!({"type": "close", "outcome": "upheld", "learning": "Not for publication."}),
        ),
        (
            0,
            &b,
            json!({"type": "extend", "until": "2026-11-27", "reason": "r", "authorised_by": "Director"}),
        ),
        // Wednesday 25 November.
        (7, &b, json!({"type": "close", "outcome": "not_upheld"})),
        // Monday 14 December.
        (
            19,
            &c,
            json!({"type": "close", "outcome": "partially_upheld", "findings": "Some of it.",
                   "learning": "Care home rotas are now checked weekly.", "learning_publishable": true}),
        ),
    ];
    for (days, reference, body) in steps {
        app.clock.advance(time::Duration::days(days));
        let cora = sign_in(app, &service, &staff.contacts[0]).await;
        let (status, answer) = call(
            &service,
            bearer(
                post_json(&format!("/api/v1/cases/{reference}/events"), body),
                &cora,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    app.clock.advance(time::Duration::days(1));
    staff
}

#[actix_web::test]
async fn a_quarter_with_known_answers_from_the_api_and_the_cli() {
    let app = many_sign_ins();
    let staff = synthetic_quarter(&app).await;
    app.portal()
        .update_organisation_settings("nhs-testshire", None, None, Some(true))
        .unwrap();
    let service = app.service().await;
    let lead = sign_in(&app, &service, &staff.lead).await;
    let (status, board) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4&version=board"),
            &lead,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["disclosure"], "internal");
    assert_eq!(
        board["period"],
        json!({"label": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"})
    );
    // Under the Standards: A, B, C and E. D is anonymous: counted apart, with its "not
    // whistleblowing" finding.
    assert_eq!(board["received"], 4);
    assert_eq!(board["not_whistleblowing"], 0);
    assert_eq!(board["anonymous"]["received"], 1);
    assert_eq!(board["anonymous"]["not_whistleblowing"], 1);
    assert_eq!(board["anonymous"]["closed"]["total"], 0);
    // Closed: A and B at stage 1, C at stage 2 → 2 of 3 = 66.7%, 1 of 3 = 33.3%.
    assert_eq!(board["closed"]["total"], 3);
    assert_eq!(
        board["closed"]["stage1"],
        json!({"count": 2, "percent": 66.7})
    );
    assert_eq!(
        board["closed"]["stage2"],
        json!({"count": 1, "percent": 33.3})
    );
    // Outcomes: stage 1 one upheld, one not upheld (50% each); stage 2 one partially (100%).
    assert_eq!(
        board["outcomes"]["stage1"]["upheld"],
        json!({"count": 1, "percent": 50.0})
    );
    assert_eq!(
        board["outcomes"]["stage1"]["not_upheld"],
        json!({"count": 1, "percent": 50.0})
    );
    assert_eq!(
        board["outcomes"]["stage2"]["partially_upheld"],
        json!({"count": 1, "percent": 100.0})
    );
    // Average working days: stage 1 (3 + 8) / 2 = 5.5; stage 2: 20.
    assert_eq!(
        board["average_working_days"],
        json!({"stage1": 5.5, "stage2": 20.0})
    );
    // Timescales: A on time, B within its extension (not late); C on time on day 20.
    assert_eq!(
        board["within_timescale"]["stage1"]["on_time"],
        json!({"count": 1, "percent": 50.0})
    );
    assert_eq!(
        board["within_timescale"]["stage1"]["within_extension"],
        json!({"count": 1, "percent": 50.0})
    );
    assert_eq!(
        board["within_timescale"]["stage1"]["late"],
        json!({"count": 0, "percent": 0.0})
    );
    assert_eq!(
        board["within_timescale"]["stage2"]["on_time"],
        json!({"count": 1, "percent": 100.0})
    );
    // Extensions as a share of the concerns handled at each stage: B of A and B at stage 1
    // (E was never placed at a stage), none of C at stage 2.
    assert_eq!(board["handled"], json!({"stage1": 2, "stage2": 1}));
    assert_eq!(
        board["extended"],
        json!({"stage1": {"count": 1, "percent": 50.0}, "stage2": {"count": 0, "percent": 0.0}})
    );
    // C went straight to stage 2.
    assert_eq!(
        board["stage2_entered"],
        json!({"total": 1, "escalated": {"count": 0, "percent": 0.0},
               "direct": {"count": 1, "percent": 100.0}})
    );
    // The NHS / local-authority split: C is the only local-authority concern.
    assert_eq!(board["by_service"]["nhs"]["received"], 3);
    assert_eq!(board["by_service"]["local_authority"]["received"], 1);
    assert_eq!(
        board["by_service"]["local_authority"]["closed"]["stage2"]["count"],
        1
    );
    assert_eq!(board["by_service"]["nhs"]["closed"]["stage2"]["count"], 0);
    assert_eq!(board["anonymous"]["by_service"]["nhs"]["received"], 1);
    // Both learning entries are in the board version.
    assert_eq!(board["learning"].as_array().unwrap().len(), 2);

    // The published version suppresses every count from 1 to 4 and what is derived from it.
    let (_, published) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4"),
            &lead,
        ),
    )
    .await;
    assert_eq!(published["disclosure"], "published");
    assert_eq!(published["received"], "fewer than 5");
    assert_eq!(published["anonymous"]["received"], "fewer than 5");
    assert_eq!(published["closed"]["total"], "fewer than 5");
    assert_eq!(
        published["closed"]["stage1"],
        json!({"count": "fewer than 5", "percent": "suppressed"})
    );
    assert_eq!(published["average_working_days"]["stage1"], "suppressed");
    assert_eq!(
        published["within_timescale"]["stage1"]["late"]["count"], 0,
        "zero is not disclosive"
    );
    let learning = published["learning"].as_array().unwrap();
    assert_eq!(learning.len(), 1, "only learning marked publishable");
    assert_eq!(
        learning[0]["body"],
        "Care home rotas are now checked weekly."
    );
    let text = published.to_string();
    for reference_like in ["SU-", "2026-11-16", "2026-11-18", "2026-12-14"] {
        assert!(
            !text.contains(reference_like),
            "{reference_like} leaked into the report"
        );
    }

    // The CLI gives the same figures.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args([
            "report",
            "kpi",
            "--org",
            "nhs-testshire",
            "--quarter",
            "2026-Q4",
            "--format",
            "json",
            "--board",
            "--database-url",
            &app.database.cli_url(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cli: Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "received",
        "closed",
        "outcomes",
        "average_working_days",
        "within_timescale",
        "extended",
        "handled",
        "stage2_entered",
        "by_service",
        "anonymous",
        "learning",
    ] {
        assert_eq!(cli[key], board[key], "{key}");
    }

    let csv = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args([
            "report",
            "kpi",
            "--org",
            "nhs-testshire",
            "--quarter",
            "2026-Q4",
            "--format",
            "csv",
            "--database-url",
            &app.database.cli_url(),
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.starts_with("organisation,period,start,end,section,measure,services,count,percent\n")
    );
    assert!(csv.contains("NHS Testshire,2026-Q4,2026-10-01,2026-12-31,Received,Concerns received,Both services,fewer than 5,\n"), "{csv}");
    assert!(
        csv.contains("Closed at stage 1 (% of all closed),Both services,fewer than 5,suppressed"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + (34 + 6) * 3,
        "34 measures and 6 for anonymous concerns × 3 columns for a partnership"
    );
}

#[actix_web::test]
async fn only_leads_and_admins_of_the_organisation_get_reports() {
    let app = many_sign_ins();
    let staff = synthetic_quarter(&app).await;
    let service = app.service().await;
    let uri = "/api/v1/reports/kpi?organisation=nhs-testshire&quarter=2026-Q4";
    for person in [&staff.contacts[0], &staff.investigator] {
        let token = sign_in(&app, &service, person).await;
        let (status, _) = call(&service, bearer(get(uri), &token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", person.email);
    }
    let admin = sign_in(&app, &service, &staff.admin).await;
    let (status, report) = call(&service, bearer(get(uri), &admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["received"], "fewer than 5");
    // Without the organisation's setting, the board version is still suppressed, and says so.
    let (_, board) = call(
        &service,
        bearer(get(&format!("{uri}&version=board")), &admin),
    )
    .await;
    assert_eq!(board["disclosure"], "published");
    assert_eq!(board["exact_figures_withheld"], true);
    for bad in [
        "quarter=2026-Q9",
        "quarter=",
        "period=2026/28",
        "quarter=2026-Q4&period=2026",
    ] {
        let (status, body) = call(
            &service,
            bearer(
                get(&format!(
                    "/api/v1/reports/kpi?organisation=nhs-testshire&{bad}"
                )),
                &admin,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = call(&service, get(uri)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Every report produced is audited as an export.
    let (status, _) = call(
        &service,
        bearer(
            get("/api/v1/reports/kpi?organisation=nhs-testshire&period=2026"),
            &admin,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let exports = app
        .portal()
        .store
        .read(|tx| speakup::store::audit::page(tx, 0, 10_000))
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == "report_exported")
        .count();
    assert_eq!(exports, 3);
}

#[actix_web::test]
async fn the_board_paper_prints_with_charts_and_the_leads_narrative() {
    let app = many_sign_ins();
    let staff = synthetic_quarter(&app).await;
    let service = app.service().await;
    let mut browser = Browser::new(service);
    // Sign in to the console as the lead (cookie session).
    let lead = app
        .portal()
        .sign_in(
            &staff.lead.email,
            &speakup::crypto::Secret::new(staff.lead.password.clone()),
            &crate::api_client::totp_code(&app, &staff.lead),
        )
        .unwrap();
    browser.set_cookie("__Host-speakup-session", lead.token.expose_secret());

    let page = browser.get("/console/reports?period=2026-Q4").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.text().contains("October to December 2026"));
    let csrf = page.csrf();
    let saved = browser
        .post_form(
            "/console/reports/narratives",
            &[
                ("csrf", &csrf),
                ("period", "2026-Q4"),
                ("section", "awareness"),
                (
                    "body",
                    "Speak Up Week ran in October; 212 staff completed the module.",
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);

    let paper = browser
        .get("/console/reports/download?period=2026-Q4&format=html")
        .await;
    assert_eq!(paper.status, StatusCode::OK);
    let policy = paper
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(policy.contains("style-src 'sha256-"), "{policy}");
    assert!(!paper.body.contains("<script"));
    assert!(
        !paper.body.contains("http://") && !paper.body.contains("https://"),
        "no external assets"
    );
    assert_eq!(paper.body.matches("<svg role=\"img\"").count(), 3);
    for heading in [
        "1. Purpose",
        "2. Summary",
        "4. Performance against the Standards",
        "5. Learning, changes and improvements",
        "7. Awareness and training",
        "9. Recommendation",
    ] {
        assert!(paper.body.contains(heading), "{heading}");
    }
    assert!(paper.text().contains("Speak Up Week ran in October"));
    assert!(
        paper
            .text()
            .contains("Care home rotas are now checked weekly.")
    );
    assert!(
        !paper.text().contains("Not for publication."),
        "unpublishable learning stays out"
    );
    assert!(paper.text().contains("Local-authority services"));

    let csv = browser
        .get("/console/reports/download?period=2026-Q4&format=csv")
        .await;
    assert!(
        csv.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("whistleblowing-nhs-testshire-2026-Q4.csv")
    );

    // A contact has no reports page.
    let mut other = Browser::new(app.service().await);
    let contact = app
        .portal()
        .sign_in(
            &staff.contacts[1].email,
            &speakup::crypto::Secret::new(staff.contacts[1].password.clone()),
            &crate::api_client::totp_code(&app, &staff.contacts[1]),
        )
        .unwrap();
    other.set_cookie("__Host-speakup-session", contact.token.expose_secret());
    assert_eq!(
        other.get("/console/reports?period=2026-Q4").await.status,
        StatusCode::NOT_FOUND
    );

    // The public page shows published learning by quarter, with no reference.
    let public = Browser::new(app.service().await)
        .get("/what-changed/nhs-testshire")
        .await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.text().contains("October to December 2026"));
    assert!(
        public
            .text()
            .contains("Care home rotas are now checked weekly.")
    );
    assert!(!public.body.contains("SU-"));
    assert!(!public.text().contains("Not for publication."));
}
