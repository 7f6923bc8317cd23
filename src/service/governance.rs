//! The Standards' governance reporting: quarterly and annual figures straight from the case
//! records, the learning recorded at closure, and the lead's narrative. Reports carry no case
//! content, no references and no dates of anything a reporter did.

use serde::Serialize;
use time::{Date, Month};

use super::audit_log::{AuditHead, audit_head};
use super::sessions::Handler;
use super::{Portal, ServiceError, casefile};
use crate::model::{RequestKind, Role};
use crate::procedure::{
    CaseRecord, DisclosedKpis, Disclosure, Figure, Period, compute_kpis, disclose,
};
use crate::store::audit::{self, NewEntry};
use crate::store::learning::{self, LearningEntry};
use crate::store::organisations::{self, Organisation};
use crate::store::reporter_requests;
use crate::store::{Tx, cases, events, narratives};

/// Which version of the report: the published one (small numbers suppressed), or the board's
/// internal one (exact, if the organisation allows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportVersion {
    Published,
    Board,
}

/// The narrative sections the Standards ask for, written by the lead for the period.
pub const NARRATIVE_SECTIONS: [(&str, &str); 3] = [
    ("learning", "Learning, changes and improvements"),
    (
        "experiences",
        "Experiences of those who raised concerns or were involved",
    ),
    ("awareness", "Awareness and training"),
];

#[derive(Debug, Clone, Serialize)]
pub struct Narrative {
    pub section: &'static str,
    pub title: &'static str,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LearningItem {
    pub quarter: String,
    pub service: String,
    pub stage: String,
    pub body: String,
}

/// Publishable learning of one quarter, for the public "what changed" page.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterLearning {
    pub quarter: String,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardReport {
    pub organisation: String,
    pub organisation_slug: String,
    pub serves_nhs: bool,
    pub serves_local_authority: bool,
    pub generated_on: Date,
    /// True when the board version was asked for but the organisation only allows
    /// suppressed figures.
    pub exact_figures_withheld: bool,
    #[serde(flatten)]
    pub figures: DisclosedKpis,
    /// Reports of detriment (being treated badly for speaking up) made in the period, under
    /// the same small-number rule; they feed no other figure.
    pub detriment_reports: Figure,
    pub learning: Vec<LearningItem>,
    pub narratives: Vec<Narrative>,
    /// The audit log's head when the report was made: printed copies anchor the log outside
    /// the database (`speakup audit verify --expect-entries … --expect-head …`).
    pub audit_checkpoint: AuditHead,
}

/// Parses the period arguments used by the CLI and the API: `2026-Q4`, `2026`, or `2026/27`.
pub fn parse_period(text: &str) -> Result<Period, ServiceError> {
    let text = text.trim();
    let invalid = || {
        ServiceError::invalid(
            "invalid_period",
            "give a quarter like 2026-Q4, a year like 2026, or a financial year like 2026/27",
        )
    };
    if text.contains('Q') || text.contains('q') {
        return Period::parse_quarter(&text.to_uppercase()).map_err(|_| invalid());
    }
    if let Some((start, end)) = text.split_once('/') {
        let start: i32 = start.parse().map_err(|_| invalid())?;
        let end: i32 = end.parse().map_err(|_| invalid())?;
        if (start + 1).rem_euclid(100) != end.rem_euclid(100) {
            return Err(invalid());
        }
        return Period::financial_year(start).map_err(|_| invalid());
    }
    let year: i32 = text.parse().map_err(|_| invalid())?;
    Period::year(year).map_err(|_| invalid())
}

/// The calendar quarters a period touches, as stored on learning entries.
pub fn quarters_in(period: &Period) -> Vec<String> {
    let mut quarters = Vec::new();
    let mut year = period.start().year();
    let mut quarter = (u8::from(period.start().month()) - 1) / 3 + 1;
    loop {
        let first_month = Month::try_from((quarter - 1) * 3 + 1).unwrap_or(Month::January);
        let Ok(first_day) = Date::from_calendar_date(year, first_month, 1) else {
            break;
        };
        if first_day > period.end() || quarters.len() > 400 {
            break;
        }
        quarters.push(format!("{year}-Q{quarter}"));
        if quarter == 4 {
            quarter = 1;
            year += 1;
        } else {
            quarter += 1;
        }
    }
    quarters
}

fn case_records(tx: &mut Tx, organisation: &Organisation) -> Result<Vec<CaseRecord>, ServiceError> {
    let all = cases::in_organisation(tx, &organisation.id)?;
    let ids: Vec<_> = all.iter().map(|case| case.id.clone()).collect();
    let mut histories = events::for_cases(tx, &ids)?;
    all.into_iter()
        .map(|case| {
            Ok(CaseRecord {
                service: super::mailbox::parse_service(&case.service).ok_or_else(|| {
                    ServiceError::Internal(format!("case service {:?}", case.service))
                })?,
                anonymity: super::mailbox::parse_anonymity(&case.anonymity),
                channel: crate::model::Channel::parse(&case.channel).ok_or_else(|| {
                    ServiceError::Internal(format!("case channel {:?}", case.channel))
                })?,
                events: histories
                    .remove(&case.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|stored| stored.event)
                    .collect(),
            })
        })
        .collect()
}

