//! `GET /api/v1/reports/kpi`: the KPI figures for leads and admins of the organisation.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::service::governance::{ReportVersion, parse_period};
use crate::service::{Portal, ServiceError};
use crate::web::auth::ApiHandler;
use crate::web::blocking;
use crate::web::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    organisation: String,
    #[serde(default)]
    quarter: Option<String>,
    /// A year (`2026`) or financial year (`2026/27`) instead of a quarter.
    #[serde(default)]
    period: Option<String>,
    /// `published` (default) or `board`.
    #[serde(default)]
    version: Option<String>,
}

pub async fn kpi(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    query: web::Query<KpiQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let period = match (&query.quarter, &query.period) {
        (Some(text), None) | (None, Some(text)) => parse_period(text)?,
        _ => {
            return Err(ServiceError::invalid(
                "invalid_period",
                "give quarter=YYYY-Qn, or period=YYYY or YYYY/YY",
            )
            .into());
        }
    };
    let version = match query.version.as_deref() {
        None | Some("published") => ReportVersion::Published,
        Some("board") => ReportVersion::Board,
        Some(_) => {
            return Err(
                ServiceError::invalid("invalid_version", "version is published or board").into(),
            );
        }
    };
    let portal = portal.into_inner();
    let report =
        blocking(move || portal.kpi_report_for(&handler.0, &query.organisation, period, version))
            .await?;
    Ok(HttpResponse::Ok().json(report))
}
