use core::fmt;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

use super::secret::fmt_redacted;
use super::{CryptoError, Secret, framing, random};

const AAD_PREFIX: &[u8] = b"speakup/v1";
/// Format 2 of a case record's associated data: format 1's fields plus its [`Provenance`].
const AAD_PREFIX_V2: &[u8] = b"speakup/v2";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A 32-byte symmetric key: a case data key (CDK), an identity key (IDK), a
/// handler's password-derived KEK or a session key.
///
/// Not `Clone`: a data key should exist once in memory and be wiped once.
pub struct DataKey(Secret<[u8; 32]>);

impl DataKey {
    /// A fresh key from the CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Secret::new([0u8; 32]);
        random::fill_random(bytes.expose_secret_mut());
        Self(bytes)
    }

    /// A key from its 32 bytes. Only at a boundary that moves keys as bytes: the WebAssembly
    /// build, where the browser holds the case data key between calls, and the test vectors.
    pub fn from_secret(bytes: Secret<[u8; 32]>) -> Self {
        Self(bytes)
    }

    /// The key's bytes, for the same boundaries as [`DataKey::from_secret`].
    pub fn expose_bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "DataKey")
    }
}

/// What a sealed record is. The string is bound into the ciphertext, so a
/// value sealed as one kind can never be opened as another (say, a note
/// passed off as the concern text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Concern,
    Identity,
    Message,
    Note,
    EventText,
    HandlerSecret,
    TotpSecret,
    Session,
    IdentityRequest,
    /// An attachment's name, type and size; the bytes are in the attachment store.
    Attachment,
}

impl RecordKind {
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Concern,
        RecordKind::Identity,
        RecordKind::Message,
        RecordKind::Note,
        RecordKind::EventText,
        RecordKind::HandlerSecret,
        RecordKind::TotpSecret,
        RecordKind::Session,
        RecordKind::IdentityRequest,
        RecordKind::Attachment,
    ];

    /// The stable wire string; part of the ciphertext format, never rename.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordKind::Concern => "concern",
            RecordKind::Identity => "identity",
            RecordKind::Message => "message",
            RecordKind::Note => "note",
            RecordKind::EventText => "event-text",
            RecordKind::HandlerSecret => "handler-secret",
            RecordKind::TotpSecret => "totp-secret",
            RecordKind::Session => "session",
            RecordKind::IdentityRequest => "identity-request",
            RecordKind::Attachment => "attachment",
        }
    }
}

/// Who wrote a case record, which procedure event it belongs to, and where and when it sits in
/// the case. Bound into the associated data of format 2, so a database writer cannot pass a
/// handler's message off as the reporter's (or the reverse), attach a letter to another event,
/// swap two records' places or change the date a record shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance<'a> {
    /// The author's kind as stored ("reporter", "handler", "system").
    pub author: &'a str,
    /// The handler who wrote it, if any.
    pub author_user_id: Option<&'a str>,
    /// The procedure event a letter belongs to, if any.
    pub event_id: Option<&'a str>,
    /// The record's position in its case (1, 2, …; every kind shares one sequence).
    pub position: i64,
    /// The day it was written, as `YYYY-MM-DD`.
    pub written_on: &'a str,
}

/// Where a sealed value belongs. Binding it as associated data stops a
/// database writer from moving ciphertext between cases, kinds or rows
/// without detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    /// The case id, or for non-case records the owner (user id, session id).
    pub scope_id: &'a str,
    pub kind: RecordKind,
    pub record_id: &'a str,
    /// Case records sealed since format 2 also bind their provenance; `None` is format 1
    /// (sessions, handler secrets, and case records written before format 2).
    pub provenance: Option<Provenance<'a>>,
}

impl<'a> Aad<'a> {
    /// Format 1: case (or owner), kind and record id.
    pub fn new(scope_id: &'a str, kind: RecordKind, record_id: &'a str) -> Self {
        Self {
            scope_id,
            kind,
            record_id,
            provenance: None,
        }
    }

    /// Format 2: format 1 plus who wrote the record, its event, position and day.
    #[must_use]
    pub fn with_provenance(self, provenance: Provenance<'a>) -> Self {
        Self {
            provenance: Some(provenance),
            ..self
        }
    }

