//! What an e-mail may say. Every notice is built only from fixed sentences, a case reference, a
//! date, a count and a link to the console: there is no field that could carry case content or a
//! reporter's identity, so no code path can put one into a message (see SECURITY.md).

use time::Date;

pub use crate::procedure::Obligation;

fn phrase(obligation: Obligation) -> &'static str {
    match obligation {
        Obligation::Acknowledge => "the stage 2 acknowledgement",
        Obligation::Stage1Response => "the stage 1 response",
        Obligation::Stage2Response => "the stage 2 response",
        Obligation::Update => "the stage 2 update to the reporter",
    }
}

/// A notice for the accounts and approvals work (and anything else that only needs a fixed
/// sentence, an optional reference and an optional console path). `headline` and `kind` are
/// `'static` on purpose: they cannot be built from user input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNotice {
    /// Stable machine name, stored with the row (e.g. `"enrolment"`, `"approval"`).
    pub kind: &'static str,
    /// Subject line and first sentence.
    pub headline: &'static str,
    pub reference: Option<String>,
    /// A path on this portal (joined to `public_url`), e.g. `/console/approvals`.
    pub path: Option<String>,
    /// Urgent notices ignore a daily-digest preference (an enrolment link should not wait).
    pub urgent: bool,
}

/// The weekly summary to the champion or lead: counts and the audit checkpoint only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklySummary {
    pub organisation_name: String,
    pub week: String,
    pub open_cases: i64,
    pub overdue_cases: i64,
    /// Reported in the seven days up to the summary; `None` when not recorded.
    pub detriment_reports: Option<i64>,
    pub audit_entries: i64,
    pub audit_head: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    NewConcern {
        reference: String,
    },
    ReporterMessage {
        reference: String,
    },
    ReporterRequest {
        reference: String,
    },
    /// The reporter added a file (from either mailbox).
    ReporterFile {
        reference: String,
    },
    Granted {
        reference: String,
    },
    Reminder {
        reference: String,
        obligation: Obligation,
        percent: u8,
        due_on: Date,
    },
    Overdue {
        reference: String,
        obligation: Obligation,
        due_on: Date,
    },
    /// Several held notices, one line each (their subjects, which are content-free too).
    Digest {
        subjects: Vec<String>,
    },
    WeeklySummary(WeeklySummary),
    Service(ServiceNotice),
}

/// A notice ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

const FOOTER: &str = "This message contains no details of the concern by design. \
Sign in to the console to read it.\n";

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NewConcern { .. } => "new_concern",
            Self::ReporterMessage { .. } => "reporter_message",
            Self::ReporterRequest { .. } => "reporter_request",
            Self::ReporterFile { .. } => "reporter_file",
            Self::Granted { .. } => "granted",
            Self::Reminder { .. } => "reminder",
            Self::Overdue { .. } => "overdue",
            Self::Digest { .. } => "digest",
            Self::WeeklySummary(_) => "weekly_summary",
            Self::Service(notice) => notice.kind,
        }
    }

    /// Urgent notices go out at once whatever the recipient prefers; the rest may wait for a
    /// daily digest.
    pub fn is_urgent(&self) -> bool {
        match self {
            Self::Reminder { .. }
            | Self::Overdue { .. }
            | Self::Digest { .. }
            | Self::WeeklySummary(_) => true,
            Self::NewConcern { .. }
            | Self::ReporterMessage { .. }
            | Self::ReporterRequest { .. }
            | Self::ReporterFile { .. }
            | Self::Granted { .. } => false,
            Self::Service(notice) => notice.urgent,
        }
    }

    /// Subject and plain-text body. `public_url` has no trailing slash.
    pub fn render(&self, public_url: &str) -> Rendered {
        let console = format!("{public_url}/console");
        let case_link = |reference: &str| format!("{public_url}/console/cases/{reference}");
        let (subject, body) = match self {
            Self::NewConcern { reference } => (
                format!("New concern {reference}"),
                format!(
                    "A new concern, {reference}, has been received and you are one of the \
                     people who can read it.\n\n{}\n\n{FOOTER}",
                    case_link(reference)
                ),
            ),
            Self::ReporterMessage { reference } => (
                format!("New message on {reference}"),
                format!(
                    "The reporter has written on case {reference}.\n\n{}\n\n{FOOTER}",
                    case_link(reference)
                ),
            ),
            Self::ReporterFile { reference } => (
                format!("New file on {reference}"),
                format!(
                    "The reporter has added a file to case {reference}.\n\n{}\n\n{FOOTER}",
                    case_link(reference)
                ),
            ),
            Self::ReporterRequest { reference } => (
                format!("Request from the reporter on {reference}"),
                format!(
                    "The reporter has made a request on case {reference}.\n\n{}\n\n{FOOTER}",
                    case_link(reference)
                ),
            ),
            Self::Granted { reference } => (
                format!("You have been given case {reference}"),
                format!(
                    "You can now read and work on case {reference}.\n\n{}\n\n{FOOTER}",
                    case_link(reference)
                ),
            ),
            Self::Reminder {
                reference,
                obligation,
                percent,
                due_on,
            } => (
                format!("{reference}: {percent}% of the time used, due {due_on}"),
                format!(
                    "{percent}% of the working days allowed for {} on case {reference} have \
                     been used. It is due on {due_on}.\n\n{}\n\n{FOOTER}",
                    phrase(*obligation),
                    case_link(reference)
                ),
            ),
            Self::Overdue {
                reference,
                obligation,
                due_on,
            } => (
                format!("{reference}: overdue since {due_on}"),
                format!(
                    "{} on case {reference} was due on {due_on} and is overdue.\n\n{}\n\n{FOOTER}",
                    capitalised(phrase(*obligation)),
                    case_link(reference)
                ),
            ),
            Self::Digest { subjects } => {
                let lines: String = subjects.iter().map(|line| format!("- {line}\n")).collect();
                (
                    format!("speakup: {} notices since your last digest", subjects.len()),
                    format!("{lines}\n{console}\n\n{FOOTER}"),
                )
            }
            Self::WeeklySummary(summary) => {
                let detriment = match summary.detriment_reports {
                    Some(count) => count.to_string(),
                    None => "not recorded by this portal".to_owned(),
                };
                (
                    format!(
                        "speakup weekly summary {} for {}",
                        summary.week, summary.organisation_name
                    ),
                    format!(
                        "Week {week}, {organisation}\n\nOpen cases: {open}\nOverdue cases: \
                         {overdue}\nDetriment reports in the last 7 days: {detriment}\n\nAudit checkpoint (keep \
                         this e-mail; `speakup audit verify --expect-entries {entries} \
                         --expect-head {head}` proves the log still contains it):\n  entries: \
                         {entries}\n  head: {head}\n\n{console}\n",
                        week = summary.week,
                        organisation = summary.organisation_name,
                        open = summary.open_cases,
                        overdue = summary.overdue_cases,
                        entries = summary.audit_entries,
                        head = summary.audit_head,
                    ),
                )
            }
            Self::Service(notice) => {
                let mut body = format!("{}.\n", notice.headline);
                let mut subject = notice.headline.to_owned();
                if let Some(reference) = &notice.reference {
                    subject = format!("{subject} ({reference})");
                    body.push_str(&format!("\nReference: {reference}\n"));
                }
                if let Some(path) = &notice.path {
                    body.push_str(&format!("\n{public_url}{path}\n"));
                }
                body.push_str(&format!("\n{FOOTER}"));
                (subject, body)
            }
        };
        Rendered {
            kind: self.kind(),
            subject,
            body,
        }
    }
}

