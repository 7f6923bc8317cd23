//! Prometheus counters: counts only, labelled by route pattern and status class, never by
//! anything that identifies a case or a person. Nothing a reporter does moves a series: a
//! counter that ticks when a concern arrives or a mailbox opens would tell anyone polling it the
//! exact time, which the portal otherwise never records. `/metrics` answers only to
//! `Authorization: Bearer <metrics_token>`, and is not there at all without that setting.

use std::sync::Mutex;

use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::bearer::bearer_token;
use crate::crypto::token_digest;
use crate::service::Portal;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub handler_sign_ins: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("speakup");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            request_seconds.clone(),
        );
        let handler_sign_ins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "handler_sign_ins",
            "Handler sign-in attempts by outcome",
            handler_sign_ins.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            request_seconds,
            handler_sign_ins,
        }
    }

    /// Counts a staff or operations request; reporter-side routes are not counted at all.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if is_reporter_side(route) {
            return;
        }
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: format!("{}xx", status / 100),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub fn count_outcome(family: &Family<OutcomeLabels, Counter>, outcome: &str) {
        family
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Route patterns used by staff and operators; every other route is one a reporter (or anyone
/// thinking of becoming one) may use, and is neither counted nor timed.
const STAFF_AND_OPERATIONS: &[&str] = &[
    "/console",
    "/api/v1/session",
    "/api/v1/cases",
    "/api/v1/reports",
    "/api/v1/admin",
    "/api/v1/openapi.json",
    "/healthz",
    "/metrics",
    "/setup",
    "/static",
];

pub fn is_reporter_side(route: &str) -> bool {
    !STAFF_AND_OPERATIONS
        .iter()
        .any(|prefix| route == *prefix || route.starts_with(&format!("{prefix}/")))
}

pub async fn metrics(
    request: HttpRequest,
    metrics: web::Data<Metrics>,
    portal: web::Data<Portal>,
) -> HttpResponse {
    let Some(expected) = &portal.settings.metrics_token else {
        return HttpResponse::NotFound().finish();
    };
    // Compared as digests, so the comparison's timing says nothing about the token.
    let presented = bearer_token(&request).map(|token| token_digest(&token));
    if presented.as_ref() != Some(&token_digest(expected.expose_secret())) {
        return HttpResponse::Unauthorized()
            .insert_header(("www-authenticate", "Bearer"))
            .finish();
    }
    match metrics.encode() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
