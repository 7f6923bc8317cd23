use core::fmt;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use data_encoding::HEXLOWER;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::StaticSecret;

use super::secret::fmt_redacted;
use super::{CryptoError, DataKey, Secret, crockford, framing};

const WRAP_LABEL: &[u8] = b"speakup/wrap/v1";
const FINGERPRINT_LABEL: &[u8] = b"speakup/key-fingerprint/v1";
const PUBLIC_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// Length of a wrapped data key: ephemeral public key ‖ encrypted key ‖ tag.
pub const WRAPPED_KEY_LEN: usize = PUBLIC_LEN + 32 + TAG_LEN;

/// An X25519 public key. Public, so it may be copied and printed freely.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Accepts any 32 bytes; low-order points are refused where they would
    /// matter, at [`wrap_key`] time.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short fingerprint people can compare by eye: 80 bits of
    /// SHA-256(`speakup/key-fingerprint/v1` ‖ key) as 16 Crockford base32 symbols in groups of
    /// four (`7K2M 9QXR …`). The browser shows it for each key it seals a concern to.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update(self.0)
            .finalize();
        let mut out = String::with_capacity(19);
        for half in digest[..10].chunks_exact(5) {
            let mut bits = [0u8; 5];
            bits.copy_from_slice(half);
            for (index, &symbol) in crockford::encode_40_bits(&bits).iter().enumerate() {
                if !out.is_empty() && index % 4 == 0 {
                    out.push(' ');
                }
                out.push(char::from(symbol));
            }
        }
        out
    }

    fn to_dalek(self) -> x25519_dalek::PublicKey {
        x25519_dalek::PublicKey::from(self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey")
            .field(&format_args!("{}", HEXLOWER.encode(&self.0)))
            .finish()
    }
}

/// An X25519 secret key (a handler's long-term key, or a reporter's key
/// derived from the case key). Zeroized on drop by x25519-dalek.
pub struct SecretKey(StaticSecret);

impl SecretKey {
    #[must_use]
    pub fn generate() -> Self {
        Self(StaticSecret::random_from_rng(&mut rand::rng()))
    }

    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// A secret key from its 32 bytes: for the WebAssembly build (a handler's secret opened in
    /// the browser) and the test vectors.
    pub fn from_secret_bytes(bytes: &Secret<[u8; 32]>) -> Self {
        Self(StaticSecret::from(*bytes.expose_secret()))
    }

    /// The secret's bytes, for the same boundaries as [`SecretKey::from_secret_bytes`].
    pub fn expose_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "SecretKey")
    }
}

/// A public key with its secret key.
pub struct KeyPair {
    pub public: PublicKey,
    pub secret: SecretKey,
}

impl KeyPair {
    #[must_use]
    pub fn generate() -> Self {
        Self::from_secret(SecretKey::generate())
    }

    pub fn from_secret(secret: SecretKey) -> Self {
        Self {
            public: secret.public_key(),
            secret,
        }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Which data key of a case is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The case data key (CDK), which seals the concern and messages.
    Case,
    /// The identity key (IDK), which seals the reporter's identity and is
    /// shared with fewer handlers than the CDK.
    Identity,
}

impl KeyKind {
    /// The stable wire string; part of the wrap format, never rename.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyKind::Case => "case",
            KeyKind::Identity => "identity",
        }
    }
}

/// Bound into every wrap so that a wrapped key cannot be replayed onto
/// another case, nor an identity-key grant be passed off as a case-key grant
/// (or the reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapContext<'a> {
    pub case_id: &'a str,
    pub kind: KeyKind,
}

impl<'a> WrapContext<'a> {
    pub fn new(case_id: &'a str, kind: KeyKind) -> Self {
        Self { case_id, kind }
    }

    fn encode(&self) -> Result<Vec<u8>, CryptoError> {
        if self.case_id.is_empty() {
            return Err(CryptoError::InvalidInput("empty case id"));
        }
        framing::encode_fields(
            WRAP_LABEL,
            &[self.case_id.as_bytes(), self.kind.as_str().as_bytes()],
        )
    }
}

