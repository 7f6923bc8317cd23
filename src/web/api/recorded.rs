//! `POST /cases`: a contact records a concern raised outside the portal (in person, by phone,
//! e-mail, letter, to a line manager) and gets its case key once, to hand to the reporter.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::Date;

use super::reporter::{ConcernRequest, IdentityRequest};
use crate::model::Channel;
use crate::procedure::dates::iso_date;
use crate::procedure::{Anonymity, Service, Topic};
use crate::service::Portal;
use crate::service::intake::{NewConcern, Recording};
use crate::web::auth::ApiHandler;
use crate::web::blocking;
use crate::web::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    organisation: String,
    service: Service,
    anonymity: Anonymity,
    concern: String,
    #[serde(with = "iso_date")]
    received_on: Date,
    channel: Channel,
    #[serde(default, with = "iso_date::option")]
    became_aware_on: Option<Date>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    identity: Option<IdentityRequest>,
    #[serde(default)]
    topic: Option<Topic>,
}

#[derive(Serialize)]
struct Recorded<'a> {
    reference: &'a str,
    case_key: &'a str,
}

pub async fn record_case(
    portal: web::Data<Portal>,
    handler: ApiHandler,
    request: web::Json<RecordRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let (received_on, channel) = (request.received_on, request.channel);
    // The same concern as a reporter would send, so both are read the same way.
    let concern = NewConcern::from(ConcernRequest {
        organisation: request.organisation,
        service: request.service,
        anonymity: request.anonymity,
        concern: request.concern,
        became_aware_on: request.became_aware_on,
        exclude: request.exclude,
        identity: request.identity,
        topic: request.topic,
        submission_token: None,
    });
    let portal = portal.into_inner();
    let receipt = blocking(move || {
        portal.record_concern(
            concern,
            &Recording {
                recorder: &handler.0,
                received_on,
                channel,
            },
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(Recorded {
        reference: &receipt.reference,
        case_key: receipt.case_key.expose_secret(),
    }))
}
