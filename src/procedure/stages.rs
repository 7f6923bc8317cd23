//! The two-stage procedure as a state machine over dated events.
//!
//! A case is its list of events; everything else (state, deadlines, closure facts) is replayed
//! from them. Sealed text such as reasons and findings is kept elsewhere: only what the rules
//! need is here.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use super::calendar::Calendar;
use super::dates::iso_date;
use super::deadlines::{Due, ProcedureStage, StageClock, Urgency};
use super::error::ProcedureError;

/// Why a concern is (now) at stage 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// Too complex for early resolution: may go straight to stage 2.
    Complex,
    /// Stage 1 could not resolve it.
    Escalated,
    /// The reporter asked for an investigation, including after a stage 1 response.
    ReporterRequested,
    /// Stage 1 needs more time than the extension cap allows.
    ExtensionCapReached,
}

impl EscalationReason {
    pub const ALL: [Self; 4] = [
        Self::Complex,
        Self::Escalated,
        Self::ReporterRequested,
        Self::ExtensionCapReached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complex => "complex",
            Self::Escalated => "escalated",
            Self::ReporterRequested => "reporter_requested",
            Self::ExtensionCapReached => "extension_cap_reached",
        }
    }
}

impl fmt::Display for EscalationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Upheld,
    PartiallyUpheld,
    NotUpheld,
}

impl Outcome {
    pub const ALL: [Self; 3] = [Self::Upheld, Self::PartiallyUpheld, Self::NotUpheld];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upheld => "upheld",
            Self::PartiallyUpheld => "partially_upheld",
            Self::NotUpheld => "not_upheld",
        }
    }
}

/// What happened. The JSON form matches the events API: `{"type": "extend", "until": "…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The concern arrived; its date is the date of receipt.
    Received,
    Acknowledge,
    /// Triaged as early resolution.
    Stage1,
    Stage2 {
        reason: EscalationReason,
    },
    NotWhistleblowing,
    Extend {
        #[serde(with = "iso_date")]
        until: Date,
    },
    /// The reporter was told how things stand.
    Update,
    Withdraw,
    Close {
        outcome: Outcome,
    },
}

impl EventKind {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Received => EventType::Received,
            Self::Acknowledge => EventType::Acknowledge,
            Self::Stage1 => EventType::Stage1,
            Self::Stage2 { .. } => EventType::Stage2,
            Self::NotWhistleblowing => EventType::NotWhistleblowing,
            Self::Extend { .. } => EventType::Extend,
            Self::Update => EventType::Update,
            Self::Withdraw => EventType::Withdraw,
            Self::Close { .. } => EventType::Close,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "iso_date")]
    pub on: Date,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(on: Date, kind: EventKind) -> Self {
        Self { on, kind }
    }
}

/// An event kind without its details: what the UI offers as buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Received,
    Acknowledge,
    Stage1,
    Stage2,
    NotWhistleblowing,
    Extend,
    Update,
    Withdraw,
    Close,
}

impl EventType {
    pub const ALL: [Self; 9] = [
        Self::Received,
        Self::Acknowledge,
        Self::Stage1,
        Self::Stage2,
        Self::NotWhistleblowing,
        Self::Extend,
        Self::Update,
        Self::Withdraw,
        Self::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Acknowledge => "acknowledge",
            Self::Stage1 => "stage1",
            Self::Stage2 => "stage2",
            Self::NotWhistleblowing => "not_whistleblowing",
            Self::Extend => "extend",
            Self::Update => "update",
            Self::Withdraw => "withdraw",
            Self::Close => "close",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a case is, precisely enough to decide what may happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not yet triaged.
    Received,
    Stage1,
    /// Closed at stage 1; the reporter may still ask for stage 2.
    Stage1Closed,
    Stage2,
    Stage2Closed,
    NotWhistleblowing,
    Withdrawn,
}

impl State {
    pub const ALL: [Self; 7] = [
        Self::Received,
        Self::Stage1,
        Self::Stage1Closed,
        Self::Stage2,
        Self::Stage2Closed,
        Self::NotWhistleblowing,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Stage1 => "stage1",
            Self::Stage1Closed => "stage1_closed",
            Self::Stage2 => "stage2",
            Self::Stage2Closed => "stage2_closed",
            Self::NotWhistleblowing => "not_whistleblowing",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Plain words, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Stage1 => "at stage 1",
            Self::Stage1Closed => "closed at stage 1",
            Self::Stage2 => "at stage 2",
            Self::Stage2Closed => "closed at stage 2",
            Self::NotWhistleblowing => "not whistleblowing",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The furthest stage a case reached, for the `stage` field of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Received,
    Stage1,
    Stage2,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Stage1 => "stage1",
            Self::Stage2 => "stage2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Closed,
    Withdrawn,
    NotWhistleblowing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
            Self::NotWhistleblowing => "not_whistleblowing",
        }
    }
}

