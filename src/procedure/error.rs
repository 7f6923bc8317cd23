use thiserror::Error;
use time::Date;

use super::stages::{EscalationReason, EventType, State};

/// Dates in messages read as people write them: "3 December 2026".
fn words(date: &Date) -> String {
    super::dates::date_words(*date)
}

/// Every way the procedure can refuse an input.
///
/// These reach people as 4xx answers, so each variant is specific enough for the UI to explain
/// what to do next, and each has a stable [`code`](ProcedureError::code) that clients may match
/// on: never rename a code, add a new variant instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProcedureError {
    #[error("The case has no events; it must start with the date the concern was received.")]
    EmptyHistory,

    #[error("The first event of a case must be 'received', not '{event}'.")]
    FirstEventMustBeReceived { event: EventType },

    #[error("'{event}' is not possible while the case is '{state}'.")]
    NotAllowed { event: EventType, state: State },

    #[error("A case cannot move to stage 2 for the reason '{reason}' while it is '{state}'.")]
    ReasonNotAllowed {
        reason: EscalationReason,
        state: State,
    },

    #[error("The concern has already been acknowledged at this stage.")]
    AlreadyAcknowledged,

    #[error(
        "The date {} is before the previous event on {}.",
        words(.date), words(.previous)
    )]
    DateBeforePrevious { date: Date, previous: Date },

    #[error(
        "The date {} is in the future (today is {}).",
        words(.date), words(.today)
    )]
    DateInFuture { date: Date, today: Date },

    #[error(
        "The new date {} must be later than the current due date {}.",
        words(.until), words(.current)
    )]
    ExtensionNotLater { until: Date, current: Date },

    #[error(
        "The new date {} is beyond the stage 1 limit of {}; move the concern to stage 2 instead.",
        words(.until), words(.cap_date)
    )]
    ExtensionBeyondCap { until: Date, cap_date: Date },

    #[error(
        "The new date {} is not a working day.",
        words(.until)
    )]
    ExtensionNotWorkingDay { until: Date },

    #[error(
        "An extension must be agreed on or before the current due date {}; it was recorded on {}.",
        words(.due), words(.on)
    )]
    ExtensionTooLate { on: Date, due: Date },

    #[error(
        "The date {} is outside the supported range (1900 to 2200).",
        words(.date)
    )]
    DateOutOfRange { date: Date },

    #[error("The year {year} is outside the supported range (1900 to 2200).")]
    YearOutOfRange { year: i32 },

    #[error("The number of working days must be between 1 and {max}, not {requested}.")]
    WorkingDaysOutOfRange { requested: u32, max: u32 },

    #[error(
        "No working day was found within {} days after {}; check the holiday settings.",
        .days, words(.from)
    )]
    NoWorkingDay { from: Date, days: u32 },

    #[error(
        "{} has come or passed (today is {}): dates and figures already given were counted on it, so only later days can be changed.",
        words(.date), words(.today)
    )]
    CalendarDayPassed { date: Date, today: Date },

    #[error("'{input}' is not a date we can read; write it like 3 December 2026 or 3/12/2026.")]
    InvalidDate { input: String },

    #[error("'{input}' is not a valid quarter; use the form YYYY-Qn, for example 2024-Q1.")]
    InvalidQuarter { input: String },

    #[error(
        "A period cannot end ({}) before it starts ({}).",
        words(.end), words(.start)
    )]
    InvalidPeriod { start: Date, end: Date },

    #[error("The setting '{name}' must be between {min} and {max}, not {value}.")]
    InvalidSetting {
        name: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },

    #[error(
        "Case content is kept between {min} and {max} months after a case's last activity, not {months}."
    )]
    RetentionOutOfRange { months: u32, min: u32, max: u32 },
}

