//! The report's figures as rows of display text, the single source for the CSV file and the
//! board paper, so the two can never disagree.

use serde::Serialize;

use crate::procedure::disclosure::DisclosedSplit;
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
    ("Received", "of which anonymous", |s| count(s.anonymous)),
    ("Received", "of which confidential", |s| {
        count(s.confidential)
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
    ("Extensions", "Stage 1 closures with an extension", |s| {
        share(s.extended.stage1)
    }),
    ("Extensions", "Stage 2 closures with an extension", |s| {
        share(s.extended.stage2)
    }),
];

/// Which columns the report has: overall always; NHS and local authority side by side for
/// partnerships, whose boards must see them separately.
pub fn columns(report: &BoardReport) -> Vec<&'static str> {
    if report.serves_nhs && report.serves_local_authority {
        vec!["All services", "NHS services", "Local-authority services"]
    } else {
        vec!["All services"]
    }
}

pub fn rows(report: &BoardReport) -> Vec<Row> {
    let splits: Vec<&DisclosedSplit> = if columns(report).len() == 3 {
        vec![
            &report.figures.overall,
            &report.figures.nhs,
            &report.figures.local_authority,
        ]
    } else {
        vec![&report.figures.overall]
    };
    MEASURES
        .iter()
        .map(|(section, measure, cell)| Row {
            section,
            measure,
            cells: splits.iter().map(|split| cell(split)).collect(),
        })
        .collect()
}
