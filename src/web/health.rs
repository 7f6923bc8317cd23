use actix_web::{HttpResponse, web};

use crate::service::Portal;

/// 200 when the database answers, 503 otherwise. The body's first line is `ok`; the lines after
/// it give the outbox backlog (counts only), so a mail server that stopped accepting shows here.
pub async fn healthz(portal: web::Data<Portal>) -> HttpResponse {
    let portal = portal.into_inner();
    let answer = web::block(move || {
        portal.store.ping()?;
        portal.store.read(crate::store::outbox::backlog)
    })
    .await;
    match answer {
        Ok(Ok(backlog)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "ok\noutbox_queued {}\noutbox_failing {}\noutbox_held_for_digest {}\n",
                backlog.queued, backlog.failing, backlog.held
            )),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "health check: database not answering");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("database unavailable\n")
        }
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