impl ProcedureError {
    /// Stable snake_case code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyHistory => "empty_history",
            Self::FirstEventMustBeReceived { .. } => "first_event_must_be_received",
            Self::NotAllowed { .. } => "event_not_allowed",
            Self::ReasonNotAllowed { .. } => "escalation_reason_not_allowed",
            Self::AlreadyAcknowledged => "already_acknowledged",
            Self::DateBeforePrevious { .. } => "date_before_previous",
            Self::DateInFuture { .. } => "date_in_future",
            Self::ExtensionNotLater { .. } => "extension_not_later",
            Self::ExtensionBeyondCap { .. } => "extension_beyond_cap",
            Self::ExtensionNotWorkingDay { .. } => "extension_not_working_day",
            Self::ExtensionTooLate { .. } => "extension_too_late",
            Self::DateOutOfRange { .. } => "date_out_of_range",
            Self::YearOutOfRange { .. } => "year_out_of_range",
            Self::WorkingDaysOutOfRange { .. } => "working_days_out_of_range",
            Self::NoWorkingDay { .. } => "no_working_day",
            Self::CalendarDayPassed { .. } => "calendar_day_passed",
            Self::InvalidDate { .. } => "invalid_date",
            Self::InvalidQuarter { .. } => "invalid_quarter",
            Self::InvalidPeriod { .. } => "invalid_period",
            Self::InvalidSetting { .. } => "invalid_setting",
            Self::RetentionOutOfRange { .. } => "retention_out_of_range",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use time::macros::date;

    #[test]
    fn codes_are_unique_snake_case_and_messages_read_plainly() {
        let d = date!(2024 - 01 - 05);
        let all = [
            ProcedureError::EmptyHistory,
            ProcedureError::FirstEventMustBeReceived {
                event: EventType::Close,
            },
            ProcedureError::NotAllowed {
                event: EventType::Extend,
                state: State::Received,
            },
            ProcedureError::ReasonNotAllowed {
                reason: EscalationReason::Complex,
                state: State::Stage1Closed,
            },
            ProcedureError::AlreadyAcknowledged,
            ProcedureError::DateBeforePrevious {
                date: d,
                previous: d,
            },
            ProcedureError::DateInFuture { date: d, today: d },
            ProcedureError::ExtensionNotLater {
                until: d,
                current: d,
            },
            ProcedureError::ExtensionBeyondCap {
                until: d,
                cap_date: d,
            },
            ProcedureError::ExtensionNotWorkingDay { until: d },
            ProcedureError::ExtensionTooLate { on: d, due: d },
            ProcedureError::DateOutOfRange { date: d },
            ProcedureError::YearOutOfRange { year: 1 },
            ProcedureError::WorkingDaysOutOfRange {
                requested: 0,
                max: 1,
            },
            ProcedureError::NoWorkingDay { from: d, days: 1 },
            ProcedureError::CalendarDayPassed { date: d, today: d },
            ProcedureError::InvalidDate { input: "x".into() },
            ProcedureError::InvalidQuarter { input: "x".into() },
            ProcedureError::InvalidPeriod { start: d, end: d },
            ProcedureError::InvalidSetting {
                name: "x",
                value: 0,
                min: 1,
                max: 2,
            },
            ProcedureError::RetentionOutOfRange {
                months: 1,
                min: 12,
                max: 1200,
            },
        ];
        let mut seen = HashSet::new();
        for e in &all {
            let code = e.code();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{code}"
            );
            let msg = e.to_string();
            assert!(msg.ends_with('.'), "{msg}");
            assert!(!msg.contains("Stage1Closed"), "{msg}");
        }
        assert_eq!(
            ProcedureError::NotAllowed {
                event: EventType::Extend,
                state: State::Stage1Closed
            }
            .to_string(),
            "'extend' is not possible while the case is 'closed at stage 1'."
        );
        assert_eq!(
            ProcedureError::ExtensionBeyondCap {
                until: date!(2024 - 02 - 01),
                cap_date: date!(2024 - 01 - 19)
            }
            .to_string(),
            "The new date 1 February 2024 is beyond the stage 1 limit of 19 January 2024; move the concern to stage 2 instead."
        );
    }
}
