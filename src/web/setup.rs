//! The one-time first-admin setup link printed by `speakup serve`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::{blocking, qr, views};
use crate::crypto::Secret;
use crate::model::Role;
use crate::service::accounts::{NewAccount, SetupOrganisation};
use crate::service::organisations::ServiceSet;
use crate::service::{Portal, ServiceError};

#[derive(Serialize)]
struct OrganisationChoice {
    slug: String,
    name: String,
}

#[derive(Serialize, Default)]
struct SetupValues {
    organisation: String,
    new_slug: String,
    new_name: String,
    nhs: bool,
    local_authority: bool,
    name: String,
    email: String,
    job_title: String,
}

#[derive(Serialize)]
struct SetupView<'a> {
    title: &'static str,
    csrf: &'a str,
    organisations: Vec<OrganisationChoice>,
    values: SetupValues,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    new_slug: String,
    #[serde(default)]
    new_name: String,
    #[serde(default)]
    nhs: Option<String>,
    #[serde(default)]
    local_authority: Option<String>,
    name: String,
    email: String,
    #[serde(default)]
    job_title: String,
    password: String,
    password_again: String,
}

#[derive(Serialize)]
struct SetupDoneView<'a> {
    title: &'static str,
    email: &'a str,
    totp_uri: &'a str,
    totp_secret: String,
    qr_svg: Option<String>,
}

async fn organisation_choices(portal: &Portal) -> Result<Vec<OrganisationChoice>, ServiceError> {
    let portal = portal.clone();
    let organisations = blocking(move || portal.organisations()).await?;
    Ok(organisations
        .into_iter()
        .map(|o| OrganisationChoice {
            slug: o.slug,
            name: o.name,
        })
        .collect())
}

async fn require_valid_token(portal: &Portal, token: &str) -> Result<(), PageError> {
    let portal = portal.clone();
    let token = token.to_owned();
    if blocking(move || portal.setup_token_is_valid(&token)).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound.into())
    }
}

pub async fn show(
    portal: web::Data<Portal>,
    token: web::Path<String>,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    require_valid_token(&portal, &token).await?;
    let organisations = organisation_choices(&portal).await?;
    views::page(
        "setup.html",
        &SetupView {
            title: "Set up Speak Up",
            csrf: csrf.value(),
            organisations,
            values: SetupValues {
                nhs: true,
                ..SetupValues::default()
            },
            error: None,
        },
    )
}

pub async fn submit(
    portal: web::Data<Portal>,
    token: web::Path<String>,
    csrf: CsrfToken,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    require_valid_token(&portal, &token).await?;
    let form = form.into_inner();
    let values = SetupValues {
        organisation: form.organisation.clone(),
        new_slug: form.new_slug.clone(),
        new_name: form.new_name.clone(),
        nhs: form.nhs.is_some(),
        local_authority: form.local_authority.is_some(),
        name: form.name.clone(),
        email: form.email.clone(),
        job_title: form.job_title.clone(),
    };
    let outcome = create_admin(&portal, token.into_inner(), form).await;
    match outcome {
        Ok((email, totp_uri)) => {
            let uri = totp_uri.expose_secret();
            views::page(
                "setup_done.html",
                &SetupDoneView {
                    title: "Your admin account is ready",
                    email: &email,
                    totp_uri: uri,
                    totp_secret: secret_from_uri(uri),
                    qr_svg: qr::svg_for(uri, "QR code to add Speak Up to your authenticator app"),
                },
            )
        }
        Err(ServiceError::Invalid { message, .. }) => {
            let organisations = organisation_choices(&portal).await?;
            let mut response = views::page(
                "setup.html",
                &SetupView {
                    title: "Set up Speak Up",
                    csrf: csrf.value(),
                    organisations,
                    values,
                    error: Some(message),
                },
            )?;
            *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn create_admin(
    portal: &Portal,
    token: String,
    form: SetupForm,
) -> Result<(String, Secret<String>), ServiceError> {
    if form.password != form.password_again {
        return Err(ServiceError::invalid(
            "password_mismatch",
            "the two passwords are not the same",
        ));
    }
    let organisation = if form.organisation.is_empty() || form.organisation == "new" {
        SetupOrganisation::New {
            slug: form.new_slug.trim().to_owned(),
            name: form.new_name,
            services: ServiceSet::parse(
                &[
                    form.nhs.as_ref().map(|_| "nhs"),
                    form.local_authority.as_ref().map(|_| "local_authority"),
                ]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(","),
            )?,
        }
    } else {
        SetupOrganisation::Existing {
            slug: form.organisation,
        }
    };
    let account = NewAccount {
        organisation: String::new(),
        email: form.email,
        name: form.name,
        job_title: form.job_title,
        role: Role::Admin,
        intake: false,
        password: Secret::new(form.password),
    };
    let portal = portal.clone();
    blocking(move || {
        let created = portal.complete_setup(&token, organisation, account)?;
        Ok((created.user.email, created.totp_uri))
    })
    .await
}

/// The base32 secret, for people who type it into their app instead of scanning.
fn secret_from_uri(uri: &str) -> String {
    uri.split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap_or("")
        .to_owned()
}
