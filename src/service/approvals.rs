//! Four eyes on who receives new concerns: a person joining the intake list, an intake
//! member's keys being reset, or their e-mail address changing all wait until a second account
//! (an admin or the whistleblowing champion, never the requester) approves. Until then the
//! intake list that reporters see and that new concerns are sealed to does not include them.

use serde::Serialize;
use time::Date;

use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto;
use crate::ids::UserId;
use crate::store::Tx;
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, NewEntry};
use crate::store::outbox::{self, NewMessage};
use crate::store::users::{self, User};

/// A pending change as the approvers see it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub id: String,
    pub kind: String,
    /// The person the change is about: name and e-mail address.
    pub subject: String,
    pub requested_by: String,
    pub requested_on: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    Approve,
    Decline,
}

fn describe(kind: &str) -> &'static str {
    match kind {
        "intake_join" => "joins the intake list",
        "intake_key_reset" => "had their keys reset while on the intake list",
        _ => "has a new e-mail address while on the intake list",
    }
}

/// Records a change waiting for a second person, and tells every current intake member.
pub(super) fn request_approval(
    tx: &mut Tx,
    portal: &Portal,
    requester: &Handler,
    subject: &User,
    kind: &'static str,
    today: Date,
) -> Result<(), ServiceError> {
    let now = portal.clock.now_utc_naive();
    approvals::insert(
        tx,
        &Approval {
            id: crypto::random_id(),
            organisation_id: subject.organisation_id.as_str().to_owned(),
            kind: kind.to_owned(),
            subject_user_id: subject.id.as_str().to_owned(),
            subject_key_generation: subject.key_generation,
            subject_email: subject.email.clone(),
            requested_by: requester.user.id.as_str().to_owned(),
            requested_on: today,
            decision: None,
            decided_by: None,
            decided_on: None,
        },
    )?;
    audit::append(
        tx,
        NewEntry {
            actor_user_id: Some(requester.user.id.as_str().to_owned()),
            action: "approval_requested",
            organisation_id: Some(subject.organisation_id.as_str().to_owned()),
            subject_user_id: Some(subject.id.as_str().to_owned()),
            detail: format!("kind={kind}"),
            ..NewEntry::default()
        },
        now,
    )?;
    let link = format!(
        "{}/console/admin/approvals",
        portal.settings.public_url.trim_end_matches('/')
    );
    for member in users::intake_list(tx, &subject.organisation_id)? {
        outbox::enqueue(
            tx,
            &NewMessage {
                recipient: member.email.clone(),
                recipient_user: Some(member.id.clone()),
                kind: "intake_change".to_owned(),
                subject: "A change to who receives new concerns".to_owned(),
                body: format!(
                    "{} ({}) {}. The change waits until a second administrator or the \
                     whistleblowing champion approves it: {link}\n",
                    subject.display_name,
                    subject.email,
                    describe(kind)
                ),
                held_for_digest: false,
            },
            now,
        )?;
    }
    Ok(())
}

fn approver_of(tx: &mut Tx, approver: &Handler) -> Result<User, ServiceError> {
    users::find(tx, &approver.user.id)?
        .filter(|user| user.active && user.role.may_approve())
        .ok_or(ServiceError::NotFound)
}

impl Portal {
    /// Changes waiting for approval in the approver's organisation.
    pub fn pending_approvals(&self, approver: &Handler) -> Result<Vec<ApprovalView>, ServiceError> {
        self.store.read(|tx| {
            let me = approver_of(tx, approver)?;
            let people: std::collections::HashMap<UserId, User> =
                users::list_in_organisation(tx, &me.organisation_id)?
                    .into_iter()
                    .map(|user| (user.id.clone(), user))
                    .collect();
            let name = |id: &str| {
                people
                    .get(&UserId::from_stored(id.to_owned()))
                    .map(|user| user.display_name.clone())
                    .unwrap_or_default()
            };
            Ok(approvals::pending_in(tx, &me.organisation_id)?
                .into_iter()
                .map(|approval| ApprovalView {
                    subject: format!(
                        "{} ({})",
                        name(&approval.subject_user_id),
                        approval.subject_email
                    ),
                    requested_by: name(&approval.requested_by),
                    id: approval.id,
                    kind: approval.kind,
                    requested_on: approval.requested_on,
                })
                .collect())
        })
    }

    /// A second person's decision. The requester gets 403; approving pins exactly the key
    /// generation and address that were asked about, so a later change needs its own approval.
    pub fn decide_approval(
        &self,
        approver: &Handler,
        id: &str,
        decision: ApprovalDecision,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now_utc_naive();
        let today = self.clock.today();
        self.store.write(|tx| {
            let me = approver_of(tx, approver)?;
            let approval = approvals::find(tx, id)?
                .filter(|approval| approval.organisation_id == me.organisation_id.as_str())
                .ok_or(ServiceError::NotFound)?;
            if approval.requested_by == me.id.as_str() {
                return Err(ServiceError::Forbidden {
                    code: "own_request",
                    message: "a change must be approved by someone other than the person who asked for it"
                        .to_owned(),
                });
            }
            let stored = match decision {
                ApprovalDecision::Approve => "approved",
                ApprovalDecision::Decline => "declined",
            };
            if !approvals::decide(tx, id, stored, me.id.as_str(), today)? {
                return Err(ServiceError::Conflict {
                    code: "already_decided",
                    message: "this change has already been decided".to_owned(),
                });
            }
            let subject = UserId::from_stored(approval.subject_user_id.clone());
            let organisation = me.organisation_id.clone();
            match decision {
                ApprovalDecision::Approve => {
                    users::approve_intake(
                        tx,
                        &organisation,
                        &subject,
                        approval.subject_key_generation,
                        &approval.subject_email,
                    )?;
                }
                ApprovalDecision::Decline => {
                    let still_as_asked = users::find(tx, &subject)?.is_some_and(|user| {
                        user.key_generation == approval.subject_key_generation
                            && user.email == approval.subject_email
                    });
                    if still_as_asked {
                        users::remove_from_intake(tx, &organisation, &subject)?;
                    }
                }
            }
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(me.id.as_str().to_owned()),
                    action: if decision == ApprovalDecision::Approve {
                        "approval_granted"
                    } else {
                        "approval_declined"
                    },
                    organisation_id: Some(organisation.as_str().to_owned()),
                    subject_user_id: Some(subject.as_str().to_owned()),
                    detail: format!("kind={}", approval.kind),
                    ..NewEntry::default()
                },
                now,
            )?;
            Ok(())
        })
    }
}
