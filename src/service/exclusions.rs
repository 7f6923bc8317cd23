//! The people a reporter left out stay out: the list is sealed inside the concern record (so it
//! cannot be edited or dropped without destroying the concern), and every grant checks it.

use super::ServiceError;
use super::casefile::open_json;
use super::content::ConcernContent;
use crate::crypto::{DataKey, RecordKind};
use crate::store::Tx;
use crate::store::cases::{self, Case};
use crate::store::users::User;

/// Refuses with 409 `excluded_by_reporter` if the reporter left `target` out of this case.
pub(super) fn ensure_not_excluded(
    tx: &mut Tx,
    case: &Case,
    key: &DataKey,
    target: &User,
) -> Result<(), ServiceError> {
    let records = cases::records(tx, &case.id, &[RecordKind::Concern.as_str()])?;
    for record in &records {
        let concern: ConcernContent = open_json(key, record, RecordKind::Concern)?;
        if concern
            .excluded
            .iter()
            .any(|excluded| excluded == target.id.as_str())
        {
            return Err(ServiceError::Conflict {
                code: "excluded_by_reporter",
                message: format!(
                    "the person who raised this concern asked that {} should not read it",
                    target.display_name
                ),
            });
        }
    }
    Ok(())
}
