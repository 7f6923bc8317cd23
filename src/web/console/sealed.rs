//! The console's JSON for sessions whose key is in the browser (issue 14): the sealed case for
//! `static/console.js` to open, and replies and notes it sealed. Same cookie and CSRF token as
//! the pages; errors are problem JSON.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::day;
use crate::model::Author;
use crate::service::browser_cases::BrowserSealed;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::ApiError;

#[derive(Serialize)]
struct RecordJson {
    id: String,
    kind: String,
    /// The associated data's labels, exactly as sealed.
    author: &'static str,
    author_user_id: Option<String>,
    event_id: Option<String>,
    position: i32,
    written_on: String,
    aad_version: i32,
    /// base64
    sealed: String,
    /// For the page: who wrote it and when, as the server-rendered page says it.
    who: String,
    class: &'static str,
    day: String,
}

#[derive(Serialize)]
struct CaseJson {
    case_id: String,
    reference: String,
    case_key_wrap: String,
    identity_key_wrap: Option<String>,
    next_position: i32,
    today: String,
    records: Vec<RecordJson>,
}

fn who(author: Author, name: Option<&str>) -> (&'static str, String) {
    match author {
        Author::Reporter => ("from-reporter", "The reporter".to_owned()),
        Author::Handler => ("from-handler", name.unwrap_or("A handler").to_owned()),
        Author::System => (
            "from-handler letter",
            match name {
                Some(name) => format!("Procedure letter, sent by {name}"),
                None => "Procedure letter".to_owned(),
            },
        ),
    }
}

/// `GET /console/cases/{reference}/sealed`: the case's sealed records and this handler's
/// wraps of its keys. Only for sessions whose key is in the browser (others read the page).
pub async fn case(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    reference: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let handler = handler.0;
    if !handler.key_in_browser() {
        return Err(ServiceError::Conflict {
            code: "key_on_server",
            message: "this session reads cases on the server; the page shows them".to_owned(),
        }
        .into());
    }
    let portal = portal.into_inner();
    let reference = reference.into_inner();
    let sealed = blocking(move || portal.sealed_case(&handler, &reference)).await?;
    let b64 = |bytes: &[u8]| data_encoding::BASE64.encode(bytes);
    let answer = CaseJson {
        case_id: sealed.case_id,
        reference: sealed.reference,
        case_key_wrap: b64(&sealed.case_key_wrap),
        identity_key_wrap: sealed.identity_key_wrap.as_deref().map(b64),
        next_position: sealed.next_position,
        today: sealed.today.to_string(),
        records: sealed
            .records
            .into_iter()
            .map(|record| {
                let (class, who) = who(record.author, record.author_name.as_deref());
                RecordJson {
                    id: record.id,
                    kind: record.kind,
                    author: record.author.as_str(),
                    author_user_id: record.author_user_id,
                    event_id: record.event_id,
                    position: record.position,
                    written_on: record.written_on.to_string(),
                    aad_version: record.aad_version,
                    sealed: b64(&record.sealed),
                    who,
                    class,
                    day: day(record.written_on).long,
                }
            })
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

#[derive(Deserialize)]
pub struct SealedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    position: i32,
    #[serde(default)]
    written_on: String,
    /// base64
    #[serde(default)]
    sealed: String,
}

#[derive(Serialize)]
struct Stored {
    position: i32,
}

/// `POST /console/cases/{reference}/sealed`: a reply or note sealed in the browser. 201 with
/// its position; 409 `position_taken` or `day_changed` when the browser must seal it again.
pub async fn append(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<SealedForm>,
) -> Result<HttpResponse, ApiError> {
    csrf.verify(&form.csrf).map_err(|error| ApiError(error.0))?;
    let form = form.into_inner();
    let sealed = data_encoding::BASE64
        .decode(form.sealed.as_bytes())
        .map_err(|_| ServiceError::invalid("invalid_sealed", "the sealed record is not base64"))?;
    let portal = portal.into_inner();
    let reference = reference.into_inner();
    let handler = handler.0;
    let position = blocking(move || {
        portal.append_browser_record(
            &handler,
            &reference,
            &BrowserSealed {
                kind: &form.kind,
                record_id: &form.id,
                position: form.position,
                written_on: &form.written_on,
                sealed: &sealed,
            },
        )
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(Stored { position }))
}
