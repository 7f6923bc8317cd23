use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::crockford;
use super::secret::Secret;

/// Every random byte in the module comes from here. `rand::rng()` is a
/// ChaCha-based CSPRNG reseeded from the OS, so there is no seed to manage
/// and nothing to inject for tests (vectors use the `*_with_*` internals).
pub(super) fn fill_random(buf: &mut [u8]) {
    rand::rng().fill_bytes(buf);
}

/// 16 random bytes as 32 lowercase hex characters, for row ids.
///
/// 128 bits makes collisions irrelevant, so callers need no retry loop.
#[must_use]
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    HEXLOWER.encode(&bytes)
}

/// A human-facing case reference such as `SU-K7M2-Q9XR`.
///
/// It is not a secret and grants nothing; 40 bits only has to make
/// collisions rare enough that the caller's unique constraint and retry
/// handle them.
#[must_use]
pub fn random_reference() -> String {
    let mut bytes = [0u8; 5];
    fill_random(&mut bytes);
    let symbols = crockford::encode_40_bits(&bytes);
    let mut out = String::with_capacity(12);
    out.push_str("SU-");
    for (index, &symbol) in symbols.iter().enumerate() {
        if index == 4 {
            out.push('-');
        }
        out.push(char::from(symbol));
    }
    out
}

/// 256 random bits as 43 base64url characters: one-time setup links, CSRF tokens.
#[must_use]
pub fn random_token() -> Secret<String> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    let token = Secret::new(BASE64URL_NOPAD.encode(&bytes));
    zeroize::Zeroize::zeroize(&mut bytes);
    token
}

/// What is stored in place of a bearer token, so a copy of the database cannot replay it.
#[must_use]
pub fn token_digest(token: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"speakup/token-digest/v1");
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn random_id_is_32_lowercase_hex() {
        let mut seen = HashSet::new();
        for _ in 0..100 {
            let id = random_id();
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(seen.insert(id), "ids must not repeat");
        }
    }

    #[test]
    fn random_reference_format() {
        let mut seen = HashSet::new();
        for _ in 0..100 {
            let reference = random_reference();
            assert_eq!(reference.len(), 12);
            assert!(reference.starts_with("SU-"));
            assert_eq!(reference.as_bytes()[7], b'-');
            for (index, byte) in reference.bytes().enumerate().skip(3) {
                if index != 7 {
                    assert!(crockford::ALPHABET.contains(&byte), "{reference}");
                }
            }
            seen.insert(reference);
        }
        assert!(
            seen.len() > 95,
            "references should essentially never repeat"
        );
    }

    #[test]
    fn fill_random_fills() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill_random(&mut a);
        fill_random(&mut b);
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_are_long_distinct_and_digested() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_ne!(
            token_digest(a.expose_secret()),
            token_digest(b.expose_secret())
        );
        // Pinned: SHA-256("speakup/token-digest/v1" || "abc"), computed with Python's hashlib.
        assert_eq!(HEXLOWER.encode(&token_digest("abc")), TOKEN_DIGEST_ABC);
    }

    const TOKEN_DIGEST_ABC: &str =
        "2af4fa60f8e89221fbdbb200b58b544297575b522e381af461c3c7d23c5442c8";
}
