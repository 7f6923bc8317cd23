//! What a session whose key is in the browser leaves behind (issue 14): after a reply, a note, a
//! procedure step, a grant and a file, all sealed or wrapped in the browser, neither the
//! database (every SQLite file, or every PostgreSQL row) nor the server's log output holds any
//! of the words, the reporter's identity or the file's name.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::browser_casework::{
    Started, b64, borrowed, case_key_of, grant_fields, raised_and_signed_in, sealed_file,
    sealed_step,
};
use crate::browser_keys::{json as json_of, submit};
use crate::console_pages::{CSRF_COOKIE, app};
use speakup::crypto::{Aad, Provenance, RecordKind, SecretKey, seal};

/// Everything the server logs, at debug level, from every test in this binary: the plaintexts
/// below are this test's own, so other tests' lines only make the haystack larger.
fn server_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Captured(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other log subscriber");
        buffer
    })
    .clone()
}

struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reply or note as console.js seals it: for the next position and today, bound to Cora.
fn sealed_text(
    case: &Value,
    secret: &SecretKey,
    kind: RecordKind,
    author: &str,
    id: &str,
    body: &str,
) -> String {
    let aad = Aad::new(case["case_id"].as_str().unwrap(), kind, id).with_provenance(Provenance {
        author: "handler",
        author_user_id: Some(author),
        event_id: None,
        position: case["next_position"].as_i64().unwrap(),
        written_on: case["today"].as_str().unwrap(),
    });
    let content = serde_json::json!({ "body": body }).to_string();
    b64(&seal(&case_key_of(case, secret), &aad, content.as_bytes()).unwrap())
}

#[actix_web::test]
async fn a_browser_session_leaves_no_plaintext_in_the_database_or_the_log() {
    let log = server_log();
    let app = app();
    let concern = "Leak-check concern 41c7: the theatre swab counts are signed without counting.";
    let Started {
        staff,
        base,
        mut browser,
        secret,
        ..
    } = raised_and_signed_in(&app, concern).await;
    let cora = &staff.contacts[0];
    let reply = "Leak-check reply 9e02: we have asked theatres for the count sheets.";
    let note = "Leak-check note 5b3d: the theatre manager is on leave until Monday.";
    let points = "Leak-check letter 77a1: we will look at who signs the swab count, and when.";
    let file_name = "Leak-check 0f6a count sheet.jpg";
    let sealed_uri = format!("{base}/sealed");

    // A reply and a note, sealed here.
    for (kind, name, body) in [
        (RecordKind::Message, "message", reply),
        (RecordKind::Note, "note", note),
    ] {
        let case = json_of(&browser.get(&sealed_uri).await);
        let id = speakup::crypto::random_id();
        let sealed = sealed_text(&case, &secret, kind, &cora.id, &id, body);
        let position = case["next_position"].to_string();
        let stored = submit(
            &mut browser,
            &sealed_uri,
            &[
                ("kind", name),
                ("id", &id),
                ("position", &position),
                ("written_on", case["today"].as_str().unwrap()),
                ("sealed", &sealed),
            ],
        )
        .await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    }

    // The first stage's letter, written and sealed here.
    let facts_uri = format!("{sealed_uri}/events/facts");
    let facts = json_of(&submit(&mut browser, &facts_uri, &[("event_type", "stage1")]).await);
    let case = json_of(&browser.get(&sealed_uri).await);
    let (event_id, record_id) = (speakup::crypto::random_id(), speakup::crypto::random_id());
    let letter = sealed_step(
        &case,
        &secret,
        &facts,
        &[("message", points)],
        &cora.id,
        &event_id,
        &record_id,
    );
    let step = submit(
        &mut browser,
        &format!("{sealed_uri}/events"),
        &[
            ("event_type", "stage1"),
            ("event_id", &event_id),
            ("record_id", &record_id),
            ("position", &facts["position"].to_string()),
            ("written_on", facts["today"].as_str().unwrap()),
            ("basis", facts["basis"].as_str().unwrap()),
            ("sealed", &letter),
        ],
    )
    .await;
    assert_eq!(step.status, StatusCode::CREATED, "{}", step.body);

    // Access for Ivy, and the reporter asked about the identity: wraps made here.
    let ivy = &staff.investigator;
    let found = submit(
        &mut browser,
        &format!("{sealed_uri}/grants/recipient"),
        &[("email", &ivy.email), ("identity", "yes")],
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let case = json_of(&browser.get(&sealed_uri).await);
    let fields = grant_fields(&case, &secret, &json_of(&found), &ivy.email);
    let granted = submit(
        &mut browser,
        &format!("{sealed_uri}/grants"),
        &borrowed(&fields),
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);

    // A file, cleaned and sealed here.
    let case = json_of(&browser.get(&sealed_uri).await);
    let id = speakup::crypto::random_id();
    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let (_, sealed, record) = sealed_file(&case, &secret, &cora.id, &id, file_name, photo);
    let csrf = browser.cookie(CSRF_COOKIE).cloned().unwrap();
    let position = case["next_position"].to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("id", id.as_str()),
        ("position", position.as_str()),
        ("written_on", case["today"].as_str().unwrap()),
        ("record", record.as_str()),
    ];
    let uploaded = browser
        .post_body(
            &format!("{sealed_uri}/attachments"),
            "multipart/form-data; boundary=----speakup-test-boundary-7d1f",
            crate::attachments::multipart(&form, "sealed", &sealed),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let (status, _) = browser
        .download(&format!("{sealed_uri}/attachments/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    let log = String::from_utf8_lossy(
        &log.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(
        log.contains("/console/cases/{reference}/sealed/grants"),
        "the log was captured"
    );
    for secret_text in [
        concern,
        reply,
        note,
        points,
        file_name,
        "Rhona Reporter",
        "rhona@example.org",
        "GPS-CANARY",
    ] {
        assert!(
            !app.database_contains(secret_text),
            "in the database: {secret_text}"
        );
        assert!(!log.contains(secret_text), "in the log: {secret_text}");
    }
}