fn build(
    tx: &mut Tx,
    organisation: Organisation,
    period: Period,
    version: ReportVersion,
    today: Date,
) -> Result<BoardReport, ServiceError> {
    let calendar = casefile::calendar_for(tx, &organisation)?;
    let settings = casefile::procedure_settings(&organisation);
    let records = case_records(tx, &organisation)?;
    let kpis = compute_kpis(&records, &calendar, &settings, period);
    let exact = version == ReportVersion::Board && organisation.board_exact_figures;
    let by_service = organisation.serves_nhs && organisation.serves_local_authority;
    let figures = if exact {
        disclose(&kpis, Disclosure::Internal, by_service, &[])
    } else {
        // A year's published figures must stay safe against its published quarters.
        let quarters: Vec<_> = period
            .quarters()
            .into_iter()
            .map(|quarter| compute_kpis(&records, &calendar, &settings, quarter))
            .collect();
        disclose(&kpis, Disclosure::Published, by_service, &quarters)
    };
    let detriment = reporter_requests::count_in_period(
        tx,
        &organisation.id,
        RequestKind::Detriment,
        period.start(),
        period.end(),
    )?;
    let detriment_reports = match u32::try_from(detriment).unwrap_or(u32::MAX) {
        1..=4 if !exact => Figure::FewerThan5,
        n => Figure::Count(n),
    };
    let learning = learning::in_quarters(
        tx,
        &organisation.id,
        &quarters_in(&period),
        version == ReportVersion::Published,
    )?
    .into_iter()
    .map(|entry: LearningEntry| LearningItem {
        quarter: entry.quarter,
        service: entry.service,
        stage: entry.stage,
        body: entry.body,
    })
    .collect();
    let written = narratives::for_period(tx, &organisation.id, &period.label())?;
    let narratives = NARRATIVE_SECTIONS
        .iter()
        .map(|(section, title)| Narrative {
            section,
            title,
            body: written
                .iter()
                .find(|(s, _)| s == section)
                .map(|(_, body)| body.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(BoardReport {
        organisation: organisation.name,
        organisation_slug: organisation.slug,
        serves_nhs: organisation.serves_nhs,
        serves_local_authority: organisation.serves_local_authority,
        generated_on: today,
        exact_figures_withheld: version == ReportVersion::Board && !exact,
        figures,
        detriment_reports,
        learning,
        narratives,
        audit_checkpoint: audit_head(tx)?,
    })
}

fn report_reader(tx: &mut Tx, handler: &Handler, slug: &str) -> Result<Organisation, ServiceError> {
    let organisation = organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
    let allowed =
        handler.user.role.may_read_reports() && handler.user.organisation_id == organisation.id;
    if allowed {
        Ok(organisation)
    } else {
        Err(ServiceError::NotFound)
    }
}

impl Portal {
    /// The report for an operator at the command line.
    pub fn kpi_report(
        &self,
        slug: &str,
        period: Period,
        version: ReportVersion,
    ) -> Result<BoardReport, ServiceError> {
        let today = self.clock.today();
        self.store.read(|tx| {
            let organisation = casefile::organisation(tx, slug)?;
            build(tx, organisation, period, version, today)
        })
    }

    /// The report for a lead or admin of the organisation; anyone else gets "not found".
    /// Every report produced is audited as an export.
    pub fn kpi_report_for(
        &self,
        handler: &Handler,
        slug: &str,
        period: Period,
        version: ReportVersion,
    ) -> Result<BoardReport, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let organisation = report_reader(tx, handler, slug)?;
            let organisation_id = organisation.id.clone();
            let report = build(tx, organisation, period, version, today)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(handler.user.id.as_str().to_owned()),
                    action: "report_exported",
                    organisation_id: Some(organisation_id.as_str().to_owned()),
                    detail: format!(
                        "period={} version={}",
                        period.label(),
                        if version == ReportVersion::Board {
                            "board"
                        } else {
                            "published"
                        }
                    ),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(report)
        })
    }

    /// The lead writes a narrative section for a period.
    pub fn set_narrative(
        &self,
        lead: &Handler,
        period: Period,
        section: &str,
        body: &str,
    ) -> Result<(), ServiceError> {
        if lead.user.role != Role::Lead {
            return Err(ServiceError::NotFound);
        }
        let section = NARRATIVE_SECTIONS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| *name == section)
            .ok_or_else(|| ServiceError::invalid("unknown_section", "unknown report section"))?;
        let body = body.trim();
        if body.chars().count() > 20_000 || body.contains('\0') {
            return Err(ServiceError::invalid(
                "field_too_long",
                "a section can be at most 20 000 characters",
            ));
        }
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            narratives::set(
                tx,
                &lead.user.organisation_id,
                &period.label(),
                section,
                body,
                &lead.user.id,
                now,
            )?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(lead.user.id.as_str().to_owned()),
                    action: "narrative_updated",
                    organisation_id: Some(lead.user.organisation_id.as_str().to_owned()),
                    detail: format!("period={} section={section}", period.label()),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }

    /// Learning marked publishable at closure, by quarter (newest first), for the public page.
    pub fn published_learning(
        &self,
        slug: &str,
    ) -> Result<(Organisation, Vec<QuarterLearning>), ServiceError> {
        self.store.read(|tx| {
            let organisation =
                organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound)?;
            let all_quarters: Vec<String> = quarters_in(
                &Period::new(
                    Date::from_calendar_date(2020, Month::January, 1)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                    self.clock.today(),
                )
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            );
            let entries = learning::in_quarters(tx, &organisation.id, &all_quarters, true)?;
            let mut grouped: Vec<QuarterLearning> = Vec::new();
            for entry in entries.into_iter().rev() {
                match grouped.last_mut() {
                    Some(last) if last.quarter == entry.quarter => last.items.push(entry.body),
                    _ => grouped.push(QuarterLearning {
                        quarter: entry.quarter,
                        items: vec![entry.body],
                    }),
                }
            }
            Ok((organisation, grouped))
        })
    }

    /// Procedure and reporting settings, from the command line.
    pub fn update_organisation_settings(
        &self,
        slug: &str,
        day_one_next_working_day: Option<bool>,
        stage1_extension_cap: Option<u32>,
        board_exact_figures: Option<bool>,
    ) -> Result<Organisation, ServiceError> {
        if let Some(cap) = stage1_extension_cap {
            crate::procedure::Settings::new(cap)
                .map_err(|error| ServiceError::invalid(error.code(), error.to_string()))?;
        }
        let now = self.clock.now_utc_naive();
        let today = self.clock.today();
        self.store.write(|tx| {
            let mut organisation = casefile::organisation(tx, slug)?;
            if let Some(next) = day_one_next_working_day {
                let rule = if next {
                    "next_working_day"
                } else {
                    "receipt_or_next_working_day"
                };
                // Today's concerns have already been told their day 1: the new rule starts
                // tomorrow, and the rule before it stays on record for every earlier day.
                if rule != organisation.day_one_rule {
                    let tomorrow = today.next_day().ok_or_else(|| {
                        ServiceError::invalid("date_out_of_range", "the date is out of range")
                    })?;
                    organisations::record_day_one_rule_change(
                        tx,
                        &organisation.id,
                        tomorrow,
                        rule,
                        &organisation.day_one_rule,
                        today,
                    )?;
                }
                organisation.day_one_rule = rule.to_owned();
            }
            if let Some(cap) = stage1_extension_cap {
                organisation.stage1_extension_cap = cap;
            }
            if let Some(exact) = board_exact_figures {
                organisation.board_exact_figures = exact;
            }
            organisations::update_settings(
                tx,
                &organisation.id,
                &organisation.day_one_rule,
                organisation.stage1_extension_cap,
                organisation.board_exact_figures,
            )?;
            // The day-one rule and the extension cap move open cases' windows.
            super::schedule::reschedule_organisation(
                tx,
                &organisation,
                super::schedule::Scope::Scheduled,
            )?;
            audit::append(
                tx,
                NewEntry {
                    action: "settings_changed",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    detail: format!(
                        "via=cli day_one={} stage1_cap={} board_exact={}",
                        organisation.day_one_rule,
                        organisation.stage1_extension_cap,
                        organisation.board_exact_figures
                    ),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(organisation)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_list_their_quarters() {
        assert_eq!(parse_period("2026-Q4").unwrap().label(), "2026-Q4");
        assert_eq!(parse_period("2026-q1").unwrap().label(), "2026-Q1");
        assert_eq!(parse_period("2026").unwrap().label(), "2026");
        assert_eq!(parse_period("2026/27").unwrap().label(), "2026/27");
        for bad in ["", "Q4", "2026-Q5", "2026/28", "twenty", "2026/ab"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
        assert_eq!(quarters_in(&parse_period("2026-Q4").unwrap()), ["2026-Q4"]);
        assert_eq!(
            quarters_in(&parse_period("2026").unwrap()),
            ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
        );
        assert_eq!(
            quarters_in(&parse_period("2026/27").unwrap()),
            ["2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"]
        );
    }
}
