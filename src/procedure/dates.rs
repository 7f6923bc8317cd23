//! ISO dates in and out.
//!
//! `time`'s own serde support writes a `Date` as a `[year, ordinal]` pair unless extra
//! formatting features are switched on; every client of this service expects `YYYY-MM-DD`, so the
//! few lines needed live here instead.

use time::{Date, Month};

use super::error::ProcedureError;

/// Parses `YYYY-MM-DD` strictly (four-digit year, two-digit month and day).
pub fn parse_iso_date(input: &str) -> Result<Date, ProcedureError> {
    let invalid = || ProcedureError::InvalidDate {
        input: input.to_owned(),
    };
    let bytes = input.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, ProcedureError> {
        let part = input.get(range).ok_or_else(invalid)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        part.parse::<u32>().map_err(|_| invalid())
    };
    let year = i32::try_from(number(0..4)?).map_err(|_| invalid())?;
    let month = u8::try_from(number(5..7)?)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(invalid)?;
    let day = u8::try_from(number(8..10)?).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|_| invalid())
}

/// A date as a person typed it: `2026-12-03` (what a browser's date box sends), day/month/year
/// with `/`, `.`, `-` or spaces between (`3/12/2026`), or the month in words (`3 December 2026`,
/// `3 Dec 2026`, with or without a weekday in front). Years have four digits, so `3/12/26` is
/// refused rather than guessed.
pub fn parse_typed_date(input: &str) -> Result<Date, ProcedureError> {
    let invalid = || ProcedureError::InvalidDate {
        input: input.chars().take(40).collect(),
    };
    let text = input.trim();
    if let Ok(date) = parse_iso_date(text) {
        return Ok(date);
    }
    let parts: Vec<&str> = text
        .split(['/', '.', '-', ',', ' '])
        .filter(|part| !part.is_empty())
        .collect();
    // "Thursday 3 December 2026": the weekday adds nothing.
    let parts = match parts.as_slice() {
        [weekday, rest @ ..]
            if rest.len() == 3
                && month_named(weekday).is_none()
                && !weekday.bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        all => all,
    };
    let [day, month, year] = parts else {
        return Err(invalid());
    };
    let digits = |part: &str, most: usize| -> Result<u32, ProcedureError> {
        if part.is_empty() || part.len() > most || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        part.parse::<u32>().map_err(|_| invalid())
    };
    if year.len() != 4 {
        return Err(invalid());
    }
    let year = i32::try_from(digits(year, 4)?).map_err(|_| invalid())?;
    let month = match month_named(month) {
        Some(month) => month,
        None => u8::try_from(digits(month, 2)?)
            .ok()
            .and_then(|month| Month::try_from(month).ok())
            .ok_or_else(invalid)?,
    };
    let day = u8::try_from(digits(day, 2)?).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|_| invalid())
}

/// "December", "dec", "Sept": a month's name or its first three or more letters.
fn month_named(word: &str) -> Option<Month> {
    let word = word.to_ascii_lowercase();
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut month = Month::January;
    for _ in 0..12 {
        if month.to_string().to_ascii_lowercase().starts_with(&word) {
            return Some(month);
        }
        month = month.next();
    }
    None
}

/// A date as people in Scotland read it: "3 December 2026". Every page shows dates this way
/// (the tera filter `date_words` calls this), so reporters and handlers see one form.
pub fn date_words(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

/// `#[serde(with = "iso_date")]` for a `Date` field.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_iso_date(&text).map_err(D::Error::custom)
    }

    /// `#[serde(with = "iso_date::option", default)]` for an `Option<Date>` field.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
        use time::Date;

        pub fn serialize<S: Serializer>(
            date: &Option<Date>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match date {
                Some(d) => serializer.collect_str(d),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Date>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| super::super::parse_iso_date(&text).map_err(D::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_are_read_as_people_type_them() {
        let day = date!(2026 - 12 - 03);
        for typed in [
            "2026-12-03",
            "3/12/2026",
            "03/12/2026",
            "3.12.2026",
            "3-12-2026",
            "3 12 2026",
            "3 December 2026",
            "3 december 2026",
            "3 Dec 2026",
            " Thursday 3 December 2026 ",
            "Thursday, 3 December 2026",
        ] {
            assert_eq!(parse_typed_date(typed), Ok(day), "{typed}");
        }
        assert_eq!(parse_typed_date("1 Sept 2026"), Ok(date!(2026 - 09 - 01)));
        for bad in [
            "",
            "yesterday",
            "3/12/26",
            "31/02/2026",
            "3 Decembre 2026",
            "3 De 2026",
            "2026/13/01",
            "1 2 3 2026",
        ] {
            assert!(parse_typed_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_read_as_words() {
        assert_eq!(date_words(date!(2026 - 12 - 03)), "3 December 2026");
        assert_eq!(date_words(date!(2027 - 01 - 31)), "31 January 2027");
    }

    #[test]
    fn parses_strict_iso_dates() {
        assert_eq!(parse_iso_date("2024-02-29"), Ok(date!(2024 - 02 - 29)));
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "24-02-29",
            "2024/02/29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "+202-01-01",
            "2024-01-0a",
            "",
            "2024-01-01T00",
        ] {
            assert_eq!(
                parse_iso_date(bad),
                Err(ProcedureError::InvalidDate {
                    input: bad.to_owned()
                }),
                "{bad}"
            );
        }
    }
}
