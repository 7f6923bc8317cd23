//! How long a finished case's content is kept. The Standards leave retention to the
//! organisation's records management policy; the default follows the NHS Scotland records code
//! for complaints (six years after closure). Only content and keys go: the dated procedure
//! history stays, so published figures never change when a case is erased.

use time::{Date, Month};

use super::error::ProcedureError;
use super::stages::State;

/// The default: six years after the case's last activity.
pub const DEFAULT_RETENTION_MONTHS: u32 = 72;
/// Never less than a year, so the INWO's 12-month window after a final response is always open
/// while the reporter can still read that response.
pub const MIN_RETENTION_MONTHS: u32 = 12;
/// A century: long enough for any policy, short enough to keep date arithmetic in range.
pub const MAX_RETENTION_MONTHS: u32 = 1200;

/// An organisation's retention period, in calendar months after a finished case's last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    months: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            months: DEFAULT_RETENTION_MONTHS,
        }
    }
}

impl Retention {
    pub fn new(months: u32) -> Result<Retention, ProcedureError> {
        if (MIN_RETENTION_MONTHS..=MAX_RETENTION_MONTHS).contains(&months) {
            Ok(Retention { months })
        } else {
            Err(ProcedureError::RetentionOutOfRange {
                months,
                min: MIN_RETENTION_MONTHS,
                max: MAX_RETENTION_MONTHS,
            })
        }
    }

    pub fn months(self) -> u32 {
        self.months
    }

    /// The first day on which a case in `state`, last touched on `last_activity`, may be erased;
    /// `None` while the case is still open. Activity is any event or record (a reporter's late
    /// message restarts the count), so nobody loses content they are still using.
    pub fn erasable_from(self, state: State, last_activity: Date) -> Option<Date> {
        let finished = matches!(
            state,
            State::Stage1Closed | State::Stage2Closed | State::NotWhistleblowing | State::Withdrawn
        );
        if finished {
            add_months(last_activity, self.months)
        } else {
            None
        }
    }

    /// Whether the case may be erased on `today`.
    pub fn is_due(self, state: State, last_activity: Date, today: Date) -> bool {
        self.erasable_from(state, last_activity)
            .is_some_and(|from| from <= today)
    }
}

/// `date` plus whole calendar months; a day the target month lacks becomes its last day
/// (31 August + 6 months = 28 or 29 February).
fn add_months(date: Date, months: u32) -> Option<Date> {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_period_is_bounded() {
        assert!(Retention::new(11).is_err());
        assert!(Retention::new(0).is_err());
        assert!(Retention::new(1201).is_err());
        assert_eq!(Retention::new(12).map(Retention::months), Ok(12));
        assert_eq!(Retention::new(1200).map(Retention::months), Ok(1200));
        assert_eq!(Retention::default().months(), 72);
        let refused = Retention::new(3).unwrap_err();
        assert_eq!(refused.code(), "retention_out_of_range");
        assert!(refused.to_string().contains("12"));
    }

    #[test]
    fn open_cases_are_never_erasable() {
        let retention = Retention::new(12).unwrap();
        for state in [State::Received, State::Stage1, State::Stage2] {
            assert_eq!(retention.erasable_from(state, date!(2000 - 01 - 01)), None);
            assert!(!retention.is_due(state, date!(2000 - 01 - 01), date!(2099 - 01 - 01)));
        }
    }

    #[test]
    fn finished_cases_are_erasable_the_day_the_period_ends() {
        let retention = Retention::new(72).unwrap();
        for state in [
            State::Stage1Closed,
            State::Stage2Closed,
            State::NotWhistleblowing,
            State::Withdrawn,
        ] {
            let last = date!(2020 - 03 - 15);
            assert_eq!(
                retention.erasable_from(state, last),
                Some(date!(2026 - 03 - 15))
            );
            assert!(!retention.is_due(state, last, date!(2026 - 03 - 14)));
            assert!(retention.is_due(state, last, date!(2026 - 03 - 15)));
            assert!(retention.is_due(state, last, date!(2026 - 03 - 16)));
        }
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_month_end() {
        assert_eq!(
            add_months(date!(2025 - 08 - 31), 6),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            add_months(date!(2023 - 08 - 31), 6),
            Some(date!(2024 - 02 - 29))
        );
        assert_eq!(
            add_months(date!(2024 - 02 - 29), 12),
            Some(date!(2025 - 02 - 28))
        );
        assert_eq!(
            add_months(date!(2026 - 12 - 04), 1),
            Some(date!(2027 - 01 - 04))
        );
        assert_eq!(
            add_months(date!(2026 - 12 - 04), 12),
            Some(date!(2027 - 12 - 04))
        );
        assert_eq!(
            add_months(date!(2026 - 01 - 31), 1),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            add_months(date!(2026 - 01 - 31), 1200),
            Some(date!(2126 - 01 - 31))
        );
        assert_eq!(add_months(Date::MAX, 12), None);
    }
}
