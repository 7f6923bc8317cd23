//! The admin JSON API (bearer token of an admin; approvals also for the champion). The same
//! services as the console's admin pages: an admin never sets or sees another person's
//! password, TOTP secret or enrolment link, and intake changes wait for a second person.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::ids::UserId;
use crate::model::Role;
use crate::service::approvals::ApprovalDecision;
use crate::service::enrolment::Invitation;
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ApiHandler;
use crate::web::blocking;
use crate::web::error::ApiError;

/// The admin behind the token; every other role gets "not found".
fn admin(handler: ApiHandler) -> Result<Arc<Handler>, ApiError> {
    if handler.0.user.role == Role::Admin {
        Ok(Arc::new(handler.0))
    } else {
        Err(ServiceError::NotFound.into())
    }
}

async fn run<T, F>(portal: web::Data<Portal>, handler: Arc<Handler>, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&Portal, &Handler) -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let portal = portal.get_ref().clone();
    Ok(blocking(move || work(&portal, &handler)).await?)
}

pub async fn users(
    portal: web::Data<Portal>,
    handler: ApiHandler,
) -> Result<HttpResponse, ApiError> {
    let admin = admin(handler)?;
    let accounts = run(portal, admin, |portal, admin| portal.accounts(admin)).await?;
    Ok(HttpResponse::Ok().json(accounts))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    email: String,
    name: String,
    role: Role,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    intake: bool,
}

pub async fn add_user(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    request: web::Json<NewUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let admin = admin(handler)?;
    let request = request.into_inner();
    let user = run(portal, admin, move |portal, admin| {
        portal.invite_account(
            admin,
            Invitation {
                email: request.email,
                name: request.name,
                job_title: request.job_title,
                role: request.role,
                intake: request.intake,
            },
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"id": user.id})))
}

pub async fn reset_user(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = admin(handler)?;
    let user = UserId::from_stored(id.into_inner());
    let reset = run(portal, admin, move |portal, admin| {
        portal.reset_account(admin, &user)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "enrolment": "emailed",
        "grants_lost": reset.grants_lost,
        "cases_lost": reset.cases_lost,
    })))
}

pub async fn disable_user(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = admin(handler)?;
    let user = UserId::from_stored(id.into_inner());
    run(portal, admin, move |portal, admin| {
        portal.set_account_active(admin, &user, false)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"active": false})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    user: String,
    on: bool,
}

pub async fn intake(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    request: web::Json<IntakeRequest>,
) -> Result<HttpResponse, ApiError> {
    let admin = admin(handler)?;
    let IntakeRequest { user, on } = request.into_inner();
    let user = UserId::from_stored(user);
    run(portal, admin, move |portal, admin| {
        portal.set_intake(admin, &user, on)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({"pending": on})))
}

pub async fn approvals(
    portal: web::Data<Portal>,
    handler: ApiHandler,
) -> Result<HttpResponse, ApiError> {
    let approver = Arc::new(handler.0);
    let pending = run(portal, approver, |portal, approver| {
        portal.pending_approvals(approver)
    })
    .await?;
    Ok(HttpResponse::Ok().json(pending))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    decision: ApprovalDecision,
}

pub async fn decide(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    id: web::Path<String>,
    request: web::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let approver = Arc::new(handler.0);
    let decision = request.into_inner().decision;
    run(portal, approver, move |portal, approver| {
        portal.decide_approval(approver, &id, decision)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"decided": true})))
}