/// Per-organisation procedure settings. Deserializing validates, like [`Settings::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SettingsInput")]
pub struct Settings {
    stage1_extension_cap: u32,
}

#[derive(Deserialize)]
struct SettingsInput {
    stage1_extension_cap: u32,
}

impl TryFrom<SettingsInput> for Settings {
    type Error = ProcedureError;

    fn try_from(input: SettingsInput) -> Result<Self, Self::Error> {
        Self::new(input.stage1_extension_cap)
    }
}

impl Settings {
    pub const DEFAULT_STAGE1_EXTENSION_CAP: u32 = 10;

    /// `stage1_extension_cap`: working days from day 1 that a stage 1 extension may reach. The
    /// Standards allow at most 10; an organisation may be stricter, down to 5 (no extension).
    pub fn new(stage1_extension_cap: u32) -> Result<Self, ProcedureError> {
        let (min, max) = (
            super::deadlines::STAGE1_WORKING_DAYS,
            Self::DEFAULT_STAGE1_EXTENSION_CAP,
        );
        if !(min..=max).contains(&stage1_extension_cap) {
            return Err(ProcedureError::InvalidSetting {
                name: "stage1_extension_cap",
                value: stage1_extension_cap,
                min,
                max,
            });
        }
        Ok(Self {
            stage1_extension_cap,
        })
    }

    pub fn stage1_extension_cap(&self) -> u32 {
        self.stage1_extension_cap
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stage1_extension_cap: Self::DEFAULT_STAGE1_EXTENSION_CAP,
        }
    }
}

/// Facts about one closure that the KPI report needs. A case closed at stage 1 and later at
/// stage 2 has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Closure {
    pub stage: ProcedureStage,
    #[serde(with = "iso_date")]
    pub day_one: Date,
    #[serde(with = "iso_date")]
    pub closed_on: Date,
    pub outcome: Outcome,
    pub extended: bool,
    /// Day 5 or day 20.
    #[serde(with = "iso_date")]
    pub standard_due: Date,
    /// The standard due date or the authorised extension in force at closure.
    #[serde(with = "iso_date")]
    pub respond_by: Date,
    /// Day 1 to the closing date, both included.
    pub working_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// By day 5 or day 20.
    OnTime,
    /// After that, but by an authorised extended date.
    WithinExtension,
    Late,
}

impl Closure {
    pub fn timeliness(&self) -> Timeliness {
        if self.closed_on <= self.standard_due {
            Timeliness::OnTime
        } else if self.extended && self.closed_on <= self.respond_by {
            Timeliness::WithinExtension
        } else {
            Timeliness::Late
        }
    }
}

/// A stretch of time a case spent at one stage, from the day it was placed there to the day it
/// left (closed, escalated, withdrawn, found not to be whistleblowing), or still running. The
/// Standards count "concerns handled at a stage" and extensions against these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StageSpell {
    pub stage: ProcedureStage,
    #[serde(with = "iso_date")]
    pub from: Date,
    #[serde(with = "iso_date::option")]
    pub until: Option<Date>,
    /// An extension was authorised at this stage.
    pub extended: bool,
    /// Stage 2 reached from stage 1 (escalated or asked for after a stage 1 response), rather
    /// than straight from receipt.
    pub escalated: bool,
}

impl StageSpell {
    /// Whether the case was at this stage on any day from `start` to `end`.
    pub fn overlaps(&self, start: Date, end: Date) -> bool {
        self.from <= end && self.until.is_none_or(|until| until >= start)
    }
}

/// How far to trust a history.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// New input: every rule, and nothing after `today`.
    Strict { today: Date },
    /// Stored history: the order of events and the transitions are checked, but not the rules
    /// that depend on the calendar (an extension's date against today's holiday list), so a
    /// change of holidays cannot make an old case unreadable.
    Recorded,
}

/// A case's procedure, replayed from its events.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseProcedure {
    events: Vec<Event>,
    settings: Settings,
    state: State,
    stage: Stage,
    received_on: Date,
    stage1: Option<StageClock>,
    stage2: Option<StageClock>,
    closures: Vec<Closure>,
    spells: Vec<StageSpell>,
}

impl CaseProcedure {
    /// Validates a whole history as new input: every rule applies and no event may be after
    /// `today`.
    pub fn replay(
        events: &[Event],
        calendar: &Calendar,
        settings: &Settings,
        today: Date,
    ) -> Result<Self, ProcedureError> {
        Self::build(events, calendar, settings, Check::Strict { today })
    }

    /// Loads a stored history. Transitions and date order are still enforced, but extension
    /// dates are taken as recorded (see [`CaseProcedure::replay`] for input).
    pub fn from_recorded(
        events: &[Event],
        calendar: &Calendar,
        settings: &Settings,
    ) -> Result<Self, ProcedureError> {
        Self::build(events, calendar, settings, Check::Recorded)
    }

