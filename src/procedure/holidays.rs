//! Scottish bank holidays, by rule plus a table of one-off proclamations.
//!
//! Today's rules are applied to every supported year; historical differences (St Andrew's Day only
//! became a bank holiday in 2007, for instance) do not matter for a service whose cases start in
//! the 2020s, and the wider range keeps the arithmetic total.

use serde::{Deserialize, Serialize};
use time::macros::date;
use time::{Date, Month, Weekday};

use super::dates::iso_date;
use super::easter::easter_sunday;
use super::error::ProcedureError;

/// Years for which the rules below are known to give a complete list.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;

/// A day the organisation does not work, with the name people know it by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Holiday {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub name: String,
}

/// A change proclaimed for one year only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneOff {
    /// A regular holiday moved to another date, under a new name.
    Moved {
        from: Date,
        to: Date,
        name: &'static str,
    },
    /// An extra holiday.
    Added { date: Date, name: &'static str },
}

/// Proclamations that change the Scottish list. Data, not code: add a row when one is proclaimed.
/// Only changes since 2020 are listed; cases before then are out of scope.
pub const ONE_OFFS: &[OneOff] = &[
    OneOff::Moved {
        from: date!(2020 - 05 - 04),
        to: date!(2020 - 05 - 08),
        name: "Early May bank holiday (VE Day)",
    },
    OneOff::Moved {
        from: date!(2022 - 05 - 30),
        to: date!(2022 - 06 - 02),
        name: "Spring bank holiday",
    },
    OneOff::Added {
        date: date!(2022 - 06 - 03),
        name: "Platinum Jubilee bank holiday",
    },
    OneOff::Added {
        date: date!(2022 - 09 - 19),
        name: "Bank holiday for the State Funeral of Queen Elizabeth II",
    },
    OneOff::Added {
        date: date!(2023 - 05 - 08),
        name: "Bank holiday for the coronation of King Charles III",
    },
    // Scotland only: proclaimed in February 2026 for the men's team's first World Cup finals
    // match since 1998.
    OneOff::Added {
        date: date!(2026 - 06 - 15),
        name: "World Cup bank holiday",
    },
];

const SUBSTITUTE: &str = " (substitute day)";

/// The Scottish bank holidays of `year`, sorted by date.
pub fn scottish_bank_holidays(year: i32) -> Result<Vec<Holiday>, ProcedureError> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(ProcedureError::YearOutOfRange { year });
    }
    let out_of_range = || ProcedureError::YearOutOfRange { year };
    let on = |month: Month, day: u8| Date::from_calendar_date(year, month, day);

    let mut list = Vec::with_capacity(12);
    substitute_pair(
        &mut list,
        (on(Month::January, 1), "New Year's Day"),
        (on(Month::January, 2), "2nd January"),
    )
    .ok_or_else(out_of_range)?;

    let good_friday = easter_sunday(year)
        .and_then(|sunday| sunday.previous_day())
        .and_then(|saturday| saturday.previous_day())
        .ok_or_else(out_of_range)?;
    list.push(holiday(good_friday, "Good Friday"));

    let first_monday_may = first_monday(year, Month::May).ok_or_else(out_of_range)?;
    list.push(holiday(first_monday_may, "Early May bank holiday"));
    let last_monday_may = last_monday(year, Month::May).ok_or_else(out_of_range)?;
    list.push(holiday(last_monday_may, "Spring bank holiday"));
    let first_monday_august = first_monday(year, Month::August).ok_or_else(out_of_range)?;
    list.push(holiday(first_monday_august, "Summer bank holiday"));

    // St Andrew's Day has its own Act: a weekend date moves to the following Monday.
    let st_andrew = on(Month::November, 30).map_err(|_| out_of_range())?;
    list.push(match st_andrew.weekday() {
        Weekday::Saturday | Weekday::Sunday => holiday(
            st_andrew.next_occurrence(Weekday::Monday),
            &format!("St Andrew's Day{SUBSTITUTE}"),
        ),
        _ => holiday(st_andrew, "St Andrew's Day"),
    });

    substitute_pair(
        &mut list,
        (on(Month::December, 25), "Christmas Day"),
        (on(Month::December, 26), "Boxing Day"),
    )
    .ok_or_else(out_of_range)?;

    apply_one_offs(&mut list, year);
    list.sort();
    Ok(list)
}

fn holiday(date: Date, name: &str) -> Holiday {
    Holiday {
        date,
        name: name.to_owned(),
    }
}

