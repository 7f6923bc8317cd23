//! The plaintext shapes of sealed records. They exist in memory only while a request that may
//! read them is being answered.

use serde::{Deserialize, Serialize};

use crate::procedure::NotWhistleblowingKind;

/// The concern as the reporter wrote it.
#[derive(Serialize, Deserialize)]
pub struct ConcernContent {
    pub text: String,
    /// Ids of the intake contacts the reporter left out; nobody may ever grant them the case.
    #[serde(default)]
    pub excluded: Vec<String>,
}

/// A confidential reporter's name and how to reach them.
#[derive(Serialize, Deserialize)]
pub struct IdentityContent {
    pub name: String,
    pub contact: String,
}

/// A message between the reporter and the handlers, or a handler's internal note.
#[derive(Serialize, Deserialize)]
pub struct MessageContent {
    pub body: String,
}

/// An attachment's description; its bytes are sealed separately in the attachment store.
#[derive(Serialize, Deserialize)]
pub struct AttachmentContent {
    pub name: String,
    pub size: u64,
    /// What was stripped before sealing, in plain words.
    pub removed_metadata: Vec<String>,
}

/// What the reporter is told about a procedure event, and the handler's own reason or findings.
#[derive(Serialize, Deserialize)]
pub struct EventContent {
    /// Plain-language letter shown in the reporter's mailbox.
    pub letter: String,
    /// What the handler entered (reason for an extension, findings, actions); shown to handlers.
    #[serde(default)]
    pub detail: String,
    /// Who authorised an extension (handler side).
    #[serde(default)]
    pub authorised_by: String,
    /// For a "not whistleblowing" decision: which procedure the reporter should use instead.
    #[serde(default)]
    pub not_whistleblowing: Option<NotWhistleblowingKind>,
}

impl std::fmt::Debug for ConcernContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConcernContent([redacted])")
    }
}

impl std::fmt::Debug for IdentityContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityContent([redacted])")
    }
}

impl std::fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageContent([redacted])")
    }
}
