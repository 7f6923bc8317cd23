use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use speakup::crypto::{
    Aad, AttachmentBinding, AttachmentOpener, AttachmentSealer, CaseKey, CryptoError, DataKey,
    KeyKind, KeyPair, PasswordCost, RecordKind, Secret, WrapContext, derive_password_keys,
    new_password_salt, open, seal, unwrap_key, wrap_key,
};

/// A benchmark cannot recover from a failed setup; fail loudly with the
/// error rather than measure nonsense.
fn must<T>(result: Result<T, CryptoError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("benchmark setup failed: {error}"),
    }
}

fn seal_open(c: &mut Criterion) {
    let key = DataKey::generate();
    let aad = Aad::new("case-1", RecordKind::Message, "message-1");
    let plaintext = vec![0x5Au8; 2048];
    let sealed = must(seal(&key, &aad, &plaintext));
    c.bench_function("seal 2 KiB", |b| {
        b.iter(|| must(seal(&key, &aad, black_box(&plaintext))))
    });
    c.bench_function("open 2 KiB", |b| {
        b.iter(|| must(open(&key, &aad, black_box(&sealed))))
    });
}

/// Attachment sealing as an upload feeds it: 64 KiB slices, the size a
/// multipart field arrives in, into one reused output buffer.
fn attachment_stream(c: &mut Criterion) {
    const FILE_LEN: usize = 16 * 1024 * 1024;
    let key = DataKey::generate();
    let binding = AttachmentBinding::new("case-1", "attachment-1");
    let file = vec![0xA5u8; FILE_LEN];
    let mut sealed = Vec::new();
    let mut sealer = must(AttachmentSealer::new(&key, &binding));
    must(sealer.push(&file, &mut sealed));
    must(sealer.finish(&mut sealed));

    let mut group = c.benchmark_group("attachment");
    group.throughput(Throughput::Bytes(FILE_LEN as u64));
    group.sample_size(20);
    group.bench_function("seal 16 MiB", |b| {
        let mut out = Vec::with_capacity(128 * 1024);
        b.iter(|| {
            let mut sealer = must(AttachmentSealer::new(&key, &binding));
            for slice in black_box(&file).chunks(64 * 1024) {
                out.clear();
                must(sealer.push(slice, &mut out));
            }
            out.clear();
            must(sealer.finish(&mut out));
        })
    });
    // Baseline on the same machine at the same moment: the bare AEAD over the same 64 KiB
    // chunks, so a contended machine shows up as a low baseline rather than a slow STREAM.
    group.bench_function("bare XChaCha20-Poly1305 16 MiB", |b| {
        use chacha20poly1305::aead::{AeadInOut, KeyInit};
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(&[7u8; 32].into());
        let mut chunk = vec![0xA5u8; 64 * 1024];
        b.iter(|| {
            for counter in 0u32..256 {
                let mut nonce = [0u8; 24];
                nonce[20..].copy_from_slice(&counter.to_be_bytes());
                let tag =
                    cipher.encrypt_inout_detached(&nonce.into(), b"", chunk.as_mut_slice().into());
                black_box(tag.is_ok());
            }
        })
    });
    group.bench_function("open 16 MiB", |b| {
        let mut out = Vec::with_capacity(128 * 1024);
        b.iter(|| {
            let mut opener = must(AttachmentOpener::new(&key, &binding));
            for slice in black_box(&sealed).chunks(64 * 1024) {
                out.clear();
                must(opener.push(slice, &mut out));
            }
            out.clear();
            must(opener.finish(&mut out));
        })
    });
    group.finish();
}

fn wrap_unwrap(c: &mut Criterion) {
    let recipient = KeyPair::generate();
    let data_key = DataKey::generate();
    let context = WrapContext::new("case-1", KeyKind::Case);
    let wrapped = must(wrap_key(&data_key, &recipient.public, &context));
    c.bench_function("wrap_key", |b| {
        b.iter(|| must(wrap_key(&data_key, black_box(&recipient.public), &context)))
    });
    c.bench_function("unwrap_key", |b| {
        b.iter(|| must(unwrap_key(&recipient.secret, black_box(&wrapped), &context)))
    });
}

fn case_key(c: &mut Criterion) {
    c.bench_function("case key generate+lookup_id+reporter_key_pair", |b| {
        b.iter(|| {
            let key = CaseKey::generate();
            let lookup = key.lookup_id();
            let pair = must(key.reporter_key_pair());
            (lookup, pair.public)
        })
    });
    let key = CaseKey::generate();
    let typed = key.to_display_string();
    c.bench_function("case key parse", |b| {
        b.iter(|| CaseKey::parse(black_box(typed.expose_secret())).is_ok())
    });
}

fn password(c: &mut Criterion) {
    let password = Secret::new(String::from("correct horse battery staple"));
    let salt = new_password_salt();
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("derive PRODUCTION (64 MiB, t=3, p=1)", |b| {
        b.iter(|| {
            must(derive_password_keys(
                &password,
                &salt,
                PasswordCost::PRODUCTION,
            ))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = seal_open, attachment_stream, wrap_unwrap, case_key, password
}
criterion_main!(benches);
