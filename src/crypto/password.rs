use core::fmt;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::secret::fmt_redacted;
use super::{Aad, CryptoError, DataKey, RecordKind, Secret, SecretKey, open, random, seal};

const VERIFIER_LABEL: &[u8] = b"speakup/login-verifier/v1";
const TOTP_KEY_LABEL: &[u8] = b"speakup/totp-key/v1";
const COST_PREFIX: &str = "argon2id$";
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 64;

/// Ceilings that keep a corrupted or hostile stored cost from turning a
/// login into a denial of service (the floor is the production cost).
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 16;

/// Argon2id cost parameters, stored beside each handler's salt so the cost
/// can be raised later without breaking existing accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's first Argon2id option (64 MiB, 3 passes, 1 lane), the floor
    /// for real accounts.
    pub const PRODUCTION: Self = Self {
        memory_kib: 65536,
        iterations: 3,
        parallelism: 1,
    };

    /// The smallest cost Argon2 accepts (8 KiB, 1 pass). Tests need it because
    /// a production derivation takes a noticeable fraction of a second and
    /// test suites derive keys many times; the fixed vectors also pin the
    /// format at this cost. It is the only sub-floor cost [`validate`]
    /// lets through, so a weak cost has to be asked for by this exact name.
    ///
    /// [`validate`]: PasswordCost::validate
    pub const INSECURE_FOR_TESTS: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    /// Refuses costs below [`PasswordCost::PRODUCTION`] (except
    /// [`PasswordCost::INSECURE_FOR_TESTS`]) and costs too large to be sane.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if *self == Self::INSECURE_FOR_TESTS {
            return Ok(());
        }
        if self.parallelism == 0
            || self.parallelism > MAX_PARALLELISM
            || self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
        {
            return Err(CryptoError::InvalidPasswordCost);
        }
        if self.memory_kib < Self::PRODUCTION.memory_kib
            || self.iterations < Self::PRODUCTION.iterations
        {
            return Err(CryptoError::WeakPasswordCost);
        }
        Ok(())
    }

    /// The storage form, e.g. `argon2id$m=65536,t=3,p=1`.
    #[must_use]
    pub fn encode(&self) -> String {
        format!(
            "{COST_PREFIX}m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }

    /// Parses [`PasswordCost::encode`]'s output and validates it. Only the
    /// exact canonical form is accepted (no spaces, reordering or leading
    /// zeros), so each cost has a single stored spelling.
    pub fn decode(encoded: &str) -> Result<Self, CryptoError> {
        let rest = encoded
            .strip_prefix(COST_PREFIX)
            .ok_or(CryptoError::InvalidPasswordCost)?;
        let mut fields = rest.split(',');
        let mut next = |name: &str| -> Result<u32, CryptoError> {
            let value = fields
                .next()
                .and_then(|field| field.strip_prefix(name))
                .and_then(|field| field.strip_prefix('='))
                .ok_or(CryptoError::InvalidPasswordCost)?;
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CryptoError::InvalidPasswordCost);
            }
            value.parse().map_err(|_| CryptoError::InvalidPasswordCost)
        };
        let cost = Self {
            memory_kib: next("m")?,
            iterations: next("t")?,
            parallelism: next("p")?,
        };
        if fields.next().is_some() || cost.encode() != encoded {
            return Err(CryptoError::InvalidPasswordCost);
        }
        cost.validate()?;
        Ok(cost)
    }
}

/// A fresh 16-byte salt; store it beside the cost and the verifier.
#[must_use]
pub fn new_password_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    random::fill_random(&mut salt);
    salt
}

/// What one Argon2id run over a handler's password yields: a key-encryption
/// key that never leaves memory, and a verifier that is stored.
///
/// Splitting one 64-byte output means a stolen verifier gives no shortcut to
/// the KEK: both halves cost the full Argon2 run, and the verifier is a hash
/// of the second half only.
pub struct PasswordKeys {
    kek: DataKey,
    proof: LoginProof,
}

/// The second half of the Argon2id output: what a browser that ran Argon2id itself sends at
/// sign-in instead of the password. The server stores only its hash (the verifier), so a stolen
/// verifier cannot be replayed as a proof; and the proof gives no shortcut to the
/// key-encryption key (the other half of the output).
///
/// The TOTP secret is sealed under a key derived from the proof (not from the KEK), so a
/// server that is given only the proof can check the second factor, and a stolen database (which
/// holds the verifier, a different hash of the proof) cannot open it.
pub struct LoginProof {
    bytes: Secret<[u8; 32]>,
}

