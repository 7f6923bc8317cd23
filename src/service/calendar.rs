//! The organisation's working-day calendar, for the CLI and the admin pages: the same code the
//! procedure uses for every deadline.

use time::Date;

use super::{Portal, ServiceError, casefile};
use crate::procedure::{Calendar, Holiday, ProcedureError};

fn procedure_error(error: ProcedureError) -> ServiceError {
    ServiceError::invalid(error.code(), error.to_string())
}

impl Portal {
    pub fn organisation_calendar(&self, slug: &str) -> Result<Calendar, ServiceError> {
        self.store.read(|tx| {
            let organisation = casefile::organisation(tx, slug)?;
            casefile::calendar_for(tx, &organisation)
        })
    }

    /// The organisation's non-working days (other than weekends) in `year`.
    pub fn holidays_in_year(&self, slug: &str, year: i32) -> Result<Vec<Holiday>, ServiceError> {
        self.organisation_calendar(slug)?
            .holidays_in_year(year)
            .map_err(procedure_error)
    }

    /// The Nth working day counting the day of receipt (or the next working day) as day 1.
    pub fn due_date(
        &self,
        slug: &str,
        received: Date,
        working_days: u32,
    ) -> Result<Date, ServiceError> {
        self.organisation_calendar(slug)?
            .due_date(received, working_days)
            .map_err(procedure_error)
    }
}
