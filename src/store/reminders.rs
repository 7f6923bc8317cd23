//! What the reminder scan reads in bulk (every case with its events, holders, people to tell) and
//! the record of reminders already queued, which makes the scan idempotent across restarts and
//! instances.

use std::collections::HashMap;

use diesel::prelude::*;
use time::{Date, PrimitiveDateTime};

use super::connection::DbConnection;
use super::schema::{cases, key_wraps, notice_runs, reminders_sent, users};
use super::{StoreError, Tx};
use crate::ids::{CaseId, OrganisationId, UserId};
use crate::procedure::{Milestone, Obligation};

/// SQLite caps bound parameters per statement; batches stay well below it.
const CHUNK: usize = 5_000;

/// Every case, with only what the scan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseIndex {
    pub id: CaseId,
    pub organisation_id: OrganisationId,
    pub reference: String,
}

pub fn all_cases(tx: &mut Tx) -> Result<Vec<CaseIndex>, StoreError> {
    let rows: Vec<(String, String, String)> = cases::table
        .select((cases::id, cases::organisation_id, cases::reference))
        .load(tx)?;
    Ok(rows
        .into_iter()
        .map(|(id, organisation_id, reference)| CaseIndex {
            id: CaseId::from_stored(id),
            organisation_id: OrganisationId::from_stored(organisation_id),
            reference,
        })
        .collect())
}

/// The highest milestone already recorded, by (case, obligation, due date), for windows due on
/// or after `since`. Milestones are recorded in order (a scan records every one passed), so the
/// highest says which are done; one row per window keeps the read small.
pub type Recorded = HashMap<(CaseId, Obligation, Date), Milestone>;

pub fn recorded_since(tx: &mut Tx, since: Date) -> Result<Recorded, StoreError> {
    // '50' < '75' < '90' < 'overdue' as text, so the SQL maximum is the highest milestone.
    let rows: Vec<(String, String, Date, Option<String>)> = reminders_sent::table
        .filter(reminders_sent::due_on.ge(since))
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
    let mut recorded = Recorded::with_capacity(rows.len());
    for (case, obligation, due_on, milestone) in rows {
        let obligation = Obligation::parse(&obligation)
            .ok_or_else(|| StoreError::Corrupt(format!("reminder obligation {obligation:?}")))?;
        let milestone = milestone
            .as_deref()
            .and_then(Milestone::parse)
            .ok_or_else(|| StoreError::Corrupt(format!("reminder milestone {milestone:?}")))?;
        recorded.insert((CaseId::from_stored(case), obligation, due_on), milestone);
    }
    Ok(recorded)
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

/// Records many milestones as passed, a few statements in all rather than one per row; rows
/// already recorded are skipped. Answers how many were new.
pub fn record_all(tx: &mut Tx, rows: &[MilestoneRow], today: Date) -> Result<usize, StoreError> {
    let mut inserted = 0;
    // Five columns a row: far below SQLite's bound-parameter limit.
    for chunk in rows.chunks(CHUNK / 2) {
        let values: Vec<_> = chunk
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
        inserted += match tx {
            DbConnection::Sqlite(sqlite) => diesel::insert_into(reminders_sent::table)
                .values(&values)
                .on_conflict_do_nothing()
                .execute(sqlite)?,
            DbConnection::Postgres(pg) => diesel::insert_into(reminders_sent::table)
                .values(&values)
                .on_conflict_do_nothing()
                .execute(pg)?,
        };
    }
    Ok(inserted)
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
