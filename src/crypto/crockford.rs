//! Crockford base32 symbols, shared by case keys and case references.
//!
//! Encoding is a table lookup on 5-bit groups; it is done by hand rather than
//! through a `data_encoding::Specification` because case keys are 125 bits
//! (not a whole number of bytes) and because building a custom `Encoding`
//! is fallible at run time. The tests cross-check this table against such a
//! `Specification` so the two cannot disagree.

/// Crockford's alphabet: no I, L, O or U, so that the characters people
/// confuse most often either cannot occur or are folded onto one symbol.
pub(super) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The symbol for the low five bits of `value`.
pub(super) fn symbol(value: u8) -> u8 {
    ALPHABET[usize::from(value & 0x1F)]
}

/// Folds what a person typed onto the canonical symbol: any case, O as 0,
/// I and L as 1. U stays invalid, as Crockford intends, so it can never be a
/// silently "corrected" typo of V.
pub(super) fn canonicalize(c: char) -> Option<u8> {
    let mapped = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let byte = u8::try_from(mapped).ok()?;
    ALPHABET.contains(&byte).then_some(byte)
}

/// Eight symbols for 40 bits, most significant bits first.
pub(super) fn encode_40_bits(bytes: &[u8; 5]) -> [u8; 8] {
    let value = bytes
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    let mut out = [0u8; 8];
    for (index, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (7 - index);
        *slot = symbol(((value >> shift) & 0x1F) as u8);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use super::*;

    /// The same alphabet expressed as a `data_encoding` specification, used
    /// only to check the hand-written table above.
    pub(in crate::crypto) fn reference_encoding() -> data_encoding::Encoding {
        let mut spec = data_encoding::Specification::new();
        spec.symbols
            .push_str(core::str::from_utf8(ALPHABET).unwrap());
        spec.encoding().unwrap()
    }

    #[test]
    fn alphabet_is_crockford() {
        assert_eq!(ALPHABET.len(), 32);
        for excluded in [b'I', b'L', b'O', b'U'] {
            assert!(!ALPHABET.contains(&excluded));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32, "symbols must be distinct");
    }

    #[test]
    fn canonicalize_folds_confusables() {
        assert_eq!(canonicalize('o'), Some(b'0'));
        assert_eq!(canonicalize('O'), Some(b'0'));
        assert_eq!(canonicalize('i'), Some(b'1'));
        assert_eq!(canonicalize('I'), Some(b'1'));
        assert_eq!(canonicalize('l'), Some(b'1'));
        assert_eq!(canonicalize('L'), Some(b'1'));
        assert_eq!(canonicalize('k'), Some(b'K'));
        assert_eq!(canonicalize('z'), Some(b'Z'));
        assert_eq!(canonicalize('u'), None);
        assert_eq!(canonicalize('U'), None);
        assert_eq!(canonicalize('-'), None);
        assert_eq!(canonicalize('é'), None);
        assert_eq!(canonicalize('\u{0130}'), None);
        for &byte in ALPHABET {
            assert_eq!(canonicalize(char::from(byte)), Some(byte));
        }
    }

    #[test]
    fn matches_data_encoding_specification() {
        let reference = reference_encoding();
        let samples: [[u8; 5]; 4] = [
            [0; 5],
            [0xFF; 5],
            [0x01, 0x23, 0x45, 0x67, 0x89],
            [0xDE, 0xAD, 0xBE, 0xEF, 0x42],
        ];
        for sample in samples {
            let ours = encode_40_bits(&sample);
            assert_eq!(
                core::str::from_utf8(&ours).unwrap(),
                reference.encode(&sample)
            );
        }
    }
}
