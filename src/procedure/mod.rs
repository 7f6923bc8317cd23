//! The procedure of the National Whistleblowing Standards, as pure functions: the working-day
//! calendar, the stages and their deadlines, signposting, and the KPI figures with disclosure
//! control. Nothing here reads the clock, the database or the network: "today" is always an
//! argument, so every answer can be reproduced and tested.

pub mod calendar;
pub mod dates;
pub mod deadlines;
pub mod disclosure;
pub mod easter;
pub mod error;
pub mod holidays;
pub mod kpi;
pub mod letters;
pub mod reminders;
pub mod retention;
pub mod signposting;
pub mod stages;
pub mod steps;

pub use calendar::{
    Calendar, CalendarChange, CalendarChangeKind, DayOneRule, LocalHoliday, check_changeable,
};
pub use dates::{date_words, parse_iso_date, parse_typed_date};
pub use deadlines::{DeadlineKind, Due, ProcedureStage, Urgency, UrgencyLevel, Window};
pub use disclosure::{DisclosedKpis, Disclosure, Figure, Percent, Share, disclose};
pub use error::ProcedureError;
pub use holidays::Holiday;
pub use kpi::{CaseRecord, Kpis, Period, compute_kpis};
pub use reminders::{
    Milestone, Obligation, ReminderDue, ScheduledWindow, due_reminder, milestone_day, next_check,
};
pub use retention::Retention;
pub use signposting::{
    Anonymity, IntakeExplainer, NotWhistleblowingKind, Route, Service, Signpost, SignpostRequest,
    Topic, intake_explainer, signposts,
};
pub use stages::{
    CaseProcedure, Closure, EscalationReason, Event, EventKind, EventType, Outcome, Settings,
    Stage, State, Status, Timeliness,
};

#[cfg(test)]
mod stages_tests;

#[cfg(test)]
mod kpi_tests;

#[cfg(test)]
mod kpi_year_tests;
