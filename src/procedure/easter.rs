use time::{Date, Month};

/// Easter Sunday in the Gregorian calendar (the "anonymous Gregorian" computus of Meeus, Jones and
/// Butcher), which is what the UK has used since 1752.
///
/// Returns `None` only for years `time` cannot represent.
pub fn easter_sunday(year: i32) -> Option<Date> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use time::{Duration, Weekday};

    #[test]
    fn known_easter_sundays() {
        // Published Western Easter dates.
        let known = [
            date!(1900 - 04 - 15),
            date!(1954 - 04 - 18),
            date!(1961 - 04 - 02),
            date!(1981 - 04 - 19),
            date!(2000 - 04 - 23),
            date!(2008 - 03 - 23),
            date!(2011 - 04 - 24),
            date!(2015 - 04 - 05),
            date!(2016 - 03 - 27),
            date!(2017 - 04 - 16),
            date!(2018 - 04 - 01),
            date!(2019 - 04 - 21),
            date!(2020 - 04 - 12),
            date!(2021 - 04 - 04),
            date!(2022 - 04 - 17),
            date!(2023 - 04 - 09),
            date!(2024 - 03 - 31),
            date!(2025 - 04 - 20),
            date!(2026 - 04 - 05),
            date!(2027 - 03 - 28),
            date!(2028 - 04 - 16),
            date!(2029 - 04 - 01),
            date!(2030 - 04 - 21),
            date!(2035 - 03 - 25),
            date!(2038 - 04 - 25),
            date!(2049 - 04 - 18),
            date!(2100 - 03 - 28),
            date!(2200 - 04 - 06),
        ];
        for day in known {
            assert_eq!(easter_sunday(day.year()), Some(day), "{}", day.year());
        }
    }

    #[test]
    fn always_a_sunday_between_22_march_and_25_april() {
        for year in 1900..=2200 {
            let Some(sunday) = easter_sunday(year) else {
                panic!("no Easter for {year}");
            };
            assert_eq!(sunday.weekday(), Weekday::Sunday, "{year}");
            let earliest = Date::from_calendar_date(year, Month::March, 22).unwrap_or(sunday);
            assert!(sunday >= earliest && sunday <= earliest + Duration::days(34));
        }
    }
}
