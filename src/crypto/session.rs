use core::fmt;

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};

use super::{Aad, CryptoError, DataKey, RecordKind, Secret, SecretKey, open, random, seal};

const ID_LEN: usize = 16;
const KEY_LEN: usize = 32;
const TOKEN_BYTES: usize = ID_LEN + KEY_LEN;
const ENCODED_LEN: usize = 64;
const PAYLOAD_RECORD_ID: &str = "payload";
/// A reporter session opened with a mailbox proof carries only the case id, sealed under this
/// record id, so it can never be opened as a session that carries a case data key.
const PROOF_PAYLOAD_RECORD_ID: &str = "proof-payload";
const BROWSER_PAYLOAD_RECORD_ID: &str = "browser-payload";

/// A split-key session token: the id finds the row, the key decrypts it.
///
/// The database holds only the id and the sealed payload, so a copy of the
/// database (or a read-only SQL injection) yields no usable sessions and no
/// session contents.
pub struct SessionToken {
    id: [u8; ID_LEN],
    key: DataKey,
}

impl SessionToken {
    #[must_use]
    pub fn generate() -> Self {
        let mut id = [0u8; ID_LEN];
        random::fill_random(&mut id);
        Self {
            id,
            key: DataKey::generate(),
        }
    }

    /// The cookie value: base64url without padding of `id ‖ key`, 64
    /// characters and safe in cookies and URLs without escaping.
    #[must_use]
    pub fn encode(&self) -> Secret<String> {
        let mut raw = Secret::new([0u8; TOKEN_BYTES]);
        let buf = raw.expose_secret_mut();
        buf[..ID_LEN].copy_from_slice(&self.id);
        buf[ID_LEN..].copy_from_slice(self.key.expose_bytes());
        Secret::new(BASE64URL_NOPAD.encode(raw.expose_secret()))
    }

    /// Parses [`SessionToken::encode`]'s output. Surrounding whitespace is
    /// tolerated (copy-paste, header folding); anything else that is not
    /// exactly 64 base64url characters is refused.
    pub fn parse(encoded: &str) -> Result<Self, CryptoError> {
        let trimmed = encoded.trim();
        if trimmed.len() != ENCODED_LEN {
            return Err(CryptoError::InvalidSessionToken);
        }
        let decoded = Secret::new(
            BASE64URL_NOPAD
                .decode(trimmed.as_bytes())
                .map_err(|_| CryptoError::InvalidSessionToken)?,
        );
        let bytes = decoded.expose_secret();
        if bytes.len() != TOKEN_BYTES {
            return Err(CryptoError::InvalidSessionToken);
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&bytes[..ID_LEN]);
        let mut key = Secret::new([0u8; KEY_LEN]);
        key.expose_secret_mut().copy_from_slice(&bytes[ID_LEN..]);
        Ok(Self {
            id,
            key: DataKey::from_secret(key),
        })
    }

    /// The lookup id. Not secret: without the key it opens nothing.
    pub fn id(&self) -> [u8; ID_LEN] {
        self.id
    }

    /// [`SessionToken::id`] as 32 lowercase hex characters, for the
    /// database column.
    #[must_use]
    pub fn id_hex(&self) -> String {
        HEXLOWER.encode(&self.id)
    }

    /// Seals the session row's payload; bound to this session id so rows
    /// cannot be swapped between sessions.
    pub fn seal_payload(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let scope = self.id_hex();
        seal(&self.key, &payload_aad(&scope), plaintext)
    }

    pub fn open_payload(&self, sealed: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
        let scope = self.id_hex();
        open(&self.key, &payload_aad(&scope), sealed)
    }
}

/// Session payloads that carry a key. The key bytes never leave this module: the payload is
/// `key (32 bytes) ‖ owner id (UTF-8)`, sealed under the session key.
impl SessionToken {
    /// A handler session: their X25519 secret, bound to their user id.
    pub fn seal_handler_secret(
        &self,
        user_id: &str,
        secret: &SecretKey,
    ) -> Result<Vec<u8>, CryptoError> {
        self.seal_keyed_payload(secret.expose_bytes(), user_id)
    }

