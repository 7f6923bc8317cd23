//! Attachments end to end: upload, list, download byte-identical, nothing readable at rest,
//! limits, and only holders can read.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::api_client::{
    bearer, call, confidential_concern, delete, get, post_json, raise, sign_in,
};
use crate::browser::Browser;
use crate::console_pages::{open_case, signed_in};
use crate::support::{Attachments, TestApp, files_under};

const BOUNDARY: &str = "----speakup-test-boundary-7d1f";
const MULTIPART: &str = "multipart/form-data; boundary=----speakup-test-boundary-7d1f";

/// A multipart body with `fields` (name, value) and then one file field.
pub fn multipart(fields: &[(&str, &str)], file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn upload(uri: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(body)
}

/// A file with a recognisable plaintext canary spread through several sealing chunks.
pub fn evidence(canary: &str, len: usize) -> Vec<u8> {
    let mut content = Vec::with_capacity(len);
    let mut i = 0u32;
    while content.len() < len {
        content.extend_from_slice(canary.as_bytes());
        content.extend_from_slice(&i.to_be_bytes());
        i += 1;
    }
    content.truncate(len);
    content
}

pub(crate) async fn download<S, B>(
    service: &S,
    request: TestRequest,
) -> (StatusCode, Vec<u8>, Vec<(String, String)>)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = test::read_body(response).await.to_vec();
    (status, body, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn mailbox_token<S, B>(service: &S, case_key: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, session) = call(
        service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

/// Whether `needle` is in any stored blob or any file under the data directory (the SQLite
/// database included).
pub(crate) fn store_contains(app: &TestApp, needle: &[u8]) -> bool {
    let mut files = app.stored_attachments();
    files.extend(files_under(app.data_dir()));
    files.iter().any(|path| {
        let bytes = std::fs::read(path).unwrap_or_default();
        bytes.windows(needle.len()).any(|window| window == needle)
    })
}

#[actix_web::test]
async fn reporter_and_handler_exchange_files_sealed_in_a_directory() {
    exchange_files_sealed_at_rest(Attachments::Directory).await;
}

#[actix_web::test]
async fn reporter_and_handler_exchange_files_sealed_in_object_storage() {
    exchange_files_sealed_at_rest(Attachments::S3).await;
}

async fn exchange_files_sealed_at_rest(attachments: Attachments) {
    let app = TestApp::with_store(attachments, |_| {});
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Rota evidence")).await;
    let token = mailbox_token(&service, &case_key).await;

    // 300 000 bytes: several 64 KiB sealing chunks and a short last one.
    let canary = "CANARY-rota-ward7-";
    let content = evidence(canary, 300_000);
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "ward 7 rota.txt", &content),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["name"], "ward 7 rota.txt");
    assert_eq!(receipt["size"], 300_000);
    assert_eq!(receipt["removed_metadata"], json!([]));
    assert!(
        receipt["not_removed"]
            .to_string()
            .contains("text and pictures inside"),
        "{receipt}"
    );
    let id = receipt["id"].as_str().unwrap().to_owned();

    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    let listed = &mailbox["attachments"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["name"], "ward 7 rota.txt");
    assert_eq!(listed["size"], 300_000);
    assert_eq!(listed["from"], "reporter");
    assert_eq!(listed["sent_on"], "2026-11-16");

    let (status, body, headers) = download(
        &service,
        bearer(get(&format!("/api/v1/mailbox/attachments/{id}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == content, "reporter download is byte-identical");
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    let disposition = header(&headers, "content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("ward 7 rota.txt"), "{disposition}");

    // The intake contact holds the case and reads the same bytes; the read is audited.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let case_uri = format!("/api/v1/cases/{reference}");
    let (status, body, _) = download(
        &service,
        bearer(get(&format!("{case_uri}/attachments/{id}")), &cora),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == content, "handler download is byte-identical");

    // She answers with a file of her own; the reporter sees it as from the handler.
    let reply = evidence("HANDLER-CANARY-", 70_000);
    let (status, handler_receipt) = call(
        &service,
        bearer(
            upload(
                &format!("{case_uri}/attachments"),
                multipart(&[], "policy.txt", &reply),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{handler_receipt}");
    let (_, case) = call(&service, bearer(get(&case_uri), &cora)).await;
    assert_eq!(case["attachments"].as_array().unwrap().len(), 2);
    let actions: Vec<&str> = case["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"attachment_downloaded"), "{actions:?}");
    assert!(actions.contains(&"attachment_added"), "{actions:?}");
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(mailbox["attachments"][1]["from"], "handler");
    let reply_id = mailbox["attachments"][1]["id"].as_str().unwrap();
    let (status, body, _) = download(
        &service,
        bearer(
            get(&format!("/api/v1/mailbox/attachments/{reply_id}")),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == reply);

    // Nothing readable at rest: not in the database, not in the attachment store.
    for needle in [canary, "HANDLER-CANARY-", "ward 7 rota", "policy.txt"] {
        assert!(!app.database_contains(needle), "{needle} in the database");
        assert!(!store_contains(&app, needle.as_bytes()), "{needle} on disk");
    }
    let stored = app.stored_attachments();
    assert_eq!(stored.len(), 2, "both files are in the store: {stored:?}");

    // `speakup backup` copies the database and the sealed files beside it, or (object storage)
    // says what to copy.
    let destination = app.data_dir().join("backup.db");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_speakup"))
        .arg("backup")
        .arg(&destination)
        .arg("--data-dir")
        .arg(app.data_dir())
        .arg("--database-url")
        .arg(app.database.cli_url())
        .env_remove("SPEAKUP_DATABASE_URL")
        .envs(app.store_environment())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match (&app.bucket, app.database.is_postgres()) {
        (None, true) => assert!(
            stderr.contains("pg_dump") && stderr.contains("attachment directory"),
            "{stderr}"
        ),
        (Some(bucket), true) => assert!(
            stderr.contains("pg_dump")
                && stderr.contains(&format!("s3://{bucket}/speakup/attachments/")),
            "{stderr}"
        ),
        (Some(bucket), false) => {
            assert!(output.status.success(), "{stderr}");
            let printed: Value = serde_json::from_str(stdout.trim()).unwrap();
            assert!(
                printed["copy_attachments"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("aws s3 sync s3://{bucket}/speakup/attachments/")),
                "{printed}"
            );
            assert!(stderr.contains("object storage"), "{stderr}");
            assert!(
                !stdout.contains(crate::object_store::SECRET_ACCESS_KEY)
                    && !stderr.contains(crate::object_store::SECRET_ACCESS_KEY),
                "the secret key is never printed"
            );
            assert!(destination.exists(), "the database was copied");
        }
        (None, false) => {
            assert!(output.status.success(), "{stderr}");
            let copies = files_under(&app.data_dir().join("backup.db.attachments"));
            assert_eq!(copies.len(), 2, "{copies:?}");
            for original in &stored {
                let relative = original
                    .strip_prefix(app.data_dir().join("attachments"))
                    .unwrap();
                let copy = app.data_dir().join("backup.db.attachments").join(relative);
                assert_eq!(
                    std::fs::read(original).unwrap(),
                    std::fs::read(copy).unwrap()
                );
            }
        }
    }
}

#[actix_web::test]
async fn only_holders_can_download_from_a_directory() {
    only_holders_can_download(Attachments::Directory).await;
}

#[actix_web::test]
async fn only_holders_can_download_from_object_storage() {
    only_holders_can_download(Attachments::S3).await;
}

/// Non-holders get 404; losing the grant (revoked, conflict) loses the files; deleting the
/// case's key wraps leaves its files unreadable by anyone.
async fn only_holders_can_download(attachments: Attachments) {
    let app = TestApp::with_store(attachments, |_| {});
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Grant test")).await;
    let token = mailbox_token(&service, &case_key).await;
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "letter.pdf", b"not really a pdf"),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let id = receipt["id"].as_str().unwrap();
    let case_uri = format!("/api/v1/cases/{reference}");
    let file_uri = format!("{case_uri}/attachments/{id}");

    // A non-holder gets exactly the answer for something that does not exist.
    let ivy = sign_in(&app, &service, &staff.investigator).await;
    let (status, not_held) = call(&service, bearer(get(&file_uri), &ivy)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, nonexistent) = call(
        &service,
        bearer(get(&format!("{case_uri}/attachments/0123abcd")), &ivy),
    )
    .await;
    assert_eq!(not_held, nonexistent);
    let (status, _) = call(
        &service,
        bearer(
            upload(
                &format!("{case_uri}/attachments"),
                multipart(&[], "x.txt", b"x"),
            ),
            &ivy,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a non-holder cannot add files"
    );
    // Another case's reporter cannot reach it either.
    let (other_key, _) = raise(&service, confidential_concern("Other case")).await;
    let other = mailbox_token(&service, &other_key).await;
    let (status, _) = call(
        &service,
        bearer(get(&format!("/api/v1/mailbox/attachments/{id}")), &other),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Granted, she can; revoked, she cannot.
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, _) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.investigator.email}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body, _) = download(&service, bearer(get(&file_uri), &ivy)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"not really a pdf");
    let (status, _) = call(
        &service,
        bearer(
            delete(&format!("{case_uri}/grants/{}", staff.investigator.email)),
            &cora,
        ),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let (status, _) = call(&service, bearer(get(&file_uri), &ivy)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A conflict of interest removes access too.
    let colm = sign_in(&app, &service, &staff.contacts[1]).await;
    let (status, _, _) = download(&service, bearer(get(&file_uri), &colm)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &service,
        bearer(post_json(&format!("{case_uri}/conflict"), json!({})), &colm),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&service, bearer(get(&file_uri), &colm)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Erasure deletes the case's key wraps: the sealed file stays in the store, but nobody can
    // open it any more (not the contact who still held the case, not the reporter).
    let (status, _, _) = download(&service, bearer(get(&file_uri), &cora)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.stored_attachments().len(), 1);
    app.execute_sql(&format!(
        "DELETE FROM key_wraps WHERE case_id IN (SELECT id FROM cases WHERE reference = '{reference}')"
    ));
    let (status, _) = call(&service, bearer(get(&file_uri), &cora)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The reporter's case key no longer opens anything either.
    let (status, session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    if status == StatusCode::OK {
        let fresh = session["token"].as_str().unwrap();
        let (status, _, _) = download(
            &service,
            bearer(get(&format!("/api/v1/mailbox/attachments/{id}")), fresh),
        )
        .await;
        assert_ne!(
            status,
            StatusCode::OK,
            "a new mailbox session cannot open it"
        );
    }
    assert_eq!(app.stored_attachments().len(), 1, "the sealed bytes remain");
}

#[actix_web::test]
async fn files_over_the_limits_are_refused_and_leave_nothing_in_a_directory() {
    files_over_the_limits_are_refused(Attachments::Directory).await;
}

#[actix_web::test]
async fn files_over_the_limits_are_refused_and_leave_nothing_in_object_storage() {
    files_over_the_limits_are_refused(Attachments::S3).await;
}

/// 413 over the limits, and nothing left behind.
async fn files_over_the_limits_are_refused(attachments: Attachments) {
    let app = TestApp::with_store(attachments, |raw| {
        raw.max_attachment_mib = 1;
        raw.max_case_attachments_mib = 2;
    });
    let _staff = app.staff();
    let service = app.service().await;
    let (case_key, _) = raise(&service, confidential_concern("Limits")).await;
    let token = mailbox_token(&service, &case_key).await;

    let too_big = evidence("BIG-CANARY-", 1024 * 1024 + 1);
    let (status, error) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "big.bin", &too_big),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["error"]["code"], "file_too_large");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 MiB")
    );
    // Also when the client does not declare a length up front: refused while streaming.
    let request = bearer(
        upload(
            "/api/v1/mailbox/attachments",
            multipart(&[], "big.bin", &too_big),
        ),
        &token,
    )
    .to_request();
    let mut request = request;
    request.headers_mut().remove("content-length");
    let response = test::call_service(&service, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        !store_contains(&app, b"BIG-CANARY-"),
        "a refused upload leaves nothing"
    );
    let stored = app.stored_attachments();
    assert!(stored.is_empty(), "{stored:?}");

    // The per-case total: two files of just under 1 MiB fit, the third does not.
    let almost = evidence("OK", 1024 * 1024 - 4096);
    for _ in 0..2 {
        let (status, body) = call(
            &service,
            bearer(
                upload(
                    "/api/v1/mailbox/attachments",
                    multipart(&[], "part.bin", &almost),
                ),
                &token,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, error) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "part.bin", &almost),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["error"]["code"], "case_attachments_full");

    // A form without a file is a plain 400.
    let (status, error) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                format!("--{BOUNDARY}--\r\n").into_bytes(),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let _: Value = error;
}

#[actix_web::test]
async fn uploads_are_rate_limited() {
    let app = TestApp::with_settings(|raw| raw.attachment_uploads_per_hour = 2);
    let _staff = app.staff();
    let service = app.service().await;
    let (case_key, _) = raise(&service, confidential_concern("Rate")).await;
    let token = mailbox_token(&service, &case_key).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, _) = call(
            &service,
            bearer(
                upload("/api/v1/mailbox/attachments", multipart(&[], "a.txt", b"a")),
                &token,
            ),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[actix_web::test]
async fn a_photo_comes_back_without_its_gps_position() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (case_key, reference) = raise(&service, confidential_concern("Photo")).await;
    let token = mailbox_token(&service, &case_key).await;
    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    assert!(photo.windows(16).any(|w| w == b"Model-GPS-CANARY"));

    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "IMG_0042.jpg", photo),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let removed = receipt["removed_metadata"].to_string();
    assert!(removed.contains("GPS position"), "{removed}");
    assert!(
        receipt["not_removed"].to_string().contains("faces"),
        "the reporter is told what stripping cannot do: {receipt}"
    );
    let id = receipt["id"].as_str().unwrap();
    assert_eq!(receipt["size"], photo.len() - 196);

    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, body, _) = download(
        &service,
        bearer(
            get(&format!("/api/v1/cases/{reference}/attachments/{id}")),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(b"\xFF\xD8") && body.ends_with(b"\xFF\xD9"));
    assert!(
        !body.windows(6).any(|w| w == b"Exif\0\0"),
        "no EXIF segment"
    );
    assert!(!body.windows(16).any(|w| w == b"Model-GPS-CANARY"));
    // The picture itself is untouched: everything after the EXIF segment is identical.
    assert_eq!(&body[20..], &photo[216..]);
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert!(
        mailbox["attachments"][0]["removed_metadata"]
            .to_string()
            .contains("GPS")
    );

    // A HEIC photo (as phones take them) loses its Exif and XMP items in place.
    let heic = include_bytes!("../fixtures/photo-with-gps.heic");
    assert!(heic.windows(16).any(|w| w == b"Model-GPS-CANARY"));
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "IMG_0043.HEIC", heic),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let removed = receipt["removed_metadata"].to_string();
    assert!(
        removed.contains("GPS position") && removed.contains("XMP"),
        "{removed}"
    );
    let not_removed = receipt["not_removed"].to_string();
    assert!(
        not_removed.contains("faces") && !not_removed.contains("could not be removed"),
        "{not_removed}"
    );
    let id = receipt["id"].as_str().unwrap();
    let (status, body, _) = download(
        &service,
        bearer(
            get(&format!("/api/v1/cases/{reference}/attachments/{id}")),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), heic.len(), "every offset stays valid");
    for canary in [
        &b"Model-GPS-CANARY"[..],
        b"HEIC-Make-CANARY",
        b"XMP-CREATOR-CANARY",
    ] {
        assert!(!body.windows(canary.len()).any(|w| w == canary));
    }
    // The boxes and the picture (item 1, up to 0x29c) are untouched; Exif and XMP follow it.
    assert_eq!(&body[..0x29c], &heic[..0x29c]);

    // A PDF loses its author and other properties, byte offsets intact.
    let pdf = include_bytes!("../fixtures/document-with-properties.pdf");
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "rota.pdf", pdf),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert!(
        receipt["removed_metadata"]
            .to_string()
            .contains("document properties")
    );
    let id = receipt["id"].as_str().unwrap();
    let (status, body, _) = download(
        &service,
        bearer(
            get(&format!("/api/v1/cases/{reference}/attachments/{id}")),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), pdf.len());
    assert!(!body.windows(4).any(|w| w == b"Jane"));
    assert!(body.starts_with(b"%PDF-1.3"));
}

#[actix_web::test]
async fn files_go_through_plain_html_forms_for_reporter_and_handler() {
    let app = TestApp::with_settings(|raw| raw.max_attachment_mib = 1);
    let staff = app.staff();
    let (case_key, reference) = raise(&app.service().await, confidential_concern("Forms")).await;

    // The reporter signs in to the mailbox the way a browser without JavaScript does.
    let mut reporter = Browser::new(app.service().await);
    let sign_in = reporter.get("/mailbox").await;
    let signed = reporter
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &sign_in.csrf()), ("case_key", &case_key)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let mailbox = reporter.get("/mailbox").await;
    assert!(
        mailbox.body.contains(r#"enctype="multipart/form-data""#),
        "the mailbox has a file form"
    );
    assert!(
        mailbox
            .text()
            .contains("We cannot remove what a file shows")
    );
    let csrf = mailbox.csrf();

    // Without the form's CSRF field the upload is refused.
    let refused = reporter
        .post_body(
            "/mailbox/attachments",
            MULTIPART,
            multipart(&[], "x.txt", b"x"),
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.status);

    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let added = reporter
        .post_body(
            "/mailbox/attachments",
            MULTIPART,
            multipart(&[("csrf", &csrf)], "IMG_0042.jpg", photo),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    assert_eq!(
        added.location().as_deref(),
        Some("/mailbox?attached=1#files")
    );
    let mailbox = reporter.get("/mailbox?attached=1").await;
    let text = mailbox.text();
    assert!(text.contains("Your file has been added"), "{text}");
    assert!(text.contains("IMG_0042.jpg"), "{text}");
    assert!(text.contains("We removed: EXIF data"), "{text}");
    let href = mailbox
        .body
        .split("href=\"")
        .find(|part| part.starts_with("/mailbox/attachments/"))
        .and_then(|part| part.split('"').next())
        .unwrap()
        .to_owned();
    let (status, body) = reporter.download(&href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.windows(16).any(|w| w == b"Model-GPS-CANARY"));
    assert_eq!(&body[20..], &photo[216..]);

    // Too large: a readable HTML page with status 413.
    let too_big = reporter
        .post_body(
            "/mailbox/attachments",
            MULTIPART,
            multipart(&[("csrf", &csrf)], "big.bin", &vec![7u8; 1024 * 1024 + 10]),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.body.contains("<html"), "an HTML page");
    assert!(
        too_big.text().contains("larger than 1 MiB"),
        "{}",
        too_big.text()
    );

    // Signed out, the download link leads nowhere.
    let mut stranger = Browser::new(app.service().await);
    let (status, _) = stranger.download(&href).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The contact sees it on the case page, downloads it and adds a file of her own.
    let mut console = signed_in(&app, app.service().await, &staff.contacts[0]).await;
    let case_uri = format!("/console/cases/{reference}");
    let page = open_case(&mut console, &case_uri).await;
    assert!(page.text().contains("IMG_0042.jpg"), "{}", page.text());
    assert!(page.body.contains(r#"id="evidence-file""#));
    let file_href = page
        .body
        .split("href=\"")
        .find(|part| part.starts_with(&format!("{case_uri}/attachments/")))
        .and_then(|part| part.split('"').next())
        .unwrap()
        .to_owned();
    let (status, body) = console.download(&file_href).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[20..], &photo[216..]);
    let csrf = page.csrf();
    let added = console
        .post_body(
            &format!("{case_uri}/attachments"),
            MULTIPART,
            multipart(&[("csrf", &csrf)], "reply.txt", b"Our policy, attached."),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    assert_eq!(
        added.location().as_deref(),
        Some(format!("{case_uri}/conversation?done=attached#evidence").as_str())
    );
    let page = open_case(&mut console, &format!("{case_uri}?done=attached")).await;
    assert!(page.text().contains("The file has been added"));
    assert!(page.text().contains("reply.txt"));
    assert!(page.text().contains("Downloaded a file"), "audit trail");
    let mailbox = reporter.get("/mailbox").await;
    assert!(mailbox.text().contains("reply.txt"));
    assert!(mailbox.text().contains("The people handling your concern"));

    // A handler without the case reaches nothing.
    let mut ivy = signed_in(&app, app.service().await, &staff.investigator).await;
    let (status, _) = ivy.download(&file_href).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn large_files_go_to_object_storage_in_parts_and_refused_ones_leave_no_parts() {
    let part = speakup::blobs::S3_PART_SIZE;
    let app = TestApp::with_store(Attachments::S3, |raw| {
        raw.max_attachment_mib = u32::try_from(part / (1024 * 1024) + 1).unwrap();
    });
    let bucket = app.bucket.clone().unwrap();
    let _staff = app.staff();
    let service = app.service().await;
    let (case_key, _) = raise(&service, confidential_concern("Big evidence")).await;
    let token = mailbox_token(&service, &case_key).await;

    // A full part and a short last one.
    let content = evidence("MULTIPART-CANARY-", part + 300_000);
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "scan.bin", &content),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let id = receipt["id"].as_str().unwrap();
    let (status, body, _) = download(
        &service,
        bearer(get(&format!("/api/v1/mailbox/attachments/{id}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == content, "byte-identical after a multipart upload");
    let server = crate::object_store::server();
    assert_eq!(server.unfinished_uploads(&bucket), 0);

    // Over the limit after a part has gone up: the upload is aborted, not left behind.
    let too_big = evidence("REFUSED-CANARY-", part + 1024 * 1024 + 1);
    let mut request = bearer(
        upload(
            "/api/v1/mailbox/attachments",
            multipart(&[], "huge.bin", &too_big),
        ),
        &token,
    )
    .to_request();
    request.headers_mut().remove("content-length");
    let response = test::call_service(&service, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        server.unfinished_uploads(&bucket),
        0,
        "the parts were aborted"
    );
    let stored = app.stored_attachments();
    assert_eq!(stored.len(), 1);
    let sealed = std::fs::read(&stored[0]).unwrap();
    for canary in [&b"MULTIPART-CANARY-"[..], b"REFUSED-CANARY-"] {
        assert!(!sealed.windows(canary.len()).any(|w| w == canary));
    }
}

#[actix_web::test]
async fn a_store_that_refuses_the_credentials_fails_the_upload_cleanly() {
    let app = TestApp::with_store(Attachments::S3, |raw| {
        raw.s3_secret_access_key = "not-the-secret".to_owned();
    });
    let _staff = app.staff();
    let service = app.service().await;
    let (case_key, _) = raise(&service, confidential_concern("Wrong key")).await;
    let token = mailbox_token(&service, &case_key).await;
    let (status, error) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "a.txt", b"evidence"),
            ),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
    assert!(
        !error.to_string().contains("SignatureDoesNotMatch"),
        "store details stay in the server's log: {error}"
    );
    assert!(app.stored_attachments().is_empty());
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox"), &token)).await;
    assert_eq!(mailbox["attachments"], json!([]));
}
