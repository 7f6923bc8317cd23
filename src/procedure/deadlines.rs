//! The clocks of the two stages. Deadlines are always derived from the events and the calendar,
//! never stored, so a corrected holiday list corrects every open case at once.

use serde::{Deserialize, Serialize};
use time::Date;

use super::calendar::Calendar;
use super::dates::iso_date;
use super::error::ProcedureError;
use super::stages::Settings;

/// Stage 1: full response within 5 working days.
pub const STAGE1_WORKING_DAYS: u32 = 5;
/// Stage 2: acknowledge within 3 working days.
pub const STAGE2_ACKNOWLEDGE_WORKING_DAYS: u32 = 3;
/// Stage 2: full response within 20 working days.
pub const STAGE2_WORKING_DAYS: u32 = 20;
/// Stage 2 while extended: tell the reporter how things stand at least this often.
pub const UPDATE_INTERVAL_WORKING_DAYS: u32 = 20;

/// One of the two stages of the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureStage {
    Stage1,
    Stage2,
}

impl ProcedureStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stage1 => "stage1",
            Self::Stage2 => "stage2",
        }
    }
}

/// What is due next on a case. Only obligations still outstanding are given: once the concern is
/// acknowledged `acknowledge_by` is `None`, and a closed case has nothing due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Due {
    #[serde(with = "iso_date::option", default)]
    pub acknowledge_by: Option<Date>,
    #[serde(with = "iso_date::option", default)]
    pub respond_by: Option<Date>,
    #[serde(with = "iso_date::option", default)]
    pub update_by: Option<Date>,
    pub extended: bool,
    /// True while the concern is not yet triaged: the stage 1 clock is shown because it is
    /// already running, but the concern may still go to stage 2 or out of the procedure.
    pub provisional: bool,
}

/// Which obligation an [`Urgency`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Acknowledge,
    Respond,
    Update,
}

/// How close the most pressing obligation is, for colouring case lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgencyLevel {
    Fine,
    Over50,
    Over75,
    Over90,
    Overdue,
}

impl UrgencyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fine => "fine",
            Self::Over50 => "over50",
            Self::Over75 => "over75",
            Self::Over90 => "over90",
            Self::Overdue => "overdue",
        }
    }

    /// Thresholds are "more than": the last allowed day of a 5-day clock is 100% used, so it shows
    /// as `Over90`, and only the day after is `Overdue`.
    pub fn from_share(share: f64, overdue: bool) -> Self {
        if overdue {
            Self::Overdue
        } else if share > 0.9 {
            Self::Over90
        } else if share > 0.75 {
            Self::Over75
        } else if share > 0.5 {
            Self::Over50
        } else {
            Self::Fine
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Urgency {
    pub deadline: DeadlineKind,
    #[serde(with = "iso_date")]
    pub due: Date,
    /// Working days used so far, counting the first day of the window as 1.
    pub used: u32,
    /// Working days the window allows, up to and including the due date.
    pub allowed: u32,
    /// `used / allowed`; above 1 once overdue.
    pub share: f64,
    pub level: UrgencyLevel,
}

/// One running obligation: its window runs from `start` to `due`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub stage: ProcedureStage,
    pub deadline: DeadlineKind,
    pub start: Date,
    pub due: Date,
}

/// The running clock of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StageClock {
    pub stage: ProcedureStage,
    pub day_one: Date,
    /// Day 5 or day 20: what "within timescale" is measured against.
    pub standard_due: Date,
    /// The standard due date or the latest authorised extension.
    pub respond_by: Date,
    pub extended: bool,
    pub acknowledge_by: Option<Date>,
    pub acknowledged_on: Option<Date>,
    /// The latest extension or update at this stage: the update clock restarts from it.
    pub last_contact: Option<Date>,
    pub update_by: Option<Date>,
    /// Stage 1 only: the latest date an extension may reach.
    pub cap_date: Option<Date>,
}

impl StageClock {
    pub fn stage1(
        calendar: &Calendar,
        settings: &Settings,
        received: Date,
    ) -> Result<Self, ProcedureError> {
        let day_one = calendar.day_one(received)?;
        let standard_due = calendar.nth_working_day(day_one, STAGE1_WORKING_DAYS)?;
        let cap_date = calendar.nth_working_day(day_one, settings.stage1_extension_cap())?;
        Ok(Self {
            stage: ProcedureStage::Stage1,
            day_one,
            standard_due,
            respond_by: standard_due,
            extended: false,
            acknowledge_by: None,
            acknowledged_on: None,
            last_contact: None,
            update_by: None,
            cap_date: Some(cap_date),
        })
    }

