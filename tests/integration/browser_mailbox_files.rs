//! Evidence files and identity requests in the reporter's mailbox opened in the browser (issue
//! 14): the browser cleans and seals a file under the case data key (the module's copy of
//! `strip` and the attachment sealer; the test runs the native build of the same source), seals
//! its description for the case's next position, and posts only ciphertext. Handlers open it
//! with the server-side path they always used; the reporter's browser gets it back sealed.
//! Identity requests reach the browser with their reason sealed, and are answered from there.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use speakup::crypto::{
    Aad, AttachmentBinding, AttachmentOpener, AttachmentSealer, CaseKey, DataKey, Provenance,
    RecordKind, open, random_id, seal,
};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::attachments::{download, multipart, store_contains, upload};
use crate::browser::Browser;
use crate::browser_casework::unb64;
use crate::browser_keys::{browser_sign_in, json as json_of, open_all};
use crate::browser_mailbox::{open_mailbox, outbox_rows, proof_sign_in};
use crate::console_pages::signed_in;
use crate::support::{Attachments, TestApp};

const UPLOAD: &str = "/api/v1/mailbox/sealed/attachments";
const NAME: &str = "Ward 7 rota, photographed 3 Nov.jpg";

/// Recipient and subject of each queued notice of one kind.
fn notices_of(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use speakup::store::schema::outbox;
    app.portal()
        .store
        .read(|tx| {
            outbox::table
                .filter(outbox::kind.eq(kind))
                .select((outbox::recipient, outbox::subject))
                .load(tx)
                .map_err(speakup::store::StoreError::from)
        })
        .unwrap()
}

fn recipients(notices: &[(String, String)]) -> Vec<String> {
    let mut recipients: Vec<String> = notices.iter().map(|(to, _)| to.clone()).collect();
    recipients.sort();
    recipients
}

/// What static/mailbox.js sends for a file: the file cleaned and sealed a slice at a time, and
/// its description sealed for the mailbox's next position and day, bound to the reporter.
struct SealedFile {
    id: String,
    clean: Vec<u8>,
    sealed: Vec<u8>,
    record: String,
}

fn seal_file(key: &DataKey, mailbox: &Value, name: &str, content: &[u8]) -> SealedFile {
    let case_id = mailbox["case_id"].as_str().unwrap();
    let id = random_id();
    let mut stripper = speakup::strip::Stripper::new();
    let mut sealer = AttachmentSealer::new(key, &AttachmentBinding::new(case_id, &id)).unwrap();
    let (mut clean, mut sealed) = (Vec::new(), Vec::new());
    // As the browser reads a file: in slices, each cleaned and sealed as it comes.
    for slice in content.chunks(1000) {
        let mut cleaned = Vec::new();
        stripper.push(slice, &mut cleaned).unwrap();
        sealer.push(&cleaned, &mut sealed).unwrap();
        clean.extend_from_slice(&cleaned);
    }
    let mut cleaned = Vec::new();
    let report = stripper.finish(&mut cleaned).unwrap();
    sealer.push(&cleaned, &mut sealed).unwrap();
    sealer.finish(&mut sealed).unwrap();
    clean.extend_from_slice(&cleaned);
    let description = json!({
        "name": speakup::strip::clean_file_name(name),
        "size": clean.len(),
        "removed_metadata": report.removed,
    });
    let aad = Aad::new(case_id, RecordKind::Attachment, &id).with_provenance(Provenance {
        author: "reporter",
        author_user_id: None,
        event_id: None,
        position: mailbox["next_position"].as_i64().unwrap(),
        written_on: mailbox["today"].as_str().unwrap(),
    });
    let record =
        data_encoding::BASE64.encode(&seal(key, &aad, description.to_string().as_bytes()).unwrap());
    SealedFile {
        id,
        clean,
        sealed,
        record,
    }
}

fn form(id: &str, position: &str, day: &str, record: &str, file: &[u8]) -> Vec<u8> {
    multipart(
        &[
            ("id", id),
            ("position", position),
            ("written_on", day),
            ("record", record),
        ],
        "sealed",
        file,
    )
}

fn sealed_upload(token: &str, file: &SealedFile, mailbox: &Value) -> TestRequest {
    bearer(
        upload(
            UPLOAD,
            form(
                &file.id,
                &mailbox["next_position"].to_string(),
                mailbox["today"].as_str().unwrap(),
                &file.record,
                &file.sealed,
            ),
        ),
        token,
    )
}

