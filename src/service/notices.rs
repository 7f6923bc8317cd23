//! Who is told what, by e-mail. Notices are content-free (see `notify::notice`) and queued in
//! the transaction of the change that caused them; deadline reminders come from a daily scan
//! that records every milestone it passes, so each goes out once however often the scan runs and
//! however many instances run it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use time::{Date, PrimitiveDateTime};

use super::accounts::require_admin_of;
use super::admin::admin_audit;
use super::sessions::Handler;
use super::{Portal, ServiceError, casefile, schedule};
use crate::ids::{CaseId, OrganisationId, UserId};
use crate::notify::{self, Notice, Recipient, WeeklySummary};
use crate::procedure::{Calendar, Milestone, Obligation, ReminderDue, due_reminder, next_check};
use crate::store::audit::NewEntry;
use crate::store::connection::DbConnection;
use crate::store::outbox::{self, Backlog, DeliveryPreference, FailedDelivery};
use crate::store::reminders::{self, Addressee, CaseIndex, DueCursor};
use crate::store::{Tx, audit, organisations, reporter_requests, users};

/// Roles told about overdue cases and sent the weekly summary. `champion` arrives with the
/// accounts work; until then no account has it and the lead alone is told.
pub const OVERSIGHT_ROLES: [&str; 2] = ["lead", "champion"];

/// One PostgreSQL advisory lock for the scheduled jobs: instances take turns instead of racing.
const SCHEDULE_LOCK: i64 = 0x5370_6561_6b75_7012;

/// One reminder to one person, as `speakup notify preview` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewLine {
    pub to: String,
    pub kind: &'static str,
    pub case: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    #[serde(with = "crate::procedure::dates::iso_date")]
    pub due_on: Date,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduledSummary {
    /// Reminder and overdue notices queued.
    pub reminders: usize,
    pub digests: usize,
    pub weekly_summaries: usize,
    /// The reminder scan's transactions (one per chunk of due windows, at least one).
    pub chunks: usize,
    /// The longest of them: how long the scan held the writer at most.
    pub longest_chunk: std::time::Duration,
}

/// A window that calls for a reminder today.
#[derive(Debug, Clone)]
struct Planned {
    case: CaseIndex,
    due: ReminderDue,
}

/// Windows read per chunk of the scan; each chunk is its own short transaction, so the scan
/// never holds the writer (SQLite) for longer than one chunk takes.
pub const SCAN_CHUNK: usize = 1_000;

/// One page of the schedule, looked at on `today`.
#[derive(Debug, Default)]
struct Chunk {
    planned: Vec<Planned>,
    /// Windows whose next check moves: (obligation, new next check, case).
    moves: Vec<(Obligation, Option<Date>, CaseId)>,
    /// Where the next page starts; `None` when this page was the last.
    next: Option<DueCursor>,
}

