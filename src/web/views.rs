//! HTML rendering. Templates are compiled into the binary so the portal runs from any directory,
//! and autoescaping stays on.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::Serialize;
use tera::{Context, Tera};

use super::error::{PageError, Problem};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("index.html", include_str!("../../templates/index.html")),
    (
        "_form_error.html",
        include_str!("../../templates/_form_error.html"),
    ),
    ("setup.html", include_str!("../../templates/setup.html")),
    (
        "setup_done.html",
        include_str!("../../templates/setup_done.html"),
    ),
    (
        "console/layout.html",
        include_str!("../../templates/console/layout.html"),
    ),
    (
        "console/_notice.html",
        include_str!("../../templates/console/_notice.html"),
    ),
    (
        "console/_cannot_read.html",
        include_str!("../../templates/console/_cannot_read.html"),
    ),
    (
        "console/sign_in.html",
        include_str!("../../templates/console/sign_in.html"),
    ),
    (
        "console/inbox.html",
        include_str!("../../templates/console/inbox.html"),
    ),
    (
        "console/deadlines.html",
        include_str!("../../templates/console/deadlines.html"),
    ),
    (
        "console/case.html",
        include_str!("../../templates/console/case.html"),
    ),
    (
        "console/account.html",
        include_str!("../../templates/console/account.html"),
    ),
    (
        "console/admin_users.html",
        include_str!("../../templates/console/admin_users.html"),
    ),
    (
        "console/admin_enrolment.html",
        include_str!("../../templates/console/admin_enrolment.html"),
    ),
    (
        "console/admin_reset.html",
        include_str!("../../templates/console/admin_reset.html"),
    ),
    (
        "console/admin_holidays.html",
        include_str!("../../templates/console/admin_holidays.html"),
    ),
];

static VIEWS: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::new();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|error| format!("{error:?}"))?;
    Ok(tera)
});

/// Parses every template; called at start so a broken template stops the server immediately.
pub fn check() -> Result<(), String> {
    VIEWS.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Renders `template` with `values` (any serializable struct) into an HTML response.
pub fn page<T: Serialize>(template: &str, values: &T) -> Result<HttpResponse, PageError> {
    let html = render(template, values).map_err(|error| {
        tracing::error!(template, error = %error, "template failed");
        PageError(Problem::new(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Please try again in a few minutes.",
        ))
    })?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(html))
}

pub fn render<T: Serialize>(template: &str, values: &T) -> Result<String, String> {
    let tera = VIEWS.as_ref().map_err(Clone::clone)?;
    let context = Context::from_serialize(values).map_err(|error| format!("{error:?}"))?;
    tera.render(template, &context)
        .map_err(|error| format!("{error:?}"))
}

#[derive(Serialize)]
struct ErrorView<'a> {
    title: &'a str,
    status: u16,
    message: &'a str,
}

/// The error page; falls back to plain markup if even the template fails.
pub fn error_page(problem: &Problem) -> String {
    let title = problem
        .status
        .canonical_reason()
        .unwrap_or("Something went wrong");
    let view = ErrorView {
        title,
        status: problem.status.as_u16(),
        message: &problem.message,
    };
    render("error.html", &view).unwrap_or_else(|_| {
        "<!doctype html><html lang=\"en-GB\"><title>Error</title><p>Something went wrong. \
         Please try again.</p></html>"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_templates_parse() {
        check().unwrap();
    }

    #[test]
    fn error_page_escapes_its_message() {
        let problem = Problem::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "x",
            "<script>alert(1)</script>",
        );
        let html = error_page(&problem);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
