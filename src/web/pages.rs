//! Public pages that are not part of a journey.

use actix_web::HttpResponse;
use serde::Serialize;

use super::error::PageError;
use super::views;

const STYLESHEET: &str = include_str!("../../static/style.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

#[derive(Serialize)]
struct StartView {
    title: &'static str,
}

pub async fn start() -> Result<HttpResponse, PageError> {
    views::page(
        "index.html",
        &StartView {
            title: "Raise a concern safely",
        },
    )
}
