//! The lead's own words for a reporting period: experiences of those involved, awareness and
//! training, and a summary of learning. Not case content: the lead writes them for the board.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::report_narratives;
use super::{StoreError, Tx};
use crate::ids::{OrganisationId, UserId};

pub fn for_period(
    tx: &mut Tx,
    organisation: &OrganisationId,
    period: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(report_narratives::table
        .filter(report_narratives::organisation_id.eq(organisation.as_str()))
        .filter(report_narratives::period.eq(period))
        .select((report_narratives::section, report_narratives::body))
        .load(tx)?)
}

/// Writes a section, replacing what was there (an empty body removes it).
pub fn set(
    tx: &mut Tx,
    organisation: &OrganisationId,
    period: &str,
    section: &str,
    body: &str,
    by: &UserId,
    at: PrimitiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(
        report_narratives::table
            .filter(report_narratives::organisation_id.eq(organisation.as_str()))
            .filter(report_narratives::period.eq(period))
            .filter(report_narratives::section.eq(section)),
    )
    .execute(tx)?;
    if !body.is_empty() {
        diesel::insert_into(report_narratives::table)
            .values((
                report_narratives::organisation_id.eq(organisation.as_str()),
                report_narratives::period.eq(period),
                report_narratives::section.eq(section),
                report_narratives::body.eq(body),
                report_narratives::updated_by.eq(by.as_str()),
                report_narratives::updated_at.eq(at),
            ))
            .execute(tx)?;
    }
    Ok(())
}