/// Encrypts `data_key` so only the holder of `recipient`'s secret key can
/// recover it (an ECIES-style construction over X25519).
///
/// A fresh ephemeral key per wrap makes the derived key single-use, which is
/// why a constant all-zero nonce is safe here.
pub fn wrap_key(
    data_key: &DataKey,
    recipient: &PublicKey,
    context: &WrapContext<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let ephemeral = SecretKey::generate();
    wrap_with_ephemeral(&ephemeral, data_key, recipient, context)
}

/// The deterministic core of [`wrap_key`]; private so a chosen ephemeral key
/// can only come from the test vectors in this file.
fn wrap_with_ephemeral(
    ephemeral: &SecretKey,
    data_key: &DataKey,
    recipient: &PublicKey,
    context: &WrapContext<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let aad = context.encode()?;
    let ephemeral_public = ephemeral.public_key();
    let cipher = wrap_cipher(ephemeral, recipient, &ephemeral_public, recipient)?;
    let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
    out.extend_from_slice(ephemeral_public.as_bytes());
    out.extend_from_slice(data_key.expose_bytes());
    let encrypted =
        cipher.encrypt_inout_detached(&Nonce::default(), &aad, (&mut out[PUBLIC_LEN..]).into());
    match encrypted {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(out)
        }
        Err(_) => {
            // The buffer still holds the plaintext data key at this point.
            zeroize::Zeroize::zeroize(&mut out);
            Err(CryptoError::Encrypt)
        }
    }
}

/// Recovers a data key wrapped for `secret`'s public key under `context`.
pub fn unwrap_key(
    secret: &SecretKey,
    wrapped: &[u8],
    context: &WrapContext<'_>,
) -> Result<DataKey, CryptoError> {
    let aad = context.encode()?;
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(CryptoError::Unwrap);
    }
    let (ephemeral_bytes, rest) = wrapped.split_at(PUBLIC_LEN);
    let (ciphertext, tag) = rest.split_at(32);
    let ephemeral_public =
        PublicKey(<[u8; PUBLIC_LEN]>::try_from(ephemeral_bytes).map_err(|_| CryptoError::Unwrap)?);
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::Unwrap)?;
    let recipient_public = secret.public_key();
    let cipher = wrap_cipher(
        secret,
        &ephemeral_public,
        &ephemeral_public,
        &recipient_public,
    )?;
    let mut key = Secret::new([0u8; 32]);
    key.expose_secret_mut().copy_from_slice(ciphertext);
    cipher
        .decrypt_inout_detached(
            &Nonce::default(),
            &aad,
            key.expose_secret_mut().as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| CryptoError::Unwrap)?;
    Ok(DataKey::from_secret(key))
}

