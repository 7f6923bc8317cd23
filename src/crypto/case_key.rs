use core::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use super::secret::fmt_redacted;
use super::submission::SubmissionToken;
use super::{CryptoError, KeyPair, Secret, SecretKey, crockford, random};

const DATA_LEN: usize = 25;
const CHECK_LEN: usize = 3;
const KEY_LEN: usize = DATA_LEN + CHECK_LEN;
const GROUP_LEN: usize = 4;
const DISPLAY_LEN: usize = KEY_LEN + KEY_LEN / GROUP_LEN - 1;

const CHECK_LABEL: &[u8] = b"speakup/case-key-check/v1";
const LOOKUP_LABEL: &[u8] = b"speakup/case-lookup/v1";
const REPORTER_LABEL: &[u8] = b"speakup/reporter-x25519/v1";
const SUBMISSION_LABEL: &[u8] = b"speakup/case-key-from-submission/v1";
const MAILBOX_PROOF_LABEL: &[u8] = b"speakup/mailbox-proof/v1";
const MAILBOX_PROOF_HASH_LABEL: &[u8] = b"speakup/mailbox-proof-hash/v1";

/// Why a typed case key was refused. No variant echoes any of the input,
/// since even a fragment of a case key is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaseKeyError {
    #[error("no case key was entered")]
    Empty,
    #[error("a case key has 28 characters, {found} were entered")]
    WrongLength { found: usize },
    #[error("the case key contains a character that case keys never use")]
    InvalidCharacter,
    /// The characters are all valid but do not fit together: a typo.
    #[error("the case key does not check out; it was probably mistyped")]
    ChecksumMismatch,
}

/// The reporter's only secret: 125 random bits written as 25 Crockford
/// base32 characters plus 3 check characters.
///
/// The server never stores it; it stores only [`CaseKey::lookup_id`] and the
/// public half of [`CaseKey::reporter_key_pair`]. There is no `Display`, so
/// `format!("{key}")` does not compile and the key cannot reach a log by
/// accident; [`CaseKey::to_display_string`] is the one deliberate way out.
pub struct CaseKey {
    /// The 25 canonical data characters as ASCII; every derivation hashes
    /// exactly these bytes, so the typed form (case, dashes, O/0) never
    /// matters.
    data: Secret<[u8; DATA_LEN]>,
}

impl CaseKey {
    /// A new key from the CSPRNG.
    ///
    /// A 15-bit hash checksum catches a given typo with probability
    /// 1 - 2^-15, so about 2.4% of random keys would have at least one single
    /// substitution or adjacent transposition that still checks out. Such
    /// keys are redrawn, which costs ~0.035 bits of the 125 and guarantees
    /// that no single typo of an issued key is ever accepted.
    #[must_use]
    pub fn generate() -> Self {
        loop {
            let mut raw = Secret::new([0u8; DATA_LEN]);
            random::fill_random(raw.expose_secret_mut());
            let key = Self::from_symbol_values(raw.expose_secret());
            if !key.has_undetected_typo() {
                return key;
            }
        }
    }

    /// The case key for one submission of the concern form: the same token always gives the
    /// same key, so a form sent twice finds the case it already created. Keys with an
    /// undetected typo are skipped exactly as [`CaseKey::generate`] redraws them, by moving on
    /// to the next counter.
    pub fn from_submission_token(token: &SubmissionToken) -> Result<Self, CryptoError> {
        let hkdf = Hkdf::<Sha256>::new(None, token.expose_bytes());
        let mut counter: u32 = 0;
        loop {
            let mut info = Vec::with_capacity(SUBMISSION_LABEL.len() + 4);
            info.extend_from_slice(SUBMISSION_LABEL);
            info.extend_from_slice(&counter.to_be_bytes());
            let mut raw = Secret::new([0u8; DATA_LEN]);
            hkdf.expand(&info, raw.expose_secret_mut())
                .map_err(|_| CryptoError::KeyDerivation)?;
            let key = Self::from_symbol_values(raw.expose_secret());
            if !key.has_undetected_typo() {
                return Ok(key);
            }
            counter = counter.checked_add(1).ok_or(CryptoError::KeyDerivation)?;
        }
    }

