//! Working days for one organisation: weekends and Scottish bank holidays, plus the
//! organisation's own local days, minus any bank holidays it works through.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::dates::iso_date;
use super::error::ProcedureError;
use super::holidays::{FIRST_YEAR, Holiday, LAST_YEAR, is_weekend, scottish_bank_holidays};

/// The most working days any one deadline may be counted over (about four years). Larger
/// requests are refused instead of searched for.
pub const MAX_WORKING_DAYS: u32 = 1000;

/// How far ahead a single search for working days may run (ten years). Only an organisation that
/// had declared years of holidays could reach it, and then the answer is an error, not a hang.
pub const MAX_SEARCH_DAYS: u32 = 3660;

/// When the clock starts on a concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOneRule {
    /// The day of receipt, or the next working day if it arrived on a non-working day: the
    /// Standards' default.
    #[default]
    ReceiptOrNextWorkingDay,
    /// The first working day after receipt, for organisations that count from the day after.
    NextWorkingDay,
}

/// A day the organisation itself does not work (a local holiday, a site closure).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalHoliday {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub label: String,
}

/// What a recorded calendar change does to its day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CalendarChangeKind {
    /// A local non-working day.
    Closed { label: String },
    /// A bank holiday the organisation works through.
    Worked,
}

/// One calendar change as recorded, with its history: the day it was recorded on and, if it was
/// withdrawn, the day of the withdrawal.
///
/// Dates already given to reporters and figures already reported were counted on the calendar of
/// their day, so a change speaks only for days *after* the day it was recorded, and a withdrawal
/// likewise: once a day has come, nothing recorded later can turn it from working to not working
/// or back. That is what keeps past due dates, working-day counts and KPI figures fixed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CalendarChange {
    pub date: Date,
    pub kind: CalendarChangeKind,
    pub recorded_on: Date,
    pub withdrawn_on: Option<Date>,
}

impl CalendarChange {
    /// Whether this change decides its day: recorded before the day came, and not withdrawn
    /// before the day came.
    pub fn in_force(&self) -> bool {
        self.recorded_on < self.date && self.withdrawn_on.is_none_or(|w| w >= self.date)
    }
}

/// A calendar change may be recorded or withdrawn only for a day after `today`.
pub fn check_changeable(date: Date, today: Date) -> Result<(), ProcedureError> {
    if date > today {
        Ok(())
    } else {
        Err(ProcedureError::CalendarDayPassed { date, today })
    }
}

/// An organisation's working-day calendar.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    day_one_rule: DayOneRule,
    /// Rules that replaced `day_one_rule` for concerns received from a date on. A change of rule,
    /// like any calendar change, speaks only for later days, so past day ones never move.
    day_one_rule_from: BTreeMap<Date, DayOneRule>,
    additions: BTreeMap<Date, String>,
    removals: BTreeSet<Date>,
}

/// Every Scottish bank holiday in the supported range. Built once: the rules never change at run
/// time, and every calendar of every organisation shares them.
fn bank_holidays() -> &'static BTreeMap<Date, String> {
    static ALL: OnceLock<BTreeMap<Date, String>> = OnceLock::new();
    ALL.get_or_init(|| {
        (FIRST_YEAR..=LAST_YEAR)
            .flat_map(|year| scottish_bank_holidays(year).unwrap_or_default())
            .map(|h| (h.date, h.name))
            .collect()
    })
}

fn check_range(date: Date) -> Result<Date, ProcedureError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(ProcedureError::DateOutOfRange { date })
    }
}

impl Calendar {
    /// Scottish bank holidays, day 1 = day of receipt or the next working day.
    pub fn scottish() -> Self {
        Self::default()
    }

    /// `removals` take precedence: a date both added and removed is a working day.
    pub fn new(
        day_one_rule: DayOneRule,
        additions: impl IntoIterator<Item = LocalHoliday>,
        removals: impl IntoIterator<Item = Date>,
    ) -> Self {
        Self {
            day_one_rule,
            day_one_rule_from: BTreeMap::new(),
            additions: additions.into_iter().map(|h| (h.date, h.label)).collect(),
            removals: removals.into_iter().collect(),
        }
    }