    fn build(
        events: &[Event],
        calendar: &Calendar,
        settings: &Settings,
        check: Check,
    ) -> Result<Self, ProcedureError> {
        let (first, rest) = events.split_first().ok_or(ProcedureError::EmptyHistory)?;
        if first.kind != EventKind::Received {
            return Err(ProcedureError::FirstEventMustBeReceived {
                event: first.kind.event_type(),
            });
        }
        if let Check::Strict { today } = check
            && first.on > today
        {
            return Err(ProcedureError::DateInFuture {
                date: first.on,
                today,
            });
        }
        let mut case = Self {
            events: vec![*first],
            settings: *settings,
            state: State::Received,
            stage: Stage::Received,
            received_on: first.on,
            stage1: Some(StageClock::stage1(calendar, settings, first.on)?),
            stage2: None,
            closures: Vec::new(),
            spells: Vec::new(),
        };
        for event in rest {
            case.step(*event, calendar, check)?;
        }
        Ok(case)
    }

    /// Validates one new event against this case and returns the case with it applied.
    pub fn apply(
        &self,
        event: Event,
        calendar: &Calendar,
        today: Date,
    ) -> Result<Self, ProcedureError> {
        let mut next = self.clone();
        next.step(event, calendar, Check::Strict { today })?;
        Ok(next)
    }

    fn step(
        &mut self,
        event: Event,
        calendar: &Calendar,
        check: Check,
    ) -> Result<(), ProcedureError> {
        let previous = self.events.last().map_or(self.received_on, |e| e.on);
        if event.on < previous {
            return Err(ProcedureError::DateBeforePrevious {
                date: event.on,
                previous,
            });
        }
        let strict = match check {
            Check::Strict { today } => {
                if event.on > today {
                    return Err(ProcedureError::DateInFuture {
                        date: event.on,
                        today,
                    });
                }
                true
            }
            Check::Recorded => false,
        };
        let not_allowed = ProcedureError::NotAllowed {
            event: event.kind.event_type(),
            state: self.state,
        };
        match (self.state, event.kind) {
            (State::Received, EventKind::Stage1) => {
                self.state = State::Stage1;
                self.stage = Stage::Stage1;
                self.begin_spell(ProcedureStage::Stage1, event.on, false);
            }
            (
                State::Received | State::Stage1 | State::Stage1Closed,
                EventKind::Stage2 { reason },
            ) => {
                if !reason_allowed(self.state, reason) {
                    return Err(ProcedureError::ReasonNotAllowed {
                        reason,
                        state: self.state,
                    });
                }
                // Straight to stage 2: the clock has been running since receipt.
                let start = if self.state == State::Received {
                    self.received_on
                } else {
                    event.on
                };
                self.stage2 = Some(StageClock::stage2(calendar, start)?);
                let escalated = self.state != State::Received;
                self.end_spell(event.on);
                self.begin_spell(ProcedureStage::Stage2, event.on, escalated);
                self.state = State::Stage2;
                self.stage = Stage::Stage2;
            }
            (State::Received | State::Stage1, EventKind::NotWhistleblowing) => {
                self.end_spell(event.on);
                self.state = State::NotWhistleblowing;
            }
            (State::Received | State::Stage1 | State::Stage2, EventKind::Withdraw) => {
                self.end_spell(event.on);
                self.state = State::Withdrawn;
            }
            (State::Stage1 | State::Stage2, EventKind::Acknowledge) => {
                self.clock_mut().ok_or(not_allowed)?.acknowledge(event.on)?;
            }
            (State::Stage1 | State::Stage2, EventKind::Extend { until }) => {
                self.clock_mut()
                    .ok_or(not_allowed)?
                    .extend(calendar, event.on, until, strict)?;
                if let Some(spell) = self.open_spell() {
                    spell.extended = true;
                }
            }
            (State::Stage1 | State::Stage2, EventKind::Update) => {
                self.clock_mut()
                    .ok_or(not_allowed)?
                    .contacted(calendar, event.on)?;
            }
            (State::Stage1 | State::Stage2, EventKind::Close { outcome }) => {
                let clock = self.clock().ok_or(not_allowed)?;
                let closure = Closure {
                    stage: clock.stage,
                    day_one: clock.day_one,
                    closed_on: event.on,
                    outcome,
                    extended: clock.extended,
                    standard_due: clock.standard_due,
                    respond_by: clock.respond_by,
                    working_days: calendar.working_days_used(clock.day_one, event.on),
                };
                self.closures.push(closure);
                self.end_spell(event.on);
                self.state = match closure.stage {
                    ProcedureStage::Stage1 => State::Stage1Closed,
                    ProcedureStage::Stage2 => State::Stage2Closed,
                };
            }
            _ => return Err(not_allowed),
        }
        self.events.push(event);
        Ok(())
    }

