//! The whistleblowing champion's oversight: which concerns are overdue, by reference and date
//! only. Nothing here opens a case; the champion holds no case key.

use serde::Serialize;
use time::Date;

use super::sessions::Handler;
use super::{Portal, ServiceError, casefile};
use crate::model::RequestKind;
use crate::model::Role;
use crate::procedure::{DeadlineKind, UrgencyLevel};
use crate::store::reporter_requests;
use crate::store::{cases, events, organisations};

/// An overdue obligation on one case: no content, no people, no stage detail beyond the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueCase {
    pub reference: String,
    pub received_on: Date,
    pub deadline: DeadlineKind,
    pub due_on: Date,
    /// Working days past the due date.
    pub days_over: u32,
}

impl Portal {
    /// Every open concern of the champion's organisation with an obligation past its date,
    /// oldest due date first.
    pub fn overdue_cases(&self, champion: &Handler) -> Result<Vec<OverdueCase>, ServiceError> {
        if champion.user.role != Role::Champion {
            return Err(ServiceError::NotFound);
        }
        let today = self.clock.today();
        self.store.read(|tx| {
            let organisation = organisations::find(tx, &champion.user.organisation_id)?
                .ok_or(ServiceError::NotFound)?;
            let calendar = casefile::calendar_for(tx, &organisation)?;
            let settings = casefile::procedure_settings(&organisation);
            let found = cases::in_organisation(tx, &organisation.id)?;
            let ids: Vec<_> = found.iter().map(|case| case.id.clone()).collect();
            let mut histories = events::for_cases(tx, &ids)?;
            let mut overdue = Vec::new();
            for case in found {
                let history = histories.remove(&case.id).unwrap_or_default();
                let procedure = casefile::replay(&history, &calendar, &settings)?;
                let Some(urgency) = procedure.urgency(today, &calendar) else {
                    continue;
                };
                if urgency.level == UrgencyLevel::Overdue {
                    overdue.push(OverdueCase {
                        reference: case.reference,
                        received_on: case.received_on,
                        deadline: urgency.deadline,
                        due_on: urgency.due,
                        days_over: urgency.used.saturating_sub(urgency.allowed),
                    });
                }
            }
            overdue.sort_by(|a, b| a.due_on.cmp(&b.due_on).then(a.reference.cmp(&b.reference)));
            Ok(overdue)
        })
    }

    /// Detriment reports reporters made from their mailbox, newest first: the case's reference
    /// and the day only. What the reporter wrote is for the case's holders.
    pub fn detriment_reports(
        &self,
        champion: &Handler,
    ) -> Result<Vec<DetrimentReport>, ServiceError> {
        if champion.user.role != Role::Champion {
            return Err(ServiceError::NotFound);
        }
        self.store.read(|tx| {
            Ok(reporter_requests::of_kind_in_organisation(
                tx,
                &champion.user.organisation_id,
                RequestKind::Detriment,
            )?
            .into_iter()
            .map(|request| DetrimentReport {
                reference: request.reference,
                reported_on: request.requested_on,
            })
            .collect())
        })
    }
}

/// A detriment report as the champion sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetrimentReport {
    pub reference: String,
    pub reported_on: Date,
}