/// Opens a file's description from the sealed mailbox as the browser does.
fn description(key: &DataKey, mailbox: &Value, listed: &Value) -> Value {
    let case_id = mailbox["case_id"].as_str().unwrap();
    assert_eq!(listed["kind"], "attachment");
    let aad = Aad::new(
        case_id,
        RecordKind::Attachment,
        listed["id"].as_str().unwrap(),
    )
    .with_provenance(Provenance {
        author: listed["author"].as_str().unwrap(),
        author_user_id: listed["author_user_id"].as_str(),
        event_id: listed["event_id"].as_str(),
        position: listed["position"].as_i64().unwrap(),
        written_on: listed["written_on"].as_str().unwrap(),
    });
    let plain = open(key, &aad, &unb64(&listed["sealed"])).unwrap();
    serde_json::from_slice(plain.expose_secret()).unwrap()
}

fn opened(key: &DataKey, case_id: &str, id: &str, sealed: &[u8]) -> Vec<u8> {
    let mut opener = AttachmentOpener::new(key, &AttachmentBinding::new(case_id, id)).unwrap();
    let mut plain = Vec::new();
    for piece in sealed.chunks(7000) {
        opener.push(piece, &mut plain).unwrap();
    }
    opener.finish(&mut plain).unwrap();
    plain
}