    fn begin_spell(&mut self, stage: ProcedureStage, from: Date, escalated: bool) {
        self.spells.push(StageSpell {
            stage,
            from,
            until: None,
            extended: false,
            escalated,
        });
    }

    fn open_spell(&mut self) -> Option<&mut StageSpell> {
        self.spells.last_mut().filter(|spell| spell.until.is_none())
    }

    fn end_spell(&mut self, on: Date) {
        if let Some(spell) = self.open_spell() {
            spell.until = Some(on);
        }
    }

    /// The clock of the stage the case is at, while one is running.
    fn clock(&self) -> Option<&StageClock> {
        match self.state {
            State::Received | State::Stage1 => self.stage1.as_ref(),
            State::Stage2 => self.stage2.as_ref(),
            _ => None,
        }
    }

    fn clock_mut(&mut self) -> Option<&mut StageClock> {
        match self.state {
            State::Received | State::Stage1 => self.stage1.as_mut(),
            State::Stage2 => self.stage2.as_mut(),
            _ => None,
        }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn received_on(&self) -> Date {
        self.received_on
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn status(&self) -> Status {
        match self.state {
            State::Received | State::Stage1 | State::Stage2 => Status::Open,
            State::Stage1Closed | State::Stage2Closed => Status::Closed,
            State::NotWhistleblowing => Status::NotWhistleblowing,
            State::Withdrawn => Status::Withdrawn,
        }
    }

    /// Day 1 of the running clock, if one is running.
    pub fn day_one(&self) -> Option<Date> {
        self.clock().map(|c| c.day_one)
    }

    /// When the running stage was acknowledged, if it was.
    pub fn acknowledged_on(&self) -> Option<Date> {
        self.clock().and_then(|c| c.acknowledged_on)
    }

    /// What is due next; empty once the case is closed, withdrawn or not whistleblowing.
    pub fn due(&self) -> Due {
        self.clock()
            .map(|c| c.due(self.state == State::Received))
            .unwrap_or_default()
    }

    /// The most pressing outstanding deadline, or `None` when nothing is running.
    pub fn urgency(&self, today: Date, calendar: &Calendar) -> Option<Urgency> {
        self.clock().and_then(|c| c.urgency(calendar, today))
    }

    /// The running obligations (empty once nothing is running), for reminders.
    pub fn windows(&self, calendar: &Calendar) -> Vec<super::deadlines::Window> {
        self.clock()
            .map(|c| c.windows(calendar))
            .unwrap_or_default()
    }

    pub fn closures(&self) -> &[Closure] {
        &self.closures
    }

    /// The stages the case has been at, in order.
    pub fn spells(&self) -> &[StageSpell] {
        &self.spells
    }

    /// The event types that could be valid now, in a stable order: the UI shows only these.
    /// An offered `extend` still needs a date that passes the rules.
    pub fn allowed_events(&self, today: Date) -> Vec<EventType> {
        let clock = self.clock();
        let not_acknowledged = clock.is_some_and(|c| c.acknowledged_on.is_none());
        // Room to extend: still on time, and (at stage 1) below the cap.
        let can_extend = clock.is_some_and(|c| {
            today <= c.respond_by && c.cap_date.is_none_or(|cap| c.respond_by < cap)
        });
        EventType::ALL
            .into_iter()
            .filter(|t| match (self.state, t) {
                (State::Received, EventType::Stage1) => true,
                (State::Received | State::Stage1 | State::Stage1Closed, EventType::Stage2) => true,
                (State::Received | State::Stage1, EventType::NotWhistleblowing) => true,
                (State::Received | State::Stage1 | State::Stage2, EventType::Withdraw) => true,
                (State::Stage1 | State::Stage2, EventType::Acknowledge) => not_acknowledged,
                (State::Stage1 | State::Stage2, EventType::Extend) => can_extend,
                (State::Stage1 | State::Stage2, EventType::Update | EventType::Close) => true,
                _ => false,
            })
            .collect()
    }

    /// The reasons a `stage2` event may give now (empty when stage 2 is not possible).
    pub fn allowed_escalation_reasons(&self) -> Vec<EscalationReason> {
        EscalationReason::ALL
            .into_iter()
            .filter(|r| reason_allowed(self.state, *r))
            .collect()
    }
}

fn reason_allowed(state: State, reason: EscalationReason) -> bool {
    use EscalationReason::*;
    match state {
        // Nothing has been tried or extended yet.
        State::Received => matches!(reason, Complex | ReporterRequested),
        State::Stage1 => true,
        // Only the reporter reopens a closed stage 1.
        State::Stage1Closed => reason == ReporterRequested,
        _ => false,
    }
}
