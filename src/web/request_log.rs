//! Our own request log instead of actix's access log: method, route pattern, status and time.
//! Never the client address, the user agent, the query string or the concrete path (which can
//! carry a case reference or a setup token).

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::metrics::{Metrics, is_reporter_side};

pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(request).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe_request(&method, &route, status, seconds);
    }
    // A timed log line per reporter request would record when someone raised a concern or
    // read their mailbox; only failures on our side are worth that.
    if is_reporter_side(&route) && status < 500 {
        return Ok(response);
    }
    tracing::info!(
        target: "speakup::http",
        method,
        route,
        status,
        millis = (seconds * 1000.0).round() as u64,
    );
    Ok(response)
}
