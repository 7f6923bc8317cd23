//! Pure cryptography for speakup.
//!
//! Nothing here does IO or reads a clock, so every function is deterministic
//! apart from the OS-seeded CSPRNG, and the formats are pinned by test vectors
//! that were computed with independent implementations (see the `tests`
//! modules). Changing any domain-separation string, framing or length is a
//! format break that those vectors are there to catch.
//!
//! Secrets only ever travel in types that zeroize on drop and whose `Debug`
//! output is redacted, so a stray `{:?}` in a log line cannot leak them.

#![forbid(unsafe_code)]

mod attachment;
pub mod audit_chain;
mod case_key;
mod crockford;
mod framing;
mod password;
mod random;
mod recovery;
mod seal;
mod secret;
mod session;
mod submission;
mod wrap;

pub use attachment::{
    AttachmentBinding, AttachmentOpener, AttachmentSealer, CHUNK_LEN as ATTACHMENT_CHUNK_LEN,
    HEADER_LEN as ATTACHMENT_HEADER_LEN, is_sealed_len as is_attachment_sealed_len,
    sealed_len as attachment_sealed_len, starts_like_sealed as starts_like_sealed_attachment,
};
pub use case_key::{CaseKey, CaseKeyError, MAILBOX_PROOF_LEN, MailboxProof};
pub use password::{
    LoginProof, PasswordCost, PasswordKeys, TotpSealing, derive_password_keys, new_password_salt,
};
pub use random::{random_id, random_reference, random_token, token_digest};
pub use seal::{Aad, DataKey, Provenance, RecordKind, open, seal};
pub use secret::Secret;
pub use session::SessionToken;
pub use submission::SubmissionToken;
pub use wrap::{
    KeyKind, KeyPair, PublicKey, SecretKey, WRAPPED_KEY_LEN, WrapContext, unwrap_key, wrap_key,
};

/// The one error type of the crypto module.
///
/// Variants deliberately carry no input data: a failed open or unwrap must
/// not echo ciphertext, keys or ids into logs, and callers cannot act on the
/// detail anyway (a wrong key and tampered data are indistinguishable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Sealed data did not authenticate: wrong key, wrong Aad, or tampered
    /// or truncated bytes.
    #[error("decryption failed")]
    Decrypt,
    /// The AEAD refused to encrypt (input beyond the cipher's limits).
    #[error("encryption failed")]
    Encrypt,
    /// A wrapped data key did not authenticate for this recipient and context.
    #[error("key unwrap failed")]
    Unwrap,
    /// A public key was a low-order point, which would make the shared secret
    /// predictable.
    #[error("refused a low-order public key")]
    WeakPublicKey,
    /// HKDF could not produce the requested output.
    #[error("key derivation failed")]
    KeyDerivation,
    /// Argon2 failed to run (out of memory, or parameters it rejects).
    #[error("password key derivation failed")]
    PasswordKdf,
    /// A password cost below the production floor (and not the named test
    /// cost).
    #[error("password cost is below the allowed minimum")]
    WeakPasswordCost,
    /// A password cost string or value that is malformed or out of range.
    #[error("invalid password cost")]
    InvalidPasswordCost,
    /// A session token that is not 64 base64url characters encoding 48 bytes.
    #[error("invalid session token")]
    InvalidSessionToken,
    /// A case key that could not be parsed.
    #[error("invalid case key: {0}")]
    InvalidCaseKey(#[from] CaseKeyError),
    /// A caller-supplied id that cannot be bound into associated data.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
}
