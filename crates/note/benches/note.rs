//! Checkpoint signing and verification.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_merkle::{Hash, TreeSize};
use signet_note::*;
use std::hint::black_box;

fn checkpoints(c: &mut Criterion) {
    let text =
        Checkpoint::new("log.example.com/2026", TreeSize(123_456_789), Hash([3; 32])).to_text();
    let ed = Ed25519NoteSigner::from_seed("log.example.com/2026", &[9; 32]).unwrap();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let ecdsa = EcdsaP256NoteSigner::from_pkcs8(
        "rekor.example",
        pkcs8.as_ref(),
        Box::new(SystemRandom::new()),
    )
    .unwrap();

    let ed_note = sign_note(&text, &[&ed]).unwrap();
    let ed_verifiers = NoteVerifiers::from_vkeys([ed.verifier_key().as_str()]).unwrap();
    let ecdsa_note = sign_note(&text, &[&ecdsa]).unwrap();
    let mut ecdsa_verifiers = NoteVerifiers::new();
    ecdsa_verifiers.push(Box::new(
        PkixNoteVerifier::new("rekor.example", ecdsa.spki_der()).unwrap(),
    ));

    let mut g = c.benchmark_group("checkpoint");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign_ed25519", |b| {
        b.iter(|| sign_note(black_box(&text), &[&ed]).unwrap())
    });
    g.bench_function("sign_ecdsa_p256", |b| {
        b.iter(|| sign_note(black_box(&text), &[&ecdsa]).unwrap())
    });
    g.bench_function("open_and_parse_ed25519", |b| {
        b.iter(|| {
            Checkpoint::parse(
                open_note(black_box(ed_note.as_bytes()), &ed_verifiers)
                    .unwrap()
                    .text(),
            )
            .unwrap()
        })
    });
    g.bench_function("open_and_parse_ecdsa_p256", |b| {
        b.iter(|| {
            Checkpoint::parse(
                open_note(black_box(ecdsa_note.as_bytes()), &ecdsa_verifiers)
                    .unwrap()
                    .text(),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, checkpoints);
criterion_main!(benches);
