//! Evidence files on the console case page: upload (a plain multipart form, no JavaScript) and
//! download. Both answer "not found" to anyone who does not hold the case.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::service::Portal;
use crate::web::attachments::{self, FormCheck};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;
use crate::web::rate_limit::{ClientKey, RateLimits};

/// `POST /console/cases/{reference}/attachments`
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    request: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    limits.attachment_uploads.check(client)?;
    attachments::check_declared_length(&request, portal.settings.max_attachment_bytes)?;
    let reference = reference.into_inner();
    let worker = portal.clone().into_inner();
    let case = reference.clone();
    let ticket = blocking(move || worker.handler_upload_ticket(&handler.0, &case)).await?;
    attachments::receive(&portal, ticket, form, FormCheck::Csrf(&csrf)).await?;
    Ok(super::cases::back_to_case(
        &reference, "attached", "evidence",
    ))
}

/// `GET /console/cases/{reference}/attachments/{id}` (audited).
pub async fn download(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (reference, id) = path.into_inner();
    let worker = portal.clone().into_inner();
    let ticket =
        blocking(move || worker.handler_download_ticket(&handler.0, &reference, &id)).await?;
    Ok(attachments::download(&portal, ticket).await?)
}
