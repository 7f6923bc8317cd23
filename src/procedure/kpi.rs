//! The Standards' key performance indicators, counted from case histories.
//!
//! These are the raw numbers, for internal use and as the input of
//! [`disclose`](super::disclosure::disclose), which applies small-number suppression before
//! anything leaves the organisation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::calendar::Calendar;
use super::dates::iso_date;
use super::deadlines::ProcedureStage;
use super::error::ProcedureError;
use super::signposting::{Anonymity, Service};
use crate::model::Channel;

/// How many channels a concern can arrive by.
pub const CHANNELS: usize = 7;
use super::stages::{CaseProcedure, Event, Outcome, Settings, State, Timeliness};

/// One case as the report sees it: no content, only what the figures need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub service: Service,
    pub anonymity: Anonymity,
    /// How it reached the organisation (the portal or another channel a contact recorded).
    pub channel: Channel,
    pub events: Vec<Event>,
}

/// A reporting period, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "iso_date")]
    start: Date,
    #[serde(with = "iso_date")]
    end: Date,
}

impl Period {
    pub fn new(start: Date, end: Date) -> Result<Self, ProcedureError> {
        if end < start {
            return Err(ProcedureError::InvalidPeriod { start, end });
        }
        Ok(Self { start, end })
    }

    /// Calendar quarter `q` (1–4) of `year`: Q1 is January to March.
    pub fn quarter(year: i32, q: u8) -> Result<Self, ProcedureError> {
        let invalid = || ProcedureError::InvalidQuarter {
            input: format!("{year}-Q{q}"),
        };
        if !(1..=4).contains(&q) {
            return Err(invalid());
        }
        let first = Month::try_from(3 * q - 2).map_err(|_| invalid())?;
        let last = Month::try_from(3 * q).map_err(|_| invalid())?;
        let start = Date::from_calendar_date(year, first, 1).map_err(|_| invalid())?;
        let end = Date::from_calendar_date(year, last, last.length(year)).map_err(|_| invalid())?;
        Self::new(start, end)
    }

    /// 1 January to 31 December.
    pub fn year(year: i32) -> Result<Self, ProcedureError> {
        let start = Date::from_calendar_date(year, Month::January, 1)
            .map_err(|_| ProcedureError::YearOutOfRange { year })?;
        let end = Date::from_calendar_date(year, Month::December, 31)
            .map_err(|_| ProcedureError::YearOutOfRange { year })?;
        Self::new(start, end)
    }

    /// The NHS financial year that starts on 1 April of `start_year`, for annual reports.
    pub fn financial_year(start_year: i32) -> Result<Self, ProcedureError> {
        let out = |year| ProcedureError::YearOutOfRange { year };
        let start =
            Date::from_calendar_date(start_year, Month::April, 1).map_err(|_| out(start_year))?;
        let end_year = start_year.checked_add(1).ok_or(out(start_year))?;
        let end =
            Date::from_calendar_date(end_year, Month::March, 31).map_err(|_| out(end_year))?;
        Self::new(start, end)
    }

    /// Parses `YYYY-Qn` (the `q` may be lower case).
    pub fn parse_quarter(input: &str) -> Result<Self, ProcedureError> {
        let invalid = || ProcedureError::InvalidQuarter {
            input: input.to_owned(),
        };
        let (year, quarter) = input.split_once('-').ok_or_else(invalid)?;
        let quarter = quarter
            .strip_prefix('Q')
            .or_else(|| quarter.strip_prefix('q'))
            .ok_or_else(invalid)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || quarter.len() != 1 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let quarter: u8 = quarter.parse().map_err(|_| invalid())?;
        Self::quarter(year, quarter).map_err(|_| invalid())
    }

    pub fn start(&self) -> Date {
        self.start
    }

    pub fn end(&self) -> Date {
        self.end
    }

    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// The calendar quarters that exactly make up this period, when it is longer than one and
    /// starts and ends on quarter boundaries (a calendar or financial year); otherwise none.
    /// Their figures are published on their own, so this period's must be safe against them.
    pub fn quarters(&self) -> Vec<Period> {
        let mut quarters = Vec::new();
        let mut year = self.start.year();
        let mut q = (u8::from(self.start.month()) - 1) / 3 + 1;
        while let Ok(quarter) = Self::quarter(year, q) {
            if quarter.end > self.end || quarters.len() > 400 {
                break;
            }
            quarters.push(quarter);
            if q == 4 {
                q = 1;
                year += 1;
            } else {
                q += 1;
            }
        }
        let tiles = quarters
            .first()
            .is_some_and(|first| first.start == self.start)
            && quarters.last().is_some_and(|last| last.end == self.end);
        if tiles && quarters.len() > 1 {
            quarters
        } else {
            Vec::new()
        }
    }

