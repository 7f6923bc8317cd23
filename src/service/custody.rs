//! The rule that keeps every case readable by someone: no revoke, conflict declaration, reset
//! or disable may leave a case without an active handler holding its key. The checks take the
//! case's row lock first, so two such changes racing on one case are decided one after the other.

use super::ServiceError;
use crate::crypto::KeyKind;
use crate::ids::{CaseId, UserId};
use crate::store::wraps::{self, Recipient};
use crate::store::{Tx, cases, users};

/// Active handlers other than `besides` holding the case key. Call after [`cases::lock`].
pub(super) fn other_active_holders(
    tx: &mut Tx,
    case: &CaseId,
    besides: &UserId,
) -> Result<usize, ServiceError> {
    let mut count = 0;
    for wrap in wraps::for_case(tx, case)? {
        let Recipient::User(holder) = wrap.recipient else {
            continue;
        };
        if wrap.key_kind != KeyKind::Case || &holder == besides {
            continue;
        }
        if users::find(tx, &holder)?.is_some_and(|user| user.active) {
            count += 1;
        }
    }
    Ok(count)
}

/// Locks every case `user` holds (in id order, so concurrent callers cannot deadlock) and
/// refuses if any of them would be left with no active holder once `user` is gone.
pub(super) fn ensure_not_sole_holder(
    tx: &mut Tx,
    user: &UserId,
    name: &str,
) -> Result<(), ServiceError> {
    let mut held = wraps::cases_held_by(tx, user)?;
    held.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut alone = 0;
    for case in &held {
        cases::lock(tx, case)?;
        if other_active_holders(tx, case, user)? == 0 {
            alone += 1;
        }
    }
    if alone > 0 {
        return Err(ServiceError::Conflict {
            code: "sole_holder",
            message: format!(
                "{name} is the only active person who can open {alone} case{}; ask them to give \
                 {} to another contact or investigator first (or recover {} with the \
                 organisation's recovery key)",
                if alone == 1 { "" } else { "s" },
                if alone == 1 { "it" } else { "them" },
                if alone == 1 { "it" } else { "them" },
            ),
        });
    }
    Ok(())
}
