//! Cross-checks between the native crypto core and its WebAssembly build (issue 14): the native
//! build computes tests/vectors/crypto.json from fixed inputs, and the same file is checked by
//! the module in Node (tests/vectors/node.mjs) and in Chromium (tests/browser).
//!
//! Deterministic outputs (lookup ids, public keys, Argon2id) must equal what the file says.
//! Sealing and wrapping draw random nonces and ephemeral keys, so the file keeps one ciphertext
//! each: it must open to its plaintext here, and the WebAssembly checks open the same bytes.
//!
//! `SPEAKUP_WRITE_VECTORS=1 cargo test --test integration crypto_vectors` rewrites the file
//! (keeping every ciphertext that still opens); without it the test fails on any difference.

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use serde_json::{Value, json};
use speakup::crypto::{
    Aad, AttachmentBinding, AttachmentOpener, AttachmentSealer, CaseKey, DataKey, KeyKind,
    PasswordCost, Provenance, RecordKind, Secret, SecretKey, SubmissionToken, WrapContext,
    derive_password_keys, open, seal, unwrap_key, wrap_key,
};

use speakup::procedure::steps::{StepFacts, StepWords, encode_facts, write};
use speakup::procedure::{Due, EscalationReason, EventKind, NotWhistleblowingKind, Outcome, State};

/// Steps of every kind with words in them (including text JSON and the page must carry intact).
fn step_samples() -> Vec<(StepFacts, StepWords<'static>)> {
    use time::macros::date;
    let due = Due {
        acknowledge_by: Some(date!(2026 - 11 - 18)),
        respond_by: Some(date!(2026 - 12 - 14)),
        update_by: Some(date!(2027 - 01 - 12)),
        ..Due::default()
    };
    let words = StepWords {
        reason: "Two witnesses are on leave until 1 December.",
        authorised_by: "Dana Director, director of nursing",
        findings: "The rota was short on 12 nights; «quotes» and \"marks\" stay.",
        actions: "Two posts advertised.\nA weekly check of rotas.",
        learning: "Check rotas weekly.",
        message: "We have spoken to the ward manager ✓",
        points: "1. Staffing on nights.\n2. The escalation route.",
    };
    let facts = |kind, state_before, not_whistleblowing| StepFacts {
        kind,
        state_before,
        due,
        not_whistleblowing,
        contact: "Cora Contact, Confidential contact".to_owned(),
    };
    vec![
        (facts(EventKind::Acknowledge, State::Stage2, None), words),
        (facts(EventKind::Stage1, State::Received, None), words),
        (
            facts(
                EventKind::Stage2 {
                    reason: EscalationReason::Complex,
                },
                State::Received,
                None,
            ),
            words,
        ),
        (
            facts(
                EventKind::NotWhistleblowing,
                State::Received,
                Some(NotWhistleblowingKind::PatientComplaint),
            ),
            words,
        ),
        (
            facts(
                EventKind::Extend {
                    until: date!(2026 - 12 - 04),
                },
                State::Stage1,
                None,
            ),
            words,
        ),
        (facts(EventKind::Update, State::Stage2, None), words),
        (facts(EventKind::Withdraw, State::Stage1, None), words),
        (
            facts(
                EventKind::Close {
                    outcome: Outcome::PartiallyUpheld,
                },
                State::Stage2,
                None,
            ),
            words,
        ),
    ]
}

/// The bytes of a test file: the same pattern in tests/vectors/check.mjs.
fn file_pattern(length: usize) -> Vec<u8> {
    (0..length)
        .map(|i| u8::try_from(i * 7 % 251).unwrap())
        .collect()
}

fn words_text(words: &StepWords<'_>) -> String {
    [
        ("reason", words.reason),
        ("authorised_by", words.authorised_by),
        ("findings", words.findings),
        ("actions", words.actions),
        ("learning", words.learning),
        ("message", words.message),
        ("points", words.points),
    ]
    .iter()
    .map(|(name, value)| format!("{name}={value}"))
    .collect::<Vec<_>>()
    .join("\0")
}

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/crypto.json");

fn bytes32(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(u8::try_from(i).unwrap()))
}

fn hex(bytes: &[u8]) -> String {
    HEXLOWER.encode(bytes)
}

fn unhex(value: &Value) -> Vec<u8> {
    HEXLOWER
        .decode(value.as_str().expect("hex string").as_bytes())
        .expect("valid hex")
}

fn case_key(seed: u8) -> CaseKey {
    let token = SubmissionToken::parse(&BASE64URL_NOPAD.encode(&bytes32(seed))).unwrap();
    CaseKey::from_submission_token(&token).unwrap()
}

fn kind(name: &str) -> RecordKind {
    RecordKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .unwrap()
}

fn key_kind(name: &str) -> KeyKind {
    [KeyKind::Case, KeyKind::Identity]
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .unwrap()
}