    /// `2024-Q1` for a calendar quarter, `2024` for a calendar year, `2024/25` for a financial
    /// year, otherwise `2024-01-15..2024-02-14`.
    pub fn label(&self) -> String {
        let year = self.start.year();
        for q in 1..=4 {
            if Self::quarter(year, q).ok() == Some(*self) {
                return format!("{year}-Q{q}");
            }
        }
        if Self::year(year).ok() == Some(*self) {
            return year.to_string();
        }
        if Self::financial_year(year).ok() == Some(*self) {
            return format!("{year}/{:02}", (year + 1).rem_euclid(100));
        }
        format!("{}..{}", self.start, self.end)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for Period {
    type Err = ProcedureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_quarter(s)
    }
}

/// One stage's figures within the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StageKpis {
    /// Concerns at this stage on any day of the period: the Standards' "concerns handled at
    /// that stage", the base of the extension percentage.
    pub handled: u32,
    /// Of those handled, how many had an extension authorised at this stage by the period's end.
    pub extended: u32,
    pub closed: u32,
    pub upheld: u32,
    pub partially_upheld: u32,
    pub not_upheld: u32,
    /// Sum over closures of working days from day 1 to closure, both included.
    pub working_days_total: u64,
    /// Closed by day 5 (stage 1) or day 20 (stage 2).
    pub on_time: u32,
    /// Closed after that, but by an authorised extended date: not late.
    pub within_extension: u32,
    pub late: u32,
}

impl StageKpis {
    fn add_closure(&mut self, outcome: Outcome, working_days: u32, timeliness: Timeliness) {
        self.closed += 1;
        match outcome {
            Outcome::Upheld => self.upheld += 1,
            Outcome::PartiallyUpheld => self.partially_upheld += 1,
            Outcome::NotUpheld => self.not_upheld += 1,
        }
        self.working_days_total += u64::from(working_days);
        match timeliness {
            Timeliness::OnTime => self.on_time += 1,
            Timeliness::WithinExtension => self.within_extension += 1,
            Timeliness::Late => self.late += 1,
        }
    }

    pub fn outcome(&self, outcome: Outcome) -> u32 {
        match outcome {
            Outcome::Upheld => self.upheld,
            Outcome::PartiallyUpheld => self.partially_upheld,
            Outcome::NotUpheld => self.not_upheld,
        }
    }

    /// Average working days to full response, to one decimal place; `None` with no closures.
    pub fn average_working_days(&self) -> Option<f64> {
        ratio_1dp(self.working_days_total, u64::from(self.closed), 1)
    }
}

/// `numerator / denominator × scale`, rounded half up to one decimal place, in integers so the
/// published figure never depends on floating-point accidents.
pub(crate) fn ratio_1dp(numerator: u64, denominator: u64, scale: u64) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    let tenths = (numerator * scale * 20 + denominator) / (2 * denominator);
    // Tenths of a working day or a per cent fit easily in an f64 mantissa.
    Some(tenths as f64 / 10.0)
}

/// All figures for one set of cases (one service, or both together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SplitKpis {
    /// Cases received in the period.
    pub received: u32,
    /// The same, by how they were raised, in the order of [`Channel::ALL`].
    pub received_by_channel: [u32; CHANNELS],
    /// Of those received in the period, found not to be whistleblowing by the end of it.
    pub not_whistleblowing: u32,
    /// Of those received in the period, withdrawn by the end of it.
    pub withdrawn: u32,
    pub stage1: StageKpis,
    pub stage2: StageKpis,
    /// Cases placed at stage 2 in the period after stage 1 (escalated, or asked for by the
    /// reporter after a stage 1 response).
    pub stage2_escalated: u32,
    /// Cases placed at stage 2 in the period straight from receipt.
    pub stage2_direct: u32,
}

impl SplitKpis {
    pub fn stage(&self, stage: ProcedureStage) -> &StageKpis {
        match stage {
            ProcedureStage::Stage1 => &self.stage1,
            ProcedureStage::Stage2 => &self.stage2,
        }
    }

