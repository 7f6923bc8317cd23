//! The JSON API under `/api/v1` (see DESIGN §5 for the contract).

pub mod reporter;

use actix_web::web;

pub fn routes(scope: &mut web::ServiceConfig) {
    scope
        .route("/organisations", web::get().to(reporter::organisations))
        .route("/concerns", web::post().to(reporter::submit_concern))
        .route("/mailbox/session", web::post().to(reporter::open_mailbox))
        .route(
            "/mailbox/session",
            web::delete().to(reporter::close_mailbox),
        )
        .route("/mailbox", web::get().to(reporter::mailbox))
        .route("/mailbox/messages", web::post().to(reporter::send_message));
}
