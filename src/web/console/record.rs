//! Recording a concern raised outside the portal (in person, by phone, e-mail, letter, to a
//! line manager): the contact types it in, and gets a printable letter with the case key for
//! the reporter, shown once, so they can follow it in the mailbox like anyone else.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Choice, Shell, refusal, render};
use crate::crypto::Secret;
use crate::model::Channel;
use crate::procedure::letters::long_date;
use crate::procedure::{Anonymity, Service, Topic, parse_typed_date};
use crate::service::intake::{NewConcern, Recording, ReporterIdentity};
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct RecordForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    anonymity: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    concern: String,
}

#[derive(Serialize)]
struct RecordPage {
    organisation: String,
    channels: Vec<Choice>,
    services: Vec<Choice>,
    values: RecordForm,
}

#[derive(Serialize)]
struct RecordedPage {
    organisation: String,
    reference: String,
    case_key: String,
    received_on: String,
    mailbox_url: String,
}

const CHANNELS: [Channel; 6] = [
    Channel::InPerson,
    Channel::Phone,
    Channel::Email,
    Channel::Letter,
    Channel::LineManager,
    Channel::Other,
];

fn may_record(handler: &Handler) -> Result<(), PageError> {
    if handler.user.role.may_hold_cases() {
        Ok(())
    } else {
        Err(ServiceError::NotFound.into())
    }
}

async fn form_page(
    portal: &Portal,
    handler: Arc<Handler>,
    csrf: &CsrfToken,
    values: RecordForm,
    failure: Option<(StatusCode, String)>,
) -> Result<HttpResponse, PageError> {
    let reading = portal.clone();
    let who = handler.clone();
    let organisation = blocking(move || reading.handler_organisation(&who)).await?;
    let mut services = Vec::new();
    if organisation.serves_nhs {
        services.push(Choice {
            value: "nhs",
            label: "NHS services",
            selected: values.service == "nhs",
        });
    }
    if organisation.serves_local_authority {
        services.push(Choice {
            value: "local_authority",
            label: "Local-authority (council) services",
            selected: values.service == "local_authority",
        });
    }
    let channels = CHANNELS
        .iter()
        .map(|channel| Choice {
            value: channel.as_str(),
            label: channel.label(),
            selected: values.channel == channel.as_str(),
        })
        .collect();
    let (status, error) = match failure {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    render(
        "console/record.html",
        Shell::new(
            "Record a concern raised another way",
            csrf,
            Some(&handler.user),
        )
        .error(error),
        &RecordPage {
            organisation: organisation.name,
            channels,
            services,
            values,
        },
        status,
    )
}

pub async fn show(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    may_record(&handler.0)?;
    form_page(
        &portal,
        Arc::new(handler.0),
        &csrf,
        RecordForm::default(),
        None,
    )
    .await
}

fn concern_from(
    form: &RecordForm,
    organisation: String,
) -> Result<(NewConcern, Channel, time::Date), ServiceError> {
    let channel = Channel::parse(&form.channel)
        .filter(|channel| *channel != Channel::Portal)
        .ok_or_else(|| {
            ServiceError::invalid("invalid_channel", "choose how the concern was raised")
        })?;
    let received_on = parse_typed_date(form.received_on.trim()).map_err(|_| {
        ServiceError::invalid(
            "invalid_received_on",
            "enter the day it was raised like 3 December 2026 or 3/12/2026",
        )
    })?;
    let service = match form.service.as_str() {
        "nhs" => Service::Nhs,
        "local_authority" => Service::LocalAuthority,
        _ => {
            return Err(ServiceError::invalid(
                "invalid_service",
                "choose which service it is about",
            ));
        }
    };
    let anonymity = match form.anonymity.as_str() {
        "confidential" => Anonymity::Confidential,
        "anonymous" => Anonymity::Anonymous,
        _ => {
            return Err(ServiceError::invalid(
                "invalid_anonymity",
                "say whether the person gave their name (confidential) or not (anonymous)",
            ));
        }
    };
    let identity = (anonymity == Anonymity::Confidential).then(|| ReporterIdentity {
        name: Secret::new(form.name.clone()),
        contact: Secret::new(form.contact.clone()),
    });
    Ok((
        NewConcern {
            organisation,
            service,
            anonymity,
            topic: Topic::General,
            concern: Secret::new(form.concern.clone()),
            became_aware_on: None,
            exclude: Vec::new(),
            identity,
        },
        channel,
        received_on,
    ))
}

pub async fn submit(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<RecordForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    may_record(&handler.0)?;
    let handler = Arc::new(handler.0);
    let form = form.into_inner();
    let working = portal.get_ref().clone();
    let who = handler.clone();
    let typed = form.clone();
    let outcome = blocking(move || {
        let organisation = working.handler_organisation(&who)?;
        let (concern, channel, received_on) = concern_from(&typed, organisation.slug.clone())?;
        let receipt = working.record_concern(
            concern,
            &Recording {
                recorder: &who,
                received_on,
                channel,
            },
        )?;
        Ok((organisation.name, receipt, received_on))
    })
    .await;
    match outcome {
        Ok((organisation, receipt, received_on)) => render(
            "console/recorded.html",
            Shell::new(
                format!("Concern {} recorded", receipt.reference),
                &csrf,
                Some(&handler.user),
            ),
            &RecordedPage {
                organisation,
                reference: receipt.reference.clone(),
                case_key: receipt.case_key.expose_secret().clone(),
                received_on: long_date(received_on),
                mailbox_url: format!(
                    "{}/mailbox",
                    portal.settings.public_url.trim_end_matches('/')
                ),
            },
            StatusCode::CREATED,
        ),
        Err(error) => {
            let failure = refusal(error)?;
            form_page(&portal, handler, &csrf, form, Some(failure)).await
        }
    }
}
