//! The report's figures as rows of display text, the single source for the CSV file and the
//! board paper, so the two can never disagree.

use serde::Serialize;

use crate::procedure::disclosure::{ByService, DisclosedSplit};
use crate::procedure::{Figure, Percent, Share};
use crate::service::governance::BoardReport;

pub fn figure_text(figure: Figure) -> String {
    match figure {
        Figure::Count(n) => n.to_string(),
        Figure::FewerThan5 => "fewer than 5".to_owned(),
        Figure::Suppressed => "suppressed".to_owned(),
    }
}

pub fn percent_text(percent: Percent) -> String {
    match percent {
        Percent::Value(value) => format!("{value:.1}%"),
        Percent::Suppressed => "suppressed".to_owned(),
        Percent::NotApplicable => "–".to_owned(),
    }
}

fn days_text(average: Percent) -> String {
    match average {
        Percent::Value(value) => format!("{value:.1}"),
        Percent::Suppressed => "suppressed".to_owned(),
        Percent::NotApplicable => "–".to_owned(),
    }
}

/// One measure for one split: a count and, where the Standards ask for one, its percentage.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub count: String,
    pub percent: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub section: &'static str,
    pub measure: &'static str,
    /// Overall, then NHS and local authority when the organisation delivers both.
    pub cells: Vec<Cell>,
}

fn count(figure: Figure) -> Cell {
    Cell {
        count: figure_text(figure),
        percent: String::new(),
    }
}

fn share(share: Share) -> Cell {
    Cell {
        count: figure_text(share.count),
        // Nothing to divide by: the count alone says it.
        percent: match share.percent {
            Percent::NotApplicable => String::new(),
            other => percent_text(other),
        },
    }
}

fn average(average: Percent) -> Cell {
    Cell {
        count: days_text(average),
        percent: String::new(),
    }
}

type Measure = (&'static str, &'static str, fn(&DisclosedSplit) -> Cell);

const MEASURES: &[Measure] = &[
    ("Received", "Concerns received", |s| count(s.received)),
    ("Received", "of which through this portal", |s| {
        count(s.received_by_channel.portal)
    }),
    ("Received", "of which in person", |s| {
        count(s.received_by_channel.in_person)
    }),
    ("Received", "of which by phone", |s| {
        count(s.received_by_channel.phone)
    }),
    ("Received", "of which by e-mail", |s| {
        count(s.received_by_channel.email)
    }),
    ("Received", "of which by letter", |s| {
        count(s.received_by_channel.letter)
    }),
    ("Received", "of which to a line manager", |s| {
        count(s.received_by_channel.line_manager)
    }),
    ("Received", "of which another way", |s| {
        count(s.received_by_channel.other)
    }),
    ("Received", "Not whistleblowing (other procedure)", |s| {
        count(s.not_whistleblowing)
    }),
    ("Received", "Withdrawn", |s| count(s.withdrawn)),
    ("Closed", "Concerns closed", |s| count(s.closed.total)),
    ("Closed", "Closed at stage 1 (% of all closed)", |s| {
        share(s.closed.stage1)
    }),
    ("Closed", "Closed at stage 2 (% of all closed)", |s| {
        share(s.closed.stage2)
    }),
    ("Outcomes", "Stage 1 upheld (% of stage 1 closures)", |s| {
        share(s.outcomes.stage1.upheld)
    }),
    ("Outcomes", "Stage 1 partially upheld", |s| {
        share(s.outcomes.stage1.partially_upheld)
    }),
    ("Outcomes", "Stage 1 not upheld", |s| {
        share(s.outcomes.stage1.not_upheld)
    }),
    ("Outcomes", "Stage 2 upheld (% of stage 2 closures)", |s| {
        share(s.outcomes.stage2.upheld)
    }),
    ("Outcomes", "Stage 2 partially upheld", |s| {
        share(s.outcomes.stage2.partially_upheld)
    }),
    ("Outcomes", "Stage 2 not upheld", |s| {
        share(s.outcomes.stage2.not_upheld)
    }),
    (
        "Response times",
        "Stage 1 average working days to full response",
        |s| average(s.average_working_days.stage1),
    ),
    (
        "Response times",
        "Stage 2 average working days to full response",
        |s| average(s.average_working_days.stage2),
    ),
    (
        "Response times",
        "Stage 1 closed within 5 working days",
        |s| share(s.within_timescale.stage1.on_time),
    ),
    (
        "Response times",
        "Stage 1 closed later, within an authorised extension",
        |s| share(s.within_timescale.stage1.within_extension),
    ),
    ("Response times", "Stage 1 closed late", |s| {
        share(s.within_timescale.stage1.late)
    }),
    (
        "Response times",
        "Stage 2 closed within 20 working days",
        |s| share(s.within_timescale.stage2.on_time),
    ),
    (
        "Response times",
        "Stage 2 closed later, within an authorised extension",
        |s| share(s.within_timescale.stage2.within_extension),
    ),
    ("Response times", "Stage 2 closed late", |s| {
        share(s.within_timescale.stage2.late)
    }),
    ("Stages", "Concerns handled at stage 1", |s| {
        count(s.handled.stage1)
    }),
    ("Stages", "Concerns handled at stage 2", |s| {
        count(s.handled.stage2)
    }),
    ("Stages", "Placed at stage 2 in the period", |s| {
        count(s.stage2_entered.total)
    }),
    ("Stages", "of which escalated from stage 1", |s| {
        share(s.stage2_entered.escalated)
    }),
    ("Stages", "of which straight to stage 2", |s| {
        share(s.stage2_entered.direct)
    }),
    (
        "Extensions",
        "Stage 1 concerns with an authorised extension (% of stage 1 concerns handled)",
        |s| share(s.extended.stage1),
    ),
    (
        "Extensions",
        "Stage 2 concerns with an authorised extension (% of stage 2 concerns handled)",
        |s| share(s.extended.stage2),
    ),
];