fn capitalised(phrase: &str) -> String {
    let mut chars = phrase.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const URL: &str = "https://speakup.test";

    #[test]
    fn case_notices_carry_the_reference_and_a_console_link_only() {
        let notice = Notice::NewConcern {
            reference: "SU-ABCD".to_owned(),
        };
        let rendered = notice.render(URL);
        assert_eq!(rendered.kind, "new_concern");
        assert_eq!(rendered.subject, "New concern SU-ABCD");
        assert!(
            rendered
                .body
                .contains("https://speakup.test/console/cases/SU-ABCD")
        );
        assert!(!notice.is_urgent());
    }

    #[test]
    fn a_reporters_file_is_told_without_its_name() {
        let notice = Notice::ReporterFile {
            reference: "SU-ABCD".to_owned(),
        };
        let rendered = notice.render(URL);
        assert_eq!(rendered.kind, "reporter_file");
        assert_eq!(rendered.subject, "New file on SU-ABCD");
        assert!(
            rendered
                .body
                .starts_with("The reporter has added a file to case SU-ABCD.\n\nhttps://speakup.test/console/cases/SU-ABCD")
        );
        assert!(!notice.is_urgent());
    }

    #[test]
    fn reminders_name_the_obligation_percent_and_date() {
        let notice = Notice::Reminder {
            reference: "SU-1".to_owned(),
            obligation: Obligation::Stage1Response,
            percent: 75,
            due_on: date!(2026 - 11 - 20),
        };
        let rendered = notice.render(URL);
        assert_eq!(
            rendered.subject,
            "SU-1: 75% of the time used, due 2026-11-20"
        );
        assert!(rendered.body.contains("the stage 1 response"));
        assert!(notice.is_urgent());
        let overdue = Notice::Overdue {
            reference: "SU-1".to_owned(),
            obligation: Obligation::Acknowledge,
            due_on: date!(2026 - 11 - 20),
        }
        .render(URL);
        assert!(
            overdue
                .body
                .starts_with("The stage 2 acknowledgement on case SU-1")
        );
        assert_eq!(overdue.kind, "overdue");
    }

    #[test]
    fn service_notices_join_the_path_to_the_public_url() {
        let notice = Notice::Service(ServiceNotice {
            kind: "approval",
            headline: "A change to the intake list waits for your approval",
            reference: None,
            path: Some("/console/approvals".to_owned()),
            urgent: false,
        });
        let rendered = notice.render(URL);
        assert_eq!(rendered.kind, "approval");
        assert_eq!(
            rendered.subject,
            "A change to the intake list waits for your approval"
        );
        assert!(
            rendered
                .body
                .contains("\nhttps://speakup.test/console/approvals\n")
        );
    }

    #[test]
    fn weekly_summary_prints_the_audit_checkpoint() {
        let rendered = Notice::WeeklySummary(WeeklySummary {
            organisation_name: "NHS Test".to_owned(),
            week: "2026-W48".to_owned(),
            open_cases: 4,
            overdue_cases: 1,
            detriment_reports: None,
            audit_entries: 17,
            audit_head: "ab12".to_owned(),
        })
        .render(URL);
        assert!(rendered.body.contains("Overdue cases: 1"));
        assert!(rendered.body.contains("entries: 17"));
        assert!(rendered.body.contains("head: ab12"));
        assert!(rendered.body.contains("not recorded by this portal"));
    }
}
