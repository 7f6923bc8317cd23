use actix_web::{HttpResponse, web};

use crate::service::Portal;

/// 200 when the database answers, 503 otherwise.
pub async fn healthz(portal: web::Data<Portal>) -> HttpResponse {
    let portal = portal.into_inner();
    let answer = web::block(move || portal.store.ping()).await;
    match answer {
        Ok(Ok(())) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ok\n"),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "health check: database not answering");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("database unavailable\n")
        }
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
