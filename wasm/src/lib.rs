//! speakup's crypto core for the browser: `src/crypto` compiled to wasm32-unknown-unknown from
//! the very same source files, behind a handful of raw C-ABI exports that `static/speakup.js`
//! wraps. No wasm-bindgen: the exports move bytes only, so the glue is a page of JavaScript
//! that can be read in full.
//!
//! The calling convention: the page asks for input buffers with `su_alloc`, fills them, and
//! calls an operation with (pointer, length) pairs. An operation answers a length (zero or more)
//! and leaves its output in one result buffer, which the page copies out with
//! `su_result_ptr` and then wipes with `su_result_clear`; or it answers a negative error code
//! (see [`Failure`]). Input buffers are wiped when the page frees them with `su_free`.
//!
//! This file is the only place with `unsafe` (turning the page's pointers into slices); the
//! crypto module itself keeps `#![forbid(unsafe_code)]`.

use std::cell::RefCell;

use zeroize::Zeroize;

// The crypto module exactly as the server compiles it. Parts of it (attachments, sessions, the
// audit chain) are not exported to the page yet; lints that only fire because the module is
// private here (not the public API it is in the server crate) are allowed.
#[path = "../../src/crypto/mod.rs"]
#[allow(dead_code, unused_imports, clippy::wrong_self_convention)]
mod crypto;

// The part of the procedure that writes a procedure step's letter (`src/procedure/steps.rs`
// and what it needs), exactly as the server compiles it: a browser session writes and seals
// the letter itself, so its handler's words never reach the server.
#[allow(dead_code, unused_imports, clippy::all)]
mod procedure;

// Metadata removal (`src/strip`, the same source): a file a browser session seals is cleaned
// first, as the server cleans the files it seals.
#[path = "../../src/strip/mod.rs"]
#[allow(dead_code, unused_imports, clippy::all)]
mod strip;

use crypto::{
    Aad, AttachmentBinding, AttachmentOpener, AttachmentSealer, CaseKey, CaseKeyError, CryptoError,
    DataKey, KeyKind, PasswordCost, Provenance, PublicKey, RecordKind, Secret, SecretKey,
    WrapContext,
};

/// Negative answers of the exports, mirrored by `static/speakup.js`.
#[derive(Clone, Copy)]
#[repr(i32)]
enum Failure {
    /// Did not authenticate: wrong key, wrong binding, tampered or truncated.
    Decrypt = -1,
    /// Malformed input: a length, an unknown kind, an empty id, a bad cost.
    Input = -2,
    /// A case key that is empty, too short or too long, or uses a character keys never use.
    CaseKeyMalformed = -3,
    /// A case key whose characters are valid but do not check out: a typo.
    CaseKeyTypo = -4,
    /// Key derivation or encryption could not run (for Argon2, usually memory).
    Internal = -5,
    /// A file claims a known format but its structure is broken, so its metadata cannot be
    /// removed safely.
    FileDamaged = -6,
    /// A file operation out of order (push before begin, two files at once).
    Order = -7,
}

impl From<CryptoError> for Failure {
    fn from(error: CryptoError) -> Self {
        match error {
            CryptoError::Decrypt | CryptoError::Unwrap => Failure::Decrypt,
            CryptoError::InvalidCaseKey(CaseKeyError::ChecksumMismatch) => Failure::CaseKeyTypo,
            CryptoError::InvalidCaseKey(_) => Failure::CaseKeyMalformed,
            CryptoError::Encrypt | CryptoError::KeyDerivation | CryptoError::PasswordKdf => {
                Failure::Internal
            }
            CryptoError::WeakPublicKey
            | CryptoError::WeakPasswordCost
            | CryptoError::InvalidPasswordCost
            | CryptoError::InvalidSessionToken
            | CryptoError::InvalidInput(_) => Failure::Input,
        }
    }
}