    /// Each byte's low five bits pick a symbol; 256 is a multiple of 32, so
    /// uniform bytes give uniform symbols.
    fn from_symbol_values(values: &[u8; DATA_LEN]) -> Self {
        let mut data = Secret::new([0u8; DATA_LEN]);
        for (slot, value) in data.expose_secret_mut().iter_mut().zip(values) {
            *slot = crockford::symbol(*value);
        }
        Self { data }
    }

    /// Reads a key as a person typed it: any case, any dashes or whitespace,
    /// O for 0 and I/L for 1. Unicode hyphens and dashes count as dashes
    /// because word processors and PDFs substitute them when a key is copied.
    pub fn parse(input: &str) -> Result<Self, CaseKeyError> {
        let mut symbols = Secret::new([0u8; KEY_LEN]);
        let mut found = 0usize;
        for c in input.chars() {
            if c.is_whitespace() || is_dash(c) {
                continue;
            }
            let symbol = crockford::canonicalize(c).ok_or(CaseKeyError::InvalidCharacter)?;
            if let Some(slot) = symbols.expose_secret_mut().get_mut(found) {
                *slot = symbol;
            }
            found += 1;
        }
        if found == 0 {
            return Err(CaseKeyError::Empty);
        }
        if found != KEY_LEN {
            return Err(CaseKeyError::WrongLength { found });
        }
        if !checks_out(symbols.expose_secret()) {
            return Err(CaseKeyError::ChecksumMismatch);
        }
        let mut data = Secret::new([0u8; DATA_LEN]);
        data.expose_secret_mut()
            .copy_from_slice(&symbols.expose_secret()[..DATA_LEN]);
        Ok(Self { data })
    }

    /// The form shown to the reporter, e.g. `K7M2-Q9XR-…` (7 groups of 4).
    #[must_use]
    pub fn to_display_string(&self) -> Secret<String> {
        let full = self.full_symbols();
        // Sized up front so the string never reallocates and leaves an
        // unwiped copy behind.
        let mut out = Secret::new(String::with_capacity(DISPLAY_LEN));
        let text = out.expose_secret_mut();
        for (index, &symbol) in full.expose_secret().iter().enumerate() {
            if index > 0 && index % GROUP_LEN == 0 {
                text.push('-');
            }
            text.push(char::from(symbol));
        }
        out
    }

    /// The database key for the case: SHA-256 over a label and the data
    /// characters. One-way, so the database alone does not reveal case keys,
    /// and 125 bits of input make offline guessing hopeless.
    #[must_use]
    pub fn lookup_id(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(LOOKUP_LABEL)
            .chain_update(self.data.expose_secret())
            .finalize()
            .into()
    }

    /// The reporter's X25519 key pair, re-derived from the case key whenever
    /// they return, so the server can wrap case keys to the reporter without
    /// ever storing a reporter secret.
    ///
    /// No HKDF salt: the input is already uniformly random, so a salt would
    /// add nothing, and a fixed derivation is what lets the key be recomputed
    /// from the case key alone.
    pub fn reporter_key_pair(&self) -> Result<KeyPair, CryptoError> {
        let hkdf = Hkdf::<Sha256>::new(None, self.data.expose_secret());
        let mut seed = Secret::new([0u8; 32]);
        hkdf.expand(REPORTER_LABEL, seed.expose_secret_mut())
            .map_err(|_| CryptoError::KeyDerivation)?;
        Ok(KeyPair::from_secret(SecretKey::from_secret_bytes(&seed)))
    }

    /// What a browser shows the server to open the mailbox without sending the case key:
    /// HKDF-SHA256 of the key with its own label, so it reveals nothing about the key, the
    /// lookup id or the reporter's secret. The server keeps only [`MailboxProof::stored_hash`].
    pub fn mailbox_proof(&self) -> Result<MailboxProof, CryptoError> {
        let hkdf = Hkdf::<Sha256>::new(None, self.data.expose_secret());
        let mut proof = Secret::new([0u8; MAILBOX_PROOF_LEN]);
        hkdf.expand(MAILBOX_PROOF_LABEL, proof.expose_secret_mut())
            .map_err(|_| CryptoError::KeyDerivation)?;
        Ok(MailboxProof(proof))
    }

