//! Governance pages: the lead's reports in the console (figures, board paper downloads, the
//! narrative sections) and the public "what changed" page of published learning.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::ConsoleHandler;
use super::console::Nav;
use super::csrf::CsrfToken;
use super::error::PageError;
use super::reports::table::{Row, columns, rows};
use super::reports::{board_paper, csv_file};
use super::{blocking, views};
use crate::model::Role;
use crate::procedure::Period;
use crate::service::governance::{BoardReport, QuarterLearning, ReportVersion, parse_period};
use crate::service::{Portal, ServiceError};

/// The quarter before the one `today` is in: what a board usually receives next.
fn current_quarter(today: time::Date) -> String {
    let quarter = (u8::from(today.month()) - 1) / 3 + 1;
    format!("{}-Q{quarter}", today.year())
}

#[derive(Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

fn version_of(text: Option<&str>) -> ReportVersion {
    if text == Some("board") {
        ReportVersion::Board
    } else {
        ReportVersion::Published
    }
}

#[derive(Serialize)]
struct NarrativeView {
    section: &'static str,
    title: &'static str,
    body: String,
}

#[derive(Serialize)]
struct ReportsView<'a> {
    title: &'static str,
    csrf: &'a str,
    organisation: String,
    period: String,
    period_query: String,
    period_name: String,
    version: &'static str,
    exact_figures_withheld: bool,
    columns: Vec<&'static str>,
    rows: Vec<Row>,
    narratives: Vec<NarrativeView>,
    can_write: bool,
    saved: bool,
    nav: Nav,
    error: Option<String>,
}

async fn load_report(
    portal: &Portal,
    handler: ConsoleHandler,
    period: Period,
    version: ReportVersion,
) -> Result<(BoardReport, ConsoleHandler), ServiceError> {
    let portal = portal.clone();
    blocking(move || {
        let slug = portal.organisation_slug_of(&handler.0)?;
        let report = portal.kpi_report_for(&handler.0, &slug, period, version)?;
        Ok((report, handler))
    })
    .await
}

pub async fn reports(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    // The current quarter first: it is the one with this quarter's concerns in it, where the
    // previous one is often empty in a new organisation.
    let period_text = query
        .period
        .unwrap_or_else(|| current_quarter(portal.clock.today()));
    let period = match parse_period(&period_text) {
        Ok(period) => period,
        Err(ServiceError::Invalid { message, .. }) => {
            return super::console::console_error(
                super::console::Shell::new(
                    "Error: Whistleblowing reports",
                    &csrf,
                    Some(&handler.0.user),
                ),
                "That period could not be read",
                &super::console::sentence(&message),
                ("/console/reports", "Show this quarter's report"),
                actix_web::http::StatusCode::BAD_REQUEST,
            );
        }
        Err(other) => return Err(other.into()),
    };
    let version = version_of(query.version.as_deref());
    let (report, handler) = load_report(&portal, handler, period, version).await?;
    views::page(
        "console_reports.html",
        &ReportsView {
            title: "Whistleblowing reports",
            csrf: csrf.value(),
            organisation: report.organisation.clone(),
            period: period.label(),
            period_query: period.label().replace('/', "%2F"),
            period_name: board_paper::period_name(&period.label()),
            version: if version == ReportVersion::Board {
                "board"
            } else {
                "published"
            },
            exact_figures_withheld: report.exact_figures_withheld,
            columns: columns(&report),
            rows: rows(&report),
            narratives: report
                .narratives
                .iter()
                .map(|n| NarrativeView {
                    section: n.section,
                    title: n.title,
                    body: n.body.clone(),
                })
                .collect(),
            can_write: handler.0.user.role == Role::Lead,
            saved: query.saved.is_some(),
            nav: Nav::for_user(&handler.0.user),
            error: None,
        },
    )
}

/// The board paper as a standalone HTML document, or the figures as CSV or JSON.
pub async fn download(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let period = parse_period(query.period.as_deref().unwrap_or(""))?;
    let version = version_of(query.version.as_deref());
    let (report, _) = load_report(&portal, handler, period, version).await?;
    let stem = format!(
        "whistleblowing-{}-{}{}",
        report.organisation_slug,
        period.label().replace('/', "-"),
        if version == ReportVersion::Board {
            "-board"
        } else {
            ""
        }
    );
    let failed = |error: String| {
        tracing::error!(error = %error, "report rendering failed");
        PageError::from(ServiceError::Internal("report rendering failed".into()))
    };
    let attachment = |name: String| ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(name)],
    };
    match query.format.as_deref().unwrap_or("html") {
        "csv" => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment(format!("{stem}.csv")))
            .body(csv_file::render(&report).map_err(failed)?)),
        "json" => Ok(HttpResponse::Ok()
            .insert_header(attachment(format!("{stem}.json")))
            .json(&report)),
        _ => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                board_paper::content_security_policy(),
            ))
            .body(board_paper::render(&report).map_err(failed)?)),
    }
}

#[derive(Deserialize)]
pub struct NarrativeForm {
    #[serde(default)]
    csrf: String,
    period: String,
    section: String,
    #[serde(default)]
    body: String,
}

pub async fn save_narrative(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<NarrativeForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let period = parse_period(&form.period)?;
    let portal = portal.into_inner();
    blocking(move || portal.set_narrative(&handler.0, period, &form.section, &form.body)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!(
                "/console/reports?period={}&saved=1",
                period.label().replace('/', "%2F")
            ),
        ))
        .finish())
}

#[derive(Serialize)]
struct OrganisationLink {
    slug: String,
    name: String,
}

#[derive(Serialize)]
struct WhatChangedView {
    title: &'static str,
    organisation: Option<String>,
    organisations: Vec<OrganisationLink>,
    quarters: Vec<QuarterView>,
}

#[derive(Serialize)]
struct QuarterView {
    name: String,
    items: Vec<String>,
}

/// Public: the organisations, each linking to what changed because people spoke up.
pub async fn what_changed_index(portal: web::Data<Portal>) -> Result<HttpResponse, PageError> {
    let portal = portal.into_inner();
    let organisations = blocking(move || portal.organisations()).await?;
    views::page(
        "what_changed.html",
        &WhatChangedView {
            title: "What changed because people spoke up",
            organisation: None,
            organisations: organisations
                .into_iter()
                .map(|o| OrganisationLink {
                    slug: o.slug,
                    name: o.name,
                })
                .collect(),
            quarters: Vec::new(),
        },
    )
}

pub async fn what_changed(
    portal: web::Data<Portal>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let portal = portal.into_inner();
    let (organisation, learning) = blocking(move || portal.published_learning(&slug)).await?;
    views::page(
        "what_changed.html",
        &WhatChangedView {
            title: "What changed because people spoke up",
            organisation: Some(organisation.name),
            organisations: Vec::new(),
            quarters: learning
                .into_iter()
                .map(|QuarterLearning { quarter, items }| QuarterView {
                    name: board_paper::period_name(&quarter),
                    items,
                })
                .collect(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_default_period_is_the_last_complete_quarter() {
        assert_eq!(current_quarter(date!(2026 - 11 - 22)), "2026-Q4");
        assert_eq!(current_quarter(date!(2027 - 02 - 01)), "2027-Q1");
    }
}