    /// Opens a handler session's secret; fails unless it was sealed for `user_id`.
    pub fn open_handler_secret(
        &self,
        user_id: &str,
        sealed: &[u8],
    ) -> Result<SecretKey, CryptoError> {
        let (key, owner) = self.open_keyed_payload(sealed)?;
        if owner != user_id {
            return Err(CryptoError::Decrypt);
        }
        Ok(SecretKey::from_secret_bytes(&key))
    }

    /// A reporter session: the case data key and which case it opens. The case id lives only
    /// inside the ciphertext, so the session row does not link to a case.
    pub fn seal_case_access(
        &self,
        case_id: &str,
        case_key: &DataKey,
    ) -> Result<Vec<u8>, CryptoError> {
        self.seal_keyed_payload(case_key.expose_bytes(), case_id)
    }

    /// Opens a reporter session: the case id and its data key.
    pub fn open_case_access(&self, sealed: &[u8]) -> Result<(String, DataKey), CryptoError> {
        let (key, case_id) = self.open_keyed_payload(sealed)?;
        Ok((case_id, DataKey::from_secret(key)))
    }

    /// A reporter session opened in the browser with a mailbox proof: which case, and no key.
    /// The server can list the case's sealed records for it but cannot open any of them.
    pub fn seal_case_proof_access(&self, case_id: &str) -> Result<Vec<u8>, CryptoError> {
        if case_id.is_empty() {
            return Err(CryptoError::InvalidInput("session owner id is empty"));
        }
        let scope = self.id_hex();
        seal(
            &self.key,
            &Aad::new(&scope, RecordKind::Session, PROOF_PAYLOAD_RECORD_ID),
            case_id.as_bytes(),
        )
    }

    /// Opens a proof session's case id; fails for a session that carries a key.
    pub fn open_case_proof_access(&self, sealed: &[u8]) -> Result<String, CryptoError> {
        let scope = self.id_hex();
        let plaintext = open(
            &self.key,
            &Aad::new(&scope, RecordKind::Session, PROOF_PAYLOAD_RECORD_ID),
            sealed,
        )?;
        String::from_utf8(plaintext.expose_secret().clone()).map_err(|_| CryptoError::Decrypt)
    }

    /// A handler session whose secret key stays in the browser: the row holds only the user
    /// id, sealed, and bound differently from [`SessionToken::seal_handler_secret`]'s payload so
    /// the one can never be read as the other.
    pub fn seal_browser_session(&self, user_id: &str) -> Result<Vec<u8>, CryptoError> {
        if user_id.is_empty() {
            return Err(CryptoError::InvalidInput("session owner id is empty"));
        }
        let scope = self.id_hex();
        let aad = Aad::new(&scope, RecordKind::Session, BROWSER_PAYLOAD_RECORD_ID);
        seal(&self.key, &aad, user_id.as_bytes())
    }

    /// Opens a browser session's row: fails unless it was sealed for `user_id` as one.
    pub fn open_browser_session(&self, user_id: &str, sealed: &[u8]) -> Result<(), CryptoError> {
        let scope = self.id_hex();
        let aad = Aad::new(&scope, RecordKind::Session, BROWSER_PAYLOAD_RECORD_ID);
        let opened = open(&self.key, &aad, sealed)?;
        if opened.expose_secret().as_slice() != user_id.as_bytes() {
            return Err(CryptoError::Decrypt);
        }
        Ok(())
    }

    fn seal_keyed_payload(&self, key: &[u8; KEY_LEN], owner: &str) -> Result<Vec<u8>, CryptoError> {
        if owner.is_empty() {
            return Err(CryptoError::InvalidInput("session owner id is empty"));
        }
        let mut plaintext = Secret::new(Vec::with_capacity(KEY_LEN + owner.len()));
        plaintext.expose_secret_mut().extend_from_slice(key);
        plaintext
            .expose_secret_mut()
            .extend_from_slice(owner.as_bytes());
        self.seal_payload(plaintext.expose_secret())
    }