/// Signs in as the browser does (lookup id and proof, never the key); answers the token.
async fn proof_session<S, B>(service: &S, case_key: &CaseKey) -> String
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
        post_json("/api/v1/mailbox/session", proof_sign_in(case_key)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_file_sealed_in_the_reporters_browser_opens_for_handlers_byte_for_byte() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) =
        raise(&service, confidential_concern("Ward 7 is left unstaffed.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let token = proof_session(&service, &case_key).await;
    let (status, mailbox) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    assert_eq!(status, StatusCode::OK, "{mailbox}");
    assert_eq!(mailbox["attachments"], json!([]));
    assert_eq!(mailbox["identity_requests"], json!([]));
    assert_eq!(
        mailbox["max_attachment_bytes"],
        app.portal().settings.max_attachment_bytes
    );
    let (key, _) = open_mailbox(&case_key, &mailbox);
    let case_id = mailbox["case_id"].as_str().unwrap().to_owned();

    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let file = seal_file(&key, &mailbox, NAME, photo);
    assert!(file.clean.len() < photo.len(), "the GPS block went");

    // The server-side form is for sessions with the key on the server: a proof session is told
    // where files go instead.
    let (status, error) = call(
        &service,
        bearer(
            upload("/api/v1/mailbox/attachments", multipart(&[], NAME, photo)),
            &token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(error["error"]["code"], "mailbox_opened_in_browser");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/mailbox/sealed/attachments"),
        "{error}"
    );

    // Refusals: a file not sealed, a stream too short to be one, an id that is not a fresh
    // hex id, a stale position, a stale day; nothing is kept of any of them.
    let position = mailbox["next_position"].to_string();
    let today = mailbox["today"].as_str().unwrap();
    let refused = [
        (
            form(&file.id, &position, today, &file.record, photo),
            "not_sealed",
        ),
        (
            form(&file.id, &position, today, &file.record, &file.sealed[..30]),
            "not_sealed",
        ),
        (
            form("../../etc", &position, today, &file.record, &file.sealed),
            "invalid_id",
        ),
        (
            form(&file.id, "1", today, &file.record, &file.sealed),
            "position_taken",
        ),
        (
            form(
                &file.id,
                &position,
                "2026-11-15",
                &file.record,
                &file.sealed,
            ),
            "day_changed",
        ),
        (
            form(&file.id, &position, today, "%%%", &file.sealed),
            "invalid_sealed",
        ),
    ];
    for (body, code) in refused {
        let (status, error) = call(&service, bearer(upload(UPLOAD, body), &token)).await;
        assert!(status.is_client_error(), "{code}: {status} {error}");
        assert_eq!(error["error"]["code"], code, "{error}");
    }
    let (status, _, _) = download(
        &service,
        bearer(get(&format!("{UPLOAD}/{}", file.id)), &token),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing kept of refused uploads"
    );
    assert!(!store_contains(&app, &file.sealed[..64]));

    // Sealed and described: stored as sent. The people holding the case hear that the reporter
    // added a file (the people the concern was sent to), in a notice that names only the case; a
    // server-side reporter upload (key on the server) beside it tells them the same way.
    let holders = recipients(&notices_of(&app, "new_concern"));
    assert!(!holders.is_empty());
    let before = outbox_rows(&app);
    let (status, stored) = call(&service, sealed_upload(&token, &file, &mailbox)).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["id"], file.id.as_str());
    assert_eq!(stored["position"], mailbox["next_position"]);
    let told = notices_of(&app, "reporter_file");
    assert_eq!(recipients(&told), holders);
    assert_eq!(outbox_rows(&app) - before, holders.len() as i64);
    for (_, subject) in &told {
        assert_eq!(subject, &format!("New file on {reference}"));
    }
    assert!(!app.database_contains("Ward 7 rota"));
    assert!(!store_contains(&app, b"GPS-CANARY"));
    assert!(!store_contains(&app, b"SpeakupTestCam"));
    let (_, server_session) = call(
        &service,
        post_json("/api/v1/mailbox/session", json!({"case_key": typed})),
    )
    .await;
    let server_token = server_session["token"].as_str().unwrap().to_owned();
    let (status, receipt) = call(
        &service,
        bearer(
            upload(
                "/api/v1/mailbox/attachments",
                multipart(&[], "notes.txt", b"server-side"),
            ),
            &server_token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let told = notices_of(&app, "reporter_file");
    assert_eq!(told.len(), 2 * holders.len());
    assert!(told.iter().all(|(_, subject)| !subject.contains("notes")));

    // The same id again cannot overwrite it.
    let (status, again) = call(&service, sealed_upload(&token, &file, &mailbox)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["error"]["code"], "already_sent");

    // The browser lists it from the sealed mailbox, opens the description, gets the file back
    // sealed exactly as it sent it, and opens it.
    let (_, reread) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let files = reread["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{reread}");
    assert_eq!(files[0]["id"], file.id.as_str());
    assert_eq!(files[0]["author"], "reporter");
    let described = description(&key, &reread, &files[0]);
    assert_eq!(described["name"], NAME);
    assert_eq!(described["size"], file.clean.len());
    assert!(
        described["removed_metadata"]
            .to_string()
            .contains("GPS position"),
        "{described}"
    );
    assert_eq!(description(&key, &reread, &files[1])["name"], "notes.txt");
    let (status, back, headers) = download(
        &service,
        bearer(get(&format!("{UPLOAD}/{}", file.id)), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        back == file.sealed,
        "the stored bytes, as sealed in the browser"
    );
    assert!(
        headers
            .iter()
            .any(|(name, value)| name == "x-content-type-options" && value == "nosniff")
    );
    assert!(opened(&key, &case_id, &file.id, &back) == file.clean);

    // A handler signed in with the password opens it on the server: the page, the download,
    // and the JSON API give the cleaned photo byte for byte.
    let cora = &staff.contacts[0];
    let mut console = signed_in(&app, app.service().await, cora).await;
    let base = format!("/console/cases/{reference}");
    let page = console.get(&format!("{base}/conversation")).await;
    assert!(
        page.body.contains("Ward 7 rota, photographed 3 Nov.jpg"),
        "{}",
        page.body
    );
    let (status, bytes) = console
        .download(&format!("{base}/attachments/{}", file.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        bytes == file.clean,
        "byte for byte the file the browser cleaned"
    );
    let cora_token = sign_in(&app, &service, cora).await;
    let (status, bytes, _) = download(
        &service,
        bearer(
            get(&format!(
                "/api/v1/cases/{reference}/attachments/{}",
                file.id
            )),
            &cora_token,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == file.clean);
    // A colleague whose key is in the browser lists and opens it there.
    let mut keyed = Browser::new(app.service().await);
    let secret = browser_sign_in(&app, &mut keyed, &staff.contacts[1]).await;
    let case = json_of(&keyed.get(&format!("{base}/sealed")).await);
    assert!(
        open_all(&case, &secret).contains(&("attachment".to_owned(), NAME.to_owned())),
        "{case}"
    );
    let (status, sealed) = keyed
        .download(&format!("{base}/sealed/attachments/{}", file.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(sealed == file.sealed);
    // The reporter with the key on the server sees it in the mailbox, from the reporter.
    let (_, listing) = call(&service, bearer(get("/api/v1/mailbox"), &server_token)).await;
    assert_eq!(listing["attachments"][0]["name"], NAME, "{listing}");
    assert_eq!(listing["attachments"][0]["from"], "reporter");

    // Another reporter's session cannot fetch it.
    let (other_key, _) = raise(&service, confidential_concern("Another concern.")).await;
    let other = proof_session(&service, &CaseKey::parse(&other_key).unwrap()).await;
    let (status, _, _) = download(
        &service,
        bearer(get(&format!("{UPLOAD}/{}", file.id)), &other),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_file_sealed_in_the_reporters_browser_goes_to_object_storage_sealed() {
    let app = TestApp::with_store(Attachments::S3, |_| {});
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(&service, confidential_concern("Rota evidence.")).await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let token = proof_session(&service, &case_key).await;
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let (key, _) = open_mailbox(&case_key, &mailbox);
    // Several sealing chunks and a short last one, with a canary throughout.
    let content = crate::attachments::evidence("CANARY-s3-browser-", 200_000);
    let file = seal_file(&key, &mailbox, "rota.txt", &content);
    assert!(file.clean == content, "a text file has nothing to strip");
    let (status, stored) = call(&service, sealed_upload(&token, &file, &mailbox)).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert!(!store_contains(&app, b"CANARY-s3-browser-"));
    assert!(!store_contains(&app, b"rota.txt"));
    let (status, back, _) = download(
        &service,
        bearer(get(&format!("{UPLOAD}/{}", file.id)), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(back == file.sealed);
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let (status, bytes, _) = download(
        &service,
        bearer(
            get(&format!(
                "/api/v1/cases/{reference}/attachments/{}",
                file.id
            )),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == content, "opened on the server from object storage");
    // The same id again is refused before anything is written over it.
    let (_, reread) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    let (status, again) = call(&service, sealed_upload(&token, &file, &reread)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, back, _) = download(
        &service,
        bearer(get(&format!("{UPLOAD}/{}", file.id)), &token),
    )
    .await;
    assert!(back == file.sealed);
}

#[actix_web::test]
async fn identity_requests_reach_the_browser_sealed_and_are_answered_from_it() {
    let app = TestApp::new();
    let staff = app.staff();
    let service = app.service().await;
    let (typed, reference) = raise(
        &service,
        confidential_concern("Drug counts on ward 3 do not add up."),
    )
    .await;
    let case_key = CaseKey::parse(&typed).unwrap();
    let cora = sign_in(&app, &service, &staff.contacts[0]).await;
    let case_uri = format!("/api/v1/cases/{reference}");
    let reason = "Ivan needs to interview you about the counts.";
    let (status, answer) = call(
        &service,
        bearer(
            post_json(
                &format!("{case_uri}/grants"),
                json!({"user": staff.investigator.email, "identity": true, "reason": reason}),
            ),
            &cora,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let token = proof_session(&service, &case_key).await;
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    assert!(
        !mailbox.to_string().contains("interview"),
        "the reason is sealed"
    );
    let requests = mailbox["identity_requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{mailbox}");
    let request = &requests[0];
    assert_eq!(request["to_name"], staff.investigator.name.as_str());
    assert_eq!(request["requested_on"], "2026-11-16");
    // The browser opens the reason: case data key, associated data format 1.
    let (key, _) = open_mailbox(&case_key, &mailbox);
    let id = request["id"].as_str().unwrap();
    let aad = Aad::new(
        mailbox["case_id"].as_str().unwrap(),
        RecordKind::IdentityRequest,
        id,
    );
    let plain = open(&key, &aad, &unb64(&request["sealed_reason"])).unwrap();
    let opened: Value = serde_json::from_slice(plain.expose_secret()).unwrap();
    assert_eq!(opened["body"], reason);

    // Answered with the proof session's bearer token: the investigator now reads the identity.
    let ivan = sign_in(&app, &service, &staff.investigator).await;
    let (_, case) = call(&service, bearer(get(&case_uri), &ivan)).await;
    assert!(case["identity"].is_null(), "not before the reporter agrees");
    let decide = |decision: &str| {
        bearer(
            post_json(
                &format!("/api/v1/mailbox/identity-requests/{id}"),
                json!({ "decision": decision }),
            ),
            &token,
        )
    };
    let (status, answer) = call(&service, decide("approve")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, case) = call(&service, bearer(get(&case_uri), &ivan)).await;
    assert!(!case["identity"].is_null(), "{case}");
    let (_, mailbox) = call(&service, bearer(get("/api/v1/mailbox/sealed"), &token)).await;
    assert_eq!(mailbox["identity_requests"], json!([]));
    // Answered once only.
    let (status, _) = call(&service, decide("decline")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
