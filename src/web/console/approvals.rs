//! `/console/admin/approvals`: changes to who receives new concerns, waiting for a second
//! admin or the whistleblowing champion. The requester can see but not approve their own.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Day, Done, Shell, day, refusal, render, see_other, segment};
use crate::service::Portal;
use crate::service::ServiceError;
use crate::service::approvals::{ApprovalDecision, ApprovalView};
use crate::service::sessions::Handler;
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Serialize)]
struct Row {
    href: String,
    what: &'static str,
    subject: String,
    requested_by: String,
    requested_on: Day,
}

#[derive(Serialize)]
struct ApprovalsPage {
    pending: Vec<Row>,
}

fn what(kind: &str) -> &'static str {
    match kind {
        "intake_join" => "Joins the intake list",
        "intake_key_reset" => "Keys reset while on the intake list",
        _ => "New e-mail address while on the intake list",
    }
}

fn row(view: ApprovalView) -> Row {
    Row {
        href: format!("/console/admin/approvals/{}", segment(&view.id)),
        what: what(&view.kind),
        subject: view.subject,
        requested_by: view.requested_by,
        requested_on: day(view.requested_on),
    }
}

async fn page(
    portal: &Portal,
    approver: Arc<Handler>,
    csrf: &CsrfToken,
    done: &Done,
    failure: Option<(StatusCode, String)>,
) -> Result<HttpResponse, PageError> {
    let user = approver.user.clone();
    let reading = portal.clone();
    let pending = blocking(move || reading.pending_approvals(&approver)).await?;
    let (status, error) = match failure {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    render(
        "console/admin_approvals.html",
        Shell::new("Approvals", csrf, Some(&user))
            .notice(done)
            .error(error),
        &ApprovalsPage {
            pending: pending.into_iter().map(row).collect(),
        },
        status,
    )
}

pub async fn show(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    page(&portal, Arc::new(handler.0), &csrf, &done, None).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    decision: ApprovalDecision,
}

pub async fn decide(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let decision = form.decision;
    let approver = Arc::new(handler.0);
    let (deciding, deciding_as) = (portal.get_ref().clone(), Arc::clone(&approver));
    let outcome = blocking(move || deciding.decide_approval(&deciding_as, &id, decision)).await;
    match outcome {
        Ok(()) => Ok(see_other("/console/admin/approvals")),
        Err(ServiceError::NotFound) => Err(ServiceError::NotFound.into()),
        Err(error) => {
            let failure = refusal(error)?;
            page(&portal, approver, &csrf, &Done::default(), Some(failure)).await
        }
    }
}
