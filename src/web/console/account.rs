//! One's own account: changing the password. The key pair stays the same (it is re-sealed
//! under the new password), so every case stays readable.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Done, Shell, refusal, render, see_other};
use crate::crypto::Secret;
use crate::service::{Portal, ServiceError};
use crate::store::users::User;
use crate::web::auth::{ConsoleHandler, KdfPermits};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Serialize)]
struct AccountPage {
    email: String,
    job_title: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    new_again: String,
}

fn page(
    user: &User,
    csrf: &CsrfToken,
    shell: impl FnOnce(Shell) -> Shell,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    render(
        "console/account.html",
        shell(Shell::new("Your account", csrf, Some(user))),
        &AccountPage {
            email: user.email.clone(),
            job_title: user.job_title.clone(),
        },
        status,
    )
}

pub async fn show(
    handler: ConsoleHandler,
    csrf: CsrfToken,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    page(&handler.0.user, &csrf, |s| s.notice(&done), StatusCode::OK)
}

pub async fn change_password(
    portal: web::Data<Portal>,
    permits: web::Data<KdfPermits>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let form = form.into_inner();
    let outcome = if form.new != form.new_again {
        Err(ServiceError::invalid(
            "password_mismatch",
            "the two new passwords are not the same",
        ))
    } else {
        let _turn = permits.acquire().await?;
        let portal = portal.get_ref().clone();
        let (current, new) = (Secret::new(form.current), Secret::new(form.new));
        let handler = Arc::clone(&handler);
        blocking(move || portal.change_password(&handler, &current, &new)).await
    };
    match outcome {
        Ok(()) => Ok(see_other("/console/account?done=password_changed")),
        Err(error) => {
            let (status, message) = refusal(error)?;
            page(&handler.user, &csrf, |s| s.error(Some(message)), status)
        }
    }
}