impl LoginProof {
    /// Takes the 32 bytes a browser sent; any other length is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut proof = Secret::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(CryptoError::InvalidInput("a login proof is 32 bytes"));
        }
        proof.expose_secret_mut().copy_from_slice(bytes);
        Ok(Self { bytes: proof })
    }

    pub fn expose_bytes(&self) -> &[u8; 32] {
        self.bytes.expose_secret()
    }

    /// The value stored at enrolment: a labelled SHA-256 of the proof.
    #[must_use]
    pub fn verifier(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(VERIFIER_LABEL)
            .chain_update(self.bytes.expose_secret())
            .finalize()
            .into()
    }

    /// Constant-time comparison of this proof's verifier with the stored one.
    #[must_use]
    pub fn verifies(&self, stored_verifier: &[u8; 32]) -> bool {
        self.verifier().ct_eq(stored_verifier).into()
    }

    fn totp_key(&self) -> DataKey {
        let mut key = Secret::new([0u8; 32]);
        key.expose_secret_mut().copy_from_slice(
            &Sha256::new()
                .chain_update(TOTP_KEY_LABEL)
                .chain_update(self.bytes.expose_secret())
                .finalize(),
        );
        DataKey::from_secret(key)
    }

    /// Seals a TOTP shared secret under the key derived from this proof.
    pub fn seal_totp_secret(&self, user_id: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let aad = Aad::new(user_id, RecordKind::TotpSecret, user_id);
        seal(&self.totp_key(), &aad, secret)
    }

    /// Opens a TOTP secret sealed by [`LoginProof::seal_totp_secret`]. Fails for one sealed the
    /// older way, under the KEK ([`PasswordKeys::open_totp_secret`] opens both).
    pub fn open_totp_secret(
        &self,
        user_id: &str,
        sealed: &[u8],
    ) -> Result<Secret<Vec<u8>>, CryptoError> {
        let aad = Aad::new(user_id, RecordKind::TotpSecret, user_id);
        open(&self.totp_key(), &aad, sealed)
    }
}

impl fmt::Debug for LoginProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "LoginProof")
    }
}

/// How a stored TOTP secret was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpSealing {
    /// Under the key derived from the login proof (so a browser sign-in can check it).
    Proof,
    /// Under the key-encryption key, as accounts made before browser sign-in were; re-sealed
    /// at the next sign-in with the password.
    Legacy,
}

/// Runs Argon2id (v1.3) once with the given salt and cost.
///
/// The password is taken as-is (no Unicode normalisation), so the login
/// form and the enrolment form must submit the same bytes.
pub fn derive_password_keys(
    password: &Secret<String>,
    salt: &[u8; SALT_LEN],
    cost: PasswordCost,
) -> Result<PasswordKeys, CryptoError> {
    cost.validate()?;
    let params = Params::new(
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        Some(OUTPUT_LEN),
    )
    .map_err(|_| CryptoError::InvalidPasswordCost)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());

    // Argon2's working memory is derived from the password; supplying it
    // ourselves lets it be wiped afterwards instead of freed as-is.
    let mut blocks: Secret<Vec<Block>> = Secret::new(Vec::new());
    let memory = blocks.expose_secret_mut();
    memory
        .try_reserve_exact(params.block_count())
        .map_err(|_| CryptoError::PasswordKdf)?;
    memory.resize(params.block_count(), Block::new());

    let mut output = Secret::new([0u8; OUTPUT_LEN]);
    argon2
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt,
            output.expose_secret_mut(),
            memory.as_mut_slice(),
        )
        .map_err(|_| CryptoError::PasswordKdf)?;
    let (kek_half, verifier_half) = output.expose_secret().split_at(32);

    let mut kek = Secret::new([0u8; 32]);
    kek.expose_secret_mut().copy_from_slice(kek_half);
    Ok(PasswordKeys {
        kek: DataKey::from_secret(kek),
        proof: LoginProof::from_bytes(verifier_half)?,
    })
}

impl PasswordKeys {
    /// The key that seals this handler's X25519 secret key and TOTP secret.
    pub fn kek(&self) -> &DataKey {
        &self.kek
    }

    /// The value to store at enrolment and compare against at login.
    #[must_use]
    pub fn verifier(&self) -> [u8; 32] {
        self.proof.verifier()
    }

    /// What a browser sends at sign-in instead of the password.
    pub fn proof(&self) -> &LoginProof {
        &self.proof
    }

