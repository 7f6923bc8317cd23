//! Which deadline reminder, if any, a running obligation calls for on a given day.
//!
//! The rule: a window of N working days (day 1 is its first day) reaches p % on its
//! ⌈p × N / 100⌉-th working day, counting that day as used. So for stage 1 (5 working days) the
//! 50 % reminder goes on day 3, 75 % on day 4 and 90 % on day 5, the due day; for stage 2
//! (20 days) on days 10, 15 and 18; for the acknowledgement (3 days) 50 % on day 2, and 75 % and
//! 90 % both fall on day 3. Overdue is any day after the due date. Reminders go out on working
//! days only. When several milestones are reached at once (they coincide, or the portal was
//! down), only the highest is sent and the lower ones are recorded as passed, so nobody gets a
//! stale "50 %" after a "90 %".

use time::Date;

use super::calendar::Calendar;
use super::deadlines::{DeadlineKind, ProcedureStage, Window};

/// Which obligation a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obligation {
    /// Stage 2 acknowledgement (3 working days).
    Acknowledge,
    /// Stage 1 full response (5 working days, or the extended date).
    Stage1Response,
    /// Stage 2 full response (20 working days, or the extended date).
    Stage2Response,
    /// Stage 2 extended: update the reporter at least every 20 working days.
    Update,
}

impl Obligation {
    pub const ALL: [Obligation; 4] = [
        Self::Acknowledge,
        Self::Stage1Response,
        Self::Stage2Response,
        Self::Update,
    ];

    pub fn of(window: &Window) -> Obligation {
        match (window.deadline, window.stage) {
            (DeadlineKind::Acknowledge, _) => Self::Acknowledge,
            (DeadlineKind::Respond, ProcedureStage::Stage1) => Self::Stage1Response,
            (DeadlineKind::Respond, ProcedureStage::Stage2) => Self::Stage2Response,
            (DeadlineKind::Update, _) => Self::Update,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Stage1Response => "stage1_response",
            Self::Stage2Response => "stage2_response",
            Self::Update => "update",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|obligation| obligation.as_str() == value)
    }

    /// The window of this obligation running from `start` to `due`, as a stored schedule row
    /// gives it back. [`Obligation::of`] of the result is `self`; only start and due matter to
    /// the reminder rule.
    pub fn window(self, start: Date, due: Date) -> Window {
        let (stage, deadline) = match self {
            Self::Acknowledge => (ProcedureStage::Stage2, DeadlineKind::Acknowledge),
            Self::Stage1Response => (ProcedureStage::Stage1, DeadlineKind::Respond),
            Self::Stage2Response => (ProcedureStage::Stage2, DeadlineKind::Respond),
            Self::Update => (ProcedureStage::Stage2, DeadlineKind::Update),
        };
        Window {
            stage,
            deadline,
            start,
            due,
        }
    }
}

/// A point in a window at which holders are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Milestone {
    Percent50,
    Percent75,
    Percent90,
    Overdue,
}

impl Milestone {
    pub const ALL: [Milestone; 4] = [
        Self::Percent50,
        Self::Percent75,
        Self::Percent90,
        Self::Overdue,
    ];

    /// The share of the window, or `None` for overdue.
    pub fn percent(self) -> Option<u8> {
        match self {
            Self::Percent50 => Some(50),
            Self::Percent75 => Some(75),
            Self::Percent90 => Some(90),
            Self::Overdue => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Percent50 => "50",
            Self::Percent75 => "75",
            Self::Percent90 => "90",
            Self::Overdue => "overdue",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|milestone| milestone.as_str() == value)
    }
}

/// What to send today for one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderDue {
    pub obligation: Obligation,
    pub due_on: Date,
    /// The one to send.
    pub milestone: Milestone,
    /// Every milestone now passed and not yet recorded (including `milestone`): record them all.
    pub passed: Vec<Milestone>,
}

/// The working day of the window (1-based) on which `percent` is reached: ⌈percent × N / 100⌉,
/// at least 1, where N is the number of working days in the window.
pub fn milestone_working_day(allowed: u32, percent: u8) -> u32 {
    let allowed = u64::from(allowed.max(1));
    let day = (u64::from(percent) * allowed).div_ceil(100).max(1);
    u32::try_from(day).unwrap_or(u32::MAX)
}

/// The date on which `percent` of `window` is reached.
pub fn milestone_day(calendar: &Calendar, window: &Window, percent: u8) -> Option<Date> {
    let allowed = calendar.working_days_between(window.start, window.due);
    let first = if calendar.is_working_day(window.start) {
        window.start
    } else {
        calendar.next_working_day_after(window.start).ok()?
    };
    calendar
        .nth_working_day(first, milestone_working_day(allowed, percent))
        .ok()
}

