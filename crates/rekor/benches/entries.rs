//! The per-entry work of the log server's create path: validate and canonicalize a request,
//! sign a SET, write the response.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use signet_formats::Bundle;
use signet_rekor::{
    EcdsaP256EntrySigner, EntryId, LogEntry, LogEntryAnon, canonicalize_create_entry_request,
    canonicalize_proposed_entry, sign_entry_timestamp,
};
use std::hint::black_box;

fn stored_body(case: &str) -> Vec<u8> {
    let path = signet_testdata::path(&format!(
        "conformance/bundle-verify/{case}/bundle.sigstore.json"
    ));
    let bundle = Bundle::from_json(&std::fs::read(path).unwrap()).unwrap();
    bundle.verification_material.tlog_entries[0]
        .canonicalized_body
        .clone()
}

fn entries(c: &mut Criterion) {
    let mut g = c.benchmark_group("entry");
    g.throughput(Throughput::Elements(1));

    // A Fulcio-certificate hashedrekord 0.0.1: the canonical body is also the request.
    let v1 = stored_body("happy-path-v0.3");
    g.bench_function("canonicalize v1 hashedrekord (certificate)", |b| {
        b.iter(|| canonicalize_proposed_entry(black_box(&v1)).unwrap())
    });

    let body: Value = serde_json::from_slice(&stored_body("rekor2-happy-path")).unwrap();
    let spec = &body["spec"]["hashedRekordV002"];
    let v2 = serde_json::to_vec(&json!({"hashedRekordRequestV002": {
        "digest": spec["data"]["digest"], "signature": spec["signature"]}}))
    .unwrap();
    g.bench_function("canonicalize v2 hashedrekord (certificate)", |b| {
        b.iter(|| canonicalize_create_entry_request(black_box(&v2)).unwrap())
    });

    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let signer = EcdsaP256EntrySigner::from_pkcs8(pkcs8.as_ref(), Box::new(rng)).unwrap();
    g.bench_function("sign SET", |b| {
        b.iter(|| sign_entry_timestamp(&signer, black_box(&v1), 1_700_000_000, 123_456).unwrap())
    });

    let entry = canonicalize_proposed_entry(&v1).unwrap();
    let anon = LogEntryAnon::signed(&entry.body, 1_700_000_000, 123_456, &signer, None).unwrap();
    let response = LogEntry::new(EntryId::new(1, entry.uuid()), anon);
    g.bench_function("write v1 LogEntry", |b| {
        b.iter(|| black_box(&response).to_json())
    });
    g.finish();
}

criterion_group!(benches, entries);
criterion_main!(benches);
