//! The printable board paper: a standalone HTML document (its stylesheet embedded, charts as
//! inline SVG, no script) that a board could table unchanged.

use std::sync::LazyLock;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::charts::{Bar, bar_chart};
use super::table::{Row, columns, rows};
use crate::procedure::letters::long_date;
use crate::procedure::{Disclosure, Figure};
use crate::service::governance::BoardReport;
use crate::web::views;

const STYLE: &str = include_str!("../../../static/board-paper.css");

/// The paper's embedded stylesheet is allowed by its hash, so the portal's strict CSP still
/// forbids every other inline style.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = data_encoding::BASE64.encode(&Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

pub fn content_security_policy() -> &'static str {
    &CONTENT_SECURITY_POLICY
}

#[derive(Serialize)]
struct Section {
    title: &'static str,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct PaperView<'a> {
    report: &'a BoardReport,
    style: &'static str,
    exact: bool,
    period_label: String,
    period_name: String,
    period_start: String,
    period_end: String,
    generated_on: String,
    summary: String,
    columns: Vec<&'static str>,
    sections: Vec<Section>,
    chart_closed: String,
    chart_outcomes: String,
    chart_timescales: String,
    narrative_learning: String,
    narrative_experiences: String,
    narrative_awareness: String,
}

/// "2026-Q4" → "October to December 2026"; years and financial years read naturally too.
pub fn period_name(label: &str) -> String {
    if let Some((year, quarter)) = label.split_once("-Q") {
        let months = match quarter {
            "1" => "January to March",
            "2" => "April to June",
            "3" => "July to September",
            _ => "October to December",
        };
        return format!("{months} {year}");
    }
    if label.contains('/') {
        return format!("the financial year {label}");
    }
    label.to_owned()
}

fn figure_words(figure: Figure) -> String {
    match figure {
        Figure::Count(n) => n.to_string(),
        Figure::FewerThan5 => "fewer than 5".to_owned(),
        Figure::Suppressed => "a suppressed number of".to_owned(),
    }
}

fn summary(report: &BoardReport) -> String {
    let overall = &report.figures.overall;
    let anonymous = &report.figures.anonymous.overall;
    let text = format!(
        "{} concerns were raised under the Standards and {} were closed ({} at stage 1 and {} at stage 2). Of the concerns handled at stage 1, {} had an authorised extension; at stage 2, {}. {} anonymous concerns were received, counted apart. Whistleblowers reported detriment (being treated badly for speaking up) {} times.",
        figure_words(overall.received),
        figure_words(overall.closed.total),
        figure_words(overall.closed.stage1.count),
        figure_words(overall.closed.stage2.count),
        figure_words(overall.extended.stage1.count),
        figure_words(overall.extended.stage2.count),
        figure_words(anonymous.received),
        figure_words(report.detriment_reports),
    );
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => text,
    }
}

fn narrative(report: &BoardReport, section: &str) -> String {
    report
        .narratives
        .iter()
        .find(|n| n.section == section)
        .map(|n| n.body.clone())
        .unwrap_or_default()
}

pub fn render(report: &BoardReport) -> Result<String, String> {
    let overall = &report.figures.overall;
    let period = report.figures.period.0;
    let all_rows = rows(report);
    let mut sections: Vec<Section> = Vec::new();
    for row in all_rows {
        match sections.last_mut() {
            Some(section) if section.title == row.section => section.rows.push(row),
            _ => sections.push(Section {
                title: row.section,
                rows: vec![row],
            }),
        }
    }
    let stage1 = &overall.outcomes.stage1;
    let stage2 = &overall.outcomes.stage2;
    let view = PaperView {
        report,
        style: STYLE,
        exact: report.figures.disclosure == Disclosure::Internal,
        period_label: period.label(),
        period_name: period_name(&period.label()),
        period_start: long_date(period.start()),
        period_end: long_date(period.end()),
        generated_on: long_date(report.generated_on),
        summary: summary(report),
        columns: columns(report),
        sections,
        chart_closed: bar_chart(
            "Concerns received and closed",
            &[
                Bar {
                    label: "Received",
                    figure: overall.received,
                },
                Bar {
                    label: "Closed at stage 1",
                    figure: overall.closed.stage1.count,
                },
                Bar {
                    label: "Closed at stage 2",
                    figure: overall.closed.stage2.count,
                },
            ],
        ),
        chart_outcomes: bar_chart(
            "Outcomes of closed concerns",
            &[
                Bar {
                    label: "Stage 1 upheld",
                    figure: stage1.upheld.count,
                },
                Bar {
                    label: "Stage 1 partially upheld",
                    figure: stage1.partially_upheld.count,
                },
                Bar {
                    label: "Stage 1 not upheld",
                    figure: stage1.not_upheld.count,
                },
                Bar {
                    label: "Stage 2 upheld",
                    figure: stage2.upheld.count,
                },
                Bar {
                    label: "Stage 2 partially upheld",
                    figure: stage2.partially_upheld.count,
                },
                Bar {
                    label: "Stage 2 not upheld",
                    figure: stage2.not_upheld.count,
                },
            ],
        ),
        chart_timescales: bar_chart(
            "Closed within the Standards' timescales",
            &[
                Bar {
                    label: "Stage 1 within 5 days",
                    figure: overall.within_timescale.stage1.on_time.count,
                },
                Bar {
                    label: "Stage 1 within extension",
                    figure: overall.within_timescale.stage1.within_extension.count,
                },
                Bar {
                    label: "Stage 1 late",
                    figure: overall.within_timescale.stage1.late.count,
                },
                Bar {
                    label: "Stage 2 within 20 days",
                    figure: overall.within_timescale.stage2.on_time.count,
                },
                Bar {
                    label: "Stage 2 within extension",
                    figure: overall.within_timescale.stage2.within_extension.count,
                },
                Bar {
                    label: "Stage 2 late",
                    figure: overall.within_timescale.stage2.late.count,
                },
            ],
        ),
        narrative_learning: narrative(report, "learning"),
        narrative_experiences: narrative(report, "experiences"),
        narrative_awareness: narrative(report, "awareness"),
    };
    views::render("report/board_paper.html", &view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_have_plain_names() {
        assert_eq!(period_name("2026-Q4"), "October to December 2026");
        assert_eq!(period_name("2026-Q1"), "January to March 2026");
        assert_eq!(period_name("2026/27"), "the financial year 2026/27");
        assert_eq!(period_name("2026"), "2026");
    }

    #[test]
    fn the_policy_allows_exactly_the_embedded_style() {
        let policy = content_security_policy();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