    /// An empty id almost always means a caller forgot to fill it in, which
    /// would silently weaken the binding, so it is refused.
    fn encode(&self) -> Result<Vec<u8>, CryptoError> {
        if self.scope_id.is_empty() {
            return Err(CryptoError::InvalidInput("empty scope id"));
        }
        if self.record_id.is_empty() {
            return Err(CryptoError::InvalidInput("empty record id"));
        }
        let base = [
            self.scope_id.as_bytes(),
            self.kind.as_str().as_bytes(),
            self.record_id.as_bytes(),
        ];
        let Some(provenance) = &self.provenance else {
            return framing::encode_fields(AAD_PREFIX, &base);
        };
        if provenance.author.is_empty() {
            return Err(CryptoError::InvalidInput("empty author"));
        }
        if provenance.written_on.is_empty() {
            return Err(CryptoError::InvalidInput("empty date"));
        }
        if provenance.position < 0 {
            return Err(CryptoError::InvalidInput("negative position"));
        }
        // An absent id is an empty field, so a present one must not be empty.
        let optional = |value: Option<&'a str>, what: &'static str| match value {
            Some("") => Err(CryptoError::InvalidInput(what)),
            Some(value) => Ok(value.as_bytes()),
            None => Ok(&[][..]),
        };
        let position = provenance.position.to_be_bytes();
        framing::encode_fields(
            AAD_PREFIX_V2,
            &[
                base[0],
                base[1],
                base[2],
                provenance.author.as_bytes(),
                optional(provenance.author_user_id, "empty author id")?,
                optional(provenance.event_id, "empty event id")?,
                &position,
                provenance.written_on.as_bytes(),
            ],
        )
    }
}

/// Encrypts with XChaCha20-Poly1305 under a random nonce; output is
/// `nonce (24) ‖ ciphertext ‖ tag (16)`.
///
/// The 192-bit nonce makes random nonces safe for any realistic number of
/// messages under one key, so no counter state has to be kept anywhere.
pub fn seal(key: &DataKey, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random::fill_random(&mut nonce);
    seal_with_nonce(key, aad, &nonce, plaintext)
}

/// The deterministic core of [`seal`]; private so a fixed nonce can only be
/// chosen by the test vectors in this file.
fn seal_with_nonce(
    key: &DataKey,
    aad: &Aad<'_>,
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let aad = aad.encode()?;
    let cipher = XChaCha20Poly1305::new(key.expose_bytes().into());
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let encrypted =
        cipher.encrypt_inout_detached(nonce.into(), &aad, (&mut out[NONCE_LEN..]).into());
    match encrypted {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(out)
        }
        Err(_) => {
            // The buffer still holds plaintext at this point.
            zeroize::Zeroize::zeroize(&mut out);
            Err(CryptoError::Encrypt)
        }
    }
}

