//! The one-time submission token that makes sending a concern idempotent.
//!
//! The concern form carries a fresh token from the moment it is shown until "Send my concern".
//! The case key is derived from it ([`CaseKey::from_submission_token`]), so sending the same
//! form twice (a reload, back and send again, a double click, two requests racing) derives the
//! same key, finds the case by its lookup id and never creates a second one. The server stores
//! nothing about the token beyond what it stores about the key (the lookup id): the token
//! exists only in the reporter's browser, so only that browser can be shown the key again.

use data_encoding::BASE64URL_NOPAD;

use super::random::fill_random;
use super::secret::{Secret, fmt_redacted};

const TOKEN_LEN: usize = 32;

/// 256 random bits, as secret as the case key derived from them.
pub struct SubmissionToken {
    bytes: Secret<[u8; TOKEN_LEN]>,
}

impl SubmissionToken {
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Secret::new([0u8; TOKEN_LEN]);
        fill_random(bytes.expose_secret_mut());
        Self { bytes }
    }

    /// The token as a form or API client sent it back: exactly 43 base64url characters. Anything
    /// else is refused, so a truncated or hand-made value never becomes a key.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 43 {
            return None;
        }
        let decoded = Secret::new(BASE64URL_NOPAD.decode(text.as_bytes()).ok()?);
        let mut bytes = Secret::new([0u8; TOKEN_LEN]);
        if decoded.expose_secret().len() != TOKEN_LEN {
            return None;
        }
        bytes
            .expose_secret_mut()
            .copy_from_slice(decoded.expose_secret());
        Some(Self { bytes })
    }

    /// The text carried in the form's hidden field.
    #[must_use]
    pub fn to_form_value(&self) -> Secret<String> {
        Secret::new(BASE64URL_NOPAD.encode(self.bytes.expose_secret()))
    }

    pub(super) fn expose_bytes(&self) -> &[u8; TOKEN_LEN] {
        self.bytes.expose_secret()
    }
}

impl core::fmt::Debug for SubmissionToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        fmt_redacted(f, "SubmissionToken")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_the_form_round_trip() {
        let token = SubmissionToken::generate();
        let text = token.to_form_value();
        assert_eq!(text.expose_secret().len(), 43);
        let back = SubmissionToken::parse(text.expose_secret()).unwrap();
        assert_eq!(back.expose_bytes(), token.expose_bytes());
    }

    #[test]
    fn anything_but_a_whole_token_is_refused() {
        let text = SubmissionToken::generate().to_form_value();
        let whole = text.expose_secret();
        for bad in [
            "",
            "short",
            &whole[..42],
            &format!("{whole}A"),
            &whole.replace(|c: char| c.is_ascii_alphanumeric(), "*"),
        ] {
            assert!(SubmissionToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = SubmissionToken::generate();
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.to_form_value().expose_secret().as_str()));
    }
}