    fn stage_mut(&mut self, stage: ProcedureStage) -> &mut StageKpis {
        match stage {
            ProcedureStage::Stage1 => &mut self.stage1,
            ProcedureStage::Stage2 => &mut self.stage2,
        }
    }

    /// Closures at both stages; a case closed at stage 1 and then at stage 2 counts twice.
    pub fn closed(&self) -> u32 {
        self.stage1.closed + self.stage2.closed
    }

    /// Cases placed at stage 2 in the period.
    pub fn stage2_entered(&self) -> u32 {
        self.stage2_escalated + self.stage2_direct
    }
}

/// One group's figures: both services together, and each service apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupKpis {
    pub overall: SplitKpis,
    pub nhs: SplitKpis,
    pub local_authority: SplitKpis,
}

impl GroupKpis {
    pub fn split(&self, service: Option<Service>) -> &SplitKpis {
        match service {
            None => &self.overall,
            Some(Service::Nhs) => &self.nhs,
            Some(Service::LocalAuthority) => &self.local_authority,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpis {
    pub period: Period,
    /// Concerns handled under the Standards: raised by someone who gave their name, in
    /// confidence.
    pub standards: GroupKpis,
    /// Anonymous concerns: looked into, but outside the Standards (they cannot go to the INWO),
    /// so counted apart and never mixed into the Standards' figures.
    pub anonymous: GroupKpis,
    /// Cases whose stored history could not be replayed and so are in no figure. Should be 0;
    /// anything else is a data problem to investigate, shown rather than hidden.
    pub unreadable: u32,
}

impl Kpis {
    pub fn group(&self, anonymity: Anonymity) -> &GroupKpis {
        match anonymity {
            Anonymity::Confidential => &self.standards,
            Anonymity::Anonymous => &self.anonymous,
        }
    }
}

/// Counts the period's figures. Receipts count by the date received, closures by the date
/// closed, stages by the days the case was at them; each case is seen as it stood at the end of
/// the period, so a report can be run again later and give the same answer.
pub fn compute_kpis(
    cases: &[CaseRecord],
    calendar: &Calendar,
    settings: &Settings,
    period: Period,
) -> Kpis {
    let mut kpis = Kpis {
        period,
        standards: GroupKpis::default(),
        anonymous: GroupKpis::default(),
        unreadable: 0,
    };
    for record in cases {
        let known: Vec<Event> = record
            .events
            .iter()
            .copied()
            .filter(|e| e.on <= period.end())
            .collect();
        if known.is_empty() {
            continue;
        }
        let Ok(case) = CaseProcedure::from_recorded(&known, calendar, settings) else {
            kpis.unreadable += 1;
            continue;
        };
        let group = match record.anonymity {
            Anonymity::Confidential => &mut kpis.standards,
            Anonymity::Anonymous => &mut kpis.anonymous,
        };
        count_case(&mut group.overall, &case, record.channel, period);
        let service = match record.service {
            Service::Nhs => &mut group.nhs,
            Service::LocalAuthority => &mut group.local_authority,
        };
        count_case(service, &case, record.channel, period);
    }
    kpis
}

fn count_case(split: &mut SplitKpis, case: &CaseProcedure, channel: Channel, period: Period) {
    if period.contains(case.received_on()) {
        split.received += 1;
        if let Some(slot) = Channel::ALL.iter().position(|c| *c == channel) {
            split.received_by_channel[slot] += 1;
        }
        match case.state() {
            State::NotWhistleblowing => split.not_whistleblowing += 1,
            State::Withdrawn => split.withdrawn += 1,
            _ => {}
        }
    }
    for spell in case.spells() {
        if spell.overlaps(period.start(), period.end()) {
            let stage = split.stage_mut(spell.stage);
            stage.handled += 1;
            if spell.extended {
                stage.extended += 1;
            }
        }
        if spell.stage == ProcedureStage::Stage2 && period.contains(spell.from) {
            if spell.escalated {
                split.stage2_escalated += 1;
            } else {
                split.stage2_direct += 1;
            }
        }
    }
    for closure in case.closures() {
        if period.contains(closure.closed_on) {
            split.stage_mut(closure.stage).add_closure(
                closure.outcome,
                closure.working_days,
                closure.timeliness(),
            );
        }
    }
}
