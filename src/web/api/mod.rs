//! The JSON API under `/api/v1` (see DESIGN §5 for the contract).

pub mod admin;
pub mod handler;
pub mod recorded;
pub mod reporter;
pub mod reports;
pub mod sealed;

use actix_web::http::StatusCode;
use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, HttpResponse, Route, web};

use super::error::{ApiError, Problem};

/// One operation of the API: its method, its path in the document's syntax, its handler.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    route: fn() -> Route,
}

/// Every operation the API serves. `routes` registers exactly these (a test checks the routing,
/// another that docs/openapi.json lists the same), and a method not listed for a known path
/// answers 405 with the `Allow` header made from here.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/organisations",
        route: || web::get().to(reporter::organisations),
    },
    Endpoint {
        method: "GET",
        path: "/organisations/{slug}/intake-keys",
        route: || web::get().to(reporter::intake_keys),
    },
    Endpoint {
        method: "POST",
        path: "/concerns",
        route: || web::post().to(reporter::submit_concern),
    },
    Endpoint {
        method: "POST",
        path: "/concerns/sealed",
        route: || web::post().to(reporter::submit_sealed_concern),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/session",
        route: || web::post().to(reporter::open_mailbox),
    },
    Endpoint {
        method: "DELETE",
        path: "/mailbox/session",
        route: || web::delete().to(reporter::close_mailbox),
    },
    Endpoint {
        method: "GET",
        path: "/mailbox",
        route: || web::get().to(reporter::mailbox),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/messages",
        route: || web::post().to(reporter::send_message),
    },
    Endpoint {
        method: "GET",
        path: "/mailbox/sealed",
        route: || web::get().to(reporter::sealed_mailbox),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/sealed/messages",
        route: || web::post().to(reporter::send_sealed_message),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/sealed/requests",
        route: || web::post().to(reporter::make_sealed_request),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/sealed/attachments",
        route: || web::post().to(reporter::upload_sealed_attachment),
    },
    Endpoint {
        method: "GET",
        path: "/mailbox/sealed/attachments/{id}",
        route: || web::get().to(reporter::download_sealed_attachment),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/requests",
        route: || web::post().to(reporter::make_request),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/identity-requests/{id}",
        route: || web::post().to(reporter::decide_identity_request),
    },
    Endpoint {
        method: "POST",
        path: "/mailbox/attachments",
        route: || web::post().to(reporter::upload_attachment),
    },
    Endpoint {
        method: "GET",
        path: "/mailbox/attachments/{id}",
        route: || web::get().to(reporter::download_attachment),
    },
    Endpoint {
        method: "GET",
        path: "/admin/users",
        route: || web::get().to(admin::users),
    },
    Endpoint {
        method: "POST",
        path: "/admin/users",
        route: || web::post().to(admin::add_user),
    },
    Endpoint {
        method: "POST",
        path: "/admin/users/{id}/reset",
        route: || web::post().to(admin::reset_user),
    },
    Endpoint {
        method: "POST",
        path: "/admin/users/{id}/disable",
        route: || web::post().to(admin::disable_user),
    },
    Endpoint {
        method: "POST",
        path: "/admin/intake",
        route: || web::post().to(admin::intake),
    },
    Endpoint {
        method: "GET",
        path: "/admin/approvals",
        route: || web::get().to(admin::approvals),
    },
    Endpoint {
        method: "POST",
        path: "/admin/approvals/{id}",
        route: || web::post().to(admin::decide),
    },
    Endpoint {
        method: "POST",
        path: "/session",
        route: || web::post().to(handler::sign_in),
    },
    Endpoint {
        method: "POST",
        path: "/session/parameters",
        route: || web::post().to(handler::sign_in_parameters),
    },
    Endpoint {
        method: "DELETE",
        path: "/session",
        route: || web::delete().to(handler::sign_out),
    },
    Endpoint {
        method: "GET",
        path: "/cases",
        route: || web::get().to(handler::cases),
    },
    Endpoint {
        method: "POST",
        path: "/cases",
        route: || web::post().to(recorded::record_case),
    },
    Endpoint {
        method: "GET",
        path: "/cases/{reference}",
        route: || web::get().to(handler::case),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/messages",
        route: || web::post().to(handler::message),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/notes",
        route: || web::post().to(handler::note),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/attachments",
        route: || web::post().to(handler::upload_attachment),
    },
    Endpoint {
        method: "GET",
        path: "/cases/{reference}/attachments/{id}",
        route: || web::get().to(handler::download_attachment),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/grants",
        route: || web::post().to(handler::grant),
    },
    Endpoint {
        method: "DELETE",
        path: "/cases/{reference}/grants/{email}",
        route: || web::delete().to(handler::revoke),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/conflict",
        route: || web::post().to(handler::conflict),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/events",
        route: || web::post().to(handler::event),
    },
    // A client that keeps its own key (signed in with a login proof): issue 14.
    Endpoint {
        method: "GET",
        path: "/cases/{reference}/sealed",
        route: || web::get().to(sealed::case),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed",
        route: || web::post().to(sealed::append),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/events/facts",
        route: || web::post().to(sealed::step_facts),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/events",
        route: || web::post().to(sealed::record_step),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/grants/recipient",
        route: || web::post().to(sealed::grant_recipient),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/grants",
        route: || web::post().to(sealed::grant),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/attachments",
        route: || web::post().to(sealed::upload),
    },
    Endpoint {
        method: "GET",
        path: "/cases/{reference}/sealed/attachments/{id}",
        route: || web::get().to(sealed::download),
    },
    Endpoint {
        method: "POST",
        path: "/cases/{reference}/sealed/recovery-wrap",
        route: || web::post().to(sealed::recovery_wrap),
    },
    Endpoint {
        method: "GET",
        path: "/reports/kpi",
        route: || web::get().to(reports::kpi),
    },
    Endpoint {
        method: "GET",
        path: "/openapi.json",
        route: || web::get().to(openapi),
    },
];

/// One resource per path of [`ENDPOINTS`], with its methods; any other method answers 405.
pub fn routes(scope: &mut web::ServiceConfig) {
    let mut paths: Vec<&str> = ENDPOINTS.iter().map(|endpoint| endpoint.path).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
        for endpoint in ENDPOINTS.iter().filter(|endpoint| endpoint.path == path) {
            resource = resource.route((endpoint.route)());
        }
        scope.service(resource);
    }
}

/// The methods served on a path pattern of the scope (`/api/v1/cases/{reference}`), for `Allow`.
fn allowed_methods(pattern: &str) -> String {
    let path = pattern.strip_prefix("/api/v1").unwrap_or(pattern);
    let served: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|endpoint| endpoint.path == path)
        .map(|endpoint| endpoint.method)
        .collect();
    served.join(", ")
}

async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    let allow = allowed_methods(&request.match_pattern().unwrap_or_default());
    let mut response: HttpResponse =
        actix_web::ResponseError::error_response(&ApiError(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this address answers {allow} only"),
        )));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
