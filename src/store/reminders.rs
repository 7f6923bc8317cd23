//! What the reminder scan reads in bulk (every case with its events, holders, people to tell) and
//! the record of reminders already queued, which makes the scan idempotent across restarts and
//! instances.

use std::collections::HashMap;

use diesel::prelude::*;
use time::{Date, PrimitiveDateTime};

use super::connection::DbConnection;
use super::schema::{cases, key_wraps, notice_runs, reminder_schedule, reminders_sent, users};
use super::{StoreError, Tx};
use crate::ids::{CaseId, OrganisationId, UserId};
use crate::procedure::{Milestone, Obligation, ScheduledWindow};

/// SQLite caps bound parameters per statement; batches stay well below it.
const CHUNK: usize = 5_000;

/// A case as a reminder names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseIndex {
    pub id: CaseId,
    pub organisation_id: OrganisationId,
    pub reference: String,
}

/// The highest milestone already recorded, by (case, obligation, due date). Milestones are
/// recorded in order (a scan records every one passed), so the highest says which are done; one
/// row per window keeps the read small.
pub type Recorded = HashMap<(CaseId, Obligation, Date), Milestone>;

/// What is recorded for the windows of `cases` (any due date).
pub fn recorded_for(tx: &mut Tx, cases: &[CaseId]) -> Result<Recorded, StoreError> {
    let mut recorded = Recorded::new();
    for chunk in cases.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(CaseId::as_str).collect();
        // '50' < '75' < '90' < 'overdue' as text, so the SQL maximum is the highest milestone.
        let rows: Vec<(String, String, Date, Option<String>)> = reminders_sent::table
            .filter(reminders_sent::case_id.eq_any(ids))
            .group_by((
                reminders_sent::case_id,
                reminders_sent::obligation,
                reminders_sent::due_on,
            ))
            .select((
                reminders_sent::case_id,
                reminders_sent::obligation,
                reminders_sent::due_on,
                diesel::dsl::max(reminders_sent::milestone),
            ))
            .load(tx)?;
        for (case, obligation, due_on, milestone) in rows {
            let milestone = milestone
                .as_deref()
                .and_then(Milestone::parse)
                .ok_or_else(|| StoreError::Corrupt(format!("reminder milestone {milestone:?}")))?;
            recorded.insert(
                (
                    CaseId::from_stored(case),
                    parse_obligation(&obligation)?,
                    due_on,
                ),
                milestone,
            );
        }
    }
    Ok(recorded)
}

fn parse_obligation(text: &str) -> Result<Obligation, StoreError> {
    Obligation::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("reminder obligation {text:?}")))
}

/// Ids of the cases of `organisation` that are not erased (for rebuilding its schedule).
pub fn kept_case_ids(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<CaseId>, StoreError> {
    let ids: Vec<String> = cases::table
        .filter(cases::organisation_id.eq(organisation.as_str()))
        .filter(cases::erased_on.is_null())
        .order(cases::id.asc())
        .select(cases::id)
        .load(tx)?;
    Ok(ids.into_iter().map(CaseId::from_stored).collect())
}

/// Ids of the cases of `organisation` with a running window in the schedule.
pub fn scheduled_case_ids(
    tx: &mut Tx,
    organisation: &OrganisationId,
) -> Result<Vec<CaseId>, StoreError> {
    let ids: Vec<String> = reminder_schedule::table
        .filter(reminder_schedule::organisation_id.eq(organisation.as_str()))
        .select(reminder_schedule::case_id)
        .distinct()
        .order(reminder_schedule::case_id.asc())
        .load(tx)?;
    Ok(ids.into_iter().map(CaseId::from_stored).collect())
}

/// The running windows of one case, as the scan will read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSchedule {
    pub case: CaseId,
    pub organisation: OrganisationId,
    pub windows: Vec<ScheduledWindow>,
}