    /// The calendar an organisation's recorded changes make, each change counted only for the
    /// days it speaks for (see [`CalendarChange`]).
    pub fn from_history<'a>(
        day_one_rule: DayOneRule,
        changes: impl IntoIterator<Item = &'a CalendarChange>,
    ) -> Self {
        let mut additions = Vec::new();
        let mut removals = Vec::new();
        for change in changes.into_iter().filter(|c| c.in_force()) {
            match &change.kind {
                CalendarChangeKind::Closed { label } => additions.push(LocalHoliday {
                    date: change.date,
                    label: label.clone(),
                }),
                CalendarChangeKind::Worked => removals.push(change.date),
            }
        }
        Self::new(day_one_rule, additions, removals)
    }

    /// The same calendar where `rule` applies to concerns received from `from` on (each pair),
    /// and this calendar's rule before the first of them.
    pub fn with_day_one_rule_changes(
        mut self,
        changes: impl IntoIterator<Item = (Date, DayOneRule)>,
    ) -> Self {
        self.day_one_rule_from.extend(changes);
        self
    }

    /// The rule before any change.
    pub fn day_one_rule(&self) -> DayOneRule {
        self.day_one_rule
    }

    /// The rule for a concern received (or a stage started) on `received`.
    pub fn day_one_rule_on(&self, received: Date) -> DayOneRule {
        self.day_one_rule_from
            .range(..=received)
            .next_back()
            .map_or(self.day_one_rule, |(_, rule)| *rule)
    }

    fn is_closed(&self, date: Date) -> bool {
        (bank_holidays().contains_key(&date) || self.additions.contains_key(&date))
            && !self.removals.contains(&date)
    }

    /// Outside 1900–2200 only weekends and the organisation's own days are known.
    pub fn is_working_day(&self, date: Date) -> bool {
        !is_weekend(date) && !self.is_closed(date)
    }

    /// The organisation's non-working weekdays and named days of `year`, sorted: bank holidays
    /// plus local days, minus the bank holidays it works through.
    pub fn holidays_in_year(&self, year: i32) -> Result<Vec<Holiday>, ProcedureError> {
        let mut list: Vec<Holiday> = scottish_bank_holidays(year)?;
        for (date, label) in self.additions_in_year(year) {
            if list.iter().all(|h| h.date != *date) {
                list.push(Holiday {
                    date: *date,
                    name: label.clone(),
                });
            }
        }
        list.retain(|h| !self.removals.contains(&h.date));
        list.sort();
        Ok(list)
    }

    fn additions_in_year(&self, year: i32) -> impl Iterator<Item = (&Date, &String)> {
        let start = Date::from_calendar_date(year, Month::January, 1);
        let end = Date::from_calendar_date(year, Month::December, 31);
        let range = match (start, end) {
            (Ok(s), Ok(e)) => Some(s..=e),
            _ => None,
        };
        range.into_iter().flat_map(move |r| self.additions.range(r))
    }

    /// Day 1 of the clock for a concern received on `received`.
    pub fn day_one(&self, received: Date) -> Result<Date, ProcedureError> {
        let received = check_range(received)?;
        match self.day_one_rule_on(received) {
            DayOneRule::ReceiptOrNextWorkingDay => self.nth_working_day(received, 1),
            DayOneRule::NextWorkingDay => self.next_working_day_after(received),
        }
    }

    /// The `working_days`-th working day of a concern received on `received`, day 1 being
    /// [`day_one`](Self::day_one). Received on a Monday with no holidays, 5 gives that Friday.
    pub fn due_date(&self, received: Date, working_days: u32) -> Result<Date, ProcedureError> {
        let day_one = self.day_one(received)?;
        self.nth_working_day(day_one, working_days)
    }

    /// The `n`-th working day counting the first working day on or after `start` as day 1.
    pub fn nth_working_day(&self, start: Date, n: u32) -> Result<Date, ProcedureError> {
        if !(1..=MAX_WORKING_DAYS).contains(&n) {
            return Err(ProcedureError::WorkingDaysOutOfRange {
                requested: n,
                max: MAX_WORKING_DAYS,
            });
        }
        let mut day = check_range(start)?;
        let mut counted = 0;
        for _ in 0..MAX_SEARCH_DAYS {
            if self.is_working_day(day) {
                counted += 1;
                if counted == n {
                    return Ok(day);
                }
            }
            day = day
                .next_day()
                .and_then(|next| check_range(next).ok())
                .ok_or(ProcedureError::DateOutOfRange { date: day })?;
        }
        Err(ProcedureError::NoWorkingDay {
            from: start,
            days: MAX_SEARCH_DAYS,
        })
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day_after(&self, date: Date) -> Result<Date, ProcedureError> {
        let next = date
            .next_day()
            .ok_or(ProcedureError::DateOutOfRange { date })?;
        self.nth_working_day(next, 1)
    }

    /// Working days from `day_one` to `today`, both included; 0 if today is before day 1.
    pub fn working_days_used(&self, day_one: Date, today: Date) -> u32 {
        self.working_days_between(day_one, today)
    }

    /// Working days in `from..=to`; 0 when `to` is before `from`. Counts arithmetically, so any
    /// span is cheap.
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        if to < from {
            return 0;
        }
        let bank = bank_holidays();
        let closed_bank = bank
            .range(from..=to)
            .filter(|(d, _)| !self.removals.contains(d))
            .count();
        let closed_local = self
            .additions
            .range(from..=to)
            .filter(|(d, _)| !is_weekend(**d) && !bank.contains_key(d))
            .filter(|(d, _)| !self.removals.contains(d))
            .count();
        let closed = u32::try_from(closed_bank + closed_local).unwrap_or(u32::MAX);
        weekdays_between(from, to).saturating_sub(closed)
    }
}

