//! The part of `src/procedure` that writes a procedure step's letter (`steps.rs` and what it
//! needs), included by path: the very source the server compiles.

#[path = "../../../src/procedure/calendar.rs"]
pub mod calendar;
#[path = "../../../src/procedure/dates.rs"]
pub mod dates;
#[path = "../../../src/procedure/deadlines.rs"]
pub mod deadlines;
#[path = "../../../src/procedure/easter.rs"]
pub mod easter;
#[path = "../../../src/procedure/error.rs"]
pub mod error;
#[path = "../../../src/procedure/holidays.rs"]
pub mod holidays;
#[path = "../../../src/procedure/letters.rs"]
pub mod letters;
#[path = "../../../src/procedure/signposting.rs"]
pub mod signposting;
#[path = "../../../src/procedure/stages.rs"]
pub mod stages;
#[path = "../../../src/procedure/steps.rs"]
pub mod steps;

pub use dates::parse_iso_date;