    fn full_symbols(&self) -> Secret<[u8; KEY_LEN]> {
        let mut full = Secret::new([0u8; KEY_LEN]);
        let buf = full.expose_secret_mut();
        buf[..DATA_LEN].copy_from_slice(self.data.expose_secret());
        buf[DATA_LEN..].copy_from_slice(&check_symbols(self.data.expose_secret()));
        full
    }

    /// Whether some single substitution or adjacent transposition of this
    /// key would still pass the checksum. Only edits that touch the data
    /// characters can: an edit confined to the check characters leaves the
    /// expected checksum unchanged and so always fails.
    fn has_undetected_typo(&self) -> bool {
        let mut full = self.full_symbols();
        let buf = full.expose_secret_mut();
        for index in 0..DATA_LEN {
            let original = buf[index];
            for &candidate in crockford::ALPHABET {
                if candidate == original {
                    continue;
                }
                buf[index] = candidate;
                if checks_out(buf) {
                    return true;
                }
            }
            buf[index] = original;
        }
        // Pairs (i, i+1) for i < DATA_LEN touch data, including the pair
        // that straddles the last data and first check character.
        for index in 0..DATA_LEN {
            if buf[index] == buf[index + 1] {
                continue;
            }
            buf.swap(index, index + 1);
            let passes = checks_out(buf);
            buf.swap(index, index + 1);
            if passes {
                return true;
            }
        }
        false
    }
}

/// Length of a [`MailboxProof`] and of its stored hash.
pub const MAILBOX_PROOF_LEN: usize = 32;

/// A mailbox proof (see [`CaseKey::mailbox_proof`]): a bearer secret for signing in to the
/// mailbox in the browser's mode, where the server never gets the case key. It opens nothing:
/// it cannot unwrap the case data key or derive the case key.
pub struct MailboxProof(Secret<[u8; MAILBOX_PROOF_LEN]>);

impl MailboxProof {
    /// A proof as a browser sent it.
    pub fn from_bytes(bytes: Secret<[u8; MAILBOX_PROOF_LEN]>) -> Self {
        Self(bytes)
    }

    /// The proof's bytes, for the boundary that sends it (the WebAssembly build, vectors).
    pub fn expose_bytes(&self) -> &[u8; MAILBOX_PROOF_LEN] {
        self.0.expose_secret()
    }

    /// What the server stores: SHA-256 over a label and the proof. A copy of the database gives
    /// no proof to sign in with.
    #[must_use]
    pub fn stored_hash(&self) -> [u8; MAILBOX_PROOF_LEN] {
        Sha256::new()
            .chain_update(MAILBOX_PROOF_HASH_LABEL)
            .chain_update(self.0.expose_secret())
            .finalize()
            .into()
    }

    /// Whether this proof hashes to `stored`, compared in constant time.
    #[must_use]
    pub fn matches(&self, stored: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        stored.len() == MAILBOX_PROOF_LEN && bool::from(self.stored_hash().ct_eq(stored))
    }
}

impl fmt::Debug for MailboxProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "MailboxProof")
    }
}

impl fmt::Debug for CaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "CaseKey")
    }
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// The first 15 bits of SHA-256(label ‖ data) as three symbols.
fn check_symbols(data: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(CHECK_LABEL)
        .chain_update(data)
        .finalize();
    let bits = (u16::from(digest[0]) << 8 | u16::from(digest[1])) >> 1;
    [
        crockford::symbol((bits >> 10) as u8),
        crockford::symbol((bits >> 5) as u8),
        crockford::symbol(bits as u8),
    ]
}

