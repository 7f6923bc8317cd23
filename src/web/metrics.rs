//! Prometheus counters: counts only, labelled by route pattern and status class, never by
//! anything that identifies a case or a person.

use std::sync::Mutex;

use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    pub concerns_received: Counter,
    pub mailbox_sign_ins: Family<OutcomeLabels, Counter>,
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
        let concerns_received = Counter::default();
        registry.register(
            "concerns_received",
            "Concerns submitted",
            concerns_received.clone(),
        );
        let mailbox_sign_ins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "mailbox_sign_ins",
            "Reporter mailbox sign-in attempts by outcome",
            mailbox_sign_ins.clone(),
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
            concerns_received,
            mailbox_sign_ins,
            handler_sign_ins,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
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

pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.encode() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
