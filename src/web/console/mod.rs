//! The handler console: HTML pages, no JavaScript, over the same services as the JSON API.
//! Every form repeats the CSRF token; a POST that works answers 303 back to its page with a
//! short `?done=` notice, and one the service refuses re-renders the page with its reason.

pub mod account;
pub mod admin;
pub mod approvals;
pub mod cases;
pub mod events;
pub mod evidence;
pub mod oversight;
pub mod record;
pub mod sealed;
pub mod sign_in;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::{Date, PrimitiveDateTime};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::views;
use crate::model::Role;
use crate::procedure::letters::long_date;
use crate::service::ServiceError;
use crate::store::users::User;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/console", web::get().to(cases::inbox))
        .route("/console/sign-in", web::get().to(sign_in::show))
        .route("/console/sign-in", web::post().to(sign_in::submit))
        .route(
            "/console/sign-in/parameters",
            web::post().to(sign_in::parameters),
        )
        .route(
            "/console/sign-in/proof",
            web::post().to(sign_in::submit_proof),
        )
        .route("/console/sign-out", web::post().to(sign_in::sign_out))
        .route("/console/deadlines", web::get().to(cases::deadlines))
        .route("/console/oversight", web::get().to(oversight::show))
        .route("/console/record", web::get().to(record::show))
        .route("/console/record", web::post().to(record::submit))
        .route("/console/cases/{reference}", web::get().to(cases::show))
        // Before `{part}`, which would otherwise take `sealed`.
        .route(
            "/console/cases/{reference}/sealed",
            web::get().to(sealed::case),
        )
        .service(
            web::resource("/console/cases/{reference}/sealed")
                .app_data(super::form_config(super::MAX_TEXT_FORM_BYTES))
                .route(web::post().to(sealed::append)),
        )
        .route(
            "/console/cases/{reference}/sealed/attachments",
            web::post().to(sealed::upload),
        )
        .route(
            "/console/cases/{reference}/sealed/attachments/{id}",
            web::get().to(sealed::download),
        )
        .route(
            "/console/cases/{reference}/sealed/grants/recipient",
            web::post().to(sealed::grant_recipient),
        )
        .route(
            "/console/cases/{reference}/sealed/grants",
            web::post().to(sealed::grant),
        )
        .route(
            "/console/cases/{reference}/sealed/recovery-wrap",
            web::post().to(sealed::recovery_wrap),
        )
        .route(
            "/console/cases/{reference}/sealed/events/facts",
            web::post().to(sealed::step_facts),
        )
        .service(
            web::resource("/console/cases/{reference}/sealed/events")
                .app_data(super::form_config(sealed::MAX_STEP_FORM_BYTES))
                .route(web::post().to(sealed::record_step)),
        )
        .route(
            "/console/cases/{reference}/{part}",
            web::get().to(cases::show_part),
        )
        .route(
            "/console/cases/{reference}/messages",
            web::post().to(cases::reply),
        )
        .route(
            "/console/cases/{reference}/notes",
            web::post().to(cases::note),
        )
        .route(
            "/console/cases/{reference}/attachments",
            web::post().to(evidence::upload),
        )
        .route(
            "/console/cases/{reference}/attachments/{id}",
            web::get().to(evidence::download),
        )
        .route(
            "/console/cases/{reference}/grants",
            web::post().to(cases::grant),
        )
        .route(
            "/console/cases/{reference}/revoke",
            web::post().to(cases::revoke),
        )
        .route(
            "/console/cases/{reference}/conflict",
            web::post().to(cases::conflict),
        )
        .route(
            "/console/cases/{reference}/events",
            web::post().to(events::record),
        )
        .route("/console/account", web::get().to(account::show))
        .route("/console/account", web::post().to(account::change_password))
        .route(
            "/console/account/notices",
            web::post().to(account::set_notices),
        )
        .route("/console/admin/approvals", web::get().to(approvals::show))
        .route(
            "/console/admin/approvals/{id}",
            web::post().to(approvals::decide),
        )
        .route("/console/admin/users", web::get().to(admin::users))
        .route("/console/admin/users", web::post().to(admin::add_account))
        .route(
            "/console/admin/users/{id}/active",
            web::post().to(admin::set_active),
        )
        .route(
            "/console/admin/users/{id}/intake",
            web::post().to(admin::set_intake),
        )
        .route(
            "/console/admin/users/{id}/reset",
            web::get().to(admin::reset_form),
        )
        .route(
            "/console/admin/users/{id}/reset",
            web::post().to(admin::reset),
        )
        .route(
            "/console/admin/deliveries",
            web::get().to(admin::deliveries),
        )
        .route(
            "/console/admin/deliveries/{id}/retry",
            web::post().to(admin::retry_delivery),
        )
        .route("/console/admin/holidays", web::get().to(admin::holidays))
        .route(
            "/console/admin/holidays",
            web::post().to(admin::change_holiday),
        );
}