/// The reminder `window` calls for on `today`, given the highest milestone already recorded for
/// this window (same obligation and due date); milestones are reached, and recorded, in order.
/// `None` on non-working days and when nothing new is reached.
pub fn due_reminder(
    calendar: &Calendar,
    window: &Window,
    today: Date,
    recorded: Option<Milestone>,
) -> Option<ReminderDue> {
    if !calendar.is_working_day(today) {
        return None;
    }
    let used = calendar.working_days_used(window.start, today);
    let allowed = calendar
        .working_days_between(window.start, window.due)
        .max(1);
    let reached: Vec<Milestone> = Milestone::ALL
        .into_iter()
        .filter(|milestone| match milestone.percent() {
            Some(percent) => used >= milestone_working_day(allowed, percent),
            None => today > window.due,
        })
        .collect();
    let highest = *reached.last()?;
    if recorded.is_some_and(|done| done >= highest) {
        return None;
    }
    Some(ReminderDue {
        obligation: Obligation::of(window),
        due_on: window.due,
        milestone: highest,
        passed: reached
            .into_iter()
            .filter(|milestone| recorded.is_none_or(|done| *milestone > done))
            .collect(),
    })
}

/// The first day on which [`due_reminder`] has something new to send for `window`, given the
/// highest milestone already recorded: the day the next unrecorded milestone is reached (for
/// overdue, the first working day after the due date). `None` once every milestone, overdue
/// included, is recorded: the window needs no more reminders. On every working day from this
/// day on `due_reminder` answers `Some` (until the scan records it), and before it `None`; so a
/// scan that reads only windows whose next check is today or earlier sends exactly what a scan
/// over every window would. If a date is out of range the window's start is answered, which
/// makes the scan look at it every day (correct, only slower).
pub fn next_check(
    calendar: &Calendar,
    window: &Window,
    recorded: Option<Milestone>,
) -> Option<Date> {
    let next = Milestone::ALL
        .into_iter()
        .find(|milestone| recorded.is_none_or(|done| *milestone > done))?;
    let day = match next.percent() {
        Some(percent) => milestone_day(calendar, window, percent),
        None => calendar.next_working_day_after(window.due).ok(),
    };
    Some(day.unwrap_or(window.start))
}

/// One running window as the reminder schedule keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledWindow {
    pub obligation: Obligation,
    pub start: Date,
    pub due: Date,
    /// See [`next_check`].
    pub next_check: Option<Date>,
}

impl ScheduledWindow {
    pub fn of(calendar: &Calendar, window: &Window, recorded: Option<Milestone>) -> Self {
        ScheduledWindow {
            obligation: Obligation::of(window),
            start: window.start,
            due: window.due,
            next_check: next_check(calendar, window, recorded),
        }
    }

