//! The organisation recovery key's secret half as text, for paper or an HSM export:
//! `SURK1-` then 52 base32 characters in groups of four, then a four-character checksum.
//! Parsing ignores case, spaces and dashes so it can be typed back from paper.

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};

use super::CryptoError;
use super::secret::Secret;
use super::wrap::SecretKey;

const PREFIX: &str = "SURK1";
const BODY_LEN: usize = 52;
const CHECK_LEN: usize = 4;

fn checksum(body: &str) -> String {
    let digest =
        Sha256::digest([b"speakup/recovery-key-check/v1".as_slice(), body.as_bytes()].concat());
    BASE32_NOPAD.encode(&digest)[..CHECK_LEN].to_owned()
}

impl SecretKey {
    /// The secret as recovery text. Show it once; never store or log it.
    pub fn to_recovery_text(&self) -> Secret<String> {
        let body = Secret::new(BASE32_NOPAD.encode(self.expose_bytes()));
        let mut text = String::with_capacity(PREFIX.len() + 80);
        text.push_str(PREFIX);
        for chunk in body.expose_secret().as_bytes().chunks(4) {
            text.push('-');
            text.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        }
        text.push('-');
        text.push_str(&checksum(body.expose_secret()));
        Secret::new(text)
    }

    /// Reads recovery text back, refusing typos.
    pub fn from_recovery_text(text: &str) -> Result<SecretKey, CryptoError> {
        let cleaned = Secret::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect::<String>(),
        );
        let cleaned = cleaned.expose_secret();
        let rest = cleaned
            .strip_prefix(PREFIX)
            .ok_or(CryptoError::InvalidInput(
                "recovery key must start with SURK1",
            ))?;
        if rest.len() != BODY_LEN + CHECK_LEN || !rest.is_ascii() {
            return Err(CryptoError::InvalidInput(
                "recovery key has the wrong length",
            ));
        }
        let (body, check) = rest.split_at(BODY_LEN);
        if checksum(body) != check {
            return Err(CryptoError::InvalidInput("recovery key has a typo"));
        }
        let bytes = Secret::new(
            BASE32_NOPAD
                .decode(body.as_bytes())
                .map_err(|_| CryptoError::InvalidInput("recovery key has a typo"))?,
        );
        let array: [u8; 32] = bytes
            .expose_secret()
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidInput("recovery key has the wrong length"))?;
        let secret = Secret::new(array);
        Ok(SecretKey::from_secret_bytes(&secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_tolerantly_and_refuses_typos() {
        let key = SecretKey::generate();
        let text = key.to_recovery_text();
        let text = text.expose_secret();
        assert!(text.starts_with("SURK1-"));
        assert_eq!(text.len(), 5 + 14 * 5);
        let back = SecretKey::from_recovery_text(&text.to_lowercase().replace('-', " ")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let mut typo: Vec<char> = text.chars().collect();
        typo[8] = if typo[8] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert!(SecretKey::from_recovery_text(&typo).is_err());
        assert!(SecretKey::from_recovery_text("SURK1-ABCD").is_err());
        assert!(SecretKey::from_recovery_text("").is_err());
        assert!(SecretKey::from_recovery_text(&"é".repeat(60)).is_err());
    }
}
