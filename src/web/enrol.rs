//! `/enrol/{token}`: the person an account belongs to chooses their password and sets up their
//! authenticator app, from the one-time link e-mailed to them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::{blocking, qr, views};
use crate::crypto::Secret;
use crate::service::{Portal, ServiceError};

#[derive(Serialize)]
struct EnrolView<'a> {
    title: &'static str,
    csrf: &'a str,
    name: String,
    email: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct EnrolledView<'a> {
    title: &'static str,
    email: &'a str,
    totp_uri: &'a str,
    totp_secret: String,
    qr_svg: Option<String>,
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

fn form_page(
    csrf: &CsrfToken,
    name: String,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    super::reporter::page_with_status(
        "enrol.html",
        &EnrolView {
            title: "Set up your account",
            csrf: csrf.value(),
            name,
            email,
            error,
        },
        status,
    )
}

pub async fn show(
    portal: web::Data<Portal>,
    token: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    let portal = portal.get_ref().clone();
    let user = blocking(move || portal.enrolment_holder(&token)).await?;
    form_page(&csrf, user.display_name, user.email, None, StatusCode::OK)
}

pub async fn submit(
    portal: web::Data<Portal>,
    token: web::Path<String>,
    csrf: CsrfToken,
    form: web::Form<EnrolForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let token = token.into_inner();
    let holder = {
        let (portal, token) = (portal.get_ref().clone(), token.clone());
        blocking(move || portal.enrolment_holder(&token)).await?
    };
    if form.password != form.password_again {
        return form_page(
            &csrf,
            holder.display_name,
            holder.email,
            Some("The two passwords are not the same.".to_owned()),
            StatusCode::BAD_REQUEST,
        );
    }
    let enrolling = portal.get_ref().clone();
    let password = Secret::new(form.password);
    match blocking(move || enrolling.enrol(&token, &password)).await {
        Ok(created) => {
            let uri = created.totp_uri.expose_secret();
            views::page(
                "enrol_done.html",
                &EnrolledView {
                    title: "Your account is ready",
                    email: &created.user.email,
                    totp_uri: uri,
                    totp_secret: uri
                        .split(['?', '&'])
                        .find_map(|part| part.strip_prefix("secret="))
                        .unwrap_or("")
                        .to_owned(),
                    qr_svg: qr::svg_for(uri, "QR code to add Speak Up to your authenticator app"),
                },
            )
        }
        Err(ServiceError::Invalid { message, .. }) => form_page(
            &csrf,
            holder.display_name,
            holder.email,
            Some(super::reporter::sentence(&message)),
            StatusCode::BAD_REQUEST,
        ),
        Err(other) => Err(other.into()),
    }
}