/// Replaces the schedule of every case in `schedules` (a case with no windows loses its rows).
pub fn replace_schedules(tx: &mut Tx, schedules: &[CaseSchedule]) -> Result<(), StoreError> {
    for chunk in schedules.chunks(CHUNK) {
        let ids: Vec<&str> = chunk
            .iter()
            .map(|schedule| schedule.case.as_str())
            .collect();
        diesel::delete(reminder_schedule::table.filter(reminder_schedule::case_id.eq_any(ids)))
            .execute(tx)?;
        let rows: Vec<_> = chunk
            .iter()
            .flat_map(|schedule| {
                schedule.windows.iter().map(|window| {
                    (
                        reminder_schedule::case_id.eq(schedule.case.as_str()),
                        reminder_schedule::organisation_id.eq(schedule.organisation.as_str()),
                        reminder_schedule::obligation.eq(window.obligation.as_str()),
                        reminder_schedule::start_on.eq(window.start),
                        reminder_schedule::due_on.eq(window.due),
                        reminder_schedule::next_check_on.eq(window.next_check),
                    )
                })
            })
            .collect();
        // Six columns a row: well below SQLite's bound-parameter limit.
        for rows in rows.chunks(CHUNK / 2) {
            match tx {
                DbConnection::Sqlite(sqlite) => diesel::insert_into(reminder_schedule::table)
                    .values(rows)
                    .execute(sqlite)?,
                DbConnection::Postgres(pg) => diesel::insert_into(reminder_schedule::table)
                    .values(rows)
                    .execute(pg)?,
            };
        }
    }
    Ok(())
}

/// Every row of one case's schedule (for tests and checks), by obligation.
pub fn schedule_of(tx: &mut Tx, case: &CaseId) -> Result<Vec<ScheduledWindow>, StoreError> {
    let rows: Vec<(String, Date, Date, Option<Date>)> = reminder_schedule::table
        .filter(reminder_schedule::case_id.eq(case.as_str()))
        .order(reminder_schedule::obligation.asc())
        .select((
            reminder_schedule::obligation,
            reminder_schedule::start_on,
            reminder_schedule::due_on,
            reminder_schedule::next_check_on,
        ))
        .load(tx)?;
    rows.into_iter()
        .map(|(obligation, start, due, next_check)| {
            Ok(ScheduledWindow {
                obligation: parse_obligation(&obligation)?,
                start,
                due,
                next_check,
            })
        })
        .collect()
}

/// One scheduled window due for a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWindow {
    pub case: CaseIndex,
    pub window: ScheduledWindow,
}

/// Where a page of due windows ended: the next page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    pub next_check: Date,
    pub case: String,
    pub obligation: String,
}

/// Up to `limit` windows whose next check is on or before `today`, after `after`, in the order
/// of the `reminder_schedule_next_check` index, with their cases' references (one query).
///
/// The cursor is a row-value comparison, `(next_check_on, case_id, obligation) > (…)`, which both
/// backends turn into the start of an index range: each page reads only its own rows. (The same
/// condition spelt with `OR`s was only a filter: every page walked the range again from its
/// start, past every row earlier pages had read, and on PostgreSQL past their dead versions.)
pub fn due_page(
    tx: &mut Tx,
    today: Date,
    after: Option<&DueCursor>,
    limit: usize,
) -> Result<Vec<DueWindow>, StoreError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Date as SqlDate, Text};
    use reminder_schedule::dsl as s;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let page = s::reminder_schedule
        .inner_join(cases::table)
        .filter(s::next_check_on.le(today))
        .order((
            s::next_check_on.asc(),
            s::case_id.asc(),
            s::obligation.asc(),
        ))
        .select((
            s::case_id,
            s::organisation_id,
            cases::reference,
            s::obligation,
            s::start_on,
            s::due_on,
            s::next_check_on,
        ))
        .limit(limit)
        .into_boxed();
    let page = match after {
        None => page,
        Some(after) => page.filter(
            sql::<Bool>(
                "(reminder_schedule.next_check_on, reminder_schedule.case_id, \
                 reminder_schedule.obligation) > (",
            )
            .bind::<SqlDate, _>(after.next_check)
            .sql(", ")
            .bind::<Text, _>(after.case.clone())
            .sql(", ")
            .bind::<Text, _>(after.obligation.clone())
            .sql(")"),
        ),
    };
    type Row = (String, String, String, String, Date, Date, Option<Date>);
    let rows: Vec<Row> = page.load(tx)?;
    rows.into_iter()
        .map(
            |(case, organisation, reference, obligation, start, due, next_check)| {
                Ok(DueWindow {
                    case: CaseIndex {
                        id: CaseId::from_stored(case),
                        organisation_id: OrganisationId::from_stored(organisation),
                        reference,
                    },
                    window: ScheduledWindow {
                        obligation: parse_obligation(&obligation)?,
                        start,
                        due,
                        next_check,
                    },
                })
            },
        )
        .collect()
}

