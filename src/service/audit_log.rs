//! Checking the audit log's hash chain, and the checkpoints that anchor it outside the database.

use serde::Serialize;

use super::{Portal, ServiceError};
use crate::store::Tx;
use crate::store::audit::{self, ChainCheck, Checkpoint};

/// The chain's head as printed for safekeeping: `{"entries": N, "head": "hex"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHead {
    pub entries: i64,
    pub head: String,
}

impl AuditHead {
    /// Reads a checkpoint as written by `speakup audit head`.
    pub fn checkpoint(entries: i64, head: &str) -> Result<Checkpoint, ServiceError> {
        let invalid = || {
            ServiceError::invalid(
                "invalid_checkpoint",
                "a checkpoint is a positive entry count and a 64-character hex hash",
            )
        };
        let bytes = data_encoding::HEXLOWER_PERMISSIVE
            .decode(head.trim().as_bytes())
            .map_err(|_| invalid())?;
        let head: [u8; 32] = bytes.try_into().map_err(|_| invalid())?;
        if entries < 1 {
            return Err(invalid());
        }
        Ok(Checkpoint { entries, head })
    }
}

impl Portal {
    /// Walks the whole chain; names the first entry that does not verify.
    pub fn verify_audit_log(&self) -> Result<ChainCheck, ServiceError> {
        self.verify_audit_log_against(None)
    }

    /// As [`Portal::verify_audit_log`], and also that the chain still passes through a
    /// checkpoint taken earlier (so cutting or re-chaining the log is caught).
    pub fn verify_audit_log_against(
        &self,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<ChainCheck, ServiceError> {
        self.store
            .read(|tx| audit::verify_against(tx, checkpoint).map_err(ServiceError::from))
    }

    /// The current head, to be kept somewhere the database's writers cannot reach.
    pub fn audit_head(&self) -> Result<AuditHead, ServiceError> {
        self.store.read(audit_head)
    }
}

pub(super) fn audit_head(tx: &mut Tx) -> Result<AuditHead, ServiceError> {
    Ok(match audit::head(tx)? {
        Some((entries, hash)) => AuditHead {
            entries,
            head: data_encoding::HEXLOWER.encode(&hash),
        },
        None => AuditHead {
            entries: 0,
            head: data_encoding::HEXLOWER.encode(&crate::crypto::audit_chain::GENESIS),
        },
    })
}