thread_local! {
    /// The last operation's output. Wiped before it is replaced and when the page is done.
    static RESULT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn answer(outcome: Result<Vec<u8>, Failure>) -> i32 {
    RESULT.with(|result| {
        let mut result = result.borrow_mut();
        result.zeroize();
        match outcome {
            Ok(bytes) => match i32::try_from(bytes.len()) {
                Ok(len) => {
                    *result = bytes;
                    len
                }
                Err(_) => Failure::Input as i32,
            },
            Err(failure) => failure as i32,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Memory shared with the page

/// A zeroed buffer of `len` bytes for the page to fill; give it back with [`su_free`].
#[unsafe(no_mangle)]
pub extern "C" fn su_alloc(len: usize) -> *mut u8 {
    Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
}

/// Wipes and frees a buffer from [`su_alloc`].
///
/// # Safety
/// `ptr` and `len` must be exactly what one earlier `su_alloc` answered and was asked for, and
/// the buffer must not be freed twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: by the contract above this is the boxed slice `su_alloc` leaked.
    let mut buffer = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
    buffer.zeroize();
}

/// Where the last operation's output starts (its length was the operation's answer).
#[unsafe(no_mangle)]
pub extern "C" fn su_result_ptr() -> *const u8 {
    RESULT.with(|result| result.borrow().as_ptr())
}

/// Wipes the last operation's output once the page has copied it.
#[unsafe(no_mangle)]
pub extern "C" fn su_result_clear() {
    RESULT.with(|result| result.borrow_mut().zeroize());
}

/// The page's bytes at (`ptr`, `len`).
///
/// # Safety
/// The range must lie inside a buffer from [`su_alloc`] that is still alive.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // SAFETY: by the contract above.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// # Safety
/// As for [`bytes`].
unsafe fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, Failure> {
    // SAFETY: passed on from the caller.
    std::str::from_utf8(unsafe { bytes(ptr, len) }).map_err(|_| Failure::Input)
}

fn array32(bytes: &[u8]) -> Result<[u8; 32], Failure> {
    <[u8; 32]>::try_from(bytes).map_err(|_| Failure::Input)
}

fn data_key(bytes: &[u8]) -> Result<DataKey, Failure> {
    Ok(DataKey::from_secret(Secret::new(array32(bytes)?)))
}

fn secret_key(bytes: &[u8]) -> Result<SecretKey, Failure> {
    Ok(SecretKey::from_secret_bytes(&Secret::new(array32(bytes)?)))
}

fn key_kind(name: &str) -> Result<KeyKind, Failure> {
    [KeyKind::Case, KeyKind::Identity]
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .ok_or(Failure::Input)
}

/// The associated data as the page writes it: lines `scope`, `kind`, `record` and, for format 2,
/// `author`, `author user id`, `event id`, `position`, `written on` (an absent id is an empty
/// line).
fn aad(spec: &str) -> Result<Aad<'_>, Failure> {
    let fields: Vec<&str> = spec.split('\n').collect();
    let kind = |name: &str| {
        RecordKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or(Failure::Input)
    };
    match fields.as_slice() {
        [scope, record_kind, record] => Ok(Aad::new(scope, kind(record_kind)?, record)),
        [
            scope,
            record_kind,
            record,
            author,
            author_user_id,
            event_id,
            position,
            written_on,
        ] => {
            let position = position.parse::<i64>().map_err(|_| Failure::Input)?;
            Ok(
                Aad::new(scope, kind(record_kind)?, record).with_provenance(Provenance {
                    author,
                    author_user_id: (!author_user_id.is_empty()).then_some(*author_user_id),
                    event_id: (!event_id.is_empty()).then_some(*event_id),
                    position,
                    written_on,
                }),
            )
        }
        _ => Err(Failure::Input),
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness: the page's crypto.getRandomValues

#[link(wasm_import_module = "speakup")]
unsafe extern "C" {
    /// Fills `len` bytes at `ptr` from `crypto.getRandomValues`; answers 0 on success.
    fn random_fill(ptr: *mut u8, len: usize) -> i32;
}

/// getrandom's custom backend (selected by `--cfg getrandom_backend="custom"` in
/// wasm/build.sh): every random byte of the crypto module comes through here.
///
/// # Safety
/// Called by getrandom with a writable range of `len` bytes at `dest`.
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(
    dest: *mut u8,
    len: usize,
) -> Result<(), getrandom::Error> {
    // SAFETY: the range is writable (getrandom's contract); the page only writes inside it.
    match unsafe { random_fill(dest, len) } {
        0 => Ok(()),
        _ => Err(getrandom::Error::UNSUPPORTED),
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A new case key, as shown to the reporter (`XXXX-XXXX-…`).
#[unsafe(no_mangle)]
pub extern "C" fn su_case_key_generate() -> i32 {
    let key = CaseKey::generate();
    answer(Ok(key
        .to_display_string()
        .expose_secret()
        .as_bytes()
        .to_vec()))
}

/// What a case key gives the server: lookup id (32) ‖ reporter public key (32) ‖ the key in its
/// display form (so the page can show a typed key normalised).
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_case_key_derive(key_ptr: *const u8, key_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let outcome = unsafe { text(key_ptr, key_len) }.and_then(|typed| {
        let key = CaseKey::parse(typed).map_err(|e| Failure::from(CryptoError::from(e)))?;
        let pair = key.reporter_key_pair().map_err(Failure::from)?;
        let mut out = key.lookup_id().to_vec();
        out.extend_from_slice(pair.public.as_bytes());
        out.extend_from_slice(key.to_display_string().expose_secret().as_bytes());
        Ok(out)
    });
    answer(outcome)
}

/// A fresh 32-byte data key (a case data key or identity key).
#[unsafe(no_mangle)]
pub extern "C" fn su_data_key_generate() -> i32 {
    answer(Ok(DataKey::generate().expose_bytes().to_vec()))
}

/// XChaCha20-Poly1305 under `key`, bound to the associated data described by `aad` (see
/// [`aad`]): `nonce ‖ ciphertext ‖ tag`.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_seal(
    key_ptr: *const u8,
    key_len: usize,
    aad_ptr: *const u8,
    aad_len: usize,
    plain_ptr: *const u8,
    plain_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (key, spec, plain) = unsafe {
        (
            bytes(key_ptr, key_len),
            text(aad_ptr, aad_len),
            bytes(plain_ptr, plain_len),
        )
    };
    let outcome = spec
        .and_then(|spec| crypto::seal(&data_key(key)?, &aad(spec)?, plain).map_err(Failure::from));
    answer(outcome)
}

/// Opens what [`su_seal`] (or the server) sealed.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_open(
    key_ptr: *const u8,
    key_len: usize,
    aad_ptr: *const u8,
    aad_len: usize,
    sealed_ptr: *const u8,
    sealed_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (key, spec, sealed) = unsafe {
        (
            bytes(key_ptr, key_len),
            text(aad_ptr, aad_len),
            bytes(sealed_ptr, sealed_len),
        )
    };
    let outcome = spec.and_then(|spec| {
        crypto::open(&data_key(key)?, &aad(spec)?, sealed)
            .map(|opened| opened.expose_secret().clone())
            .map_err(Failure::from)
    });
    answer(outcome)
}

/// Wraps a data key to a recipient's public key for one case and key kind.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_wrap(
    key_ptr: *const u8,
    key_len: usize,
    public_ptr: *const u8,
    public_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    kind_ptr: *const u8,
    kind_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (key, public, case_id, kind) = unsafe {
        (
            bytes(key_ptr, key_len),
            bytes(public_ptr, public_len),
            text(case_ptr, case_len),
            text(kind_ptr, kind_len),
        )
    };
    let outcome = (|| {
        let context = WrapContext::new(case_id?, key_kind(kind?)?);
        let recipient = PublicKey::from_bytes(array32(public)?);
        crypto::wrap_key(&data_key(key)?, &recipient, &context).map_err(Failure::from)
    })();
    answer(outcome)
}

/// Unwraps a data key with a secret key given as 32 bytes (a handler's, opened in the page).
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_unwrap(
    secret_ptr: *const u8,
    secret_len: usize,
    wrapped_ptr: *const u8,
    wrapped_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    kind_ptr: *const u8,
    kind_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (secret, wrapped, case_id, kind) = unsafe {
        (
            bytes(secret_ptr, secret_len),
            bytes(wrapped_ptr, wrapped_len),
            text(case_ptr, case_len),
            text(kind_ptr, kind_len),
        )
    };
    let outcome = (|| {
        let context = WrapContext::new(case_id?, key_kind(kind?)?);
        let key = crypto::unwrap_key(&secret_key(secret)?, wrapped, &context)?;
        Ok(key.expose_bytes().to_vec())
    })();
    answer(outcome)
}

/// Unwraps a data key wrapped to the reporter, with the reporter's secret derived from the case
/// key inside the module (it never reaches the page).
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_unwrap_with_case_key(
    key_ptr: *const u8,
    key_len: usize,
    wrapped_ptr: *const u8,
    wrapped_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    kind_ptr: *const u8,
    kind_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (typed, wrapped, case_id, kind) = unsafe {
        (
            text(key_ptr, key_len),
            bytes(wrapped_ptr, wrapped_len),
            text(case_ptr, case_len),
            text(kind_ptr, kind_len),
        )
    };
    let outcome = (|| {
        let context = WrapContext::new(case_id?, key_kind(kind?)?);
        let case_key = CaseKey::parse(typed?).map_err(|e| Failure::from(CryptoError::from(e)))?;
        let reporter = case_key.reporter_key_pair()?;
        let key = crypto::unwrap_key(&reporter.secret, wrapped, &context)?;
        Ok(key.expose_bytes().to_vec())
    })();
    answer(outcome)
}

/// The X25519 public key of a 32-byte secret key.
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_public_key(secret_ptr: *const u8, secret_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let secret = unsafe { bytes(secret_ptr, secret_len) };
    answer(secret_key(secret).map(|secret| secret.public_key().as_bytes().to_vec()))
}

/// The short fingerprint of a public key, as people compare it (`7K2M 9QXR …`).
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_fingerprint(public_ptr: *const u8, public_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let public = unsafe { bytes(public_ptr, public_len) };
    answer(array32(public).map(|key| PublicKey::from_bytes(key).fingerprint().into_bytes()))
}

/// One Argon2id run over a handler's password: key-encryption key (32) ‖ login proof (32). The
/// console signs in with the proof (the server stores only its hash, the login verifier); the
/// key-encryption key opens the handler's sealed secret key and never leaves the page. The cost
/// must pass the same checks as on the server (the production floor, or the named test cost).
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_password_keys(
    password_ptr: *const u8,
    password_len: usize,
    salt_ptr: *const u8,
    salt_len: usize,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> i32 {
    // SAFETY: passed on from the caller.
    let (password, salt) = unsafe { (text(password_ptr, password_len), bytes(salt_ptr, salt_len)) };
    let outcome = (|| {
        let password = Secret::new(password?.to_owned());
        let salt = <[u8; 16]>::try_from(salt).map_err(|_| Failure::Input)?;
        let cost = PasswordCost {
            memory_kib,
            iterations,
            parallelism,
        };
        let keys = crypto::derive_password_keys(&password, &salt, cost)?;
        let mut out = keys.kek().expose_bytes().to_vec();
        out.extend_from_slice(keys.proof().expose_bytes());
        Ok(out)
    })();
    answer(outcome)
}

// ---------------------------------------------------------------------------------------------
// The reporter's mailbox in the browser (kept apart from the other blocks to ease merging)

/// The mailbox proof of a case key (as typed): proof (32) ‖ the hash the server stores (32).
/// The page sends the proof to sign in to the mailbox, and the hash with a concern it sealed.
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_mailbox_proof(key_ptr: *const u8, key_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let outcome = unsafe { text(key_ptr, key_len) }.and_then(|typed| {
        let key = CaseKey::parse(typed).map_err(|e| Failure::from(CryptoError::from(e)))?;
        let proof = key.mailbox_proof().map_err(Failure::from)?;
        let mut out = proof.expose_bytes().to_vec();
        out.extend_from_slice(&proof.stored_hash());
        Ok(out)
    });
    answer(outcome)
}

// Handler console (issue 14): procedure steps recorded from the browser.

/// Writes a procedure step's letter and detail from `text`: the facts the server answered
/// (`POST /console/cases/{ref}/sealed/events/facts`) and the handler's words, in the format of
/// `procedure::steps` (`name=value` fields separated by NUL). Answers `L` ‖ letter ‖ NUL ‖
/// detail, or `M` ‖ what is missing (in words) when the step needs words it was not given;
/// malformed text is [`Failure::Input`].
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_step_letter(text_ptr: *const u8, text_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let outcome = unsafe { text(text_ptr, text_len) }.and_then(|text| {
        match procedure::steps::compose(text) {
            Ok(composed) => {
                let mut out = Vec::with_capacity(composed.letter.len() + composed.detail.len() + 2);
                out.push(b'L');
                out.extend_from_slice(composed.letter.as_bytes());
                out.push(0);
                out.extend_from_slice(composed.detail.as_bytes());
                Ok(out)
            }
            Err(procedure::steps::ComposeError::Missing(what)) => {
                let mut out = vec![b'M'];
                out.extend_from_slice(what.as_bytes());
                Ok(out)
            }
            Err(procedure::steps::ComposeError::Malformed) => Err(Failure::Input),
        }
    });
    answer(outcome)
}

// Handler console (issue 14): evidence files sealed and opened in the browser, one file at a
// time, a slice at a time (memory stays bounded whatever the file's size).

/// A file being cleaned and sealed: its metadata stripper, its STREAM sealer, and the size of
/// the cleaned file so far.
struct FileSealing {
    stripper: strip::Stripper,
    sealer: AttachmentSealer,
    kept: u64,
}

thread_local! {
    static SEALING: RefCell<Option<FileSealing>> = const { RefCell::new(None) };
    static OPENING: RefCell<Option<AttachmentOpener>> = const { RefCell::new(None) };
}

/// What sealing and opening a file both begin with: the case data key, and the binding to the
/// case and the file's id.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
unsafe fn file_key_and_binding<'a>(
    key_ptr: *const u8,
    key_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    id_ptr: *const u8,
    id_len: usize,
) -> Result<(DataKey, AttachmentBinding<'a>), Failure> {
    // SAFETY: passed on from the caller.
    let (key, case_id, file_id) = unsafe {
        (
            bytes(key_ptr, key_len),
            text(case_ptr, case_len)?,
            text(id_ptr, id_len)?,
        )
    };
    Ok((data_key(key)?, AttachmentBinding::new(case_id, file_id)))
}

/// The next slice of the file in progress in `state`. A slice that fails drops the file: a
/// damaged or altered file is not carried on with (the next call answers [`Failure::Order`]).
fn next_step<S: 'static>(
    state: &'static std::thread::LocalKey<RefCell<Option<S>>>,
    step: impl FnOnce(&mut S) -> Result<Vec<u8>, Failure>,
) -> Result<Vec<u8>, Failure> {
    state.with(|cell| {
        let mut current = cell.borrow_mut();
        let file = current.as_mut().ok_or(Failure::Order)?;
        let outcome = step(file);
        if outcome.is_err() {
            *current = None;
        }
        outcome
    })
}

/// Ends the file in progress in `state`: taken out first, so nothing can follow its end.
fn last_step<S: 'static>(
    state: &'static std::thread::LocalKey<RefCell<Option<S>>>,
    step: impl FnOnce(S) -> Result<Vec<u8>, Failure>,
) -> Result<Vec<u8>, Failure> {
    state.with(|cell| {
        let file = cell.borrow_mut().take().ok_or(Failure::Order)?;
        step(file)
    })
}

/// Starts sealing a file of a case under the case data key, bound to the case and the file's
/// id (as the server seals one). Answers 0; a file still being sealed is dropped.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_file_seal_begin(
    key_ptr: *const u8,
    key_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    id_ptr: *const u8,
    id_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let file =
        unsafe { file_key_and_binding(key_ptr, key_len, case_ptr, case_len, id_ptr, id_len) };
    let outcome = file.and_then(|(key, binding)| {
        let sealer = AttachmentSealer::new(&key, &binding)?;
        SEALING.with(|sealing| {
            *sealing.borrow_mut() = Some(FileSealing {
                stripper: strip::Stripper::new(),
                sealer,
                kept: 0,
            });
        });
        Ok(Vec::new())
    });
    answer(outcome)
}

/// Cleans and seals the next slice of the file: answers the sealed bytes now known (maybe none).
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_file_seal_push(data_ptr: *const u8, data_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let data = unsafe { bytes(data_ptr, data_len) };
    let outcome = next_step(&SEALING, |file| {
        let mut clean = zeroize::Zeroizing::new(Vec::with_capacity(data.len()));
        file.stripper
            .push(data, &mut clean)
            .map_err(|_| Failure::FileDamaged)?;
        file.kept += clean.len() as u64;
        let mut sealed = Vec::with_capacity(clean.len() + 64);
        file.sealer.push(&clean, &mut sealed)?;
        Ok(sealed)
    });
    answer(outcome)
}

/// Ends the file: answers the cleaned size (8 bytes, big-endian) ‖ the length of the last
/// sealed bytes (4 bytes, big-endian) ‖ those bytes ‖ what stripping did, one line each:
/// `-` and what was removed, `!` and what stays in the file and may still identify someone.
#[unsafe(no_mangle)]
pub extern "C" fn su_file_seal_finish() -> i32 {
    let outcome = last_step(&SEALING, |file| {
        let FileSealing {
            stripper,
            mut sealer,
            mut kept,
        } = file;
        let mut clean = zeroize::Zeroizing::new(Vec::new());
        let report = stripper
            .finish(&mut clean)
            .map_err(|_| Failure::FileDamaged)?;
        kept += clean.len() as u64;
        let mut tail = Vec::new();
        sealer.push(&clean, &mut tail)?;
        sealer.finish(&mut tail)?;
        let tail_len = u32::try_from(tail.len()).map_err(|_| Failure::Input)?;
        let mut out = kept.to_be_bytes().to_vec();
        out.extend_from_slice(&tail_len.to_be_bytes());
        out.extend_from_slice(&tail);
        let lines: Vec<String> = report
            .removed
            .iter()
            .map(|what| format!("-{what}"))
            .chain(report.not_removed.iter().map(|what| format!("!{what}")))
            .collect();
        out.extend_from_slice(lines.join("\n").as_bytes());
        Ok(out)
    });
    answer(outcome)
}

/// Starts opening a sealed file of a case (as [`su_file_seal_begin`] sealed it). Answers 0.
///
/// # Safety
/// Every pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_file_open_begin(
    key_ptr: *const u8,
    key_len: usize,
    case_ptr: *const u8,
    case_len: usize,
    id_ptr: *const u8,
    id_len: usize,
) -> i32 {
    // SAFETY: passed on from the caller.
    let file =
        unsafe { file_key_and_binding(key_ptr, key_len, case_ptr, case_len, id_ptr, id_len) };
    let outcome = file.and_then(|(key, binding)| {
        let opener = AttachmentOpener::new(&key, &binding)?;
        OPENING.with(|opening| *opening.borrow_mut() = Some(opener));
        Ok(Vec::new())
    });
    answer(outcome)
}

