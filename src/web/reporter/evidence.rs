//! Files in the reporter's mailbox: a plain multipart form (no JavaScript) and downloads. The
//! mailbox session cookie is the only way in; without it, nothing is found.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::mailbox::token_from;
use super::see_other;
use crate::service::{Portal, ServiceError};
use crate::web::attachments::{self, FormCheck};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::{PageError, Problem};
use crate::web::rate_limit::{ClientKey, RateLimits};

fn signed_out(what: &str) -> PageError {
    PageError(Problem::new(
        StatusCode::UNAUTHORIZED,
        "mailbox_session_expired",
        format!("Your mailbox session has ended{what}. Sign in again with your case key."),
    ))
}

/// `POST /mailbox/attachments`
pub async fn upload(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    csrf: CsrfToken,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    limits.attachment_uploads.check(client)?;
    attachments::check_declared_length(&request, portal.settings.max_attachment_bytes)?;
    let token = token_from(&request).ok_or_else(|| signed_out(", so the file was not added"))?;
    let worker = portal.clone().into_inner();
    let ticket = match blocking(move || worker.reporter_upload_ticket(token.expose_secret())).await
    {
        Err(ServiceError::Unauthorized { .. }) => {
            return Err(signed_out(", so the file was not added"));
        }
        other => other?,
    };
    attachments::receive(&portal, ticket, form, FormCheck::Csrf(&csrf)).await?;
    Ok(see_other("/mailbox?attached=1#files"))
}

/// `GET /mailbox/attachments/{id}`
pub async fn download(
    portal: web::Data<Portal>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token_from(&request).ok_or_else(|| PageError(Problem::not_found()))?;
    let worker = portal.clone().into_inner();
    let ticket =
        blocking(move || worker.reporter_download_ticket(token.expose_secret(), &id.into_inner()))
            .await
            .map_err(|error| match error {
                ServiceError::Unauthorized { .. } => signed_out(""),
                other => other.into(),
            })?;
    Ok(attachments::download(&portal, ticket).await?)
}