    pub fn window(&self) -> Window {
        self.obligation.window(self.start, self.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::date;

    fn window(stage: ProcedureStage, deadline: DeadlineKind, start: Date, due: Date) -> Window {
        Window {
            stage,
            deadline,
            start,
            due,
        }
    }

    fn stage1(calendar: &Calendar, received: Date) -> Window {
        let start = calendar.day_one(received).unwrap_or(received);
        let due = calendar.nth_working_day(start, 5).unwrap_or(received);
        window(ProcedureStage::Stage1, DeadlineKind::Respond, start, due)
    }

    /// Counts working days the slow way: weekday and not a listed holiday, one date at a time.
    fn naive_working_day(day: Date, holidays: &[Date]) -> bool {
        !matches!(
            day.weekday(),
            time::Weekday::Saturday | time::Weekday::Sunday
        ) && !holidays.contains(&day)
    }

    #[test]
    fn the_milestone_day_is_the_ceiling_of_the_share() {
        assert_eq!([50, 75, 90].map(|p| milestone_working_day(5, p)), [3, 4, 5]);
        assert_eq!(
            [50, 75, 90].map(|p| milestone_working_day(20, p)),
            [10, 15, 18]
        );
        assert_eq!([50, 75, 90].map(|p| milestone_working_day(3, p)), [2, 3, 3]);
        assert_eq!(
            [50, 75, 90].map(|p| milestone_working_day(10, p)),
            [5, 8, 9]
        );
        assert_eq!([50, 75, 90].map(|p| milestone_working_day(1, p)), [1, 1, 1]);
        assert_eq!(milestone_working_day(0, 50), 1);
        assert_eq!(milestone_working_day(u32::MAX, 90), 3_865_470_566);
    }

    #[test]
    fn stage1_reminders_in_a_plain_week() {
        let calendar = Calendar::scottish();
        // Monday 16 Nov 2026: day 1; due Friday 20 Nov.
        let w = stage1(&calendar, date!(2026 - 11 - 16));
        assert_eq!(w.due, date!(2026 - 11 - 20));
        let sent = |today| due_reminder(&calendar, &w, today, None).map(|r| r.milestone);
        assert_eq!(sent(date!(2026 - 11 - 16)), None);
        assert_eq!(sent(date!(2026 - 11 - 17)), None);
        assert_eq!(sent(date!(2026 - 11 - 18)), Some(Milestone::Percent50));
        assert_eq!(sent(date!(2026 - 11 - 19)), Some(Milestone::Percent75));
        assert_eq!(sent(date!(2026 - 11 - 20)), Some(Milestone::Percent90));
        // Weekend: nothing, even though it is overdue.
        assert_eq!(sent(date!(2026 - 11 - 21)), None);
        assert_eq!(sent(date!(2026 - 11 - 22)), None);
        assert_eq!(sent(date!(2026 - 11 - 23)), Some(Milestone::Overdue));
        for (percent, expected) in [
            (50, date!(2026 - 11 - 18)),
            (75, date!(2026 - 11 - 19)),
            (90, date!(2026 - 11 - 20)),
        ] {
            assert_eq!(milestone_day(&calendar, &w, percent), Some(expected));
        }
    }

    #[test]
    fn holidays_push_milestones_back() {
        let calendar = Calendar::scottish();
        // Thursday 26 Nov 2026: day 1. St Andrew's Day is observed on Monday 30 Nov.
        let w = stage1(&calendar, date!(2026 - 11 - 26));
        assert_eq!(w.due, date!(2026 - 12 - 03));
        assert_eq!(
            milestone_day(&calendar, &w, 50),
            Some(date!(2026 - 12 - 01))
        );
        assert_eq!(
            due_reminder(&calendar, &w, date!(2026 - 11 - 30), None),
            None,
            "no reminder on a bank holiday"
        );
    }

    #[test]
    fn a_reminder_already_recorded_is_not_sent_again() {
        let calendar = Calendar::scottish();
        let w = stage1(&calendar, date!(2026 - 11 - 16));
        let on_day_3 = date!(2026 - 11 - 18);
        assert!(due_reminder(&calendar, &w, on_day_3, Some(Milestone::Percent50)).is_none());
        let on_day_4 = date!(2026 - 11 - 19);
        let due = due_reminder(&calendar, &w, on_day_4, Some(Milestone::Percent50));
        assert_eq!(
            due.map(|r| (r.milestone, r.passed)),
            Some((Milestone::Percent75, vec![Milestone::Percent75]))
        );
    }

    #[test]
    fn catching_up_sends_only_the_highest_and_records_the_rest() {
        let calendar = Calendar::scottish();
        let w = stage1(&calendar, date!(2026 - 11 - 16));
        let due = due_reminder(&calendar, &w, date!(2026 - 11 - 23), None);
        assert_eq!(
            due,
            Some(ReminderDue {
                obligation: Obligation::Stage1Response,
                due_on: date!(2026 - 11 - 20),
                milestone: Milestone::Overdue,
                passed: Milestone::ALL.to_vec(),
            })
        );
        // After a 90 % went out, a forgotten 75 % is never sent.
        assert!(
            due_reminder(
                &calendar,
                &w,
                date!(2026 - 11 - 20),
                Some(Milestone::Percent90)
            )
            .is_none()
        );
    }

    #[test]
    fn coinciding_milestones_send_one_notice() {
        let calendar = Calendar::scottish();
        let start = date!(2026 - 11 - 16);
        let due = calendar.nth_working_day(start, 3).unwrap_or(start);
        let w = window(
            ProcedureStage::Stage2,
            DeadlineKind::Acknowledge,
            start,
            due,
        );
        let on_day_3 = due_reminder(&calendar, &w, due, Some(Milestone::Percent50));
        assert_eq!(
            on_day_3.map(|r| (r.obligation, r.milestone, r.passed)),
            Some((
                Obligation::Acknowledge,
                Milestone::Percent90,
                vec![Milestone::Percent75, Milestone::Percent90]
            ))
        );
    }

    /// Against an independent count, every window length from 1 to 40 working days, every start
    /// day over two years that include Easter, Christmas and St Andrew's Day: the first day each
    /// milestone is due is the day the naive count reaches ⌈p·N/100⌉, and it is sent exactly once
    /// when the scan runs every day.
    #[test]
    fn daily_scans_match_an_independent_working_day_count() {
        let calendar = Calendar::scottish();
        let holidays: Vec<Date> = [2026, 2027]
            .into_iter()
            .flat_map(|year| calendar.holidays_in_year(year).unwrap_or_default())
            .map(|holiday| holiday.date)
            .collect();
        let mut start = date!(2026 - 01 - 01);
        while start < date!(2027 - 06 - 01) {
            if naive_working_day(start, &holidays) {
                for length in [1_u32, 2, 3, 4, 5, 7, 10, 13, 20, 40] {
                    let mut due = start;
                    let mut counted = 1;
                    while counted < length {
                        due += Duration::days(1);
                        if naive_working_day(due, &holidays) {
                            counted += 1;
                        }
                    }
                    let w = window(ProcedureStage::Stage2, DeadlineKind::Respond, start, due);
                    let mut recorded: Vec<Milestone> = Vec::new();
                    let mut sent: Vec<(Milestone, Date)> = Vec::new();
                    let mut today = start;
                    let mut used = 0_u32;
                    while today <= due + Duration::days(10) {
                        if naive_working_day(today, &holidays) {
                            used += 1;
                        }
                        if let Some(reminder) =
                            due_reminder(&calendar, &w, today, recorded.last().copied())
                        {
                            assert!(naive_working_day(today, &holidays));
                            recorded.extend(reminder.passed.iter().copied());
                            sent.push((reminder.milestone, today));
                        }
                        let expected_now: Vec<Milestone> = Milestone::ALL
                            .into_iter()
                            .filter(|m| match m.percent() {
                                Some(p) => used * 100 >= u32::from(p) * length,
                                None => today > due,
                            })
                            .collect();
                        if naive_working_day(today, &holidays) {
                            let mut have = recorded.clone();
                            have.sort();
                            assert_eq!(
                                have, expected_now,
                                "start {start} length {length} on {today}"
                            );
                        }
                        today += Duration::days(1);
                    }
                    // Each milestone at most once; overdue always arrives.
                    let mut kinds: Vec<Milestone> = sent.iter().map(|(m, _)| *m).collect();
                    kinds.dedup();
                    assert_eq!(kinds.len(), sent.len());
                    assert_eq!(sent.last().map(|(m, _)| *m), Some(Milestone::Overdue));
                }
            }
            start += Duration::days(1);
        }
    }

    /// The schedule's promise: on every day, for every recorded state, a reminder is due exactly
    /// when the day is a working day on or after the window's next check. Every start day over
    /// two years (weekends and holidays included), every window length up to 25 working days.
    #[test]
    fn the_next_check_is_the_first_day_a_reminder_is_due() {
        let calendar = Calendar::scottish();
        let mut start = date!(2026 - 01 - 01);
        while start < date!(2027 - 03 - 01) {
            for length in 1..=25_u32 {
                let first = if calendar.is_working_day(start) {
                    start
                } else {
                    calendar.next_working_day_after(start).unwrap_or(start)
                };
                let due = calendar.nth_working_day(first, length).unwrap_or(start);
                for obligation in Obligation::ALL {
                    let w = obligation.window(start, due);
                    assert_eq!(Obligation::of(&w), obligation);
                    for recorded in [None].into_iter().chain(Milestone::ALL.map(Some)) {
                        let next = next_check(&calendar, &w, recorded);
                        assert_eq!(next.is_none(), recorded == Some(Milestone::Overdue));
                        let mut today = start;
                        while today <= due + Duration::days(12) {
                            let expected = calendar.is_working_day(today)
                                && next.is_some_and(|next| next <= today);
                            assert_eq!(
                                due_reminder(&calendar, &w, today, recorded).is_some(),
                                expected,
                                "start {start} length {length} recorded {recorded:?} on {today}"
                            );
                            today += Duration::days(1);
                        }
                    }
                }
            }
            start += Duration::days(3);
        }
    }

    #[test]
    fn a_scheduled_window_gives_back_its_window() {
        let calendar = Calendar::scottish();
        let w = stage1(&calendar, date!(2026 - 11 - 16));
        let scheduled = ScheduledWindow::of(&calendar, &w, Some(Milestone::Percent50));
        assert_eq!(scheduled.window(), w);
        assert_eq!(scheduled.next_check, Some(date!(2026 - 11 - 19)));
        let done = ScheduledWindow::of(&calendar, &w, Some(Milestone::Percent90));
        assert_eq!(
            done.next_check,
            Some(date!(2026 - 11 - 23)),
            "overdue on Monday"
        );
    }

    #[test]
    fn names_round_trip() {
        for milestone in Milestone::ALL {
            assert_eq!(Milestone::parse(milestone.as_str()), Some(milestone));
        }
        for obligation in Obligation::ALL {
            assert_eq!(Obligation::parse(obligation.as_str()), Some(obligation));
        }
        assert_eq!(Milestone::parse("100"), None);
    }
}
