//! The audit log's hash chain: each entry's hash covers its own fields and the previous entry's
//! hash, so editing, deleting or reordering any entry breaks every hash after it.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of one audit entry, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFields<'a> {
    pub seq: i64,
    /// ISO 8601 UTC timestamp, microsecond precision (what both backends store losslessly).
    pub at: &'a str,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub organisation: Option<&'a str>,
    pub case: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub detail: &'a str,
}

/// SHA-256("speakup/audit/v1" ‖ previous hash ‖ each field length-prefixed); absent optional
/// fields are encoded distinctly from empty ones.
pub fn entry_hash(previous: &[u8; 32], fields: &ChainFields<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"speakup/audit/v1");
    hasher.update(previous);
    let seq = fields.seq.to_string();
    for field in [
        Some(seq.as_str()),
        Some(fields.at),
        fields.actor,
        Some(fields.action),
        fields.organisation,
        fields.case,
        fields.subject,
        Some(fields.detail),
    ] {
        match field {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
                hasher.update(length.to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ChainFields<'static> {
        ChainFields {
            seq: 1,
            at: "2026-11-22T10:00:00.000000Z",
            actor: Some("u1"),
            action: "sign_in",
            organisation: Some("o1"),
            case: None,
            subject: None,
            detail: "",
        }
    }

    #[test]
    fn every_field_and_the_previous_hash_matter() {
        let base = entry_hash(&GENESIS, &fields());
        let variants = [
            ChainFields { seq: 2, ..fields() },
            ChainFields {
                at: "2026-11-22T10:00:00.000001Z",
                ..fields()
            },
            ChainFields {
                actor: None,
                ..fields()
            },
            ChainFields {
                actor: Some(""),
                ..fields()
            },
            ChainFields {
                action: "sign_out",
                ..fields()
            },
            ChainFields {
                organisation: None,
                ..fields()
            },
            ChainFields {
                case: Some("c1"),
                ..fields()
            },
            ChainFields {
                subject: Some(""),
                ..fields()
            },
            ChainFields {
                detail: "x",
                ..fields()
            },
        ];
        for variant in &variants {
            assert_ne!(entry_hash(&GENESIS, variant), base, "{variant:?}");
        }
        assert_ne!(entry_hash(&[1; 32], &fields()), base);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let a = ChainFields {
            action: "ab",
            detail: "c",
            ..fields()
        };
        let b = ChainFields {
            action: "a",
            detail: "bc",
            ..fields()
        };
        assert_ne!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &b));
    }

    #[test]
    fn fixed_vector() {
        let hash = entry_hash(&GENESIS, &fields());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.len(), 64);
        // Pinned so the chain format cannot drift silently; recompute only with a migration.
        assert_eq!(hex, AUDIT_VECTOR);
    }

    const AUDIT_VECTOR: &str = "5b3cb0aea428dfed0d1cb06d055160f6a65942631a171e1963c9087d3a3f0cde";
}
