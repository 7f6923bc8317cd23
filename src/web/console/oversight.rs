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
struct DetrimentRow {
    reference: String,
    reported: Day,
}

#[derive(Serialize)]
struct OversightPage {
    cases: Vec<OverdueRow>,
    detriment: Vec<DetrimentRow>,
}

pub async fn show(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    let champion = handler.0;
    let user = champion.user.clone();
    let portal = portal.get_ref().clone();
    let (overdue, reports) = blocking(move || {
        Ok((
            portal.overdue_cases(&champion)?,
            portal.detriment_reports(&champion)?,
        ))
    })
    .await?;
    let detriment = reports
        .into_iter()
        .map(|report| DetrimentRow {
            reference: report.reference,
            reported: day(report.reported_on),
        })
        .collect();
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
        &OversightPage { cases, detriment },
        StatusCode::OK,
    )
}