fn checks_out(symbols: &[u8; KEY_LEN]) -> bool {
    let (data, check) = symbols.split_at(DATA_LEN);
    check_symbols(data) == check
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use data_encoding::HEXLOWER;
    use proptest::prelude::*;

    use super::*;

    /// 25 data characters used by the fixed vectors below.
    const VECTOR_DATA: &str = "0123456789ABCDEFGHJKMNPQR";

    fn key_from_data(data: &str) -> CaseKey {
        let mut bytes = [0u8; DATA_LEN];
        bytes.copy_from_slice(data.as_bytes());
        CaseKey {
            data: Secret::new(bytes),
        }
    }

    fn display(key: &CaseKey) -> String {
        key.to_display_string().expose_secret().clone()
    }

    fn canonical_of(key: &CaseKey) -> String {
        display(key).replace('-', "")
    }

    /// Keys as `generate` would issue them, but from proptest's values so
    /// failures shrink and replay.
    fn issued_key() -> impl Strategy<Value = CaseKey> {
        any::<[u8; DATA_LEN]>().prop_filter_map("has an undetected typo", |values| {
            let key = CaseKey::from_symbol_values(&values);
            (!key.has_undetected_typo()).then_some(key)
        })
    }

    /// Every single-character substitution (into any alphabet symbol) and
    /// every adjacent transposition of a canonical key string.
    fn typo_variants(canonical: &str) -> Vec<String> {
        let chars: Vec<u8> = canonical.bytes().collect();
        let mut out = Vec::new();
        for index in 0..chars.len() {
            for &candidate in crockford::ALPHABET {
                if candidate != chars[index] {
                    let mut edited = chars.clone();
                    edited[index] = candidate;
                    out.push(String::from_utf8(edited).unwrap());
                }
            }
        }
        for index in 0..chars.len() - 1 {
            if chars[index] != chars[index + 1] {
                let mut edited = chars.clone();
                edited.swap(index, index + 1);
                out.push(String::from_utf8(edited).unwrap());
            }
        }
        out
    }

    #[test]
    fn a_submission_token_always_gives_the_same_valid_key() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..40 {
            let token = crate::crypto::SubmissionToken::generate();
            let first = CaseKey::from_submission_token(&token).unwrap();
            let again = CaseKey::from_submission_token(&token).unwrap();
            assert_eq!(first.lookup_id(), again.lookup_id());
            assert!(!first.has_undetected_typo());
            let shown = display(&first);
            assert_eq!(
                CaseKey::parse(&shown).unwrap().lookup_id(),
                first.lookup_id()
            );
            assert!(seen.insert(shown), "different tokens give different keys");
        }
    }

    #[test]
    fn generated_display_format() {
        let key = CaseKey::generate();
        let shown = display(&key);
        assert_eq!(shown.len(), 34);
        let groups: Vec<&str> = shown.split('-').collect();
        assert_eq!(groups.len(), 7);
        for group in groups {
            assert_eq!(group.len(), 4);
            assert!(group.bytes().all(|b| crockford::ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn generate_parse_round_trip() {
        for _ in 0..50 {
            let key = CaseKey::generate();
            let parsed = CaseKey::parse(&display(&key)).unwrap();
            assert_eq!(display(&parsed), display(&key));
            assert_eq!(parsed.lookup_id(), key.lookup_id());
        }
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            CaseKey::generate().lookup_id(),
            CaseKey::generate().lookup_id()
        );
    }

    /// Exhaustive over every substitution and transposition of many issued
    /// keys; the property test below samples the same space more widely.
    #[test]
    fn no_single_typo_of_a_generated_key_is_accepted() {
        for _ in 0..100 {
            let key = CaseKey::generate();
            for variant in typo_variants(&canonical_of(&key)) {
                assert!(CaseKey::parse(&variant).is_err(), "{variant} accepted");
            }
        }
    }

    /// Shows why `generate` redraws: without it, some keys have a typo that
    /// passes the 15-bit checksum (expected after ~40 draws).
    #[test]
    fn keys_with_undetected_typos_exist() {
        let mut values = [0u8; DATA_LEN];
        let weak = (0u32..10_000).find_map(|n| {
            values[..4].copy_from_slice(&n.to_be_bytes());
            let key = CaseKey::from_symbol_values(&values);
            key.has_undetected_typo().then_some(key)
        });
        let weak = weak.expect("a weak key within 10k candidates");
        let accepted = typo_variants(&canonical_of(&weak))
            .into_iter()
            .filter(|variant| CaseKey::parse(variant).is_ok())
            .count();
        assert!(accepted > 0);
    }

    #[test]
    fn parse_folds_confusables_and_separators() {
        let key = key_from_data(VECTOR_DATA);
        let canonical = canonical_of(&key);
        let messy = format!(
            "  {}\t\n",
            canonical
                .to_lowercase()
                .replace('0', "o")
                .replace('1', "l")
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 3 == 0 {
                    format!("{c} \u{2013}")
                } else {
                    c.to_string()
                })
                .collect::<String>()
        );
        let parsed = CaseKey::parse(&messy).unwrap();
        assert_eq!(canonical_of(&parsed), canonical);
        let with_i = canonical.replacen('1', "I", 1);
        assert_eq!(canonical_of(&CaseKey::parse(&with_i).unwrap()), canonical);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(CaseKey::parse("").unwrap_err(), CaseKeyError::Empty);
        assert_eq!(CaseKey::parse(" - \t-\n").unwrap_err(), CaseKeyError::Empty);
        let key = key_from_data(VECTOR_DATA);
        let canonical = canonical_of(&key);
        assert_eq!(
            CaseKey::parse(&canonical[..27]).unwrap_err(),
            CaseKeyError::WrongLength { found: 27 }
        );
        assert_eq!(
            CaseKey::parse(&format!("{canonical}0")).unwrap_err(),
            CaseKeyError::WrongLength { found: 29 }
        );
        assert_eq!(
            CaseKey::parse("K").unwrap_err(),
            CaseKeyError::WrongLength { found: 1 }
        );
        for bad in ['U', 'u', '*', '_', '.', 'é', '\u{0660}'] {
            let mut typed = canonical.clone();
            typed.replace_range(5..6, &bad.to_string());
            assert_eq!(
                CaseKey::parse(&typed).unwrap_err(),
                CaseKeyError::InvalidCharacter,
                "{bad:?}"
            );
        }
        let mut typo = canonical.into_bytes();
        typo[0] = b'Z';
        assert_eq!(
            CaseKey::parse(core::str::from_utf8(&typo).unwrap()).unwrap_err(),
            CaseKeyError::ChecksumMismatch
        );
    }

    #[test]
    fn errors_do_not_echo_input() {
        let err = CaseKey::parse("ZZZZ-U").unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("ZZZZ"));
        let wrapped: CryptoError = err.into();
        assert_eq!(
            wrapped,
            CryptoError::InvalidCaseKey(CaseKeyError::InvalidCharacter)
        );
    }

    /// Independently computed with Python's hashlib / `cryptography`; see
    /// tools/test_vectors.py in the scratch crate.
    #[test]
    fn checksum_test_vector() {
        let key = key_from_data(VECTOR_DATA);
        assert_eq!(display(&key), "0123-4567-89AB-CDEF-GHJK-MNPQ-RRAH");
    }

    #[test]
    fn lookup_id_test_vector() {
        let key = key_from_data(VECTOR_DATA);
        assert_eq!(
            HEXLOWER.encode(&key.lookup_id()),
            "929ced02ce3820ae1cb46e3f457dc2094cce9b8d714aee3033fba54a9170a453"
        );
    }

    #[test]
    fn reporter_public_key_test_vector() {
        let key = key_from_data(VECTOR_DATA);
        let pair = key.reporter_key_pair().unwrap();
        assert_eq!(
            HEXLOWER.encode(pair.public.as_bytes()),
            "8f4bcb72b666f7f4fb64cf71f412ca0ccddea5227273f19a452100fc4907633d"
        );
        assert_eq!(pair.public, key.reporter_key_pair().unwrap().public);
    }

    /// Computed independently with Python's hmac/hashlib (HKDF-SHA256 without salt, one block).
    #[test]
    fn mailbox_proof_test_vector() {
        let key = key_from_data(VECTOR_DATA);
        let proof = key.mailbox_proof().unwrap();
        assert_eq!(
            HEXLOWER.encode(proof.expose_bytes()),
            "4b03f689b2b484d6c75fa062822d973a90087a048960b31b3442f57487127883"
        );
        assert_eq!(
            HEXLOWER.encode(&proof.stored_hash()),
            "30279772738d3ff75c4dcc2578fb8a2d8ea5890f1df1322b53df3b8fa5042786"
        );
        let stored = proof.stored_hash();
        assert!(proof.matches(&stored));
        assert!(!proof.matches(&stored[..31]));
        let mut wrong = stored;
        wrong[31] ^= 1;
        assert!(!proof.matches(&wrong));
        assert!(
            !CaseKey::generate()
                .mailbox_proof()
                .unwrap()
                .matches(&stored)
        );
        assert_eq!(format!("{proof:?}"), "MailboxProof([redacted])");
    }

    #[test]
    fn derivations_are_separated() {
        let key = CaseKey::generate();
        let other = CaseKey::generate();
        assert_ne!(key.lookup_id(), other.lookup_id());
        assert_ne!(
            key.reporter_key_pair().unwrap().public,
            other.reporter_key_pair().unwrap().public
        );
        assert_ne!(
            &key.lookup_id(),
            key.reporter_key_pair().unwrap().public.as_bytes()
        );
        let proof = key.mailbox_proof().unwrap();
        assert_ne!(proof.expose_bytes(), &key.lookup_id());
        assert_ne!(&proof.stored_hash(), &key.lookup_id());
        assert_ne!(
            proof.expose_bytes(),
            key.reporter_key_pair().unwrap().secret.expose_bytes()
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = key_from_data(VECTOR_DATA);
        let debug = format!("{key:?} {key:#?}");
        assert!(debug.contains("CaseKey([redacted])"));
        assert!(!debug.contains(VECTOR_DATA));
        assert!(!debug.contains("0123"));
        let err = format!("{:?}", CaseKey::parse(&display(&key)));
        assert!(!err.contains("0123"), "{err}");
    }

    /// A random re-typing of `canonical`: case changes, O/I/L for 0/1,
    /// and dashes or whitespace between characters.
    fn retyped(canonical: String) -> impl Strategy<Value = String> {
        let len = canonical.len();
        (
            proptest::collection::vec(any::<bool>(), len),
            proptest::collection::vec(any::<bool>(), len),
            proptest::collection::vec(
                prop_oneof![
                    4 => Just(""),
                    1 => Just("-"),
                    1 => Just(" "),
                    1 => Just(" - "),
                    1 => Just("\t"),
                    1 => Just("\u{2011}"),
                ],
                len + 1,
            ),
        )
            .prop_map(move |(lower, confuse, separators)| {
                let mut out = String::from(separators[0]);
                for (i, c) in canonical.chars().enumerate() {
                    let c = match (c, confuse[i]) {
                        ('0', true) => 'O',
                        ('1', true) => {
                            if lower[i] {
                                'L'
                            } else {
                                'I'
                            }
                        }
                        (c, _) => c,
                    };
                    out.push(if lower[i] { c.to_ascii_lowercase() } else { c });
                    out.push_str(separators[i + 1]);
                }
                out
            })
    }

    proptest! {
        #[test]
        fn retyped_keys_parse_back(
            (canonical, typed) in issued_key()
                .prop_map(|key| canonical_of(&key))
                .prop_flat_map(|c| (Just(c.clone()), retyped(c)))
        ) {
            let parsed = CaseKey::parse(&typed);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            prop_assert_eq!(canonical_of(&parsed.unwrap()), canonical);
        }

        #[test]
        fn single_substitution_is_rejected(
            key in issued_key(),
            index in 0..KEY_LEN,
            replacement in 0..32u8,
        ) {
            let mut typed = canonical_of(&key).into_bytes();
            let new = crockford::symbol(replacement);
            prop_assume!(typed[index] != new);
            typed[index] = new;
            let typed = String::from_utf8(typed).unwrap();
            prop_assert_eq!(
                CaseKey::parse(&typed).err(),
                Some(CaseKeyError::ChecksumMismatch)
            );
        }

        #[test]
        fn adjacent_transposition_is_rejected(
            key in issued_key(),
            index in 0..KEY_LEN - 1,
        ) {
            let mut typed = canonical_of(&key).into_bytes();
            prop_assume!(typed[index] != typed[index + 1]);
            typed.swap(index, index + 1);
            let typed = String::from_utf8(typed).unwrap();
            prop_assert_eq!(
                CaseKey::parse(&typed).err(),
                Some(CaseKeyError::ChecksumMismatch)
            );
        }

        #[test]
        fn arbitrary_strings_never_panic(input in any::<String>()) {
            let _ = CaseKey::parse(&input);
        }

        #[test]
        fn near_miss_strings_never_panic(input in "[0-9A-Za-z \\-\u{2013}]{0,40}") {
            if let Ok(key) = CaseKey::parse(&input) {
                // Anything accepted must round-trip to the same key.
                let again = CaseKey::parse(&display(&key)).unwrap();
                prop_assert_eq!(again.lookup_id(), key.lookup_id());
            }
        }
    }
}
