//! The reminder schedule: each open case's running deadline windows, with the first day each
//! has a reminder due (`procedure::next_check`), kept so the daily scan reads only what is due.
//!
//! Kept in the transaction of every change that moves a case's windows: intake (every channel,
//! through `record_receipt`), procedure events (`record_event`), reporters' requests from the
//! mailbox, erasure; and rebuilt for a whole organisation in the transaction of a change to its
//! calendar (holidays) or procedure settings (day-one rule, extension cap). The windows are
//! those a replay of the stored history gives, exactly what the scan used to replay every day.

use super::{Portal, ServiceError, casefile};
use crate::ids::CaseId;
use crate::procedure::{self, Calendar, Obligation, ScheduledWindow};
use crate::store::Tx;
use crate::store::events;
use crate::store::organisations::{self, Organisation};
use crate::store::reminders::{self, CaseSchedule, Recorded};

/// Cases replayed per batch when a whole organisation is rescheduled.
const BATCH: usize = 2_000;

/// The schedule of one case from its stored history; a history that does not replay (damaged)
/// schedules nothing, as the full scan skipped it.
fn schedule_of(
    case: &CaseId,
    organisation: &Organisation,
    history: &[events::StoredEvent],
    calendar: &Calendar,
    settings: &procedure::Settings,
    recorded: &Recorded,
) -> CaseSchedule {
    let windows = if history.is_empty() {
        Vec::new()
    } else {
        match casefile::replay(history, calendar, settings) {
            Ok(procedure) => procedure
                .windows(calendar)
                .iter()
                .map(|window| {
                    let done = recorded
                        .get(&(case.clone(), Obligation::of(window), window.due))
                        .copied();
                    ScheduledWindow::of(calendar, window, done)
                })
                .collect(),
            Err(error) => {
                tracing::warn!(error = %error, "a case's history does not replay: no reminders");
                Vec::new()
            }
        }
    };
    CaseSchedule {
        case: case.clone(),
        organisation: organisation.id.clone(),
        windows,
    }
}

/// Recomputes one case's schedule from its stored history (call after writing its event, in
/// the same transaction).
pub fn reschedule(
    tx: &mut Tx,
    case: &CaseId,
    organisation: &Organisation,
) -> Result<(), ServiceError> {
    let calendar = casefile::calendar_for(tx, organisation)?;
    let settings = casefile::procedure_settings(organisation);
    let history = events::for_case(tx, case)?;
    let recorded = reminders::recorded_for(tx, std::slice::from_ref(case))?;
    let schedule = schedule_of(
        case,
        organisation,
        &history,
        &calendar,
        &settings,
        &recorded,
    );
    reminders::replace_schedules(tx, &[schedule])?;
    Ok(())
}

/// Removes a case from the schedule (its content was erased: nobody is left to remind).
pub fn unschedule(
    tx: &mut Tx,
    case: &CaseId,
    organisation: &Organisation,
) -> Result<(), ServiceError> {
    reminders::replace_schedules(
        tx,
        &[CaseSchedule {
            case: case.clone(),
            organisation: organisation.id.clone(),
            windows: Vec::new(),
        }],
    )?;
    Ok(())
}

/// Which of an organisation's cases to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Cases with a running window: a calendar or settings change moves windows, but opens or
    /// closes none (that takes an event).
    Scheduled,
    /// Every case still holding content (the one-off backfill).
    Kept,
}

/// Recomputes the schedule of an organisation's cases with its current calendar and settings
/// (call after changing either, in the same transaction). Answers how many cases were replayed.
pub fn reschedule_organisation(
    tx: &mut Tx,
    organisation: &Organisation,
    scope: Scope,
) -> Result<usize, ServiceError> {
    let calendar = casefile::calendar_for(tx, organisation)?;
    let settings = casefile::procedure_settings(organisation);
    let cases = match scope {
        Scope::Scheduled => reminders::scheduled_case_ids(tx, &organisation.id)?,
        Scope::Kept => reminders::kept_case_ids(tx, &organisation.id)?,
    };
    for batch in cases.chunks(BATCH) {
        let mut histories = events::for_cases(tx, batch)?;
        let recorded = reminders::recorded_for(tx, batch)?;
        let schedules: Vec<CaseSchedule> = batch
            .iter()
            .map(|case| {
                let history = histories.remove(case).unwrap_or_default();
                schedule_of(
                    case,
                    organisation,
                    &history,
                    &calendar,
                    &settings,
                    &recorded,
                )
            })
            .collect();
        reminders::replace_schedules(tx, &schedules)?;
    }
    Ok(cases.len())
}

/// Builds the schedule of every organisation's cases from their histories; answers how many
/// cases were replayed.
fn rebuild_all(tx: &mut Tx) -> Result<usize, ServiceError> {
    let mut replayed = 0;
    for organisation in organisations::list(tx)? {
        replayed += reschedule_organisation(tx, &organisation, Scope::Kept)?;
    }
    Ok(replayed)
}

/// Runs the backfill the migration asked for, once; a no-op (one small delete) afterwards.
pub fn backfill_if_requested(tx: &mut Tx) -> Result<Option<usize>, ServiceError> {
    if reminders::take_backfill_request(tx)? {
        let replayed = rebuild_all(tx)?;
        tracing::info!(
            cases = replayed,
            "reminder schedule built from the case histories"
        );
        Ok(Some(replayed))
    } else {
        Ok(None)
    }
}

impl Portal {
    /// Rebuilds the whole reminder schedule from the case histories, in one transaction (what
    /// the migration's backfill does; also for a database filled outside the portal, such as
    /// the benchmark's). Answers how many cases were replayed.
    pub fn rebuild_reminder_schedule(&self) -> Result<usize, ServiceError> {
        self.store.write(|tx| {
            reminders::take_backfill_request(tx)?;
            rebuild_all(tx)
        })
    }
}
