//! A database writer (SQL access, no keys) against the sealed case records: relabelling who wrote
//! a message, attaching a letter to another event, reordering or redating records, moving a
//! record to another case. Each is refused as "altered" on every view, never shown under the
//! forged label; undoing the edit makes the case readable again, so it is the edit that is caught.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::api_client::{bearer, call, confidential_concern, get, post_json, raise, sign_in};
use crate::console_pages::{app, open, signed_in};
use crate::support::TestApp;
use speakup::crypto::{self, Aad, CaseKey, KeyKind, RecordKind, WrapContext};
use speakup::ids::{CaseId, RecordId, UserId};
use speakup::model::Author;
use speakup::store::StoreError;
use speakup::store::cases::{self, NewRecord, SealedRecord};
use speakup::store::wraps::{self, Recipient};

const HANDLER_TEXT: &str = "HANDLER-WROTE-THIS: which nights were short-staffed?";
const REPORTER_TEXT: &str = "REPORTER-WROTE-THIS: Tuesdays and Thursdays.";

fn sql(app: &TestApp, statement: &str) {
    app.portal()
        .store
        .write(|tx| {
            diesel::sql_query(statement)
                .execute(tx)
                .map_err(StoreError::from)
        })
        .unwrap();
}

fn records(app: &TestApp, case: &CaseId) -> Vec<SealedRecord> {
    app.portal()
        .store
        .read(|tx| cases::records(tx, case, &RecordKind::ALL.map(RecordKind::as_str)))
        .unwrap()
}

fn with_token(request: actix_web::test::TestRequest, token: &str) -> actix_web::test::TestRequest {
    bearer(request, token)
}

/// The case as its holder and as its reporter see it.
async fn views<S, B>(
    api: &S,
    handler: &str,
    reference: &str,
    mailbox: &str,
) -> [(StatusCode, Value); 2]
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    [
        call(
            api,
            with_token(get(&format!("/api/v1/cases/{reference}")), handler),
        )
        .await,
        call(api, with_token(get("/api/v1/mailbox"), mailbox)).await,
    ]
}

async fn assert_refused<S, B>(api: &S, handler: &str, reference: &str, mailbox: &str, what: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for (status, answer) in views(api, handler, reference, mailbox).await {
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{what}: {answer}"
        );
        assert_eq!(
            answer["error"]["code"], "record_altered",
            "{what}: {answer}"
        );
        let text = answer.to_string();
        assert!(
            !text.contains("WROTE-THIS") && !text.contains("fridge"),
            "{what}: {text}"
        );
    }
}

async fn assert_genuine<S, B>(api: &S, handler: &str, reference: &str, mailbox: &str, what: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let [(status, case), (mailbox_status, mailbox)] = views(api, handler, reference, mailbox).await;
    assert_eq!(status, StatusCode::OK, "after undoing {what}: {case}");
    assert_eq!(
        mailbox_status,
        StatusCode::OK,
        "after undoing {what}: {mailbox}"
    );
    let from = |list: &Value, body: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|message| message["body"] == body)
            .map(|message| message["from"].clone())
    };
    assert_eq!(
        from(&case["messages"], HANDLER_TEXT),
        Some(json!("handler"))
    );
    assert_eq!(
        from(&case["messages"], REPORTER_TEXT),
        Some(json!("reporter"))
    );
    assert_eq!(
        from(&mailbox["messages"], HANDLER_TEXT),
        Some(json!("handler"))
    );
    assert_eq!(
        from(&mailbox["messages"], REPORTER_TEXT),
        Some(json!("reporter"))
    );
}