    fn open_keyed_payload(
        &self,
        sealed: &[u8],
    ) -> Result<(Secret<[u8; KEY_LEN]>, String), CryptoError> {
        let plaintext = self.open_payload(sealed)?;
        let bytes = plaintext.expose_secret();
        if bytes.len() <= KEY_LEN {
            return Err(CryptoError::Decrypt);
        }
        let mut key = Secret::new([0u8; KEY_LEN]);
        key.expose_secret_mut().copy_from_slice(&bytes[..KEY_LEN]);
        let owner = std::str::from_utf8(&bytes[KEY_LEN..])
            .map_err(|_| CryptoError::Decrypt)?
            .to_owned();
        Ok((key, owner))
    }
}

fn payload_aad(scope: &str) -> Aad<'_> {
    Aad::new(scope, RecordKind::Session, PAYLOAD_RECORD_ID)
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id alone is harmless and useful when tracing a session.
        f.debug_struct("SessionToken")
            .field("id", &format_args!("{}", self.id_hex()))
            .field("key", &self.key)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn browser_sessions_and_keyed_sessions_do_not_mix() {
        let token = SessionToken::generate();
        let browser = token.seal_browser_session("user-1").unwrap();
        assert!(token.open_browser_session("user-1", &browser).is_ok());
        assert!(token.open_browser_session("user-2", &browser).is_err());
        assert!(token.open_handler_secret("user-1", &browser).is_err());
        let pair = crate::crypto::KeyPair::generate();
        let keyed = token.seal_handler_secret("user-1", &pair.secret).unwrap();
        assert!(token.open_browser_session("user-1", &keyed).is_err());
        let other = SessionToken::generate();
        assert!(other.open_browser_session("user-1", &browser).is_err());
    }
    use crate::crypto::seal::tests::key_from;

    fn vector_token() -> SessionToken {
        let mut id = [0u8; ID_LEN];
        let mut key = [0u8; KEY_LEN];
        for (i, b) in id.iter_mut().enumerate() {
            *b = i as u8;
        }
        for (i, b) in key.iter_mut().enumerate() {
            *b = 0x10 + i as u8;
        }
        SessionToken {
            id,
            key: key_from(key),
        }
    }

    fn encoded(token: &SessionToken) -> String {
        token.encode().expose_secret().clone()
    }

    #[test]
    fn round_trip() {
        let token = SessionToken::generate();
        let text = encoded(&token);
        assert_eq!(text.len(), 64);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let parsed = SessionToken::parse(&text).unwrap();
        assert_eq!(parsed.id(), token.id());
        assert_eq!(parsed.id_hex(), token.id_hex());
        assert_eq!(parsed.key.expose_bytes(), token.key.expose_bytes());
        assert_eq!(token.id_hex().len(), 32);
    }

    #[test]
    fn tokens_differ() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.key.expose_bytes(), b.key.expose_bytes());
    }

    #[test]
    fn encoding_test_vector() {
        let token = vector_token();
        assert_eq!(
            encoded(&token),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"
        );
        assert_eq!(token.id_hex(), "000102030405060708090a0b0c0d0e0f");
    }

    #[test]
    fn parse_tolerates_only_surrounding_whitespace() {
        let text = encoded(&vector_token());
        let parsed = SessionToken::parse(&format!(" \t{text}\r\n")).unwrap();
        assert_eq!(parsed.id(), vector_token().id());

        let mut inner_space = text.clone();
        inner_space.insert(10, ' ');
        for bad in [
            String::new(),
            "   ".to_owned(),
            inner_space,
            text[..63].to_owned(),
            format!("{text}A"),
            format!("{text}=="),
            format!("+{}", &text[1..]),
            format!("{}/", &text[..63]),
            format!("{}=", &text[..63]),
        ] {
            assert!(SessionToken::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        let text: String = "é".repeat(32);
        assert_eq!(text.len(), 64);
        assert_eq!(
            SessionToken::parse(&text).unwrap_err(),
            CryptoError::InvalidSessionToken
        );
    }

    #[test]
    fn payload_round_trip() {
        let token = SessionToken::generate();
        let sealed = token.seal_payload(b"{\"user\":\"u1\"}").unwrap();
        let reparsed = SessionToken::parse(&encoded(&token)).unwrap();
        assert_eq!(
            reparsed.open_payload(&sealed).unwrap().expose_secret(),
            b"{\"user\":\"u1\"}"
        );
    }

    #[test]
    fn payload_is_bound_to_token() {
        let token = SessionToken::generate();
        let sealed = token.seal_payload(b"payload").unwrap();
        assert!(SessionToken::generate().open_payload(&sealed).is_err());

        // Same key, different id: the row cannot be moved to another session.
        let moved = SessionToken {
            id: [0xEE; ID_LEN],
            key: key_from(*token.key.expose_bytes()),
        };
        assert!(moved.open_payload(&sealed).is_err());

        // Same id, different key: knowing the id is not enough.
        let guessed = SessionToken {
            id: token.id(),
            key: DataKey::generate(),
        };
        assert!(guessed.open_payload(&sealed).is_err());

        let mut tampered = sealed.clone();
        tampered[30] ^= 1;
        assert!(token.open_payload(&tampered).is_err());
    }

    #[test]
    fn debug_shows_id_but_not_key() {
        let token = vector_token();
        let debug = format!("{token:?} {token:#?}");
        assert!(debug.contains("000102030405060708090a0b0c0d0e0f"));
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains(&HEXLOWER.encode(token.key.expose_bytes())));
        assert!(!debug.contains(&encoded(&token)));
        assert_eq!(format!("{:?}", token.encode()), "[redacted]");
    }

    #[test]
    fn handler_secrets_round_trip_and_are_bound_to_their_owner() {
        let token = SessionToken::generate();
        let pair = crate::crypto::KeyPair::generate();
        let sealed = token.seal_handler_secret("user-1", &pair.secret).unwrap();
        let opened = token.open_handler_secret("user-1", &sealed).unwrap();
        assert_eq!(opened.public_key(), pair.public);
        assert!(token.open_handler_secret("user-2", &sealed).is_err());
        assert!(
            SessionToken::generate()
                .open_handler_secret("user-1", &sealed)
                .is_err()
        );
        assert!(token.seal_handler_secret("", &pair.secret).is_err());
    }

    #[test]
    fn case_access_round_trips_and_hides_the_case_id() {
        let token = SessionToken::generate();
        let key = DataKey::generate();
        let sealed = token.seal_case_access("case-0123456789", &key).unwrap();
        assert!(!sealed.windows(15).any(|w| w == b"case-0123456789"));
        let (case_id, opened) = token.open_case_access(&sealed).unwrap();
        assert_eq!(case_id, "case-0123456789");
        assert_eq!(opened.expose_bytes(), key.expose_bytes());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(token.open_case_access(&tampered).is_err());
    }

    #[test]
    fn proof_access_carries_no_key_and_is_not_key_access() {
        let token = SessionToken::generate();
        let sealed = token.seal_case_proof_access("case-0123456789").unwrap();
        assert!(!sealed.windows(15).any(|w| w == b"case-0123456789"));
        assert_eq!(
            token.open_case_proof_access(&sealed).unwrap(),
            "case-0123456789"
        );
        // Neither kind of reporter session opens as the other.
        assert!(token.open_case_access(&sealed).is_err());
        let keyed = token
            .seal_case_access("case-0123456789", &DataKey::generate())
            .unwrap();
        assert!(token.open_case_proof_access(&keyed).is_err());
        assert!(
            SessionToken::generate()
                .open_case_proof_access(&sealed)
                .is_err()
        );
        assert!(token.seal_case_proof_access("").is_err());
    }
}