/// DH(`own`, `peer`) then HKDF-SHA256 with both public keys as salt, so the
/// derived key is tied to this exact ephemeral/recipient pair.
fn wrap_cipher(
    own: &SecretKey,
    peer: &PublicKey,
    ephemeral_public: &PublicKey,
    recipient_public: &PublicKey,
) -> Result<ChaCha20Poly1305, CryptoError> {
    let shared = own.0.diffie_hellman(&peer.to_dalek());
    // A low-order peer point yields an all-zero shared secret that anyone
    // can compute, so the wrap would protect nothing.
    if !shared.was_contributory() {
        return Err(CryptoError::WeakPublicKey);
    }
    let mut salt = [0u8; 2 * PUBLIC_LEN];
    salt[..PUBLIC_LEN].copy_from_slice(ephemeral_public.as_bytes());
    salt[PUBLIC_LEN..].copy_from_slice(recipient_public.as_bytes());
    let hkdf = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
    let mut key = Secret::new([0u8; 32]);
    hkdf.expand(WRAP_LABEL, key.expose_secret_mut())
        .map_err(|_| CryptoError::KeyDerivation)?;
    Ok(ChaCha20Poly1305::new(key.expose_secret().into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::seal::tests::key_from;

    fn secret_from(bytes: [u8; 32]) -> SecretKey {
        SecretKey::from_secret_bytes(&Secret::new(bytes))
    }

    fn hex32(s: &str) -> [u8; 32] {
        HEXLOWER.decode(s.as_bytes()).unwrap().try_into().unwrap()
    }

    const CTX: WrapContext<'static> = WrapContext {
        case_id: "case-1",
        kind: KeyKind::Case,
    };

    /// Low-order points of Curve25519 (and their non-canonical encodings),
    /// as listed by libsodium; all give a non-contributory shared secret.
    const LOW_ORDER: [&str; 7] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];

    #[test]
    fn a_fingerprint_is_sixteen_symbols_in_four_groups_and_tells_keys_apart() {
        let one = PublicKey::from_bytes([1; 32]).fingerprint();
        let two = PublicKey::from_bytes([2; 32]).fingerprint();
        assert_eq!(one.len(), 19);
        assert_eq!(
            one.split(' ').map(str::len).collect::<Vec<_>>(),
            [4, 4, 4, 4]
        );
        assert_ne!(one, two);
        assert_eq!(one, PublicKey::from_bytes([1; 32]).fingerprint());
    }

    #[test]
    fn round_trip() {
        let recipient = KeyPair::generate();
        let data_key = DataKey::generate();
        let wrapped = wrap_key(&data_key, &recipient.public, &CTX).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert_eq!(WRAPPED_KEY_LEN, 80);
        let unwrapped = unwrap_key(&recipient.secret, &wrapped, &CTX).unwrap();
        assert_eq!(unwrapped.expose_bytes(), data_key.expose_bytes());
    }

    #[test]
    fn wraps_are_randomised() {
        let recipient = KeyPair::generate();
        let data_key = DataKey::generate();
        let a = wrap_key(&data_key, &recipient.public, &CTX).unwrap();
        let b = wrap_key(&data_key, &recipient.public, &CTX).unwrap();
        assert_ne!(a[..PUBLIC_LEN], b[..PUBLIC_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn every_flipped_byte_fails() {
        let recipient = KeyPair::generate();
        let wrapped = wrap_key(&DataKey::generate(), &recipient.public, &CTX).unwrap();
        for index in 0..wrapped.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut tampered = wrapped.clone();
                tampered[index] ^= mask;
                assert!(
                    unwrap_key(&recipient.secret, &tampered, &CTX).is_err(),
                    "byte {index} mask {mask:#x}"
                );
            }
        }
    }

    #[test]
    fn truncation_and_extension_fail() {
        let recipient = KeyPair::generate();
        let wrapped = wrap_key(&DataKey::generate(), &recipient.public, &CTX).unwrap();
        for len in 0..wrapped.len() {
            assert_eq!(
                unwrap_key(&recipient.secret, &wrapped[..len], &CTX).unwrap_err(),
                CryptoError::Unwrap
            );
        }
        let mut extended = wrapped.clone();
        extended.push(0);
        assert_eq!(
            unwrap_key(&recipient.secret, &extended, &CTX).unwrap_err(),
            CryptoError::Unwrap
        );
    }

    #[test]
    fn wrong_recipient_fails() {
        let recipient = KeyPair::generate();
        let other = KeyPair::generate();
        let wrapped = wrap_key(&DataKey::generate(), &recipient.public, &CTX).unwrap();
        assert_eq!(
            unwrap_key(&other.secret, &wrapped, &CTX).unwrap_err(),
            CryptoError::Unwrap
        );
    }

    #[test]
    fn context_is_bound() {
        let recipient = KeyPair::generate();
        let wrapped = wrap_key(&DataKey::generate(), &recipient.public, &CTX).unwrap();
        for context in [
            WrapContext::new("case-2", KeyKind::Case),
            WrapContext::new("case-1", KeyKind::Identity),
            WrapContext::new("case-2", KeyKind::Identity),
            WrapContext::new("case-", KeyKind::Case),
            WrapContext::new("case-11", KeyKind::Case),
        ] {
            assert_eq!(
                unwrap_key(&recipient.secret, &wrapped, &context).unwrap_err(),
                CryptoError::Unwrap,
                "{context:?}"
            );
        }
        assert!(unwrap_key(&recipient.secret, &wrapped, &CTX).is_ok());
    }

    #[test]
    fn empty_case_id_refused() {
        let recipient = KeyPair::generate();
        let context = WrapContext::new("", KeyKind::Case);
        assert_eq!(
            wrap_key(&DataKey::generate(), &recipient.public, &context).unwrap_err(),
            CryptoError::InvalidInput("empty case id")
        );
    }

    #[test]
    fn low_order_recipient_refused() {
        for point in LOW_ORDER {
            let recipient = PublicKey::from_bytes(hex32(point));
            assert_eq!(
                wrap_key(&DataKey::generate(), &recipient, &CTX).unwrap_err(),
                CryptoError::WeakPublicKey,
                "{point}"
            );
        }
    }

    #[test]
    fn low_order_ephemeral_refused() {
        let recipient = KeyPair::generate();
        let wrapped = wrap_key(&DataKey::generate(), &recipient.public, &CTX).unwrap();
        for point in LOW_ORDER {
            let mut tampered = wrapped.clone();
            tampered[..PUBLIC_LEN].copy_from_slice(&hex32(point));
            assert_eq!(
                unwrap_key(&recipient.secret, &tampered, &CTX).unwrap_err(),
                CryptoError::WeakPublicKey,
                "{point}"
            );
        }
    }

    #[test]
    fn key_pair_public_matches_secret() {
        let pair = KeyPair::generate();
        assert_eq!(pair.public, pair.secret.public_key());
        let again = PublicKey::from_bytes(pair.public.to_bytes());
        assert_eq!(again, pair.public);
    }

    /// RFC 7748 section 6.1: checks the X25519 wiring (clamping, encoding).
    #[test]
    fn rfc7748_public_keys() {
        let alice = secret_from(hex32(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        assert_eq!(
            HEXLOWER.encode(alice.public_key().as_bytes()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
    }

    /// Computed independently with Python `cryptography` (X25519, HKDF-SHA256,
    /// ChaCha20-Poly1305); see tools/test_vectors.py in the scratch crate.
    #[test]
    fn wrap_test_vector() {
        let recipient = secret_from(hex32(
            "1111111111111111111111111111111111111111111111111111111111111111",
        ));
        let ephemeral = secret_from(hex32(
            "2222222222222222222222222222222222222222222222222222222222222222",
        ));
        let data_key = key_from(hex32(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ));
        let context = WrapContext::new("case-1", KeyKind::Identity);
        let wrapped =
            wrap_with_ephemeral(&ephemeral, &data_key, &recipient.public_key(), &context).unwrap();
        assert_eq!(
            HEXLOWER.encode(&wrapped),
            "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f203684cb089d1e80176667ad73cd5748f0699d6811708d4c93df4a65326fe9208bf8a10fdd676396ed0ba4dd3c7dea3c6f"
        );
        let unwrapped = unwrap_key(&recipient, &wrapped, &context).unwrap();
        assert_eq!(unwrapped.expose_bytes(), data_key.expose_bytes());
    }

    #[test]
    fn wrap_context_encoding_vector() {
        assert_eq!(
            CTX.encode().unwrap(),
            b"speakup/wrap/v1\x00\x00\x00\x06case-1\x00\x00\x00\x04case".to_vec()
        );
        assert_eq!(KeyKind::Identity.as_str(), "identity");
    }

    #[test]
    fn debug_output() {
        let secret = secret_from([0x5A; 32]);
        let secret_hex = HEXLOWER.encode(&[0x5A; 32]);
        assert_eq!(format!("{secret:?}"), "SecretKey([redacted])");
        let pair = KeyPair::from_secret(secret);
        let debug = format!("{pair:?}");
        let public_hex = HEXLOWER.encode(pair.public.as_bytes());
        assert!(debug.contains(&public_hex), "{debug}");
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains(&secret_hex));
        assert!(!format!("{pair:#?}").contains(&secret_hex));
    }
}