async fn open_mailbox<S, B>(api: &S, case_key: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, session) = call(
        api,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_database_writer_cannot_relabel_reorder_redate_or_move_case_records() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let (case_key, reference) = raise(
        &api,
        confidential_concern("The pharmacy fridge log is filled in afterwards."),
    )
    .await;
    let (other_key, other_reference) =
        raise(&api, confidential_concern("An unrelated second concern.")).await;
    let token = sign_in(&app, &api, cora).await;
    let mailbox = open_mailbox(&api, &case_key).await;
    let (status, answer) = call(
        &api,
        with_token(
            post_json(
                &format!("/api/v1/cases/{reference}/messages"),
                json!({"body": HANDLER_TEXT}),
            ),
            &token,
        ),
    )
    .await;
    assert!(status.is_success(), "{answer}");
    let (status, answer) = call(
        &api,
        with_token(
            post_json("/api/v1/mailbox/messages", json!({"body": REPORTER_TEXT})),
            &mailbox,
        ),
    )
    .await;
    assert!(status.is_success(), "{answer}");
    // A procedure event with a letter to the reporter.
    let (status, answer) = call(
        &api,
        with_token(
            post_json(
                &format!("/api/v1/cases/{reference}/events"),
                json!({"type": "stage1"}),
            ),
            &token,
        ),
    )
    .await;
    assert!(status.is_success(), "{answer}");
    assert_genuine(&api, &token, &reference, &mailbox, "nothing").await;

    let case = app.case_id(&reference);
    let stored = records(&app, &case);
    let find = |kind: RecordKind, author: Author| {
        stored
            .iter()
            .find(|record| record.kind == kind.as_str() && record.author == author)
            .unwrap_or_else(|| panic!("no {kind:?} by {author:?}: {stored:?}"))
            .clone()
    };
    let handler_message = find(RecordKind::Message, Author::Handler);
    let reporter_message = find(RecordKind::Message, Author::Reporter);
    let letter = find(RecordKind::EventText, Author::System);
    let event_ids: Vec<String> = app
        .portal()
        .store
        .read(|tx| speakup::store::events::for_case(tx, &case))
        .unwrap()
        .into_iter()
        .map(|event| event.id.as_str().to_owned())
        .collect();
    let other_event = event_ids
        .iter()
        .find(|id| Some(id.as_str()) != letter.event_id.as_deref())
        .unwrap();
    let (h, r, l) = (
        handler_message.id.as_str(),
        reporter_message.id.as_str(),
        letter.id.as_str(),
    );
    let (cora_id, colm_id) = (&cora.id, &colm.id);
    let (hs, rs) = (handler_message.seq, reporter_message.seq);
    let letter_event = letter.event_id.clone().unwrap();
    let day = handler_message.created_on;
    let tampering: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "the handler's message relabelled as the reporter's",
            vec![format!(
                "UPDATE sealed_records SET author = 'reporter', author_user_id = NULL WHERE id = '{h}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET author = 'handler', author_user_id = '{cora_id}' WHERE id = '{h}'"
            )],
        ),
        (
            "the reporter's message relabelled as a handler's",
            vec![format!(
                "UPDATE sealed_records SET author = 'handler', author_user_id = '{colm_id}' WHERE id = '{r}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET author = 'reporter', author_user_id = NULL WHERE id = '{r}'"
            )],
        ),
        (
            "the handler's message passed off as another handler's",
            vec![format!(
                "UPDATE sealed_records SET author_user_id = '{colm_id}' WHERE id = '{h}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET author_user_id = '{cora_id}' WHERE id = '{h}'"
            )],
        ),
        (
            "the handler's message turned into a system letter",
            vec![format!(
                "UPDATE sealed_records SET author = 'system' WHERE id = '{h}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET author = 'handler' WHERE id = '{h}'"
            )],
        ),
        (
            "the two messages swapped in order",
            vec![
                format!("UPDATE sealed_records SET seq = 1000 WHERE id = '{h}'"),
                format!("UPDATE sealed_records SET seq = {hs} WHERE id = '{r}'"),
                format!("UPDATE sealed_records SET seq = {rs} WHERE id = '{h}'"),
            ],
            vec![
                format!("UPDATE sealed_records SET seq = 1000 WHERE id = '{h}'"),
                format!("UPDATE sealed_records SET seq = {rs} WHERE id = '{r}'"),
                format!("UPDATE sealed_records SET seq = {hs} WHERE id = '{h}'"),
            ],
        ),
        (
            "the reporter's message redated",
            vec![format!(
                "UPDATE sealed_records SET created_on = '2026-01-05' WHERE id = '{r}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET created_on = '{day}' WHERE id = '{r}'"
            )],
        ),
        (
            "the letter attached to another event",
            vec![format!(
                "UPDATE sealed_records SET event_id = '{other_event}' WHERE id = '{l}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET event_id = '{letter_event}' WHERE id = '{l}'"
            )],
        ),
        (
            "the handler's message marked as sealed in the old format",
            vec![format!(
                "UPDATE sealed_records SET aad_version = 1 WHERE id = '{h}'"
            )],
            vec![format!(
                "UPDATE sealed_records SET aad_version = 2 WHERE id = '{h}'"
            )],
        ),
    ];
    for (what, forge, undo) in &tampering {
        for statement in forge {
            sql(&app, statement);
        }
        assert_refused(&api, &token, &reference, &mailbox, what).await;
        for statement in undo {
            sql(&app, statement);
        }
        assert_genuine(&api, &token, &reference, &mailbox, what).await;
    }

    // The console page says what happened, and shows none of the case.
    sql(
        &app,
        &format!(
            "UPDATE sealed_records SET author = 'reporter', author_user_id = NULL WHERE id = '{h}'"
        ),
    );
    let mut browser = signed_in(&app, app.service().await, cora).await;
    let page = open(&mut browser, &format!("/console/cases/{reference}")).await;
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("changed in the database"),
        "{}",
        page.text()
    );
    assert!(!page.text().contains("WROTE-THIS"), "{}", page.text());
    sql(
        &app,
        &format!(
            "UPDATE sealed_records SET author = 'handler', author_user_id = '{cora_id}' WHERE id = '{h}'"
        ),
    );

    // Moved into the other case (at a free position): refused there, and gone from its own.
    let other = app.case_id(&other_reference);
    let other_mailbox = open_mailbox(&api, &other_key).await;
    assert_eq!(
        views(&api, &token, &other_reference, &other_mailbox).await[0].0,
        StatusCode::OK
    );
    sql(
        &app,
        &format!(
            "UPDATE sealed_records SET case_id = '{}', seq = 1000 WHERE id = '{h}'",
            other.as_str()
        ),
    );
    assert_refused(
        &api,
        &token,
        &other_reference,
        &other_mailbox,
        "a record moved in",
    )
    .await;
}

