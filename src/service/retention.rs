//! Retention: a finished case's content is erased a set number of months after its last
//! activity (`org settings --retention-months`, default 72). The decision is the pure
//! [`Retention`] rule; here it is applied case by case, each erasure in its own transaction with
//! its audit entry, and re-checked under the case's lock so a reporter writing at the last
//! moment keeps their case.

use std::collections::HashMap;

use serde::Serialize;
use time::Date;

use super::{Portal, ServiceError, casefile};
use crate::blobs::BlobKey;
use crate::ids::OrganisationId;
use crate::procedure::{Calendar, Retention};
use crate::store::audit::{self, NewEntry};
use crate::store::cases;
use crate::store::events::{self, StoredEvent};
use crate::store::organisations::{self, Organisation};
use crate::store::retention::{self as kept, KeptCase};

/// A case whose content is (or, in a dry run, would be) erased. References and dates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasableCase {
    pub organisation: String,
    pub reference: String,
    pub last_activity: Date,
    pub erasable_from: Date,
}

/// An attachment file of an erased case, still in the blob store.
#[derive(Debug, Clone)]
pub struct LeftoverFile {
    pub attachment_id: String,
    pub key: BlobKey,
}

fn retention_of(organisation: &Organisation) -> Retention {
    Retention::new(organisation.retention_months).unwrap_or_default()
}

/// When the case may be erased, given its events and its latest record; `None` while open.
fn erasable_from(
    calendar: &Calendar,
    organisation: &Organisation,
    case: &KeptCase,
    stored: &[StoredEvent],
    last_record: Option<Date>,
) -> Result<Option<(Date, Date)>, ServiceError> {
    if stored.is_empty() {
        return Ok(None);
    }
    let procedure = casefile::replay(
        stored,
        calendar,
        &casefile::procedure_settings(organisation),
    )?;
    let last_event = stored.iter().map(|event| event.event.on).max();
    let last_activity = [Some(case.received_on), last_event, last_record]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(case.received_on);
    Ok(retention_of(organisation)
        .erasable_from(procedure.state(), last_activity)
        .map(|from| (last_activity, from)))
}

impl Portal {
    /// The cases whose content is due to be erased on `today`, without changing anything.
    pub fn cases_due_for_erasure(&self, today: Date) -> Result<Vec<ErasableCase>, ServiceError> {
        self.store.read(|tx| {
            // One calendar per organisation, not one per case.
            let mut organisations: HashMap<OrganisationId, (Organisation, Calendar)> =
                HashMap::new();
            for organisation in organisations::list(tx)? {
                let calendar = casefile::calendar_for(tx, &organisation)?;
                organisations.insert(organisation.id.clone(), (organisation, calendar));
            }
            let mut grouped = events::all_grouped(tx)?;
            let last_records = kept::last_record_days(tx)?;
            let mut due = Vec::new();
            for case in kept::kept_cases(tx)? {
                let Some((organisation, calendar)) =
                    organisations.get(&OrganisationId::from_stored(case.organisation_id.clone()))
                else {
                    continue;
                };
                let stored = grouped.remove(&case.id).unwrap_or_default();
                let last_record = last_records.get(&case.id).copied();
                if let Some((last_activity, from)) =
                    erasable_from(calendar, organisation, &case, &stored, last_record)?
                    && from <= today
                {
                    due.push(ErasableCase {
                        organisation: organisation.slug.clone(),
                        reference: case.reference,
                        last_activity,
                        erasable_from: from,
                    });
                }
            }
            Ok(due)
        })
    }

    /// Erases the content of every case due on `today`, one transaction and one audit entry
    /// each, and returns them. Files are deleted afterwards by the caller through
    /// [`Portal::leftover_files`] and [`Portal::forget_file`].
    pub fn erase_due_cases(&self, today: Date) -> Result<Vec<ErasableCase>, ServiceError> {
        let now = self.clock.now_utc_naive();
        let mut erased = Vec::new();
        for candidate in self.cases_due_for_erasure(today)? {
            let done = self.store.write(|tx| {
                let Some(case) = cases::find_by_reference(tx, &candidate.reference)? else {
                    return Ok::<_, ServiceError>(None);
                };
                cases::lock(tx, &case.id)?;
                let Some(organisation) = organisations::find(tx, &case.organisation_id)? else {
                    return Ok(None);
                };
                // Again under the lock: a message or event since the scan restarts the count.
                let stored = events::for_case(tx, &case.id)?;
                let last_record = kept::last_record_day(tx, &case.id)?;
                let kept_case = KeptCase {
                    id: case.id.clone(),
                    organisation_id: case.organisation_id.as_str().to_owned(),
                    reference: case.reference.clone(),
                    received_on: case.received_on,
                };
                let calendar = casefile::calendar_for(tx, &organisation)?;
                let Some((last_activity, from)) =
                    erasable_from(&calendar, &organisation, &kept_case, &stored, last_record)?
                else {
                    return Ok(None);
                };
                if from > today || !kept::erase_content(tx, &case.id, today)? {
                    return Ok(None);
                }
                // Only finished cases are erased, and they have no running window; an erased
                // case is never scheduled whatever its history says.
                super::schedule::unschedule(tx, &case.id, &organisation)?;
                audit::append(
                    tx,
                    NewEntry {
                        action: "case_erased",
                        organisation_id: Some(organisation.id.as_str().to_owned()),
                        case_id: Some(case.id.as_str().to_owned()),
                        detail: format!(
                            "retention_months={} last_activity={last_activity}",
                            organisation.retention_months
                        ),
                        ..NewEntry::default()
                    },
                    now,
                )?;
                Ok(Some(ErasableCase {
                    organisation: organisation.slug.clone(),
                    reference: case.reference,
                    last_activity,
                    erasable_from: from,
                }))
            })?;
            erased.extend(done);
        }
        Ok(erased)
    }

    /// Sets how long finished cases keep their content (`org settings --retention-months`).
    /// Shortening it can erase cases at the next run, so the change is audited.
    pub fn set_retention_months(
        &self,
        slug: &str,
        months: u32,
    ) -> Result<Organisation, ServiceError> {
        Retention::new(months)
            .map_err(|error| ServiceError::invalid(error.code(), error.to_string()))?;
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let mut organisation = casefile::organisation(tx, slug)?;
            organisations::set_retention_months(tx, &organisation.id, months)?;
            audit::append(
                tx,
                NewEntry {
                    action: "settings_changed",
                    organisation_id: Some(organisation.id.as_str().to_owned()),
                    detail: format!(
                        "via=cli retention_months={months} was={}",
                        organisation.retention_months
                    ),
                    ..NewEntry::default()
                },
                now,
            )?;
            organisation.retention_months = months;
            Ok(organisation)
        })
    }

    /// Attachment files of erased cases still to be deleted from the blob store.
    pub fn leftover_files(&self) -> Result<Vec<LeftoverFile>, ServiceError> {
        let rows = self.store.read(kept::files_of_erased_cases)?;
        rows.into_iter()
            .map(|(case_id, attachment_id)| {
                let key = BlobKey::new(&case_id, &attachment_id)
                    .map_err(|error| ServiceError::Internal(error.to_string()))?;
                Ok(LeftoverFile { attachment_id, key })
            })
            .collect()
    }

    /// Forgets an erased case's attachment once its file has been deleted.
    pub fn forget_file(&self, file: &LeftoverFile) -> Result<(), ServiceError> {
        Ok(self
            .store
            .write(|tx| kept::forget_file(tx, &file.attachment_id))?)
    }
}