/// What the header shows a signed-in person: who they are and what their role may open.
#[derive(Debug, Clone, Serialize)]
pub struct Nav {
    pub name: String,
    pub role: &'static str,
    pub holds_cases: bool,
    pub admin: bool,
    pub lead: bool,
    pub champion: bool,
    pub reports: bool,
    pub approver: bool,
}

impl Nav {
    pub fn for_user(user: &User) -> Nav {
        Nav {
            name: user.display_name.clone(),
            role: user.role.label(),
            holds_cases: user.role.may_hold_cases(),
            admin: user.role == Role::Admin,
            lead: user.role == Role::Lead,
            champion: user.role == Role::Champion,
            reports: user.role.may_read_reports(),
            approver: user.role.may_approve(),
        }
    }
}

/// The parts every console page has.
#[derive(Serialize)]
pub struct Shell {
    pub title: String,
    pub csrf: String,
    pub nav: Option<Nav>,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    /// The crypto module and `static/console.js`, on pages that use them.
    pub scripts: Option<crate::web::scripts::Scripts>,
}

impl Shell {
    pub fn new(title: impl Into<String>, csrf: &CsrfToken, user: Option<&User>) -> Shell {
        Shell {
            title: title.into(),
            csrf: csrf.value().to_owned(),
            nav: user.map(Nav::for_user),
            notice: None,
            error: None,
            scripts: None,
        }
    }

    /// Loads the crypto module and the console script on this page (and gives the page the
    /// policy that lets them run).
    pub fn with_scripts(mut self) -> Shell {
        self.scripts = Some(crate::web::scripts::crypto_scripts(
            crate::web::scripts::PageScript::Console,
        ));
        self
    }

    pub fn notice(mut self, done: &Done) -> Shell {
        self.notice = done.done.as_deref().and_then(notice_for);
        self
    }

    pub fn error(mut self, message: Option<String>) -> Shell {
        self.error = message.map(|m| sentence(&m));
        self
    }
}

/// A step that cannot be undone or that writes to the reporter, asked about once more: the same
/// form posted again with `confirm=yes`. Works without JavaScript.
pub struct Confirmation<'a> {
    pub heading: &'a str,
    pub consequence: &'a str,
    pub yes: &'a str,
    pub action: &'a str,
    pub back_href: &'a str,
    /// The fields to post again (never the CSRF token, which the page adds).
    pub fields: Vec<(String, String)>,
    /// Text the reporter will read, shown once more.
    pub quoted: Option<String>,
}

pub fn confirmation_page(shell: Shell, page: Confirmation<'_>) -> Result<HttpResponse, PageError> {
    #[derive(Serialize)]
    struct Body<'a> {
        heading: &'a str,
        consequence: &'a str,
        yes: &'a str,
        action: &'a str,
        back_href: &'a str,
        fields: Vec<Field>,
        quoted: Option<String>,
    }
    #[derive(Serialize)]
    struct Field {
        name: String,
        value: String,
    }
    render(
        "console/confirm.html",
        shell,
        &Body {
            heading: page.heading,
            consequence: page.consequence,
            yes: page.yes,
            action: page.action,
            back_href: page.back_href,
            fields: page
                .fields
                .into_iter()
                .map(|(name, value)| Field { name, value })
                .collect(),
            quoted: page.quoted,
        },
        StatusCode::OK,
    )
}

/// Whether a posted form carries the answer to its confirmation page.
pub fn confirmed(fields: &[(String, String)]) -> bool {
    fields
        .iter()
        .any(|(name, value)| name == "confirm" && value == "yes")
}

/// An error inside the console, with its menu: a case you do not hold, a mistyped period.
pub fn console_error(
    shell: Shell,
    heading: &str,
    message: &str,
    back: (&str, &str),
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        heading: &'a str,
        message: &'a str,
        back_href: &'a str,
        back_text: &'a str,
    }
    render(
        "console/error.html",
        shell,
        &ErrorBody {
            heading,
            message,
            back_href: back.0,
            back_text: back.1,
        },
        status,
    )
}