/// Reads one page of the windows due for a look on or before `today` (through the schedule's
/// index) and applies the reminder rule to each, with the organisation's current calendar and
/// what is recorded now.
fn plan_chunk(
    tx: &mut Tx,
    today: Date,
    after: Option<&DueCursor>,
    size: usize,
) -> Result<Chunk, ServiceError> {
    let due = reminders::due_page(tx, today, after, size)?;
    let next = match due.last() {
        Some(last) if due.len() == size => Some(DueCursor {
            next_check: last.window.next_check.unwrap_or(today),
            case: last.case.id.as_str().to_owned(),
            obligation: last.window.obligation.as_str().to_owned(),
        }),
        _ => None,
    };
    let mut calendars: HashMap<OrganisationId, Calendar> = HashMap::new();
    for row in &due {
        if !calendars.contains_key(&row.case.organisation_id)
            && let Some(organisation) = organisations::find(tx, &row.case.organisation_id)?
        {
            let calendar = casefile::calendar_for(tx, &organisation)?;
            calendars.insert(organisation.id, calendar);
        }
    }
    let cases: Vec<CaseId> = due
        .iter()
        .map(|row| row.case.id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let recorded = reminders::recorded_for(tx, &cases)?;
    let mut chunk = Chunk {
        next,
        ..Chunk::default()
    };
    for row in due {
        let Some(calendar) = calendars.get(&row.case.organisation_id) else {
            continue;
        };
        let window = row.window.window();
        let done = recorded
            .get(&(row.case.id.clone(), row.window.obligation, row.window.due))
            .copied();
        let reminder = due_reminder(calendar, &window, today, done);
        let done_now = reminder.as_ref().map(|due| due.milestone).or(done);
        let next_check = next_check(calendar, &window, done_now);
        if next_check != row.window.next_check {
            chunk
                .moves
                .push((row.window.obligation, next_check, row.case.id.clone()));
        }
        if let Some(due) = reminder {
            chunk.planned.push(Planned {
                case: row.case,
                due,
            });
        }
    }
    Ok(chunk)
}

/// The people a planned reminder goes to: the case's holders, and for overdue notices the
/// organisation's lead and champion too. Each person once, in a stable order.
fn addressees_of(
    planned: &Planned,
    holders: &HashMap<CaseId, Vec<UserId>>,
    people: &HashMap<UserId, Addressee>,
    oversight: &HashMap<OrganisationId, Vec<Addressee>>,
) -> Vec<Addressee> {
    let mut chosen: Vec<Addressee> = holders
        .get(&planned.case.id)
        .into_iter()
        .flatten()
        .filter_map(|id| people.get(id).cloned())
        .collect();
    if planned.due.milestone == Milestone::Overdue {
        chosen.extend(
            oversight
                .get(&planned.case.organisation_id)
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    let mut seen = BTreeSet::new();
    chosen.retain(|person| seen.insert(person.id.clone()));
    chosen.sort_by(|a, b| a.email.cmp(&b.email));
    chosen
}

struct Addressing {
    holders: HashMap<CaseId, Vec<UserId>>,
    people: HashMap<UserId, Addressee>,
    oversight: HashMap<OrganisationId, Vec<Addressee>>,
}

fn addressing(tx: &mut Tx, planned: &[Planned]) -> Result<Addressing, ServiceError> {
    let case_ids: Vec<CaseId> = planned.iter().map(|p| p.case.id.clone()).collect();
    let holders = reminders::holders(tx, &case_ids)?;
    let user_ids: Vec<UserId> = holders
        .values()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Addressing {
        people: reminders::active_addressees(tx, &user_ids)?,
        oversight: reminders::active_with_roles(tx, &OVERSIGHT_ROLES)?,
        holders,
    })
}

fn notice_for(planned: &Planned) -> Notice {
    let reference = planned.case.reference.clone();
    match planned.due.milestone.percent() {
        Some(percent) => Notice::Reminder {
            reference,
            obligation: planned.due.obligation,
            percent,
            due_on: planned.due.due_on,
        },
        None => Notice::Overdue {
            reference,
            obligation: planned.due.obligation,
            due_on: planned.due.due_on,
        },
    }
}

/// One chunk of the scan: queues the reminders its windows call for, records their milestones
/// and moves each window's next check. Answers how many notices were queued and where the next
/// chunk starts.
fn queue_chunk(
    tx: &mut Tx,
    today: Date,
    now: PrimitiveDateTime,
    public_url: &str,
    after: Option<&DueCursor>,
    size: usize,
) -> Result<(usize, Option<DueCursor>), ServiceError> {
    take_schedule_turn(tx)?;
    let chunk = plan_chunk(tx, today, after, size)?;
    let addressing = addressing(tx, &chunk.planned)?;
    let milestones: Vec<reminders::MilestoneRow> = chunk
        .planned
        .iter()
        .flat_map(|planned| {
            planned.due.passed.iter().map(|milestone| {
                (
                    planned.case.id.clone(),
                    planned.due.obligation,
                    planned.due.due_on,
                    *milestone,
                )
            })
        })
        .collect();
    // The chunk read what was recorded after taking the schedule turn (PostgreSQL) or the single
    // writer's lock (SQLite), so every row is new. One already there means another scan got in
    // between: roll back rather than send twice; the next pass finds the rows recorded.
    let all_new = reminders::record_all(tx, &milestones, today)?;
    if !all_new {
        return Err(ServiceError::Internal(
            "another reminder scan recorded some of these milestones first".to_owned(),
        ));
    }
    let notices: Vec<Notice> = chunk.planned.iter().map(notice_for).collect();
    let mut queue: Vec<(Recipient, &Notice)> = Vec::new();
    for (planned, notice) in chunk.planned.iter().zip(&notices) {
        for person in addressees_of(
            planned,
            &addressing.holders,
            &addressing.people,
            &addressing.oversight,
        ) {
            queue.push((Recipient::user(&person.id, &person.email), notice));
        }
    }
    notify::queue_all(tx, &queue, public_url, now)?;
    // Few distinct (obligation, day) pairs per chunk: one update for each.
    let mut moves: BTreeMap<(Obligation, Option<Date>), Vec<CaseId>> = BTreeMap::new();
    for (obligation, next_check, case) in chunk.moves {
        moves
            .entry((obligation, next_check))
            .or_default()
            .push(case);
    }
    for ((obligation, next_check), cases) in moves {
        reminders::set_next_check(tx, obligation, &cases, next_check)?;
    }
    Ok((queue.len(), chunk.next))
}

/// Tells every active holder of `case` (except `except`, usually the person who acted).
pub fn tell_holders(
    tx: &mut Tx,
    case: &CaseId,
    notice: &Notice,
    except: Option<&UserId>,
    public_url: &str,
    now: PrimitiveDateTime,
) -> Result<usize, ServiceError> {
    let holders = reminders::holders(tx, std::slice::from_ref(case))?;
    let ids: Vec<UserId> = holders
        .get(case)
        .into_iter()
        .flatten()
        .filter(|id| Some(*id) != except)
        .cloned()
        .collect();
    let people = reminders::active_addressees(tx, &ids)?;
    let mut told = 0;
    for id in &ids {
        if let Some(person) = people.get(id) {
            notify::queue(
                tx,
                &Recipient::user(&person.id, &person.email),
                notice,
                public_url,
                now,
            )?;
            told += 1;
        }
    }
    Ok(told)
}

/// Tells one person (e.g. the new holder after a grant).
pub fn tell(
    tx: &mut Tx,
    user: &UserId,
    notice: &Notice,
    public_url: &str,
    now: PrimitiveDateTime,
) -> Result<bool, ServiceError> {
    let people = reminders::active_addressees(tx, std::slice::from_ref(user))?;
    match people.get(user) {
        Some(person) => {
            notify::queue(
                tx,
                &Recipient::user(&person.id, &person.email),
                notice,
                public_url,
                now,
            )?;
            Ok(true)
        }
        None => Ok(false),
    }
}

fn take_schedule_turn(tx: &mut Tx) -> Result<(), ServiceError> {
    if let DbConnection::Postgres(pg) = tx {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SCHEDULE_LOCK})"))
            .execute(pg)
            .map_err(crate::store::StoreError::from)?;
    }
    Ok(())
}