/// The associated data as the vectors (and speakup.js) write it.
fn aad(value: &Value) -> Aad<'_> {
    let base = Aad::new(
        value["scope"].as_str().unwrap(),
        kind(value["kind"].as_str().unwrap()),
        value["record"].as_str().unwrap(),
    );
    match value.get("provenance") {
        None => base,
        Some(p) => base.with_provenance(Provenance {
            author: p["author"].as_str().unwrap(),
            author_user_id: p.get("authorUserId").and_then(Value::as_str),
            event_id: p.get("eventId").and_then(Value::as_str),
            position: p["position"].as_i64().unwrap(),
            written_on: p["writtenOn"].as_str().unwrap(),
        }),
    }
}

fn data_key(bytes: &[u8]) -> DataKey {
    DataKey::from_secret(Secret::new(bytes.try_into().unwrap()))
}

fn secret_key(bytes: &[u8]) -> SecretKey {
    SecretKey::from_secret_bytes(&Secret::new(bytes.try_into().unwrap()))
}

/// The ciphertext the file already holds for this vector if it still opens to `expected`, else a
/// fresh one.
fn kept_or_new(
    existing: Option<&Value>,
    opens_to_expected: impl Fn(&[u8]) -> bool,
    fresh: impl FnOnce() -> Vec<u8>,
) -> Vec<u8> {
    existing
        .map(unhex)
        .filter(|old| opens_to_expected(old))
        .unwrap_or_else(fresh)
}