/// Sets the next check of the windows `(case, obligation)` to `next_check`.
pub fn set_next_check(
    tx: &mut Tx,
    obligation: Obligation,
    cases: &[CaseId],
    next_check: Option<Date>,
) -> Result<(), StoreError> {
    for chunk in cases.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(CaseId::as_str).collect();
        diesel::update(
            reminder_schedule::table
                .filter(reminder_schedule::obligation.eq(obligation.as_str()))
                .filter(reminder_schedule::case_id.eq_any(ids)),
        )
        .set(reminder_schedule::next_check_on.eq(next_check))
        .execute(tx)?;
    }
    Ok(())
}

/// A count for each organisation.
pub type PerOrganisation = HashMap<OrganisationId, i64>;

/// Per organisation: cases with a running window, and those with one past its due date on
/// `today` (the weekly summary), counted by the database.
pub fn open_and_overdue(
    tx: &mut Tx,
    today: Date,
) -> Result<(PerOrganisation, PerOrganisation), StoreError> {
    use diesel::dsl::count;
    let by_organisation = |rows: Vec<(String, i64)>| {
        rows.into_iter()
            .map(|(organisation, n)| (OrganisationId::from_stored(organisation), n))
            .collect::<HashMap<_, _>>()
    };
    let open: Vec<(String, i64)> = reminder_schedule::table
        .group_by(reminder_schedule::organisation_id)
        .select((
            reminder_schedule::organisation_id,
            count(reminder_schedule::case_id).aggregate_distinct(),
        ))
        .load(tx)?;
    let overdue: Vec<(String, i64)> = reminder_schedule::table
        .filter(reminder_schedule::due_on.lt(today))
        .group_by(reminder_schedule::organisation_id)
        .select((
            reminder_schedule::organisation_id,
            count(reminder_schedule::case_id).aggregate_distinct(),
        ))
        .load(tx)?;
    Ok((by_organisation(open), by_organisation(overdue)))
}

const BACKFILL_JOB: &str = "reminder_schedule_backfill";

/// Takes the migration's request to build the schedule from every case's history; true once,
/// for the transaction that then builds it (another instance waits for it, then finds nothing).
pub fn take_backfill_request(tx: &mut Tx) -> Result<bool, StoreError> {
    let taken = diesel::delete(
        notice_runs::table
            .filter(notice_runs::job.eq(BACKFILL_JOB))
            .filter(notice_runs::period.eq("pending")),
    )
    .execute(tx)?;
    Ok(taken > 0)
}

