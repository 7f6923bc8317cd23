//! One's own account: changing the password (the key pair stays the same, re-sealed under the
//! new password, so every case stays readable) and how notices arrive.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Done, Shell, refusal, render, see_other};
use crate::crypto::{PublicKey, Secret};
use crate::service::{Portal, ServiceError};
use crate::store::outbox::DeliveryPreference;
use crate::store::users::User;
use crate::web::auth::{ConsoleHandler, KdfPermits};
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Serialize)]
struct AccountPage {
    email: String,
    job_title: String,
    /// Non-urgent notices come in one e-mail a day.
    daily_digest: bool,
    /// What a reporter's browser shows next to this person when it seals a concern to them.
    key_fingerprint: Option<String>,
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

async fn page(
    portal: &Portal,
    user: &User,
    csrf: &CsrfToken,
    shell: impl FnOnce(Shell) -> Shell,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let preference = {
        let (portal, id) = (portal.clone(), user.id.clone());
        blocking(move || portal.notice_preference(&id)).await?
    };
    render(
        "console/account.html",
        shell(Shell::new("Your account", csrf, Some(user))),
        &AccountPage {
            email: user.email.clone(),
            job_title: user.job_title.clone(),
            daily_digest: preference == DeliveryPreference::DailyDigest,
            key_fingerprint: <[u8; 32]>::try_from(user.public_key.as_slice())
                .ok()
                .map(|bytes| PublicKey::from_bytes(bytes).fingerprint()),
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
    page(
        &portal,
        &handler.0.user,
        &csrf,
        |s| s.notice(&done),
        StatusCode::OK,
    )
    .await
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
            page(
                &portal,
                &handler.user,
                &csrf,
                |s| s.error(Some(message)),
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct NoticesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    delivery: String,
}

/// The person's own choice: every notice at once, or the non-urgent ones in a daily digest.
pub async fn set_notices(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<NoticesForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let outcome = match DeliveryPreference::parse(&form.delivery) {
        None => Err(ServiceError::invalid(
            "invalid_delivery",
            "choose how you would like to receive notices",
        )),
        Some(preference) => {
            let (portal, handler) = (portal.get_ref().clone(), Arc::clone(&handler));
            blocking(move || {
                portal
                    .set_notice_preference(&handler, preference)
                    .map(|()| preference)
            })
            .await
        }
    };
    match outcome {
        Ok(preference) => Ok(see_other(&format!(
            "/console/account?done=notices_{}",
            preference.as_str()
        ))),
        Err(error) => {
            let (status, message) = refusal(error)?;
            page(
                &portal,
                &handler.user,
                &csrf,
                |s| s.error(Some(message)),
                status,
            )
            .await
        }
    }
}
