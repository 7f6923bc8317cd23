//! Public pages that are not part of a journey.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::error::PageError;
use super::{blocking, views};
use crate::service::Portal;

const STYLESHEET: &str = include_str!("../../static/style.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

const FAVICON: &str = include_str!("../../static/favicon.svg");

pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(FAVICON)
}

#[derive(Serialize)]
struct StartView {
    title: &'static str,
    /// The organisations taking concerns here, so the reporter knows who receives one.
    organisations: Vec<String>,
}

pub async fn start(portal: web::Data<Portal>) -> Result<HttpResponse, PageError> {
    let portal = portal.into_inner();
    let organisations = blocking(move || portal.intake_organisations()).await?;
    views::page(
        "index.html",
        &StartView {
            title: "Raise a concern safely",
            organisations: organisations
                .into_iter()
                .filter(|organisation| !organisation.intake.is_empty())
                .map(|organisation| organisation.name)
                .collect(),
        },
    )
}

#[derive(Serialize)]
struct ProtectionView {
    title: &'static str,
}

/// `GET /protection`: protection from detriment and where to get support, in plain words.
pub async fn protection() -> Result<HttpResponse, PageError> {
    views::page(
        "protection.html",
        &ProtectionView {
            title: "Your protection and where to get support",
        },
    )
}