/// Records a milestone as passed. Answers false when another scan (a restart, another
/// instance) recorded it first: then that scan queued the notice and this one must not.
pub fn record(
    tx: &mut Tx,
    case: &CaseId,
    obligation: Obligation,
    due_on: Date,
    milestone: Milestone,
    today: Date,
) -> Result<bool, StoreError> {
    let row = (
        reminders_sent::case_id.eq(case.as_str()),
        reminders_sent::obligation.eq(obligation.as_str()),
        reminders_sent::due_on.eq(due_on),
        reminders_sent::milestone.eq(milestone.as_str()),
        reminders_sent::queued_on.eq(today),
    );
    // A plain insert would abort a PostgreSQL transaction on the duplicate; skip it instead.
    let inserted = match tx {
        DbConnection::Sqlite(sqlite) => diesel::insert_into(reminders_sent::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
        DbConnection::Postgres(pg) => diesel::insert_into(reminders_sent::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
    };
    Ok(inserted == 1)
}

/// One milestone passed by one window.
pub type MilestoneRow = (CaseId, Obligation, Date, Milestone);

/// Records many milestones as passed, a few statements in all rather than one per row. Answers
/// whether every one was new; false means another scan (a restart, another instance) recorded
/// one first, and the caller must roll back rather than queue its notices (on PostgreSQL the
/// transaction is already aborted by then).
pub fn record_all(tx: &mut Tx, rows: &[MilestoneRow], today: Date) -> Result<bool, StoreError> {
    let values: Vec<_> = rows
        .iter()
        .map(|(case, obligation, due_on, milestone)| {
            (
                reminders_sent::case_id.eq(case.as_str()),
                reminders_sent::obligation.eq(obligation.as_str()),
                reminders_sent::due_on.eq(*due_on),
                reminders_sent::milestone.eq(milestone.as_str()),
                reminders_sent::queued_on.eq(today),
            )
        })
        .collect();
    match tx {
        DbConnection::Sqlite(sqlite) => {
            let mut inserted = 0;
            // Five columns a row: far below SQLite's bound-parameter limit.
            for chunk in values.chunks(CHUNK / 2) {
                inserted += diesel::insert_into(reminders_sent::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(sqlite)?;
            }
            Ok(inserted == values.len())
        }
        // One COPY: no statement with thousands of parameters to parse and plan. COPY has no
        // ON CONFLICT: a row recorded first fails it with a unique violation.
        DbConnection::Postgres(pg) if !values.is_empty() => {
            match diesel::copy_from(reminders_sent::table)
                .from_insertable(&values)
                .execute(pg)
            {
                Ok(inserted) => Ok(inserted == values.len()),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Ok(false),
                Err(error) => Err(error.into()),
            }
        }
        DbConnection::Postgres(_) => Ok(true),
    }
}

/// The handlers holding a case key for each of `cases`.
pub fn holders(tx: &mut Tx, cases: &[CaseId]) -> Result<HashMap<CaseId, Vec<UserId>>, StoreError> {
    let mut holders: HashMap<CaseId, Vec<UserId>> = HashMap::new();
    for chunk in cases.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(CaseId::as_str).collect();
        let rows: Vec<(String, String)> = key_wraps::table
            .filter(key_wraps::case_id.eq_any(ids))
            .filter(key_wraps::key_kind.eq("case"))
            .filter(key_wraps::recipient.like("user:%"))
            .order((key_wraps::case_id.asc(), key_wraps::recipient.asc()))
            .select((key_wraps::case_id, key_wraps::recipient))
            .load(tx)?;
        for (case, recipient) in rows {
            if let Some(user) = recipient.strip_prefix("user:") {
                holders
                    .entry(CaseId::from_stored(case))
                    .or_default()
                    .push(UserId::from_stored(user.to_owned()));
            }
        }
    }
    Ok(holders)
}

/// Someone a notice can go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub role: String,
}

type AddresseeRow = (String, String, String, String);

fn addressee((id, organisation_id, email, role): AddresseeRow) -> Addressee {
    Addressee {
        id: UserId::from_stored(id),
        organisation_id: OrganisationId::from_stored(organisation_id),
        email,
        role,
    }
}

/// Active accounts among `ids` (disabled accounts are told nothing).
pub fn active_addressees(
    tx: &mut Tx,
    ids: &[UserId],
) -> Result<HashMap<UserId, Addressee>, StoreError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(UserId::as_str).collect();
        let rows: Vec<AddresseeRow> = users::table
            .filter(users::id.eq_any(ids))
            .filter(users::active.eq(true))
            .select((users::id, users::organisation_id, users::email, users::role))
            .load(tx)?;
        for row in rows {
            let addressee = addressee(row);
            found.insert(addressee.id.clone(), addressee);
        }
    }
    Ok(found)
}

/// Active accounts with one of `roles` (e.g. `lead`, `champion`), by organisation.
pub fn active_with_roles(
    tx: &mut Tx,
    roles: &[&str],
) -> Result<HashMap<OrganisationId, Vec<Addressee>>, StoreError> {
    let rows: Vec<AddresseeRow> = users::table
        .filter(users::role.eq_any(roles.to_vec()))
        .filter(users::active.eq(true))
        .order(users::email.asc())
        .select((users::id, users::organisation_id, users::email, users::role))
        .load(tx)?;
    let mut by_organisation: HashMap<OrganisationId, Vec<Addressee>> = HashMap::new();
    for row in rows {
        let addressee = addressee(row);
        by_organisation
            .entry(addressee.organisation_id.clone())
            .or_default()
            .push(addressee);
    }
    Ok(by_organisation)
}

/// Marks a periodic job as done for `period`; false when it already ran.
pub fn claim_run(
    tx: &mut Tx,
    job: &str,
    period: &str,
    now: PrimitiveDateTime,
) -> Result<bool, StoreError> {
    let row = (
        notice_runs::job.eq(job),
        notice_runs::period.eq(period),
        notice_runs::ran_at.eq(now),
    );
    let inserted = match tx {
        DbConnection::Sqlite(sqlite) => diesel::insert_into(notice_runs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
        DbConnection::Postgres(pg) => diesel::insert_into(notice_runs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
    };
    Ok(inserted == 1)
}
