//! Organisations and their calendar changes.

use diesel::prelude::*;
use time::{Date, PrimitiveDateTime};

use super::schema::{organisation_holidays, organisations};
use super::{StoreError, Tx};
use crate::ids::OrganisationId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub slug: String,
    pub name: String,
    pub serves_nhs: bool,
    pub serves_local_authority: bool,
    pub day_one_rule: String,
    pub stage1_extension_cap: u32,
    pub board_exact_figures: bool,
    pub recovery_public_key: Option<Vec<u8>>,
    pub created_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
struct OrganisationRow {
    id: String,
    slug: String,
    name: String,
    serves_nhs: bool,
    serves_local_authority: bool,
    day_one_rule: String,
    stage1_extension_cap: i32,
    board_exact_figures: bool,
    recovery_public_key: Option<Vec<u8>>,
    created_at: PrimitiveDateTime,
}

impl From<OrganisationRow> for Organisation {
    fn from(row: OrganisationRow) -> Self {
        Organisation {
            id: OrganisationId::from_stored(row.id),
            slug: row.slug,
            name: row.name,
            serves_nhs: row.serves_nhs,
            serves_local_authority: row.serves_local_authority,
            day_one_rule: row.day_one_rule,
            stage1_extension_cap: u32::try_from(row.stage1_extension_cap).unwrap_or(0),
            board_exact_figures: row.board_exact_figures,
            recovery_public_key: row.recovery_public_key,
            created_at: row.created_at,
        }
    }
}

pub fn insert(tx: &mut Tx, organisation: &Organisation) -> Result<(), StoreError> {
    let row = OrganisationRow {
        id: organisation.id.as_str().to_owned(),
        slug: organisation.slug.clone(),
        name: organisation.name.clone(),
        serves_nhs: organisation.serves_nhs,
        serves_local_authority: organisation.serves_local_authority,
        day_one_rule: organisation.day_one_rule.clone(),
        stage1_extension_cap: i32::try_from(organisation.stage1_extension_cap)
            .map_err(|_| StoreError::Corrupt("extension cap out of range".into()))?,
        board_exact_figures: organisation.board_exact_figures,
        recovery_public_key: organisation.recovery_public_key.clone(),
        created_at: organisation.created_at,
    };
    diesel::insert_into(organisations::table)
        .values(&row)
        .execute(tx)
        .map_err(|error| StoreError::from(error).duplicate_as("an organisation with that slug"))?;
    Ok(())
}

pub fn list(tx: &mut Tx) -> Result<Vec<Organisation>, StoreError> {
    let rows = organisations::table
        .order(organisations::name.asc())
        .select(OrganisationRow::as_select())
        .load(tx)?;
    Ok(rows.into_iter().map(Organisation::from).collect())
}

pub fn find_by_slug(tx: &mut Tx, slug: &str) -> Result<Option<Organisation>, StoreError> {
    let row = organisations::table
        .filter(organisations::slug.eq(slug))
        .select(OrganisationRow::as_select())
        .first(tx)
        .optional()?;
    Ok(row.map(Organisation::from))
}

pub fn find(tx: &mut Tx, id: &OrganisationId) -> Result<Option<Organisation>, StoreError> {
    let row = organisations::table
        .find(id.as_str())
        .select(OrganisationRow::as_select())
        .first(tx)
        .optional()?;
    Ok(row.map(Organisation::from))
}

pub fn count(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(organisations::table.count().get_result(tx)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayChange {
    /// A local non-working day on top of the Scottish bank holidays.
    Add,
    /// A bank holiday the organisation works through.
    Remove,
}

impl HolidayChange {
    fn as_str(self) -> &'static str {
        match self {
            HolidayChange::Add => "add",
            HolidayChange::Remove => "remove",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayOverride {
    pub day: Date,
    pub change: HolidayChange,
    pub label: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organisation_holidays)]
struct HolidayRow {
    organisation_id: String,
    day: Date,
    change: String,
    label: String,
}

/// Records a calendar change, replacing any earlier change for the same day.
pub fn set_holiday(
    tx: &mut Tx,
    organisation: &OrganisationId,
    holiday: &HolidayOverride,
) -> Result<(), StoreError> {
    clear_holiday(tx, organisation, holiday.day)?;
    diesel::insert_into(organisation_holidays::table)
        .values(HolidayRow {
            organisation_id: organisation.as_str().to_owned(),
            day: holiday.day,
            change: holiday.change.as_str().to_owned(),
            label: holiday.label.clone(),
        })
        .execute(tx)?;
    Ok(())
}

/// Removes the organisation's change for `day`; answers whether there was one.
pub fn clear_holiday(
    tx: &mut Tx,
    organisation: &OrganisationId,
    day: Date,
) -> Result<bool, StoreError> {
    let deleted = diesel::delete(
        organisation_holidays::table
            .filter(organisation_holidays::organisation_id.eq(organisation.as_str()))
            .filter(organisation_holidays::day.eq(day)),
    )
    .execute(tx)?;
    Ok(deleted > 0)
}

pub fn holidays(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<HolidayOverride>, StoreError> {
    let rows = organisation_holidays::table
        .filter(organisation_holidays::organisation_id.eq(organisation.as_str()))
        .order(organisation_holidays::day.asc())
        .select(HolidayRow::as_select())
        .load(tx)?;
    rows.into_iter()
        .map(|row| {
            let change = match row.change.as_str() {
                "add" => HolidayChange::Add,
                "remove" => HolidayChange::Remove,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "unknown holiday change {other:?}"
                    )));
                }
            };
            Ok(HolidayOverride {
                day: row.day,
                change,
                label: row.label,
            })
        })
        .collect()
}

pub fn set_recovery_key(
    tx: &mut Tx,
    organisation: &OrganisationId,
    public_key: &[u8],
) -> Result<(), StoreError> {
    diesel::update(organisations::table.find(organisation.as_str()))
        .set(organisations::recovery_public_key.eq(Some(public_key)))
        .execute(tx)?;
    Ok(())
}

/// The organisation's procedure and reporting settings.
pub fn update_settings(
    tx: &mut Tx,
    organisation: &OrganisationId,
    day_one_rule: &str,
    stage1_extension_cap: u32,
    board_exact_figures: bool,
) -> Result<(), StoreError> {
    let cap = i32::try_from(stage1_extension_cap)
        .map_err(|_| StoreError::Corrupt("extension cap out of range".into()))?;
    diesel::update(organisations::table.find(organisation.as_str()))
        .set((
            organisations::day_one_rule.eq(day_one_rule),
            organisations::stage1_extension_cap.eq(cap),
            organisations::board_exact_figures.eq(board_exact_figures),
        ))
        .execute(tx)?;
    Ok(())
}
