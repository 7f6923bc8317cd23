//! The only place the shell reads the time. The pure core is handed `today` instead; tests use a
//! fixed clock they can move forward to walk a case through its deadlines.

use std::sync::{Arc, Mutex, PoisonError};

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(Arc<Mutex<OffsetDateTime>>),
}

impl Clock {
    pub fn fixed(at: OffsetDateTime) -> Clock {
        Clock::Fixed(Arc::new(Mutex::new(at)))
    }

    pub fn now(&self) -> OffsetDateTime {
        match self {
            #[allow(clippy::disallowed_methods)]
            Clock::System => OffsetDateTime::now_utc(),
            Clock::Fixed(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// UTC wall time without an offset, as stored in TIMESTAMP columns.
    pub fn now_utc_naive(&self) -> PrimitiveDateTime {
        let now = self.now().to_offset(time::UtcOffset::UTC);
        PrimitiveDateTime::new(now.date(), now.time())
    }

    /// Today's date in Scotland, which is what working days and deadlines are counted in.
    pub fn today(&self) -> Date {
        uk_local_date(self.now())
    }

    /// Moves a fixed clock (tests only; the system clock cannot be moved).
    pub fn advance(&self, by: Duration) {
        if let Clock::Fixed(at) = self {
            let mut at = at.lock().unwrap_or_else(PoisonError::into_inner);
            *at += by;
        }
    }
}

/// UK civil date: GMT, or BST (UTC+1) from 01:00 UTC on the last Sunday of March until 01:00 UTC
/// on the last Sunday of October (Summer Time Order 2002).
pub fn uk_local_date(instant: OffsetDateTime) -> Date {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    let year = utc.year();
    let one_am = Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT);
    let summer_starts =
        PrimitiveDateTime::new(last_sunday(year, Month::March), one_am).assume_utc();
    let summer_ends =
        PrimitiveDateTime::new(last_sunday(year, Month::October), one_am).assume_utc();
    if utc >= summer_starts && utc < summer_ends {
        (utc + Duration::hours(1)).date()
    } else {
        utc.date()
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    let last_day = time::util::days_in_month(month, year);
    let mut day = Date::from_calendar_date(year, month, last_day).unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().unwrap_or(Date::MIN);
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn uk_dates_follow_summer_time() {
        // Winter: UTC date.
        assert_eq!(
            uk_local_date(datetime!(2026-01-10 23:30 UTC)).to_string(),
            "2026-01-10"
        );
        // Summer: 23:30 UTC is 00:30 BST the next day.
        assert_eq!(
            uk_local_date(datetime!(2026-07-10 23:30 UTC)).to_string(),
            "2026-07-11"
        );
        // Clocks go forward 01:00 UTC Sunday 29 March 2026.
        assert_eq!(
            uk_local_date(datetime!(2026-03-28 23:30 UTC)).to_string(),
            "2026-03-28"
        );
        assert_eq!(
            uk_local_date(datetime!(2026-03-29 23:30 UTC)).to_string(),
            "2026-03-30"
        );
        // Clocks go back 01:00 UTC Sunday 25 October 2026.
        assert_eq!(
            uk_local_date(datetime!(2026-10-24 23:30 UTC)).to_string(),
            "2026-10-25"
        );
        assert_eq!(
            uk_local_date(datetime!(2026-10-25 23:30 UTC)).to_string(),
            "2026-10-25"
        );
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = Clock::fixed(datetime!(2026-11-20 09:00 UTC));
        assert_eq!(clock.today().to_string(), "2026-11-20");
        clock.advance(Duration::days(3));
        assert_eq!(clock.today().to_string(), "2026-11-23");
    }
}