/// The case data key, as the reporter's key unwraps it (only a test can do this: the server
/// never has the case key).
fn case_data_key(app: &TestApp, case: &CaseId, case_key: &str) -> crypto::DataKey {
    let reporter = CaseKey::parse(case_key)
        .unwrap()
        .reporter_key_pair()
        .unwrap();
    let wrap = app
        .portal()
        .store
        .read(|tx| wraps::find(tx, case, &Recipient::Reporter, KeyKind::Case))
        .unwrap()
        .unwrap();
    crypto::unwrap_key(
        &reporter.secret,
        &wrap.wrapped,
        &WrapContext::new(case.as_str(), KeyKind::Case),
    )
    .unwrap()
}

#[actix_web::test]
async fn records_sealed_before_the_provenance_binding_still_open() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let cora = &staff.contacts[0];
    let (case_key, reference) = raise(
        &api,
        confidential_concern("The pharmacy fridge log is filled in afterwards."),
    )
    .await;
    let case = app.case_id(&reference);
    let key = case_data_key(&app, &case, &case_key);
    // A handler's message as the previous release wrote it: associated data of case, kind and
    // id only; the migration marks every such row as format 1.
    let old = RecordId::generate();
    let plaintext = serde_json::to_vec(&json!({"body": HANDLER_TEXT})).unwrap();
    let sealed = crypto::seal(
        &key,
        &Aad::new(case.as_str(), RecordKind::Message, old.as_str()),
        &plaintext,
    )
    .unwrap();
    let cora_id = UserId::from_stored(cora.id.clone());
    app.portal()
        .store
        .write(|tx| {
            let seq = cases::take_record_seq(tx, &case)?;
            cases::insert_record(
                tx,
                &NewRecord {
                    id: &old,
                    case_id: &case,
                    seq,
                    kind: RecordKind::Message.as_str(),
                    author: Author::Handler,
                    author_user_id: Some(&cora_id),
                    event_id: None,
                    sealed: &sealed,
                    created_on: app.clock.today(),
                    aad_version: 1,
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let token = sign_in(&app, &api, cora).await;
    let mailbox = open_mailbox(&api, &case_key).await;
    let mailbox_token = mailbox.clone();
    let (status, answer) = call(
        &api,
        with_token(
            post_json("/api/v1/mailbox/messages", json!({"body": REPORTER_TEXT})),
            &mailbox_token,
        ),
    )
    .await;
    assert!(status.is_success(), "{answer}");
    // The old record and a new one side by side, each under its own format.
    assert_genuine(&api, &token, &reference, &mailbox, "nothing").await;
    let versions: Vec<(String, i32)> = records(&app, &case)
        .into_iter()
        .map(|record| (record.kind, record.aad_version))
        .collect();
    assert!(
        versions.contains(&("message".to_owned(), 1))
            && versions.contains(&("message".to_owned(), 2))
            && versions.contains(&("concern".to_owned(), 2)),
        "{versions:?}"
    );
    // The old format still binds case, kind and id: made a note, it no longer opens.
    sql(
        &app,
        &format!(
            "UPDATE sealed_records SET kind = 'note' WHERE id = '{}'",
            old.as_str()
        ),
    );
    let (status, answer) = call(
        &api,
        with_token(get(&format!("/api/v1/cases/{reference}")), &token),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    assert_eq!(answer["error"]["code"], "record_altered");
}