/// The first day of a pair keeps or takes the first free weekday, then the second does the same,
/// skipping the first's day: so a Saturday 1 January gives Monday 3 and Tuesday 4, and a Sunday
/// 25 December gives Monday 26 and Tuesday 27.
fn substitute_pair(
    list: &mut Vec<Holiday>,
    first: (Result<Date, time::error::ComponentRange>, &str),
    second: (Result<Date, time::error::ComponentRange>, &str),
) -> Option<()> {
    let mut taken: Option<Date> = None;
    for (date, name) in [first, second] {
        let date = date.ok()?;
        let mut day = date;
        // A pair can slide at most from Saturday to Tuesday.
        for _ in 0..4 {
            if is_weekend(day) || taken == Some(day) {
                day = day.next_day()?;
            } else {
                break;
            }
        }
        if is_weekend(day) || taken == Some(day) {
            return None;
        }
        if day == date {
            list.push(holiday(day, name));
        } else {
            list.push(holiday(day, &format!("{name}{SUBSTITUTE}")));
        }
        taken = Some(day);
    }
    Some(())
}

fn apply_one_offs(list: &mut Vec<Holiday>, year: i32) {
    for change in ONE_OFFS {
        match *change {
            OneOff::Moved { from, to, name } if from.year() == year => {
                list.retain(|h| h.date != from);
                list.push(holiday(to, name));
            }
            OneOff::Added { date, name }
                if date.year() == year && list.iter().all(|h| h.date != date) =>
            {
                list.push(holiday(date, name));
            }
            _ => {}
        }
    }
}

pub(crate) fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn first_monday(year: i32, month: Month) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    Some(if first.weekday() == Weekday::Monday {
        first
    } else {
        first.next_occurrence(Weekday::Monday)
    })
}

