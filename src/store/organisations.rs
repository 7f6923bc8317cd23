//! Organisations and their calendar changes.

use diesel::prelude::*;
use time::{Date, PrimitiveDateTime};

use super::schema::{calendar_changes, day_one_rule_changes, organisations};
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
    /// Months a finished case's content is kept after its last activity.
    pub retention_months: u32,
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
    retention_months: i32,
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
            retention_months: u32::try_from(row.retention_months)
                .unwrap_or(crate::procedure::retention::DEFAULT_RETENTION_MONTHS),
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
        retention_months: i32::try_from(organisation.retention_months)
            .map_err(|_| StoreError::Corrupt("retention out of range".into()))?,
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
    /// The day the change was recorded; it speaks only for later days.
    pub recorded_on: Date,
    /// The day it was withdrawn, if it was; a withdrawal speaks only for later days.
    pub withdrawn_on: Option<Date>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_changes)]
struct CalendarChangeRow {
    id: String,
    organisation_id: String,
    day: Date,
    change: String,
    label: String,
    recorded_on: Date,
    withdrawn_on: Option<Date>,
}

/// Records a calendar change made on `today`, withdrawing any change still standing for the
/// same day. Earlier changes are kept: they are the calendar that past dates were counted on.
pub fn set_holiday(
    tx: &mut Tx,
    organisation: &OrganisationId,
    day: Date,
    change: HolidayChange,
    label: &str,
    today: Date,
) -> Result<(), StoreError> {
    clear_holiday(tx, organisation, day, today)?;
    diesel::insert_into(calendar_changes::table)
        .values(CalendarChangeRow {
            id: crate::crypto::random_id(),
            organisation_id: organisation.as_str().to_owned(),
            day,
            change: change.as_str().to_owned(),
            label: label.to_owned(),
            recorded_on: today,
            withdrawn_on: None,
        })
        .execute(tx)?;
    Ok(())
}

/// Withdraws, as of `today`, the change standing for `day`; answers whether there was one.
pub fn clear_holiday(
    tx: &mut Tx,
    organisation: &OrganisationId,
    day: Date,
    today: Date,
) -> Result<bool, StoreError> {
    let withdrawn = diesel::update(
        calendar_changes::table
            .filter(calendar_changes::organisation_id.eq(organisation.as_str()))
            .filter(calendar_changes::day.eq(day))
            .filter(calendar_changes::withdrawn_on.is_null()),
    )
    .set(calendar_changes::withdrawn_on.eq(Some(today)))
    .execute(tx)?;
    Ok(withdrawn > 0)
}

/// Every calendar change the organisation ever recorded, withdrawn ones included, by day.
pub fn holidays(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<HolidayOverride>, StoreError> {
    let rows = calendar_changes::table
        .filter(calendar_changes::organisation_id.eq(organisation.as_str()))
        .order((
            calendar_changes::day.asc(),
            calendar_changes::recorded_on.asc(),
        ))
        .select(CalendarChangeRow::as_select())
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
                recorded_on: row.recorded_on,
                withdrawn_on: row.withdrawn_on,
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

/// How many months a finished case's content is kept after its last activity.
pub fn set_retention_months(
    tx: &mut Tx,
    organisation: &OrganisationId,
    months: u32,
) -> Result<(), StoreError> {
    let months =
        i32::try_from(months).map_err(|_| StoreError::Corrupt("retention out of range".into()))?;
    diesel::update(organisations::table.find(organisation.as_str()))
        .set(organisations::retention_months.eq(months))
        .execute(tx)?;
    Ok(())
}

/// A change of the organisation's day-one rule: from `from_day`, `rule`; before it,
/// `previous_rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOneRuleChange {
    pub from_day: Date,
    pub rule: String,
    pub previous_rule: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = day_one_rule_changes)]
struct DayOneRuleChangeRow {
    id: String,
    organisation_id: String,
    from_day: Date,
    rule: String,
    previous_rule: String,
    recorded_on: Date,
}

/// The organisation's day-one rule changes, earliest first.
pub fn day_one_rule_changes(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<DayOneRuleChange>, StoreError> {
    let rows = day_one_rule_changes::table
        .filter(day_one_rule_changes::organisation_id.eq(organisation.as_str()))
        .order(day_one_rule_changes::from_day.asc())
        .select(DayOneRuleChangeRow::as_select())
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|row| DayOneRuleChange {
            from_day: row.from_day,
            rule: row.rule,
            previous_rule: row.previous_rule,
        })
        .collect())
}

/// Records that `rule` replaces `previous_rule` from `from_day`. A second change for the same
/// day replaces the first (the rule before that day stays what it was), and a change back to
/// that earlier rule leaves no change at all.
pub fn record_day_one_rule_change(
    tx: &mut Tx,
    organisation: &OrganisationId,
    from_day: Date,
    rule: &str,
    previous_rule: &str,
    today: Date,
) -> Result<(), StoreError> {
    let same_day = day_one_rule_changes::table
        .filter(day_one_rule_changes::organisation_id.eq(organisation.as_str()))
        .filter(day_one_rule_changes::from_day.eq(from_day));
    let earlier: Option<String> = same_day
        .select(day_one_rule_changes::previous_rule)
        .first(tx)
        .optional()?;
    diesel::delete(same_day).execute(tx)?;
    let previous_rule = earlier.as_deref().unwrap_or(previous_rule);
    if previous_rule == rule {
        return Ok(());
    }
    diesel::insert_into(day_one_rule_changes::table)
        .values(DayOneRuleChangeRow {
            id: crate::crypto::random_id(),
            organisation_id: organisation.as_str().to_owned(),
            from_day,
            rule: rule.to_owned(),
            previous_rule: previous_rule.to_owned(),
            recorded_on: today,
        })
        .execute(tx)?;
    Ok(())
}
