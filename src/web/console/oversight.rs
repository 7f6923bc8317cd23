//! The champion's oversight page: overdue concerns by reference and date, nothing else.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::cases::deadline_words;
use super::{Day, Shell, day, render};
use crate::service::Portal;
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Serialize)]
struct OverdueRow {
    reference: String,
    received: Day,
    what: &'static str,
    due: Day,
    days_over: u32,
}

#[derive(Serialize)]
struct OversightPage {
    cases: Vec<OverdueRow>,
}

pub async fn show(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    let champion = handler.0;
    let user = champion.user.clone();
    let portal = portal.get_ref().clone();
    let overdue = blocking(move || portal.overdue_cases(&champion)).await?;
    let cases = overdue
        .into_iter()
        .map(|case| OverdueRow {
            reference: case.reference,
            received: day(case.received_on),
            what: deadline_words(case.deadline),
            due: day(case.due_on),
            days_over: case.days_over,
        })
        .collect();
    render(
        "console/oversight.html",
        Shell::new("Oversight", &csrf, Some(&user)),
        &OversightPage { cases },
        StatusCode::OK,
    )
}
