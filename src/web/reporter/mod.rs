//! The reporter's HTML pages: raising a concern, keeping the case key, and the mailbox. No
//! account and no JavaScript; every form works in Tor Browser's "Safest" mode.
//!
//! Nothing here logs anything about the reporter, and a case key only ever travels in a POST
//! body or a response body, never in a URL or a cookie.

pub mod concern;
pub mod evidence;
pub mod mailbox;
pub mod requests;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use time::Date;
use time::macros::format_description;

use super::error::PageError;
use super::views;

/// One line of an error summary: the message, and the id of the field it is about (if any) so
/// the summary can link to it.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryItem {
    pub field: Option<&'static str>,
    pub message: String,
}

/// A date in words, as people read it: "Friday 20 November 2026".
pub fn long_date(date: Date) -> String {
    date.format(format_description!(
        "[weekday] [day padding:none] [month repr:long] [year]"
    ))
    .unwrap_or_else(|_| date.to_string())
}

/// The service's messages are lower-case clauses ("write down your concern before sending it");
/// on a page they read better as sentences.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => return String::new(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// "Please wait 3 minutes and try again.", from a Retry-After in seconds.
pub fn wait_words(seconds: u64) -> String {
    if seconds <= 60 {
        let unit = if seconds == 1 { "second" } else { "seconds" };
        format!("Please wait {seconds} {unit} and try again.")
    } else {
        let minutes = seconds.div_ceil(60);
        format!("Please wait {minutes} minutes and try again.")
    }
}

/// 10000 → "10,000", as GOV.UK style writes numbers (and screen readers read them).
pub fn format_thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Renders a page with a status other than 200.
pub fn page_with_status<T: Serialize>(
    template: &str,
    values: &T,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let mut response = views::page(template, values)?;
    *response.status_mut() = status;
    Ok(response)
}

/// Adds `Retry-After` to a rate-limited page.
pub fn retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A 303 to a path on this site.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_read_as_words() {
        assert_eq!(long_date(date!(2026 - 11 - 20)), "Friday 20 November 2026");
        assert_eq!(long_date(date!(2026 - 12 - 01)), "Tuesday 1 December 2026");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(
            sentence("write down your concern before sending it"),
            "Write down your concern before sending it."
        );
        assert_eq!(sentence("Already fine."), "Already fine.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(format_thousands(10_000), "10,000");
        assert_eq!(format_thousands(20_000), "20,000");
        assert_eq!(format_thousands(999), "999");
        assert_eq!(format_thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn waits_are_in_words() {
        assert!(wait_words(1).contains("1 second "));
        assert!(wait_words(45).contains("45 seconds"));
        assert!(wait_words(61).contains("2 minutes"));
    }
}
