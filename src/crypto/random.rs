use data_encoding::HEXLOWER;
use rand::Rng;

use super::crockford;

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
}