    /// Constant-time comparison with the stored verifier, so response timing
    /// does not reveal how many leading bytes matched.
    #[must_use]
    pub fn verifies(&self, stored_verifier: &[u8; 32]) -> bool {
        self.proof.verifies(stored_verifier)
    }

    /// Seals the handler's long-term secret key under the KEK, bound to the
    /// user id (used as both scope and record id: one per user).
    pub fn seal_handler_secret(
        &self,
        user_id: &str,
        secret: &SecretKey,
    ) -> Result<Vec<u8>, CryptoError> {
        let aad = Aad::new(user_id, RecordKind::HandlerSecret, user_id);
        seal(&self.kek, &aad, secret.expose_bytes())
    }

    pub fn open_handler_secret(
        &self,
        user_id: &str,
        sealed: &[u8],
    ) -> Result<SecretKey, CryptoError> {
        let aad = Aad::new(user_id, RecordKind::HandlerSecret, user_id);
        let opened = open(&self.kek, &aad, sealed)?;
        let mut bytes = Secret::new([0u8; 32]);
        if opened.expose_secret().len() != 32 {
            return Err(CryptoError::Decrypt);
        }
        bytes
            .expose_secret_mut()
            .copy_from_slice(opened.expose_secret());
        Ok(SecretKey::from_secret_bytes(&bytes))
    }

    /// Seals a TOTP shared secret so that it is only readable after a correct
    /// password (or the login proof it yields): under the proof's key.
    pub fn seal_totp_secret(&self, user_id: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.proof.seal_totp_secret(user_id, secret)
    }

    /// Opens a TOTP secret sealed either way (see [`TotpSealing`]).
    pub fn open_totp_secret(
        &self,
        user_id: &str,
        sealed: &[u8],
    ) -> Result<Secret<Vec<u8>>, CryptoError> {
        self.open_totp_secret_sealing(user_id, sealed)
            .map(|(secret, _)| secret)
    }

    /// As [`PasswordKeys::open_totp_secret`], saying which way it was sealed.
    pub fn open_totp_secret_sealing(
        &self,
        user_id: &str,
        sealed: &[u8],
    ) -> Result<(Secret<Vec<u8>>, TotpSealing), CryptoError> {
        if let Ok(secret) = self.proof.open_totp_secret(user_id, sealed) {
            return Ok((secret, TotpSealing::Proof));
        }
        let aad = Aad::new(user_id, RecordKind::TotpSecret, user_id);
        open(&self.kek, &aad, sealed).map(|secret| (secret, TotpSealing::Legacy))
    }
}

