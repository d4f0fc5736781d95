//! The TSA's per-request work without HTTP: parse and check a `TimeStampReq`, build and sign
//! the token, encode the `TimeStampResp`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_tsa::SigningAlgorithm;
use std::hint::black_box;

fn respond(c: &mut Criterion) {
    let mut group = c.benchmark_group("tsa_respond");
    group.throughput(Throughput::Elements(1));
    for (name, alg) in [
        ("p256", SigningAlgorithm::EcdsaP256Sha256),
        ("p384", SigningAlgorithm::EcdsaP384Sha384),
    ] {
        let tsa = authority(alg, NOW.unix_seconds);
        for cert_req in [true, false] {
            let mut req = Req::over(SHA256, b"signature");
            req.nonce = Some(vec![0x11; 8]);
            req.cert_req = cert_req;
            let der = req.der();
            let label = format!("{name}/cert_req={cert_req}");
            group.bench_function(&label, |b| {
                b.iter(|| tsa.respond(black_box(&der), NOW, [0x33; 16]));
            });
        }
    }
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    group.bench_function("rejection/malformed", |b| {
        b.iter(|| tsa.respond(black_box(b"\x30\x03\x02\x01\x05"), NOW, [0; 16]));
    });
    group.finish();
}

criterion_group!(benches, respond);
criterion_main!(benches);
