//! The JSON API under `/api/v1` (see DESIGN §5 for the contract).

pub mod admin;
pub mod handler;
pub mod recorded;
pub mod reporter;
pub mod reports;

use actix_web::web;

pub fn routes(scope: &mut web::ServiceConfig) {
    scope
        .route("/organisations", web::get().to(reporter::organisations))
        .route(
            "/organisations/{slug}/intake-keys",
            web::get().to(reporter::intake_keys),
        )
        .route("/concerns", web::post().to(reporter::submit_concern))
        .route(
            "/concerns/sealed",
            web::post().to(reporter::submit_sealed_concern),
        )
        .route("/mailbox/session", web::post().to(reporter::open_mailbox))
        .route(
            "/mailbox/session",
            web::delete().to(reporter::close_mailbox),
        )
        .route("/mailbox", web::get().to(reporter::mailbox))
        .route("/mailbox/messages", web::post().to(reporter::send_message))
        .route("/mailbox/requests", web::post().to(reporter::make_request))
        .route(
            "/mailbox/identity-requests/{id}",
            web::post().to(reporter::decide_identity_request),
        )
        .route(
            "/mailbox/attachments",
            web::post().to(reporter::upload_attachment),
        )
        .route(
            "/mailbox/attachments/{id}",
            web::get().to(reporter::download_attachment),
        )
        .route("/admin/users", web::get().to(admin::users))
        .route("/admin/users", web::post().to(admin::add_user))
        .route("/admin/users/{id}/reset", web::post().to(admin::reset_user))
        .route(
            "/admin/users/{id}/disable",
            web::post().to(admin::disable_user),
        )
        .route("/admin/intake", web::post().to(admin::intake))
        .route("/admin/approvals", web::get().to(admin::approvals))
        .route("/admin/approvals/{id}", web::post().to(admin::decide))
        .route("/session", web::post().to(handler::sign_in))
        .route("/session", web::delete().to(handler::sign_out))
        .route("/cases", web::get().to(handler::cases))
        .route("/cases", web::post().to(recorded::record_case))
        .route("/cases/{reference}", web::get().to(handler::case))
        .route(
            "/cases/{reference}/messages",
            web::post().to(handler::message),
        )
        .route("/cases/{reference}/notes", web::post().to(handler::note))
        .route(
            "/cases/{reference}/attachments",
            web::post().to(handler::upload_attachment),
        )
        .route(
            "/cases/{reference}/attachments/{id}",
            web::get().to(handler::download_attachment),
        )
        .route("/cases/{reference}/grants", web::post().to(handler::grant))
        .route(
            "/cases/{reference}/grants/{email}",
            web::delete().to(handler::revoke),
        )
        .route(
            "/cases/{reference}/conflict",
            web::post().to(handler::conflict),
        )
        .route("/cases/{reference}/events", web::post().to(handler::event))
        .route("/reports/kpi", web::get().to(reports::kpi))
        .route("/openapi.json", web::get().to(openapi));
}

const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