impl fmt::Debug for PasswordKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_redacted(f, "PasswordKeys")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use data_encoding::HEXLOWER;

    use super::*;

    const TEST: PasswordCost = PasswordCost::INSECURE_FOR_TESTS;

    fn password(text: &str) -> Secret<String> {
        Secret::new(text.to_owned())
    }

    fn vector_salt() -> [u8; SALT_LEN] {
        let mut salt = [0u8; SALT_LEN];
        for (i, b) in salt.iter_mut().enumerate() {
            *b = i as u8;
        }
        salt
    }

    #[test]
    fn production_cost_string() {
        assert_eq!(
            PasswordCost::PRODUCTION.encode(),
            "argon2id$m=65536,t=3,p=1"
        );
        assert_eq!(
            PasswordCost::decode("argon2id$m=65536,t=3,p=1").unwrap(),
            PasswordCost::PRODUCTION
        );
        assert_eq!(
            PasswordCost::decode("argon2id$m=8,t=1,p=1").unwrap(),
            PasswordCost::INSECURE_FOR_TESTS
        );
        let stronger = PasswordCost {
            memory_kib: 131072,
            iterations: 4,
            parallelism: 2,
        };
        assert_eq!(PasswordCost::decode(&stronger.encode()).unwrap(), stronger);
    }

    #[test]
    fn malformed_cost_strings_are_refused() {
        for bad in [
            "",
            "argon2id$",
            "argon2i$m=65536,t=3,p=1",
            "argon2d$m=65536,t=3,p=1",
            "ARGON2ID$m=65536,t=3,p=1",
            "argon2id$m=65536,t=3",
            "argon2id$m=65536,t=3,p=1,",
            "argon2id$m=65536,t=3,p=1,x=1",
            "argon2id$t=3,m=65536,p=1",
            "argon2id$m=065536,t=3,p=1",
            "argon2id$m=+65536,t=3,p=1",
            "argon2id$m=65536, t=3,p=1",
            "argon2id$m=65536,t=3,p=1 ",
            "argon2id$m=,t=3,p=1",
            "argon2id$m=99999999999,t=3,p=1",
            "argon2id$m=65536,t=3,p=0",
            "argon2id$m=65536,t=3,p=-1",
        ] {
            assert_eq!(
                PasswordCost::decode(bad).unwrap_err(),
                CryptoError::InvalidPasswordCost,
                "{bad}"
            );
        }
    }

    #[test]
    fn weak_costs_are_refused() {
        for (m, t, p) in [
            (65535, 3, 1),
            (65536, 2, 1),
            (8, 1, 2),
            (16, 1, 1),
            (8, 2, 1),
        ] {
            let cost = PasswordCost {
                memory_kib: m,
                iterations: t,
                parallelism: p,
            };
            assert_eq!(cost.validate().unwrap_err(), CryptoError::WeakPasswordCost);
            assert_eq!(
                PasswordCost::decode(&cost.encode()).unwrap_err(),
                CryptoError::WeakPasswordCost
            );
            assert_eq!(
                derive_password_keys(&password("pw"), &vector_salt(), cost).unwrap_err(),
                CryptoError::WeakPasswordCost
            );
        }
    }

    #[test]
    fn absurd_costs_are_refused() {
        for (m, t, p) in [
            (MAX_MEMORY_KIB + 1, 3, 1),
            (65536, MAX_ITERATIONS + 1, 1),
            (65536, 3, 0),
            (65536, 3, MAX_PARALLELISM + 1),
        ] {
            let cost = PasswordCost {
                memory_kib: m,
                iterations: t,
                parallelism: p,
            };
            assert_eq!(
                cost.validate().unwrap_err(),
                CryptoError::InvalidPasswordCost
            );
        }
        assert!(PasswordCost::PRODUCTION.validate().is_ok());
        assert!(PasswordCost::INSECURE_FOR_TESTS.validate().is_ok());
    }

    #[test]
    fn derive_is_deterministic_and_input_sensitive() {
        let salt = vector_salt();
        let a = derive_password_keys(&password("correct horse"), &salt, TEST).unwrap();
        let b = derive_password_keys(&password("correct horse"), &salt, TEST).unwrap();
        assert_eq!(a.verifier(), b.verifier());
        assert_eq!(a.kek().expose_bytes(), b.kek().expose_bytes());
        assert!(a.verifies(&b.verifier()));

        let other_password = derive_password_keys(&password("correct horsf"), &salt, TEST).unwrap();
        let mut other_salt_bytes = salt;
        other_salt_bytes[15] ^= 1;
        let other_salt =
            derive_password_keys(&password("correct horse"), &other_salt_bytes, TEST).unwrap();
        for other in [&other_password, &other_salt] {
            assert_ne!(other.verifier(), a.verifier());
            assert_ne!(other.kek().expose_bytes(), a.kek().expose_bytes());
            assert!(!other.verifies(&a.verifier()));
        }
        assert_ne!(&a.verifier(), a.kek().expose_bytes());
    }

    #[test]
    fn verifies_rejects_any_difference() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let stored = keys.verifier();
        assert!(keys.verifies(&stored));
        for index in 0..32 {
            let mut wrong = stored;
            wrong[index] ^= 1;
            assert!(!keys.verifies(&wrong));
        }
    }

    #[test]
    fn new_salts_differ() {
        assert_ne!(new_password_salt(), new_password_salt());
    }

    /// Computed independently with Python `cryptography`'s Argon2id; see
    /// tools/test_vectors.py in the scratch crate.
    #[test]
    fn derive_test_vector_insecure_cost() {
        let keys = derive_password_keys(
            &password("correct horse battery staple"),
            &vector_salt(),
            TEST,
        )
        .unwrap();
        assert_eq!(
            HEXLOWER.encode(keys.kek().expose_bytes()),
            "c0b134792dfa3642578c035d90f244864df1209f0ed75d6fdf42601cd5e2a2cc"
        );
        assert_eq!(
            HEXLOWER.encode(&keys.verifier()),
            "a661e4f4f17b738b6d9f974ab576ae128d409d1e4dd59e21e5d966d77ebcba7b"
        );
    }

    /// One real production-cost run, so the production parameters are what
    /// reach Argon2 (about a quarter of a second with argon2 built at -O3).
    #[test]
    fn derive_test_vector_production_cost() {
        let keys = derive_password_keys(
            &password("correct horse battery staple"),
            &vector_salt(),
            PasswordCost::PRODUCTION,
        )
        .unwrap();
        assert_eq!(
            HEXLOWER.encode(&keys.verifier()),
            "f20ba90fab945d34d9abd52f8b551ecb979d9c08a1c9253db2c64bc949e28ea5"
        );
    }

    #[test]
    fn handler_secret_round_trip_and_binding() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let pair = super::super::KeyPair::generate();
        let sealed = keys.seal_handler_secret("user-1", &pair.secret).unwrap();
        let opened = keys.open_handler_secret("user-1", &sealed).unwrap();
        assert_eq!(opened.public_key(), pair.public);

        assert!(keys.open_handler_secret("user-2", &sealed).is_err());
        assert!(keys.open_totp_secret("user-1", &sealed).is_err());
        let wrong = derive_password_keys(&password("pw2"), &vector_salt(), TEST).unwrap();
        assert_eq!(
            wrong.open_handler_secret("user-1", &sealed).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn handler_secret_of_wrong_length_is_refused() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let aad = Aad::new("user-1", RecordKind::HandlerSecret, "user-1");
        let sealed = seal(keys.kek(), &aad, &[7u8; 31]).unwrap();
        assert_eq!(
            keys.open_handler_secret("user-1", &sealed).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn login_proof_is_what_the_verifier_hashes() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let sent = LoginProof::from_bytes(keys.proof().expose_bytes()).unwrap();
        assert!(sent.verifies(&keys.verifier()));
        // The stored verifier is not itself a proof: replaying it fails.
        let replayed = LoginProof::from_bytes(&keys.verifier()).unwrap();
        assert!(!replayed.verifies(&keys.verifier()));
        let other = derive_password_keys(&password("pw2"), &vector_salt(), TEST).unwrap();
        assert!(!other.proof().verifies(&keys.verifier()));
        assert!(LoginProof::from_bytes(&[0u8; 31]).is_err());
    }

    #[test]
    fn totp_secret_opens_with_the_proof_alone_and_legacy_with_the_kek() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let totp = b"12345678901234567890";
        let sealed = keys.seal_totp_secret("user-1", totp).unwrap();
        let sent = LoginProof::from_bytes(keys.proof().expose_bytes()).unwrap();
        assert_eq!(
            sent.open_totp_secret("user-1", &sealed)
                .unwrap()
                .expose_secret(),
            totp
        );
        assert!(sent.open_totp_secret("user-2", &sealed).is_err());
        let (_, how) = keys.open_totp_secret_sealing("user-1", &sealed).unwrap();
        assert_eq!(how, TotpSealing::Proof);
        // An account sealed before browser sign-in: under the KEK.
        let aad = Aad::new("user-1", RecordKind::TotpSecret, "user-1");
        let legacy = seal(keys.kek(), &aad, totp).unwrap();
        let (opened, how) = keys.open_totp_secret_sealing("user-1", &legacy).unwrap();
        assert_eq!(
            (opened.expose_secret().as_slice(), how),
            (&totp[..], TotpSealing::Legacy)
        );
        assert!(sent.open_totp_secret("user-1", &legacy).is_err());
        // The proof's TOTP key is not the KEK: the proof cannot open the handler secret.
        let pair = crate::crypto::KeyPair::generate();
        let sealed_secret = keys.seal_handler_secret("user-1", &pair.secret).unwrap();
        assert!(sent.open_totp_secret("user-1", &sealed_secret).is_err());
    }

    #[test]
    fn totp_secret_round_trip_and_binding() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let totp = b"12345678901234567890";
        let sealed = keys.seal_totp_secret("user-1", totp).unwrap();
        assert_eq!(
            keys.open_totp_secret("user-1", &sealed)
                .unwrap()
                .expose_secret(),
            totp
        );
        assert!(keys.open_totp_secret("user-2", &sealed).is_err());
        assert!(keys.open_handler_secret("user-1", &sealed).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let keys = derive_password_keys(&password("pw"), &vector_salt(), TEST).unwrap();
        let debug = format!("{keys:?} {keys:#?}");
        assert!(debug.contains("PasswordKeys([redacted])"));
        assert!(!debug.contains(&HEXLOWER.encode(keys.kek().expose_bytes())));
        assert!(!debug.contains(&HEXLOWER.encode(&keys.verifier())));
        let pw = password("hunter2");
        assert!(!format!("{pw:?}").contains("hunter2"));
    }
}
