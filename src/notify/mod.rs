//! E-mail notices: what they may say (`notice`), queuing them with the change that caused them
//! (`queue`), and delivering them over SMTP with retries.

pub mod notice;
pub mod smtp;
pub mod worker;

pub use notice::{Notice, Obligation, Rendered, ServiceNotice, WeeklySummary};

use time::PrimitiveDateTime;

use crate::ids::UserId;
use crate::store::outbox::{self, DeliveryPreference, NewMessage};
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
    let held_for_digest = match (&recipient.user, notice.is_urgent()) {
        (Some(user), false) => {
            outbox::delivery_preference(tx, user)? == DeliveryPreference::DailyDigest
        }
        _ => false,
    };
    let rendered = notice.render(public_url);
    outbox::enqueue(
        tx,
        &NewMessage {
            recipient: recipient.email.clone(),
            recipient_user: recipient.user.clone(),
            kind: rendered.kind.to_owned(),
            subject: rendered.subject,
            body: rendered.body,
            held_for_digest,
        },
        now,
    )
}
