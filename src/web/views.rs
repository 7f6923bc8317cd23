//! HTML rendering. Templates are compiled into the binary so the portal runs from any directory,
//! and autoescaping stays on.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::Serialize;
use tera::{Context, Tera};

use super::error::{PageError, Problem};

/// Each template is compiled in under its path relative to `templates/`.
macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),+]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "error.html",
    "index.html",
    "_form_error.html",
    "_scripts.html",
    "mailbox_browser.html",
    "setup.html",
    "setup_done.html",
    "enrol.html",
    "enrol_done.html",
    "console/admin_approvals.html",
    "_timescales.html",
    "_safety.html",
    "_protection.html",
    "protection.html",
    "concern_organisation.html",
    "concern_form.html",
    "concern_check.html",
    "concern_key.html",
    "concern_done.html",
    "concern_already_sent.html",
    "mailbox_sign_in.html",
    "mailbox.html",
    "console_reports.html",
    "what_changed.html",
    "report/board_paper.html",
    "console/_cannot_read.html",
    "console/_notice.html",
    "console/account.html",
    "console/record.html",
    "console/recorded.html",
    "console/admin_enrolment.html",
    "console/admin_holidays.html",
    "console/admin_deliveries.html",
    "console/admin_reset.html",
    "console/admin_users.html",
    "console/case.html",
    "console/deadlines.html",
    "console/error.html",
    "console/confirm.html",
    "console/inbox.html",
    "console/layout.html",
    "console/oversight.html",
    "console/sign_in.html",
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
    fn every_template_file_is_compiled_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let name = path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_owned();
                    assert!(
                        TEMPLATES.iter().any(|(registered, _)| *registered == name),
                        "{name} is not in TEMPLATES"
                    );
                }
            }
        }
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
