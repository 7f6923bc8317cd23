use super::CryptoError;

/// `prefix ‖ (u32-BE length ‖ bytes)*` — the shared shape of the AEAD
/// associated data for sealing and for key wrapping.
///
/// Length prefixes make the encoding injective, so ("ab", "c") and
/// ("a", "bc") can never collide; the fixed prefix keeps the two uses (and
/// any future version) from ever producing the same bytes.
pub(super) fn encode_fields(prefix: &[u8], fields: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
    let total = prefix.len() + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(prefix);
    for field in fields {
        let len = u32::try_from(field.len())
            .map_err(|_| CryptoError::InvalidInput("associated data field too long"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let encoded = encode_fields(b"P", &[b"ab", b"", b"c"]).unwrap();
        assert_eq!(
            encoded,
            b"P\x00\x00\x00\x02ab\x00\x00\x00\x00\x00\x00\x00\x01c".to_vec()
        );
    }

    #[test]
    fn boundaries_are_unambiguous() {
        let a = encode_fields(b"P", &[b"ab", b"c"]).unwrap();
        let b = encode_fields(b"P", &[b"a", b"bc"]).unwrap();
        assert_ne!(a, b);
    }
}