/// Monday-to-Friday days in `from..=to` (which must be ordered).
fn weekdays_between(from: Date, to: Date) -> u32 {
    let span = u32::try_from(to.to_julian_day() - from.to_julian_day() + 1).unwrap_or(0);
    let start = u32::from(from.weekday().number_days_from_monday());
    let rest = (0..span % 7).filter(|i| (start + i) % 7 < 5);
    (span / 7) * 5 + u32::try_from(rest.count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Weekday;
    use time::macros::date;

    fn scottish() -> Calendar {
        Calendar::scottish()
    }

    fn closed(date: Date, recorded_on: Date, withdrawn_on: Option<Date>) -> CalendarChange {
        CalendarChange {
            date,
            kind: CalendarChangeKind::Closed {
                label: "Site closure".into(),
            },
            recorded_on,
            withdrawn_on,
        }
    }

    #[test]
    fn a_change_speaks_only_for_days_after_it_was_recorded() {
        let day = date!(2024 - 05 - 15);
        // Recorded in advance: the day is closed.
        let ahead = closed(day, date!(2024 - 05 - 01), None);
        assert!(ahead.in_force());
        assert!(!Calendar::from_history(DayOneRule::default(), [&ahead]).is_working_day(day));
        // Recorded on the day or after it: the day stays as it was counted.
        for late in [day, date!(2024 - 05 - 16), date!(2025 - 01 - 01)] {
            let change = closed(day, late, None);
            assert!(!change.in_force());
            assert!(Calendar::from_history(DayOneRule::default(), [&change]).is_working_day(day));
        }
    }

    #[test]
    fn a_withdrawal_speaks_only_for_days_after_it_was_made() {
        let day = date!(2024 - 05 - 15);
        // Withdrawn before the day came: the day is a working day after all.
        assert!(!closed(day, date!(2024 - 05 - 01), Some(date!(2024 - 05 - 10))).in_force());
        assert!(!closed(day, date!(2024 - 05 - 01), Some(date!(2024 - 05 - 14))).in_force());
        // Withdrawn on the day or after it: the day was closed and stays closed.
        assert!(closed(day, date!(2024 - 05 - 01), Some(day)).in_force());
        assert!(closed(day, date!(2024 - 05 - 01), Some(date!(2024 - 06 - 01))).in_force());
    }

    #[test]
    fn worked_bank_holiday_in_force_only_when_recorded_ahead() {
        // Mon 6 May 2024 is the early May bank holiday.
        let holiday = date!(2024 - 05 - 06);
        let worked = |recorded_on| CalendarChange {
            date: holiday,
            kind: CalendarChangeKind::Worked,
            recorded_on,
            withdrawn_on: None,
        };
        let ahead = worked(date!(2024 - 04 - 01));
        let late = worked(date!(2024 - 05 - 07));
        assert!(Calendar::from_history(DayOneRule::default(), [&ahead]).is_working_day(holiday));
        assert!(!Calendar::from_history(DayOneRule::default(), [&late]).is_working_day(holiday));
    }

    #[test]
    fn only_future_days_can_be_changed() {
        let today = date!(2024 - 05 - 15);
        assert_eq!(check_changeable(date!(2024 - 05 - 16), today), Ok(()));
        assert!(check_changeable(today, today).is_err());
        assert!(check_changeable(date!(2024 - 05 - 01), today).is_err());
    }

    proptest! {
        /// Whatever is recorded or withdrawn on a day, no day up to and including it changes:
        /// the working-day count of any span that ends by then is the same before and after.
        #[test]
        fn later_changes_never_rewrite_counted_days(
            offsets in proptest::collection::vec((0i64..120, 0i64..120, proptest::option::of(0i64..120)), 0..12),
            edit_day in 0i64..120,
            edit_offset in 0i64..120,
            span_end in 0i64..120,
        ) {
            let base = date!(2024 - 01 - 01);
            let at = |n: i64| base + time::Duration::days(n);
            let history: Vec<CalendarChange> = offsets
                .iter()
                .map(|(d, r, w)| closed(at(*d), at(*r), w.map(at)))
                .filter(|c| c.withdrawn_on.is_none_or(|w| w >= c.recorded_on))
                .collect();
            let today = at(edit_day);
            let before = Calendar::from_history(DayOneRule::default(), &history);
            // One more change recorded today, and every standing change withdrawn today.
            let mut after_history: Vec<CalendarChange> = history
                .iter()
                .cloned()
                .map(|mut c| {
                    c.withdrawn_on.get_or_insert(today);
                    c
                })
                .collect();
            after_history.push(closed(at(edit_offset), today, None));
            let after = Calendar::from_history(DayOneRule::default(), &after_history);
            let end = at(span_end).min(today);
            prop_assert_eq!(
                before.working_days_between(base, end),
                after.working_days_between(base, end)
            );
        }
    }

    #[test]
    fn plain_week_counts_day_of_receipt_as_day_one() {
        let cal = scottish();
        // Mon 13 May 2024 .. Fri 17 May 2024, no holidays.
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 13), 1),
            Ok(date!(2024 - 05 - 13))
        );
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 13), 5),
            Ok(date!(2024 - 05 - 17))
        );
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 13), 6),
            Ok(date!(2024 - 05 - 20))
        );
    }

    #[test]
    fn weekend_receipt_starts_on_monday() {
        let cal = scottish();
        // Sat 18 May 2024: day 1 is Mon 20 May.
        assert_eq!(
            cal.day_one(date!(2024 - 05 - 18)),
            Ok(date!(2024 - 05 - 20))
        );
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 18), 5),
            Ok(date!(2024 - 05 - 24))
        );
        // Sat 25 May 2024: Mon 27 is the Spring bank holiday, so day 1 is Tue 28.
        assert_eq!(
            cal.day_one(date!(2024 - 05 - 25)),
            Ok(date!(2024 - 05 - 28))
        );
    }

    #[test]
    fn a_changed_day_one_rule_applies_only_from_its_day() {
        // Changed on Mon 13 May 2024 to "next working day", in force from Tue 14 May.
        let cal = scottish()
            .with_day_one_rule_changes([(date!(2024 - 05 - 14), DayOneRule::NextWorkingDay)]);
        // Received Mon 13 May: the old rule, day 1 that day, day 5 Fri 17 May as told.
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 13), 5),
            Ok(date!(2024 - 05 - 17))
        );
        // Received Tue 14 May: day 1 is Wed 15, day 5 Tue 21.
        assert_eq!(
            cal.day_one(date!(2024 - 05 - 14)),
            Ok(date!(2024 - 05 - 15))
        );
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 14), 5),
            Ok(date!(2024 - 05 - 21))
        );
        assert_eq!(
            cal.day_one_rule_on(date!(2024 - 05 - 13)),
            DayOneRule::ReceiptOrNextWorkingDay
        );
        // Changed back from 1 June: from then the receipt day counts again.
        let back = cal.with_day_one_rule_changes([(
            date!(2024 - 06 - 01),
            DayOneRule::ReceiptOrNextWorkingDay,
        )]);
        assert_eq!(
            back.day_one(date!(2024 - 05 - 31)),
            Ok(date!(2024 - 06 - 03))
        );
        assert_eq!(
            back.day_one(date!(2024 - 06 - 03)),
            Ok(date!(2024 - 06 - 03))
        );
    }

    #[test]
    fn next_working_day_rule() {
        let cal = Calendar::new(DayOneRule::NextWorkingDay, [], []);
        // Mon 13 May 2024: day 1 is Tue 14, so day 5 is Mon 20.
        assert_eq!(
            cal.day_one(date!(2024 - 05 - 13)),
            Ok(date!(2024 - 05 - 14))
        );
        assert_eq!(
            cal.due_date(date!(2024 - 05 - 13), 5),
            Ok(date!(2024 - 05 - 20))
        );
        // Fri 29 Nov 2024: Sat, Sun, Mon 2 Dec (St Andrew's substitute) skipped.
        assert_eq!(
            cal.day_one(date!(2024 - 11 - 29)),
            Ok(date!(2024 - 12 - 03))
        );
    }

    /// Due dates worked out by hand against the published holidays.
    #[test]
    fn due_date_table() {
        let cal = scottish();
        let rows: &[(Date, u32, Date)] = &[
            // Thu 28 Mar 2024, 5 days: Thu 28 (1), [Fri 29 Good Friday], Mon 1 Apr (2), Tue 2 (3),
            // Wed 3 (4), Thu 4 (5). Easter Monday is a working day in Scotland.
            (date!(2024 - 03 - 28), 5, date!(2024 - 04 - 04)),
            // Wed 16 Apr 2025, 5 days: Wed 16 (1), Thu 17 (2), [Fri 18 Good Friday], Mon 21 (3),
            // Tue 22 (4), Wed 23 (5).
            (date!(2025 - 04 - 16), 5, date!(2025 - 04 - 23)),
            // Mon 23 Dec 2024, 5 days: Mon 23 (1), Tue 24 (2), [Wed 25, Thu 26], Fri 27 (3),
            // Mon 30 (4), Tue 31 (5).
            (date!(2024 - 12 - 23), 5, date!(2024 - 12 - 31)),
            // Tue 31 Dec 2024, 5 days: Tue 31 (1), [Wed 1, Thu 2 Jan], Fri 3 (2), Mon 6 (3),
            // Tue 7 (4), Wed 8 (5).
            (date!(2024 - 12 - 31), 5, date!(2025 - 01 - 08)),
            // Thu 23 Dec 2021, 5 days: Thu 23 (1), Fri 24 (2), [Mon 27, Tue 28 substitutes],
            // Wed 29 (3), Thu 30 (4), Fri 31 (5).
            (date!(2021 - 12 - 23), 5, date!(2021 - 12 - 31)),
            // Fri 31 Dec 2021, 5 days: Fri 31 (1), [Mon 3, Tue 4 Jan substitutes], Wed 5 (2),
            // Thu 6 (3), Fri 7 (4), Mon 10 (5).
            (date!(2021 - 12 - 31), 5, date!(2022 - 01 - 10)),
            // Fri 30 Dec 2022, 5 days: Fri 30 (1), [Mon 2, Tue 3 Jan substitutes], Wed 4 (2),
            // Thu 5 (3), Fri 6 (4), Mon 9 (5).
            (date!(2022 - 12 - 30), 5, date!(2023 - 01 - 09)),
            // Thu 27 Nov 2025, 5 days: Thu 27 (1), Fri 28 (2), [Mon 1 Dec St Andrew's substitute],
            // Tue 2 (3), Wed 3 (4), Thu 4 (5).
            (date!(2025 - 11 - 27), 5, date!(2025 - 12 - 04)),
            // Fri 27 Nov 2020, 5 days: Fri 27 (1), [Mon 30 St Andrew's Day], Tue 1 Dec (2),
            // Wed 2 (3), Thu 3 (4), Fri 4 (5).
            (date!(2020 - 11 - 27), 5, date!(2020 - 12 - 04)),
            // Sun 29 Nov 2020: day 1 skips Sun and Mon 30 → Tue 1 Dec (1) .. Mon 7 Dec (5).
            (date!(2020 - 11 - 29), 5, date!(2020 - 12 - 07)),
            // Mon 2 Dec 2024 (St Andrew's substitute), 3 days: Tue 3 (1), Wed 4 (2), Thu 5 (3).
            (date!(2024 - 12 - 02), 3, date!(2024 - 12 - 05)),
            // Mon 1 Dec 2025, 20 days: Tue 2 Dec (1) .. Wed 24 Dec (17), [Thu 25, Fri 26],
            // Mon 29 (18), Tue 30 (19), Wed 31 (20).
            (date!(2025 - 12 - 01), 20, date!(2025 - 12 - 31)),
            // Mon 8 Dec 2025, 20 days: Mon 8 .. Fri 19 (10), Mon 22, Tue 23, Wed 24 (13),
            // [Thu 25, Fri 26], Mon 29 (14), Tue 30 (15), Wed 31 (16), [Thu 1, Fri 2 Jan],
            // Mon 5 (17), Tue 6 (18), Wed 7 (19), Thu 8 (20).
            (date!(2025 - 12 - 08), 20, date!(2026 - 01 - 08)),
            // Mon 16 Mar 2026, 20 days: Mon 16 .. Fri 27 (10), Mon 30, Tue 31, Wed 1 Apr,
            // Thu 2 Apr (14), [Fri 3 Good Friday], Mon 6 (15) .. Fri 10 (19), Mon 13 (20).
            (date!(2026 - 03 - 16), 20, date!(2026 - 04 - 13)),
            // Mon 1 Jun 2026, 20 days: Mon 1 .. Fri 12 (10), [Mon 15 World Cup], Tue 16 .. Fri 19
            // (14), Mon 22 .. Fri 26 (19), Mon 29 (20).
            (date!(2026 - 06 - 01), 20, date!(2026 - 06 - 29)),
            // Mon 29 Apr 2024, 10 days: Mon 29 .. Fri 3 May (5), [Mon 6 May], Tue 7 .. Fri 10
            // (9), Mon 13 (10).
            (date!(2024 - 04 - 29), 10, date!(2024 - 05 - 13)),
            // Wed 31 May 2022, 5 days: Wed 31 (1), Wed 1 Jun (2), [Thu 2, Fri 3 Jubilee],
            // Mon 6 (3), Tue 7 (4), Wed 8 (5). Mon 30 May was not a holiday that year.
            (date!(2022 - 05 - 31), 5, date!(2022 - 06 - 08)),
            // Sun 1 Jan 2023: [Mon 2, Tue 3 substitutes] Wed 4 (1) .. Tue 10 (5).
            (date!(2023 - 01 - 01), 5, date!(2023 - 01 - 10)),
        ];
        for (received, n, expected) in rows {
            assert_eq!(
                cal.due_date(*received, *n),
                Ok(*expected),
                "{received} + {n}"
            );
        }
    }

    #[test]
    fn organisation_additions_and_removals() {
        let cal = Calendar::new(
            DayOneRule::ReceiptOrNextWorkingDay,
            [
                LocalHoliday {
                    date: date!(2025 - 04 - 21),
                    label: "Easter Monday (local)".into(),
                },
                LocalHoliday {
                    date: date!(2025 - 07 - 19),
                    label: "Weekend open day".into(),
                },
            ],
            [date!(2025 - 05 - 26)],
        );
        assert!(!cal.is_working_day(date!(2025 - 04 - 21)));
        assert!(cal.is_working_day(date!(2025 - 05 - 26)));
        let list = cal.holidays_in_year(2025).unwrap_or_default();
        let dates: Vec<Date> = list.iter().map(|h| h.date).collect();
        assert!(dates.contains(&date!(2025 - 04 - 21)));
        assert!(dates.contains(&date!(2025 - 07 - 19)));
        assert!(!dates.contains(&date!(2025 - 05 - 26)));
        assert_eq!(list.len(), 9 + 2 - 1);
        assert!(dates.windows(2).all(|w| w[0] < w[1]));
        // Wed 16 Apr 2025: Wed 16 (1), Thu 17 (2), [Fri 18, Mon 21], Tue 22 (3), Wed 23 (4),
        // Thu 24 (5).
        assert_eq!(
            cal.due_date(date!(2025 - 04 - 16), 5),
            Ok(date!(2025 - 04 - 24))
        );
        // A removed day that was also added is worked.
        let both = Calendar::new(
            DayOneRule::ReceiptOrNextWorkingDay,
            [LocalHoliday {
                date: date!(2025 - 03 - 03),
                label: "x".into(),
            }],
            [date!(2025 - 03 - 03)],
        );
        assert!(both.is_working_day(date!(2025 - 03 - 03)));
        assert_eq!(
            both.working_days_between(date!(2025 - 03 - 03), date!(2025 - 03 - 07)),
            5
        );
    }

    #[test]
    fn refusals_are_bounded() {
        let cal = scottish();
        assert_eq!(
            cal.due_date(date!(2024 - 01 - 01), 0),
            Err(ProcedureError::WorkingDaysOutOfRange {
                requested: 0,
                max: MAX_WORKING_DAYS
            })
        );
        assert!(matches!(
            cal.due_date(date!(2024 - 01 - 01), MAX_WORKING_DAYS + 1),
            Err(ProcedureError::WorkingDaysOutOfRange { .. })
        ));
        assert!(
            cal.due_date(date!(2024 - 01 - 01), MAX_WORKING_DAYS)
                .is_ok()
        );
        assert_eq!(
            cal.due_date(date!(1899 - 12 - 31), 5),
            Err(ProcedureError::DateOutOfRange {
                date: date!(1899 - 12 - 31)
            })
        );
        assert!(matches!(
            cal.due_date(date!(2200 - 12 - 30), 5),
            Err(ProcedureError::DateOutOfRange { .. })
        ));
        // An organisation closed for eleven years never finds a working day.
        let closed: Vec<LocalHoliday> = (0..4100)
            .scan(date!(2030 - 01 - 01), |d, _| {
                let here = *d;
                *d = d.next_day()?;
                Some(LocalHoliday {
                    date: here,
                    label: "closed".into(),
                })
            })
            .collect();
        let shut = Calendar::new(DayOneRule::ReceiptOrNextWorkingDay, closed, []);
        assert_eq!(
            shut.day_one(date!(2030 - 01 - 01)),
            Err(ProcedureError::NoWorkingDay {
                from: date!(2030 - 01 - 01),
                days: MAX_SEARCH_DAYS
            })
        );
        assert_eq!(
            shut.holidays_in_year(1800),
            Err(ProcedureError::YearOutOfRange { year: 1800 })
        );
    }

    #[test]
    fn counting_working_days_used() {
        let cal = scottish();
        // Mon 23 Dec 2024 .. Fri 3 Jan 2025: 10 weekdays less 25, 26 Dec and 1, 2 Jan.
        assert_eq!(
            cal.working_days_used(date!(2024 - 12 - 23), date!(2025 - 01 - 03)),
            6
        );
        assert_eq!(
            cal.working_days_used(date!(2024 - 12 - 23), date!(2024 - 12 - 22)),
            0
        );
        assert_eq!(
            cal.working_days_used(date!(2024 - 12 - 23), date!(2024 - 12 - 23)),
            1
        );
        // A weekend alone has no working days.
        assert_eq!(
            cal.working_days_used(date!(2024 - 12 - 21), date!(2024 - 12 - 22)),
            0
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (date!(2015 - 01 - 01).to_julian_day()..date!(2035 - 12 - 31).to_julian_day())
            .prop_map(|jd| Date::from_julian_day(jd).unwrap_or(date!(2024 - 01 - 01)))
    }

    fn any_calendar() -> impl Strategy<Value = Calendar> {
        (
            prop::bool::ANY,
            prop::collection::vec(any_date(), 0..20),
            prop::collection::vec(any_date(), 0..5),
        )
            .prop_map(|(next, adds, removes)| {
                let rule = if next {
                    DayOneRule::NextWorkingDay
                } else {
                    DayOneRule::ReceiptOrNextWorkingDay
                };
                Calendar::new(
                    rule,
                    adds.into_iter().map(|date| LocalHoliday {
                        date,
                        label: "local".into(),
                    }),
                    removes,
                )
            })
    }

    proptest! {
        #[test]
        fn due_date_is_a_working_day(cal in any_calendar(), d in any_date(), n in 1u32..60) {
            let due = cal.due_date(d, n);
            prop_assert!(due.is_ok());
            let due = due.unwrap_or(d);
            prop_assert!(cal.is_working_day(due));
            prop_assert!(due >= d);
            let day_one = cal.day_one(d).unwrap_or(d);
            prop_assert_eq!(cal.working_days_used(day_one, due), n);
        }

        #[test]
        fn more_days_never_earlier(cal in any_calendar(), d in any_date(), n in 1u32..60, extra in 0u32..30) {
            let a = cal.due_date(d, n);
            let b = cal.due_date(d, n + extra);
            prop_assert!(a.is_ok() && b.is_ok());
            prop_assert!(b.ok() >= a.ok());
        }

        #[test]
        fn one_more_day_is_strictly_later(cal in any_calendar(), d in any_date(), n in 1u32..60) {
            let a = cal.due_date(d, n);
            let b = cal.due_date(d, n + 1);
            prop_assert!(a.is_ok() && b.is_ok());
            prop_assert!(b.ok() > a.ok());
        }

        #[test]
        fn day_one_is_a_working_day(cal in any_calendar(), d in any_date()) {
            let day_one = cal.day_one(d);
            prop_assert!(day_one.is_ok());
            let day_one = day_one.unwrap_or(d);
            prop_assert!(cal.is_working_day(day_one));
            match cal.day_one_rule() {
                DayOneRule::ReceiptOrNextWorkingDay => prop_assert!(day_one >= d),
                DayOneRule::NextWorkingDay => prop_assert!(day_one > d),
            }
            if cal.day_one_rule() == DayOneRule::ReceiptOrNextWorkingDay && cal.is_working_day(d) {
                prop_assert_eq!(day_one, d);
            }
        }

        #[test]
        fn arithmetic_count_matches_day_by_day(cal in any_calendar(), a in any_date(), len in 0i64..400) {
            let b = a + time::Duration::days(len);
            let mut slow = 0;
            let mut d = a;
            while d <= b {
                if cal.is_working_day(d) { slow += 1; }
                d = match d.next_day() { Some(n) => n, None => break };
            }
            prop_assert_eq!(cal.working_days_between(a, b), slow);
        }
    }

    #[test]
    fn weekday_arithmetic() {
        // Mon 1 Jan 2024 .. Sun 7 Jan 2024.
        assert_eq!(
            weekdays_between(date!(2024 - 01 - 01), date!(2024 - 01 - 07)),
            5
        );
        assert_eq!(
            weekdays_between(date!(2024 - 01 - 06), date!(2024 - 01 - 07)),
            0
        );
        assert_eq!(
            weekdays_between(date!(2024 - 01 - 05), date!(2024 - 01 - 08)),
            2
        );
        assert_eq!(date!(2024 - 01 - 05).weekday(), Weekday::Friday);
    }
}