/// Opens the next slice of a sealed file: answers the plaintext of every chunk now complete
/// (each authenticated; only [`su_file_open_finish`] proves nothing was cut off the end).
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_file_open_push(data_ptr: *const u8, data_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let data = unsafe { bytes(data_ptr, data_len) };
    let outcome = next_step(&OPENING, |opener| {
        let mut plain = Vec::new();
        opener.push(data, &mut plain)?;
        Ok(plain)
    });
    answer(outcome)
}

/// Opens the last chunk: fails with [`Failure::Decrypt`] if the file was cut short.
#[unsafe(no_mangle)]
pub extern "C" fn su_file_open_finish() -> i32 {
    let outcome = last_step(&OPENING, |opener| {
        let mut plain = Vec::new();
        opener.finish(&mut plain)?;
        Ok(plain)
    });
    answer(outcome)
}

/// A file name as the server keeps one: no path, no control characters, not empty, at most
/// 120 characters (the extension kept).
///
/// # Safety
/// The pointer and length must describe a live buffer from [`su_alloc`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn su_file_name(name_ptr: *const u8, name_len: usize) -> i32 {
    // SAFETY: passed on from the caller.
    let outcome =
        unsafe { text(name_ptr, name_len) }.map(|name| strip::clean_file_name(name).into_bytes());
    answer(outcome)
}
