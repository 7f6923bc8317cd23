//! Time-based one-time codes (RFC 6238, via totp-rs): SHA-1, 6 digits, 30-second steps, one
//! step of skew. The time comes from our clock so tests can move it.

use totp_rs::{Builder, Totp};

use super::ServiceError;
use crate::crypto::Secret;

pub const SECRET_BYTES: usize = 20;
const ISSUER: &str = "Speak Up";

fn build(secret: &[u8], account: &str) -> Result<Totp, ServiceError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|error| ServiceError::Internal(format!("TOTP setup failed: {error}")))
}

/// The `otpauth://` URI an authenticator app enrols from.
pub fn enrolment_uri(secret: &[u8], account: &str) -> Result<Secret<String>, ServiceError> {
    let uri = build(secret, account)?
        .to_url()
        .map_err(|error| ServiceError::Internal(format!("TOTP URI failed: {error}")))?;
    Ok(Secret::new(uri))
}

/// The time step a code is valid for at `unix_seconds`, if it is valid at all.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    build(secret, "check").ok()?.check(&code, unix_seconds)
}

/// The current code (used by tests and the CLI's self-check).
pub fn code_at(secret: &[u8], unix_seconds: u64) -> Result<String, ServiceError> {
    Ok(build(secret, "code")?.generate(unix_seconds).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); we use the last 6.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(matching_step(secret, "287 082", 59), Some(1));
        assert_eq!(
            matching_step(secret, "287082", 59 + 30),
            Some(1),
            "one step of skew"
        );
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
    }

    #[test]
    fn enrolment_uri_names_the_issuer() {
        let uri = enrolment_uri(&[7; SECRET_BYTES], "a@b.scot").unwrap();
        assert!(uri.expose_secret().starts_with("otpauth://totp/"));
        assert!(uri.expose_secret().contains("issuer=Speak%20Up"));
    }
}