fn compute(existing: &Value) -> Value {
    let case_keys: Vec<Value> = [1u8, 2, 3]
        .into_iter()
        .map(|seed| {
            let key = case_key(seed);
            let display = key.to_display_string().expose_secret().clone();
            // As someone might type it: lower case, spaces for dashes, O for 0 and L for 1.
            let typed = display
                .to_lowercase()
                .replace('-', " ")
                .replace('0', "o")
                .replace('1', "l");
            let derived = CaseKey::parse(&typed).unwrap();
            json!({
                "typed": typed,
                "display": display,
                "lookup_id": hex(&derived.lookup_id()),
                "reporter_public": hex(derived.reporter_key_pair().unwrap().public.as_bytes()),
                "mailbox_proof": hex(derived.mailbox_proof().unwrap().expose_bytes()),
                "mailbox_proof_hash": hex(&derived.mailbox_proof().unwrap().stored_hash()),
            })
        })
        .collect();

    let seal_inputs = [
        (
            json!({"scope": "case-one", "kind": "concern", "record": "record-one"}),
            "The invoices for the ward refurbishment were split to avoid tender.".to_owned(),
        ),
        (
            json!({"scope": "case-one", "kind": "message", "record": "record-two", "provenance":
                {"author": "handler", "authorUserId": "user-7", "eventId": "event-3",
                 "position": 4, "writtenOn": "2026-12-04"}}),
            "Thank you. Could you say which month? Ünïcödé — ✓".to_owned(),
        ),
        (
            json!({"scope": "case-two", "kind": "identity", "record": "record-three", "provenance":
                {"author": "reporter", "position": 2, "writtenOn": "2026-01-31"}}),
            "x".repeat(2048),
        ),
    ];
    let seals: Vec<Value> = seal_inputs
        .into_iter()
        .enumerate()
        .map(|(index, (aad_value, plaintext))| {
            let key = bytes32(40 + u8::try_from(index).unwrap());
            let binding = aad(&aad_value);
            let sealed = kept_or_new(
                existing["seal"].get(index).map(|v| &v["sealed"]),
                |old| {
                    open(&data_key(&key), &binding, old)
                        .is_ok_and(|opened| opened.expose_secret() == plaintext.as_bytes())
                },
                || seal(&data_key(&key), &binding, plaintext.as_bytes()).unwrap(),
            );
            json!({"key": hex(&key), "aad": aad_value, "plaintext": plaintext, "sealed": hex(&sealed)})
        })
        .collect();

    let wraps: Vec<Value> = [("case-one", "case"), ("case-two", "identity")]
        .into_iter()
        .enumerate()
        .map(|(index, (case_id, kind_name))| {
            let seed = 60 + u8::try_from(index).unwrap();
            let secret = bytes32(seed);
            let public = secret_key(&secret).public_key();
            let key = bytes32(seed + 10);
            let context = WrapContext::new(case_id, key_kind(kind_name));
            let wrapped = kept_or_new(
                existing["wrap"].get(index).map(|v| &v["wrapped"]),
                |old| {
                    unwrap_key(&secret_key(&secret), old, &context)
                        .is_ok_and(|k| k.expose_bytes() == &key)
                },
                || wrap_key(&data_key(&key), &public, &context).unwrap(),
            );
            json!({"secret": hex(&secret), "public": hex(public.as_bytes()),
                   "fingerprint": public.fingerprint(), "data_key": hex(&key),
                   "case_id": case_id, "kind": kind_name, "wrapped": hex(&wrapped)})
        })
        .collect();

    let reporter_wraps: Vec<Value> = [4u8]
        .into_iter()
        .enumerate()
        .map(|(index, seed)| {
            let key = case_key(seed);
            let reporter = key.reporter_key_pair().unwrap();
            let data = bytes32(seed + 80);
            let context = WrapContext::new("case-three", KeyKind::Case);
            let wrapped = kept_or_new(
                existing["reporter_wrap"].get(index).map(|v| &v["wrapped"]),
                |old| {
                    unwrap_key(&reporter.secret, old, &context)
                        .is_ok_and(|k| k.expose_bytes() == &data)
                },
                || wrap_key(&data_key(&data), &reporter.public, &context).unwrap(),
            );
            json!({"case_key": key.to_display_string().expose_secret(), "data_key": hex(&data),
                   "case_id": "case-three", "kind": "case", "wrapped": hex(&wrapped)})
        })
        .collect();

    // Argon2id at the named test cost (the production cost is the same code, 8192 times the
    // memory): the one sub-floor cost the module accepts.
    let passwords: Vec<Value> = ["correct horse battery staple", "pässwörd ✓"]
        .into_iter()
        .enumerate()
        .map(|(index, password)| {
            let salt: [u8; 16] = std::array::from_fn(|i| u8::try_from(i + index * 16).unwrap());
            let cost = PasswordCost::INSECURE_FOR_TESTS;
            let keys =
                derive_password_keys(&Secret::new(password.to_owned()), &salt, cost).unwrap();
            json!({"password": password, "salt": hex(&salt),
                   "cost": {"memoryKib": cost.memory_kib, "iterations": cost.iterations,
                            "parallelism": cost.parallelism},
                   "kek": hex(keys.kek().expose_bytes()), "proof": hex(keys.proof().expose_bytes()),
                   "verifier": hex(&keys.verifier())})
        })
        .collect();

    // Procedure steps' letters (not cryptography, but the same module): what the server
    // answers as facts, with a handler's words added, must give the letter and detail the
    // server writes itself.
    let steps: Vec<Value> = step_samples()
        .into_iter()
        .map(|(facts, words)| {
            let text = format!("{}\0{}", encode_facts(&facts), words_text(&words));
            let written = write(&facts, &words).unwrap();
            json!({"text": text, "letter": written.letter, "detail": written.detail})
        })
        .collect();

    // Evidence files sealed in the browser (the handler console): small files sealed natively,
    // which the module must open (larger ones it seals and opens itself, across chunks); the
    // fixture photo with GPS, which the module must clean exactly as the server does; and file
    // names as the server keeps them.
    let files: Vec<Value> = [0usize, 100]
        .into_iter()
        .enumerate()
        .map(|(index, length)| {
            let key = bytes32(60 + u8::try_from(index).unwrap());
            let (case_id, file_id) = ("case-files", format!("file-{index}"));
            let plain = file_pattern(length);
            let binding = AttachmentBinding::new(case_id, &file_id);
            let sealed = kept_or_new(
                existing["file"].get(index).map(|v| &v["sealed"]),
                |old| {
                    let Ok(mut opener) = AttachmentOpener::new(&data_key(&key), &binding) else {
                        return false;
                    };
                    let mut out = Vec::new();
                    opener.push(old, &mut out).is_ok()
                        && opener.finish(&mut out).is_ok()
                        && out == plain
                },
                || {
                    let mut sealer = AttachmentSealer::new(&data_key(&key), &binding).unwrap();
                    let mut out = Vec::new();
                    sealer.push(&plain, &mut out).unwrap();
                    sealer.finish(&mut out).unwrap();
                    out
                },
            );
            json!({"key": hex(&key), "case_id": case_id, "file_id": file_id, "length": length,
                   "sealed": hex(&sealed)})
        })
        .collect();
    let photo = include_bytes!("../fixtures/photo-with-gps.jpg");
    let mut stripper = speakup::strip::Stripper::new();
    let mut stripped = Vec::new();
    stripper.push(photo, &mut stripped).unwrap();
    let report = stripper.finish(&mut stripped).unwrap();
    let names: Vec<Value> = [
        "rota.jpg",
        "C:\\Users\\me\\ward 7 rota.jpg",
        "../../etc/passwd",
        ".htaccess",
        "a\"b<c>\r\n.pdf",
        "",
    ]
    .into_iter()
    .map(|name| json!({"name": name, "kept": speakup::strip::clean_file_name(name)}))
    .collect();

    json!({
        "about": "speakup crypto vectors from the native build (tests/integration/crypto_vectors.rs); checked by the WebAssembly build in Node and Chromium",
        "case_key": case_keys,
        "seal": seals,
        "wrap": wraps,
        "reporter_wrap": reporter_wraps,
        "password": passwords,
        "step": steps,
        "file": files,
        "photo": {"original": hex(photo), "stripped": hex(&stripped),
                  "removed": report.removed, "not_removed": report.not_removed},
        "file_name": names,
    })
}

#[test]
fn crypto_vectors_match_the_native_build() {
    let existing: Value = std::fs::read_to_string(PATH)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let computed = compute(&existing);
    if std::env::var_os("SPEAKUP_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&computed).unwrap() + "\n";
        std::fs::write(PATH, text).unwrap();
        return;
    }
    assert_eq!(
        computed, existing,
        "tests/vectors/crypto.json is out of step with the native crypto core; rewrite it with \
         SPEAKUP_WRITE_VECTORS=1 cargo test --test integration crypto_vectors"
    );
}