/// Renders `template` with the shell and the page's own values, answering `status`.
pub fn render<T: Serialize>(
    template: &str,
    shell: Shell,
    body: &T,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    #[derive(Serialize)]
    struct View<'a, T: Serialize> {
        #[serde(flatten)]
        shell: Shell,
        #[serde(flatten)]
        body: &'a T,
    }
    let with_scripts = shell.scripts.is_some();
    let mut response = views::page(template, &View { shell, body })?;
    *response.status_mut() = status;
    if with_scripts {
        response = crate::web::scripts::allow_crypto(response);
    }
    Ok(response)
}

/// `?done=…` on the page a form returns to.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

/// The short notices a completed form leaves behind. Only these fixed texts are ever shown.
fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "signed_out" => "You have signed out.",
        "replied" => "Your message has been sent. The reporter will see it in their mailbox.",
        "noted" => "Your note has been saved. The reporter cannot see it.",
        "attached" => "The file has been added. The reporter can download it from their mailbox.",
        "recorded" => "The step has been recorded, and the reporter has been written to.",
        "granted" => {
            "Access given. If you asked to share the reporter's identity, the reporter is asked first in their mailbox; nothing is shared until they agree."
        }
        "revoked" => "Access removed.",
        "conflict_declared" => {
            "Your conflict of interest is recorded. You no longer have access to that case."
        }
        "password_changed" => "Your password has been changed.",
        "enabled" => "The account is enabled.",
        "disabled" => "The account is disabled and its sessions have ended.",
        "intake_added" => "Added to the intake list: new concerns will reach them.",
        "intake_removed" => "Removed from the intake list.",
        "holiday_added" => "The local holiday has been added. Open cases' deadlines follow it.",
        "holiday_worked" => "The bank holiday is now a working day for this organisation.",
        "holiday_cleared" => "The calendar change has been cleared.",
        "delivery_retried" => "The notice will be tried again within a minute.",
        "delivery_gone" => {
            "That notice is no longer waiting: it was sent, or is being tried again, meanwhile."
        }
        "notices_immediate" => "Every notice will now be e-mailed to you as it happens.",
        "notices_daily_digest" => {
            "Notices that are not urgent will now come in one e-mail a day. Deadline reminders \
             still come at once."
        }
        _ => return None,
    })
}

/// Service messages are lower-case clauses; pages show them as sentences.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut text: String = first.to_uppercase().chain(chars).collect();
    if !text.ends_with(['.', '!', '?', ')']) {
        text.push('.');
    }
    text
}

/// A refusal the person can fix: the page is shown again with the reason and this status.
pub fn refusal(error: ServiceError) -> Result<(StatusCode, String), PageError> {
    match error {
        ServiceError::Invalid { message, .. } => Ok((StatusCode::BAD_REQUEST, message)),
        ServiceError::Conflict { message, .. } => Ok((StatusCode::CONFLICT, message)),
        ServiceError::Forbidden { message, .. } => Ok((StatusCode::FORBIDDEN, message)),
        other => Err(other.into()),
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// Percent-encodes a path segment taken from the request before it goes back into a header.
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A date for a `<time>` element: ISO for machines, "Friday 4 December 2026" for people.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    pub iso: String,
    pub long: String,
}

pub fn day(date: Date) -> Day {
    Day {
        iso: date.to_string(),
        long: long_date(date),
    }
}

/// A moment in the audit trail (stored in UTC).
#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    pub iso: String,
    pub text: String,
}

pub fn moment(at: PrimitiveDateTime) -> Moment {
    Moment {
        iso: format!(
            "{}T{:02}:{:02}:{:02}Z",
            at.date(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        text: format!(
            "{} {} {} {:02}:{:02} UTC",
            at.day(),
            at.month(),
            at.year(),
            at.hour(),
            at.minute()
        ),
    }
}

/// An option of a select or a radio group.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A form that carries nothing but its CSRF token (sign out, conflict, buttons).
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// An unticked checkbox sends nothing; a ticked one sends its value.
pub fn ticked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("the code is not right"), "The code is not right.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("SU-2026-ABCD"), "SU-2026-ABCD");
        assert_eq!(segment("a/b\r\nc"), "a%2Fb%0D%0Ac");
    }

    #[test]
    fn dates_and_moments_read_well() {
        let d = day(date!(2026 - 12 - 04));
        assert_eq!(d.iso, "2026-12-04");
        assert_eq!(d.long, "Friday 4 December 2026");
        let m = moment(datetime!(2026-11-16 09:05:07));
        assert_eq!(m.iso, "2026-11-16T09:05:07Z");
        assert_eq!(m.text, "16 November 2026 09:05 UTC");
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert!(notice_for("granted").is_some());
        assert!(notice_for("<script>").is_none());
    }
}