    /// `start` is the date of receipt when the concern went straight to stage 2, otherwise the
    /// date it moved to stage 2.
    pub fn stage2(calendar: &Calendar, start: Date) -> Result<Self, ProcedureError> {
        let day_one = calendar.day_one(start)?;
        let standard_due = calendar.nth_working_day(day_one, STAGE2_WORKING_DAYS)?;
        let acknowledge_by = calendar.nth_working_day(day_one, STAGE2_ACKNOWLEDGE_WORKING_DAYS)?;
        Ok(Self {
            stage: ProcedureStage::Stage2,
            day_one,
            standard_due,
            respond_by: standard_due,
            extended: false,
            acknowledge_by: Some(acknowledge_by),
            acknowledged_on: None,
            last_contact: None,
            update_by: None,
            cap_date: None,
        })
    }

    /// When `check` is false the extension is taken as recorded: history written under an older
    /// calendar must still load after the holidays change.
    pub fn extend(
        &mut self,
        calendar: &Calendar,
        on: Date,
        until: Date,
        check: bool,
    ) -> Result<(), ProcedureError> {
        if check {
            if !calendar.is_working_day(until) {
                return Err(ProcedureError::ExtensionNotWorkingDay { until });
            }
            if until <= self.respond_by {
                return Err(ProcedureError::ExtensionNotLater {
                    until,
                    current: self.respond_by,
                });
            }
            if let Some(cap_date) = self.cap_date
                && until > cap_date
            {
                return Err(ProcedureError::ExtensionBeyondCap { until, cap_date });
            }
            // Extending after the deadline has passed would turn late responses into
            // "within an authorised extension" in the published figures.
            if on > self.respond_by {
                return Err(ProcedureError::ExtensionTooLate {
                    on,
                    due: self.respond_by,
                });
            }
        }
        self.respond_by = until;
        self.extended = true;
        self.contacted(calendar, on)
    }

    pub fn contacted(&mut self, calendar: &Calendar, on: Date) -> Result<(), ProcedureError> {
        if self.stage != ProcedureStage::Stage2 {
            return Ok(());
        }
        self.last_contact = Some(on);
        if self.extended {
            // Day 1 of the update window is the first working day after the contact, so an
            // update on any day buys a full 20 working days.
            let window_start = calendar.next_working_day_after(on)?;
            self.update_by =
                Some(calendar.nth_working_day(window_start, UPDATE_INTERVAL_WORKING_DAYS)?);
        }
        Ok(())
    }

    pub fn acknowledge(&mut self, on: Date) -> Result<(), ProcedureError> {
        if self.acknowledged_on.is_some() {
            return Err(ProcedureError::AlreadyAcknowledged);
        }
        self.acknowledged_on = Some(on);
        Ok(())
    }

    pub fn due(&self, provisional: bool) -> Due {
        Due {
            acknowledge_by: self
                .acknowledge_by
                .filter(|_| self.acknowledged_on.is_none()),
            respond_by: Some(self.respond_by),
            update_by: self.update_by,
            extended: self.extended,
            provisional,
        }
    }

    /// The outstanding obligations of this stage, each with the first and last day of its window.
    pub fn windows(&self, calendar: &Calendar) -> Vec<Window> {
        let due = self.due(false);
        let mut windows: Vec<Window> = Vec::with_capacity(3);
        let window = |deadline, start, due| Window {
            stage: self.stage,
            deadline,
            start,
            due,
        };
        if let Some(ack) = due.acknowledge_by {
            windows.push(window(DeadlineKind::Acknowledge, self.day_one, ack));
        }
        windows.push(window(DeadlineKind::Respond, self.day_one, self.respond_by));
        if let (Some(update_by), Some(contact)) = (due.update_by, self.last_contact) {
            let start = calendar
                .next_working_day_after(contact)
                .unwrap_or(update_by);
            windows.push(window(DeadlineKind::Update, start, update_by));
        }
        windows
    }

    pub fn urgency(&self, calendar: &Calendar, today: Date) -> Option<Urgency> {
        self.windows(calendar)
            .into_iter()
            .map(
                |Window {
                     deadline,
                     start,
                     due,
                     ..
                 }| {
                    let used = calendar.working_days_used(start, today);
                    let allowed = calendar.working_days_between(start, due).max(1);
                    let share = f64::from(used) / f64::from(allowed);
                    Urgency {
                        deadline,
                        due,
                        used,
                        allowed,
                        share,
                        level: UrgencyLevel::from_share(share, today > due),
                    }
                },
            )
            .max_by(|a, b| {
                a.level
                    .cmp(&b.level)
                    .then(a.share.total_cmp(&b.share))
                    // Earlier deadlines first when equally pressing.
                    .then(b.due.cmp(&a.due))
            })
    }
}