/// Reverses [`seal`]. Every failure (short input, wrong key, wrong Aad,
/// tampering) is the same [`CryptoError::Decrypt`], since they cannot be told
/// apart and distinguishing them would only help an attacker.
pub fn open(key: &DataKey, aad: &Aad<'_>, sealed: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
    let aad = aad.encode()?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Decrypt)?;
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::Decrypt)?;
    let cipher = XChaCha20Poly1305::new(key.expose_bytes().into());
    let mut plaintext = Secret::new(ciphertext.to_vec());
    cipher
        .decrypt_inout_detached(
            &nonce,
            &aad,
            plaintext.expose_secret_mut().as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(plaintext)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use data_encoding::HEXLOWER;

    use super::*;

    pub(in crate::crypto) fn key_from(bytes: [u8; 32]) -> DataKey {
        DataKey::from_secret(Secret::new(bytes))
    }

    fn counting_key(start: u8) -> DataKey {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = start.wrapping_add(i as u8);
        }
        key_from(bytes)
    }

    fn aad() -> Aad<'static> {
        Aad::new("case-1", RecordKind::Concern, "rec-1")
    }

    #[test]
    fn round_trip_various_lengths() {
        let key = DataKey::generate();
        for len in [0usize, 1, 15, 16, 17, 64, 2048, 10_000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&key, &aad(), &plaintext).unwrap();
            assert_eq!(sealed.len(), NONCE_LEN + len + TAG_LEN);
            let opened = open(&key, &aad(), &sealed).unwrap();
            assert_eq!(opened.expose_secret(), &plaintext);
        }
    }

    #[test]
    fn nonces_are_fresh() {
        let key = DataKey::generate();
        let a = seal(&key, &aad(), b"same").unwrap();
        let b = seal(&key, &aad(), b"same").unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn every_flipped_byte_fails() {
        let key = DataKey::generate();
        let sealed = seal(&key, &aad(), b"a concern about ward 7").unwrap();
        for index in 0..sealed.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut tampered = sealed.clone();
                tampered[index] ^= mask;
                assert_eq!(
                    open(&key, &aad(), &tampered).unwrap_err(),
                    CryptoError::Decrypt,
                    "byte {index} mask {mask:#x}"
                );
            }
        }
    }

    #[test]
    fn truncation_and_extension_fail() {
        let key = DataKey::generate();
        let sealed = seal(&key, &aad(), b"hello").unwrap();
        for len in 0..sealed.len() {
            assert_eq!(
                open(&key, &aad(), &sealed[..len]).unwrap_err(),
                CryptoError::Decrypt
            );
        }
        // Dropping bytes from the front shifts the nonce.
        assert!(open(&key, &aad(), &sealed[1..]).is_err());
        let mut extended = sealed.clone();
        extended.push(0);
        assert!(open(&key, &aad(), &extended).is_err());
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal(&DataKey::generate(), &aad(), b"hello").unwrap();
        assert_eq!(
            open(&DataKey::generate(), &aad(), &sealed).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn every_aad_field_is_bound() {
        let key = DataKey::generate();
        let sealed = seal(&key, &aad(), b"hello").unwrap();
        assert!(
            open(
                &key,
                &Aad::new("case-2", RecordKind::Concern, "rec-1"),
                &sealed
            )
            .is_err()
        );
        assert!(
            open(
                &key,
                &Aad::new("case-1", RecordKind::Concern, "rec-2"),
                &sealed
            )
            .is_err()
        );
        // Swapping scope and record id must not verify either.
        assert!(
            open(
                &key,
                &Aad::new("rec-1", RecordKind::Concern, "case-1"),
                &sealed
            )
            .is_err()
        );
        // Moving bytes across the field boundary.
        assert!(
            open(
                &key,
                &Aad::new("case-1r", RecordKind::Concern, "ec-1"),
                &sealed
            )
            .is_err()
        );
        for kind in RecordKind::ALL {
            let result = open(&key, &Aad::new("case-1", kind, "rec-1"), &sealed);
            assert_eq!(result.is_ok(), kind == RecordKind::Concern, "{kind:?}");
        }
    }

    fn provenance() -> Provenance<'static> {
        Provenance {
            author: "handler",
            author_user_id: Some("user-7"),
            event_id: None,
            position: 3,
            written_on: "2026-12-05",
        }
    }

    fn aad_v2() -> Aad<'static> {
        Aad::new("case-1", RecordKind::Message, "rec-1").with_provenance(provenance())
    }

    #[test]
    fn every_provenance_field_is_bound() {
        let key = DataKey::generate();
        let sealed = seal(&key, &aad_v2(), b"from the investigator").unwrap();
        assert_eq!(
            open(&key, &aad_v2(), &sealed).unwrap().expose_secret(),
            b"from the investigator"
        );
        let altered = [
            Provenance {
                author: "reporter",
                author_user_id: None,
                ..provenance()
            },
            Provenance {
                author: "reporter",
                ..provenance()
            },
            Provenance {
                author: "system",
                ..provenance()
            },
            Provenance {
                author_user_id: Some("user-8"),
                ..provenance()
            },
            Provenance {
                author_user_id: None,
                ..provenance()
            },
            Provenance {
                event_id: Some("event-1"),
                ..provenance()
            },
            Provenance {
                position: 2,
                ..provenance()
            },
            Provenance {
                position: 4,
                ..provenance()
            },
            Provenance {
                written_on: "2026-12-04",
                ..provenance()
            },
        ];
        for provenance in altered {
            let aad = Aad::new("case-1", RecordKind::Message, "rec-1").with_provenance(provenance);
            assert_eq!(
                open(&key, &aad, &sealed).unwrap_err(),
                CryptoError::Decrypt,
                "{provenance:?}"
            );
        }
        // The format 1 fields stay bound in format 2.
        for aad in [
            Aad::new("case-2", RecordKind::Message, "rec-1"),
            Aad::new("case-1", RecordKind::Note, "rec-1"),
            Aad::new("case-1", RecordKind::Message, "rec-2"),
        ] {
            assert!(open(&key, &aad.with_provenance(provenance()), &sealed).is_err());
        }
    }

    #[test]
    fn the_two_formats_never_open_each_other() {
        let key = DataKey::generate();
        let v1 = Aad::new("case-1", RecordKind::Message, "rec-1");
        let sealed_v2 = seal(&key, &aad_v2(), b"x").unwrap();
        assert!(open(&key, &v1, &sealed_v2).is_err());
        let sealed_v1 = seal(&key, &v1, b"x").unwrap();
        assert!(open(&key, &aad_v2(), &sealed_v1).is_err());
        assert_eq!(open(&key, &v1, &sealed_v1).unwrap().expose_secret(), b"x");
    }

    #[test]
    fn an_absent_id_is_not_an_empty_one() {
        let key = DataKey::generate();
        for bad in [
            Provenance {
                author_user_id: Some(""),
                ..provenance()
            },
            Provenance {
                event_id: Some(""),
                ..provenance()
            },
            Provenance {
                author: "",
                ..provenance()
            },
            Provenance {
                written_on: "",
                ..provenance()
            },
            Provenance {
                position: -1,
                ..provenance()
            },
        ] {
            let aad = Aad::new("case-1", RecordKind::Message, "rec-1").with_provenance(bad);
            assert!(
                matches!(
                    seal(&key, &aad, b"x").unwrap_err(),
                    CryptoError::InvalidInput(_)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn aad_v2_encoding_vector() {
        let encoded = Aad::new("case-1", RecordKind::EventText, "rec-1")
            .with_provenance(Provenance {
                author: "system",
                author_user_id: None,
                event_id: Some("ev-9"),
                position: 258,
                written_on: "2026-12-05",
            })
            .encode()
            .unwrap();
        assert_eq!(
            encoded,
            b"speakup/v2\x00\x00\x00\x06case-1\x00\x00\x00\x0aevent-text\x00\x00\x00\x05rec-1\
              \x00\x00\x00\x06system\x00\x00\x00\x00\x00\x00\x00\x04ev-9\
              \x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x01\x02\
              \x00\x00\x00\x0a2026-12-05"
                .to_vec()
        );
    }

    #[test]
    fn empty_ids_refused() {
        let key = DataKey::generate();
        assert_eq!(
            seal(&key, &Aad::new("", RecordKind::Note, "r"), b"x").unwrap_err(),
            CryptoError::InvalidInput("empty scope id")
        );
        assert_eq!(
            seal(&key, &Aad::new("s", RecordKind::Note, ""), b"x").unwrap_err(),
            CryptoError::InvalidInput("empty record id")
        );
        let sealed = seal(&key, &Aad::new("s", RecordKind::Note, "r"), b"x").unwrap();
        assert!(open(&key, &Aad::new("", RecordKind::Note, "r"), &sealed).is_err());
    }

    #[test]
    fn record_kind_strings_are_stable() {
        let strings: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            strings,
            [
                "concern",
                "identity",
                "message",
                "note",
                "event-text",
                "handler-secret",
                "totp-secret",
                "session",
                "identity-request",
                "attachment",
            ]
        );
    }

    #[test]
    fn aad_encoding_vector() {
        let encoded = aad().encode().unwrap();
        assert_eq!(
            encoded,
            b"speakup/v1\x00\x00\x00\x06case-1\x00\x00\x00\x07concern\x00\x00\x00\x05rec-1"
                .to_vec()
        );
    }

    /// Computed independently with libsodium's
    /// `crypto_aead_xchacha20poly1305_ietf_encrypt` (PyNaCl).
    #[test]
    fn seal_test_vector() {
        let key = counting_key(0x00);
        let mut nonce = [0u8; NONCE_LEN];
        for (i, b) in nonce.iter_mut().enumerate() {
            *b = 0x40 + i as u8;
        }
        let sealed = seal_with_nonce(&key, &aad(), &nonce, b"hello speakup").unwrap();
        assert_eq!(
            HEXLOWER.encode(&sealed),
            "404142434445464748494a4b4c4d4e4f5051525354555657\
             bc5c691cbfc00a66ea95eccbdf18769c301e30e19cf70a6a541e9493bd"
        );
        let opened = open(&key, &aad(), &sealed).unwrap();
        assert_eq!(opened.expose_secret(), b"hello speakup");
    }

    #[test]
    fn data_key_debug_is_redacted() {
        let key = counting_key(0xA0);
        let debug = format!("{key:?}");
        assert_eq!(debug, "DataKey([redacted])");
        assert!(!debug.contains("a0"));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            DataKey::generate().expose_bytes(),
            DataKey::generate().expose_bytes()
        );
    }
}
