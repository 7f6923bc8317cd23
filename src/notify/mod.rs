//! E-mail notices: what they may say (`notice`), queuing them with the change that caused them
//! (`queue`), and delivering them over SMTP with retries.

pub mod notice;
pub mod smtp;
pub mod worker;

pub use notice::{Notice, Obligation, Rendered, ServiceNotice, WeeklySummary};

use time::PrimitiveDateTime;

use crate::ids::UserId;
use crate::store::outbox::{self, NewMessage};
use crate::store::{StoreError, Tx};

/// Who a notice goes to: an e-mail address, and the account behind it when there is one (for the
/// daily-digest preference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub email: String,
    pub user: Option<UserId>,
}

impl Recipient {
    pub fn user(id: &UserId, email: &str) -> Recipient {
        Recipient {
            email: email.to_owned(),
            user: Some(id.clone()),
        }
    }
}

/// Queues `notice` for `recipient` inside the caller's write transaction: it is committed with
/// the change it reports, or not at all. A non-urgent notice to someone who chose a daily digest
/// is held for the digest. Answers the outbox row id.
pub fn queue(
    tx: &mut Tx,
    recipient: &Recipient,
    notice: &Notice,
    public_url: &str,
    now: PrimitiveDateTime,
) -> Result<String, StoreError> {
    queue_all(tx, &[(recipient.clone(), notice)], public_url, now)?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a queued notice has no row".to_owned()))
}

/// Queues many notices at once (the reminder scan's way): the preferences are read in one query
/// and the rows written in a few multi-row inserts. Same rules as [`queue`]; answers the row ids.
pub fn queue_all(
    tx: &mut Tx,
    notices: &[(Recipient, &Notice)],
    public_url: &str,
    now: PrimitiveDateTime,
) -> Result<Vec<String>, StoreError> {
    let askers: Vec<&UserId> = notices
        .iter()
        .filter(|(_, notice)| !notice.is_urgent())
        .filter_map(|(recipient, _)| recipient.user.as_ref())
        .collect();
    let digest_readers = if askers.is_empty() {
        std::collections::HashSet::new()
    } else {
        outbox::digest_readers(tx, &askers)?
    };
    let messages: Vec<NewMessage> = notices
        .iter()
        .map(|(recipient, notice)| {
            let rendered = notice.render(public_url);
            NewMessage {
                recipient: recipient.email.clone(),
                recipient_user: recipient.user.clone(),
                kind: rendered.kind.to_owned(),
                subject: rendered.subject,
                body: rendered.body,
                held_for_digest: !notice.is_urgent()
                    && recipient
                        .user
                        .as_ref()
                        .is_some_and(|user| digest_readers.contains(user)),
            }
        })
        .collect();
    outbox::enqueue_all(tx, &messages, now)
}
