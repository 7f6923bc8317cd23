//! Checking the audit log's hash chain.

use super::{Portal, ServiceError};
use crate::store::audit::{self, ChainCheck};

impl Portal {
    /// Walks the whole chain; names the first entry that does not verify.
    pub fn verify_audit_log(&self) -> Result<ChainCheck, ServiceError> {
        self.store
            .read(|tx| audit::verify(tx).map_err(ServiceError::from))
    }
}