/// Anonymous concerns are looked into but are outside the Standards: a shorter table of their
/// own, never added into the Standards' figures.
const ANONYMOUS_SECTION: &str = "Anonymous concerns (outside the Standards)";

type AnonymousMeasure = (&'static str, fn(&DisclosedSplit) -> Cell);

const ANONYMOUS_MEASURES: &[AnonymousMeasure] = &[
    ("Anonymous concerns received", |s| count(s.received)),
    ("Anonymous concerns closed", |s| count(s.closed.total)),
    ("Closed at stage 1", |s| share(s.closed.stage1)),
    ("Closed at stage 2", |s| share(s.closed.stage2)),
    ("Stage 1 average working days to full response", |s| {
        average(s.average_working_days.stage1)
    }),
    ("Stage 2 average working days to full response", |s| {
        average(s.average_working_days.stage2)
    }),
];

/// Which columns the report has: for partnerships, NHS and local-authority services apart
/// (the NHS board monitors its NHS services on their own) and then both together; otherwise the
/// one service the organisation delivers.
pub fn columns(report: &BoardReport) -> Vec<&'static str> {
    match (report.serves_nhs, report.serves_local_authority) {
        (true, true) => vec!["NHS services", "Local-authority services", "Both services"],
        (false, true) => vec!["Local-authority services"],
        _ => vec!["NHS services"],
    }
}

fn splits_of<'a>(
    overall: &'a DisclosedSplit,
    by_service: Option<&'a ByService>,
) -> Vec<&'a DisclosedSplit> {
    match by_service {
        Some(by) => vec![&by.nhs, &by.local_authority, overall],
        None => vec![overall],
    }
}

pub fn rows(report: &BoardReport) -> Vec<Row> {
    let figures = &report.figures;
    let standards = splits_of(&figures.overall, figures.by_service.as_ref());
    let anonymous = splits_of(
        &figures.anonymous.overall,
        figures.anonymous.by_service.as_ref(),
    );
    MEASURES
        .iter()
        .map(|(section, measure, cell)| Row {
            section,
            measure,
            cells: standards.iter().map(|split| cell(split)).collect(),
        })
        .chain(ANONYMOUS_MEASURES.iter().map(|(measure, cell)| Row {
            section: ANONYMOUS_SECTION,
            measure,
            cells: anonymous.iter().map(|split| cell(split)).collect(),
        }))
        .collect()
}