fn last_monday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    Some(if last.weekday() == Weekday::Monday {
        last
    } else {
        last.prev_occurrence(Weekday::Monday)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(year: i32) -> Vec<Date> {
        scottish_bank_holidays(year)
            .map(|l| l.into_iter().map(|h| h.date).collect())
            .unwrap_or_default()
    }

    fn named(year: i32) -> Vec<(Date, String)> {
        scottish_bank_holidays(year)
            .map(|l| l.into_iter().map(|h| (h.date, h.name)).collect())
            .unwrap_or_default()
    }

    /// The published gov.uk lists for Scotland, checked day by day.
    #[test]
    fn matches_published_lists_2019_to_2027() {
        let expected: &[(i32, &[Date])] = &[
            (
                2019,
                &[
                    date!(2019 - 01 - 01),
                    date!(2019 - 01 - 02),
                    date!(2019 - 04 - 19),
                    date!(2019 - 05 - 06),
                    date!(2019 - 05 - 27),
                    date!(2019 - 08 - 05),
                    date!(2019 - 12 - 02), // 30 Nov was a Saturday
                    date!(2019 - 12 - 25),
                    date!(2019 - 12 - 26),
                ],
            ),
            (
                2020,
                &[
                    date!(2020 - 01 - 01),
                    date!(2020 - 01 - 02),
                    date!(2020 - 04 - 10),
                    date!(2020 - 05 - 08), // VE Day 75, instead of Mon 4 May
                    date!(2020 - 05 - 25),
                    date!(2020 - 08 - 03),
                    date!(2020 - 11 - 30), // a Monday
                    date!(2020 - 12 - 25),
                    date!(2020 - 12 - 28), // Boxing Day was a Saturday
                ],
            ),
            (
                2021,
                &[
                    date!(2021 - 01 - 01),
                    date!(2021 - 01 - 04), // 2 Jan was a Saturday
                    date!(2021 - 04 - 02),
                    date!(2021 - 05 - 03),
                    date!(2021 - 05 - 31),
                    date!(2021 - 08 - 02),
                    date!(2021 - 11 - 30), // a Tuesday, so no substitute
                    date!(2021 - 12 - 27), // Christmas Day was a Saturday
                    date!(2021 - 12 - 28), // Boxing Day was a Sunday
                ],
            ),
            (
                2022,
                &[
                    date!(2022 - 01 - 03), // New Year's Day was a Saturday
                    date!(2022 - 01 - 04), // 2 Jan was a Sunday
                    date!(2022 - 04 - 15),
                    date!(2022 - 05 - 02),
                    date!(2022 - 06 - 02), // Spring bank holiday moved from 30 May
                    date!(2022 - 06 - 03), // Platinum Jubilee
                    date!(2022 - 08 - 01),
                    date!(2022 - 09 - 19), // State funeral
                    date!(2022 - 11 - 30),
                    date!(2022 - 12 - 26), // Christmas Day was a Sunday
                    date!(2022 - 12 - 27),
                ],
            ),
            (
                2023,
                &[
                    date!(2023 - 01 - 02), // New Year's Day was a Sunday
                    date!(2023 - 01 - 03),
                    date!(2023 - 04 - 07),
                    date!(2023 - 05 - 01),
                    date!(2023 - 05 - 08), // Coronation
                    date!(2023 - 05 - 29),
                    date!(2023 - 08 - 07),
                    date!(2023 - 11 - 30),
                    date!(2023 - 12 - 25),
                    date!(2023 - 12 - 26),
                ],
            ),
            (
                2024,
                &[
                    date!(2024 - 01 - 01),
                    date!(2024 - 01 - 02),
                    date!(2024 - 03 - 29),
                    date!(2024 - 05 - 06),
                    date!(2024 - 05 - 27),
                    date!(2024 - 08 - 05),
                    date!(2024 - 12 - 02), // 30 Nov was a Saturday
                    date!(2024 - 12 - 25),
                    date!(2024 - 12 - 26),
                ],
            ),
            (
                2025,
                &[
                    date!(2025 - 01 - 01),
                    date!(2025 - 01 - 02),
                    date!(2025 - 04 - 18),
                    date!(2025 - 05 - 05),
                    date!(2025 - 05 - 26),
                    date!(2025 - 08 - 04),
                    date!(2025 - 12 - 01), // 30 Nov was a Sunday
                    date!(2025 - 12 - 25),
                    date!(2025 - 12 - 26),
                ],
            ),
            (
                2026,
                &[
                    date!(2026 - 01 - 01),
                    date!(2026 - 01 - 02),
                    date!(2026 - 04 - 03),
                    date!(2026 - 05 - 04),
                    date!(2026 - 05 - 25),
                    date!(2026 - 06 - 15), // World Cup
                    date!(2026 - 08 - 03),
                    date!(2026 - 11 - 30),
                    date!(2026 - 12 - 25),
                    date!(2026 - 12 - 28), // Boxing Day is a Saturday
                ],
            ),
            (
                2027,
                &[
                    date!(2027 - 01 - 01),
                    date!(2027 - 01 - 04), // 2 Jan is a Saturday
                    date!(2027 - 03 - 26),
                    date!(2027 - 05 - 03),
                    date!(2027 - 05 - 31),
                    date!(2027 - 08 - 02),
                    date!(2027 - 11 - 30),
                    date!(2027 - 12 - 27), // Christmas Day is a Saturday
                    date!(2027 - 12 - 28),
                ],
            ),
        ];
        for (year, list) in expected {
            assert_eq!(dates(*year), list.to_vec(), "{year}");
        }
    }

    #[test]
    fn substitute_names() {
        let y2022 = named(2022);
        assert!(y2022.contains(&(
            date!(2022 - 01 - 03),
            "New Year's Day (substitute day)".into()
        )));
        assert!(y2022.contains(&(date!(2022 - 01 - 04), "2nd January (substitute day)".into())));
        let y2023 = named(2023);
        assert!(y2023.contains(&(
            date!(2023 - 01 - 02),
            "New Year's Day (substitute day)".into()
        )));
        assert!(y2023.contains(&(date!(2023 - 01 - 03), "2nd January (substitute day)".into())));
        assert!(named(2025).contains(&(
            date!(2025 - 12 - 01),
            "St Andrew's Day (substitute day)".into()
        )));
        assert!(named(2020).contains(&(date!(2020 - 11 - 30), "St Andrew's Day".into())));
        assert!(
            named(2020).contains(&(date!(2020 - 12 - 28), "Boxing Day (substitute day)".into()))
        );
        assert!(named(2021).contains(&(
            date!(2021 - 12 - 27),
            "Christmas Day (substitute day)".into()
        )));
        assert!(
            named(2021).contains(&(date!(2021 - 12 - 28), "Boxing Day (substitute day)".into()))
        );
    }

    fn weekday_of(year: i32, month: Month, day: u8) -> Weekday {
        Date::from_calendar_date(year, month, day)
            .map(|d| d.weekday())
            .unwrap_or(Weekday::Monday)
    }

    /// Every substitute case, in every year it occurs.
    #[test]
    fn substitutes_in_every_year() {
        use Weekday::*;
        let mut seen = std::collections::HashSet::new();
        for year in FIRST_YEAR..=LAST_YEAR {
            let list = dates(year);
            let d = |m: Month, day: u8| {
                Date::from_calendar_date(year, m, day).unwrap_or(date!(2000 - 01 - 01))
            };
            let jan = |day| d(Month::January, day);
            let dec = |day| d(Month::December, day);
            let new_year = weekday_of(year, Month::January, 1);
            let expected_jan: Vec<Date> = match new_year {
                Friday => vec![jan(1), jan(4)],
                Saturday => vec![jan(3), jan(4)],
                Sunday => vec![jan(2), jan(3)],
                _ => vec![jan(1), jan(2)],
            };
            let got_jan: Vec<Date> = list
                .iter()
                .copied()
                .filter(|x| x.month() == Month::January)
                .collect();
            assert_eq!(got_jan, expected_jan, "January {year}");

            let christmas = weekday_of(year, Month::December, 25);
            let expected_dec: Vec<Date> = match christmas {
                Friday => vec![dec(25), dec(28)],
                Saturday => vec![dec(27), dec(28)],
                Sunday => vec![dec(26), dec(27)],
                _ => vec![dec(25), dec(26)],
            };
            let got_dec: Vec<Date> = list
                .iter()
                .copied()
                .filter(|x| x.month() == Month::December && x.day() >= 24)
                .collect();
            assert_eq!(got_dec, expected_dec, "December {year}");

            let st_andrew = weekday_of(year, Month::November, 30);
            let expected_andrew = match st_andrew {
                Saturday => dec(2),
                Sunday => dec(1),
                _ => d(Month::November, 30),
            };
            assert!(list.contains(&expected_andrew), "St Andrew {year}");
            seen.insert((new_year, christmas, st_andrew));

            for h in &list {
                assert!(!is_weekend(*h), "{h} in {year} is a weekend");
            }
            let mut unique = list.clone();
            unique.dedup();
            assert_eq!(unique.len(), list.len(), "duplicate in {year}");
            // Nine a year, plus one-offs.
            let extra = match year {
                2022 => 2,
                2023 | 2026 => 1,
                _ => 0,
            };
            assert_eq!(list.len(), 9 + extra, "{year}");
        }
        // Every weekday for each of the three days, so every substitute case was exercised.
        type Days = (Weekday, Weekday, Weekday);
        let picks: [fn(&Days) -> Weekday; 3] = [|t| t.0, |t| t.1, |t| t.2];
        for pick in picks {
            let weekdays: std::collections::HashSet<Weekday> = seen.iter().map(pick).collect();
            assert_eq!(weekdays.len(), 7);
        }
    }

    #[test]
    fn monday_rules_and_good_friday() {
        for year in FIRST_YEAR..=LAST_YEAR {
            let list = dates(year);
            let mondays_may: Vec<Date> = list
                .iter()
                .copied()
                .filter(|x| x.month() == Month::May)
                .collect();
            if year == 2020 {
                assert_eq!(
                    mondays_may,
                    vec![date!(2020 - 05 - 08), date!(2020 - 05 - 25)]
                );
                continue;
            }
            if year == 2022 {
                assert_eq!(mondays_may, vec![date!(2022 - 05 - 02)]);
                continue;
            }
            if year == 2023 {
                assert_eq!(mondays_may.len(), 3);
                continue;
            }
            assert_eq!(mondays_may.len(), 2, "{year}");
            assert!(mondays_may.iter().all(|x| x.weekday() == Weekday::Monday));
            assert!(mondays_may[0].day() <= 7);
            assert!(mondays_may[1].day() >= 25);
            let august: Vec<Date> = list
                .iter()
                .copied()
                .filter(|x| x.month() == Month::August)
                .collect();
            assert_eq!(august.len(), 1);
            assert!(august[0].day() <= 7 && august[0].weekday() == Weekday::Monday);
            let good_friday = list.iter().copied().find(|x| {
                matches!(x.month(), Month::March | Month::April) && x.weekday() == Weekday::Friday
            });
            assert_eq!(
                good_friday
                    .and_then(|f| f.next_day())
                    .and_then(|s| s.next_day()),
                easter_sunday(year),
                "{year}"
            );
        }
    }

    #[test]
    fn one_off_table_is_consistent() {
        for change in ONE_OFFS {
            match *change {
                OneOff::Moved { from, to, .. } => {
                    assert!(dates(from.year()).contains(&to));
                    assert!(!dates(from.year()).contains(&from));
                    assert!(!is_weekend(to));
                }
                OneOff::Added { date, .. } => {
                    assert!(dates(date.year()).contains(&date));
                    assert!(!is_weekend(date));
                }
            }
        }
    }

    #[test]
    fn refuses_years_outside_range() {
        assert_eq!(
            scottish_bank_holidays(1899),
            Err(ProcedureError::YearOutOfRange { year: 1899 })
        );
        assert_eq!(
            scottish_bank_holidays(2201),
            Err(ProcedureError::YearOutOfRange { year: 2201 })
        );
        assert!(scottish_bank_holidays(1900).is_ok());
        assert!(scottish_bank_holidays(2200).is_ok());
    }
}