/// Folds each digest reader's held notices into one e-mail; once a day.
fn queue_digests(
    tx: &mut Tx,
    today: Date,
    now: PrimitiveDateTime,
    public_url: &str,
) -> Result<usize, ServiceError> {
    if !reminders::claim_run(tx, "daily_digest", &today.to_string(), now)? {
        return Ok(0);
    }
    let mut digests = 0;
    for (email, user) in outbox::held_recipients(tx)? {
        let held = outbox::held_for(tx, &email)?;
        if held.is_empty() {
            continue;
        }
        let notice = Notice::Digest {
            subjects: held.iter().map(|message| message.subject.clone()).collect(),
        };
        let digest_id = notify::queue(
            tx,
            &Recipient {
                email: email.clone(),
                user: user.map(UserId::from_stored),
            },
            &notice,
            public_url,
            now,
        )?;
        let ids: Vec<String> = held.into_iter().map(|message| message.id).collect();
        outbox::fold_into_digest(tx, &ids, &digest_id, now)?;
        digests += 1;
    }
    Ok(digests)
}

fn iso_week(today: Date) -> String {
    let (year, week, _) = today.to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// The weekly summary to each organisation's lead and champion; once per ISO week.
fn queue_weekly_summaries(
    tx: &mut Tx,
    today: Date,
    now: PrimitiveDateTime,
    public_url: &str,
) -> Result<usize, ServiceError> {
    let week = iso_week(today);
    if !reminders::claim_run(tx, "weekly_summary", &week, now)? {
        return Ok(0);
    }
    let (audit_entries, audit_head) = audit::checkpoint(tx)?;
    let (open, overdue) = reminders::open_and_overdue(tx, today)?;
    let oversight = reminders::active_with_roles(tx, &OVERSIGHT_ROLES)?;
    let mut sent = 0;
    for organisation in organisations::list(tx)? {
        let summary = Notice::WeeklySummary(WeeklySummary {
            organisation_name: organisation.name.clone(),
            week: week.clone(),
            open_cases: open.get(&organisation.id).copied().unwrap_or(0),
            overdue_cases: overdue.get(&organisation.id).copied().unwrap_or(0),
            detriment_reports: Some(reporter_requests::count_in_period(
                tx,
                &organisation.id,
                crate::model::RequestKind::Detriment,
                today - time::Duration::days(6),
                today,
            )?),
            audit_entries,
            audit_head: audit_head.clone(),
        });
        for person in oversight.get(&organisation.id).into_iter().flatten() {
            notify::queue(
                tx,
                &Recipient::user(&person.id, &person.email),
                &summary,
                public_url,
                now,
            )?;
            sent += 1;
        }
    }
    Ok(sent)
}

impl Portal {
    /// The reminders `as_of` would send, one line per person; nothing is queued or recorded.
    pub fn reminder_preview(&self, as_of: Date) -> Result<Vec<PreviewLine>, ServiceError> {
        self.store.write(schedule::backfill_if_requested)?;
        self.store.read(|tx| {
            let mut planned = Vec::new();
            let mut after = None;
            loop {
                let chunk = plan_chunk(tx, as_of, after.as_ref(), self.scan_chunk)?;
                planned.extend(chunk.planned);
                match chunk.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            planned.sort_by(|a, b| {
                (&a.case.reference, a.due.obligation).cmp(&(&b.case.reference, b.due.obligation))
            });
            let addressing = addressing(tx, &planned)?;
            let mut lines = Vec::new();
            for planned in &planned {
                for person in addressees_of(
                    planned,
                    &addressing.holders,
                    &addressing.people,
                    &addressing.oversight,
                ) {
                    lines.push(PreviewLine {
                        to: person.email,
                        kind: match planned.due.milestone {
                            Milestone::Overdue => "overdue",
                            _ => "reminder",
                        },
                        case: planned.case.reference.clone(),
                        percent: planned.due.milestone.percent(),
                        due_on: planned.due.due_on,
                    });
                }
            }
            Ok(lines)
        })
    }

    /// The reminder scan, the daily digests and the weekly summary, each idempotent: the worker
    /// calls this every quarter of an hour. The scan reads only the windows the schedule says
    /// are due, a chunk at a time, each chunk in its own transaction; the digests and the
    /// summary take one short transaction each.
    pub fn run_scheduled_notices(&self) -> Result<ScheduledSummary, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        let public_url = self.settings.public_url.clone();
        self.store.write(schedule::backfill_if_requested)?;
        let mut reminders = 0;
        let mut chunks = 0;
        let mut longest_chunk = std::time::Duration::ZERO;
        let mut after: Option<DueCursor> = None;
        loop {
            let started = std::time::Instant::now();
            let (queued, next) = self.store.write(|tx| {
                queue_chunk(tx, today, now, &public_url, after.as_ref(), self.scan_chunk)
            })?;
            reminders += queued;
            chunks += 1;
            longest_chunk = longest_chunk.max(started.elapsed());
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let digests = self.store.write(|tx| {
            take_schedule_turn(tx)?;
            queue_digests(tx, today, now, &public_url)
        })?;
        let weekly_summaries = self.store.write(|tx| {
            take_schedule_turn(tx)?;
            queue_weekly_summaries(tx, today, now, &public_url)
        })?;
        Ok(ScheduledSummary {
            reminders,
            digests,
            weekly_summaries,
            chunks,
            longest_chunk,
        })
    }

    pub fn outbox_backlog(&self) -> Result<Backlog, ServiceError> {
        Ok(self.store.read(outbox::backlog)?)
    }

    /// Failed deliveries to the admin's own organisation's people; never another's.
    pub fn failed_deliveries(&self, admin: &Handler) -> Result<Vec<FailedDelivery>, ServiceError> {
        self.store.read(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            Ok(outbox::failed_deliveries(
                tx,
                &admin.user.organisation_id,
                200,
            )?)
        })
    }

    /// Sends a failed notice at the worker's next pass instead of after its back-off; audited.
    /// Not found when the row is another organisation's, already sent, or being sent right now.
    pub fn retry_delivery(&self, admin: &Handler, id: &str) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            require_admin_of(tx, &admin.user.id, &admin.user.organisation_id)?;
            if !outbox::retry_failed(tx, &admin.user.organisation_id, id, now)? {
                return Err(ServiceError::NotFound);
            }
            admin_audit(
                tx,
                admin,
                "delivery_retried",
                None,
                format!("outbox={id}"),
                now,
            )
        })
    }

    pub fn notice_preference(&self, user: &UserId) -> Result<DeliveryPreference, ServiceError> {
        Ok(self
            .store
            .read(|tx| outbox::delivery_preference(tx, user))?)
    }

    /// The person's own choice for non-urgent notices; audited. Reminders and overdue notices
    /// go at once whatever it is.
    pub fn set_notice_preference(
        &self,
        handler: &Handler,
        preference: DeliveryPreference,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        let user = &handler.user;
        self.store.write(|tx| {
            let current = users::find(tx, &user.id)?
                .filter(|found| found.active)
                .ok_or(ServiceError::NotFound)?;
            outbox::set_delivery_preference(tx, &current.id, preference)?;
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(current.id.as_str().to_owned()),
                    action: "notice_preference_changed",
                    organisation_id: Some(current.organisation_id.as_str().to_owned()),
                    detail: format!("delivery={}", preference.as_str()),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(iso_week(date!(2026 - 11 - 16)), "2026-W47");
        assert_eq!(iso_week(date!(2027 - 01 - 01)), "2026-W53");
        assert_eq!(iso_week(date!(2027 - 01 - 04)), "2027-W01");
    }
}
