//! Whole-bundle verification in process: parse + every check, per bundle.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_formats::{Bundle, PUBLIC_GOOD_TRUSTED_ROOT, TrustedRoot};
use signet_verify::{
    Artifact, IdentityPolicy, Policy, StringMatcher, TrustMaterial, verify_bundle,
};
use std::hint::black_box;

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

fn case(name: &str) -> (Vec<u8>, TrustMaterial) {
    let dir = signet_testdata::path(&format!("conformance/bundle-verify/{name}"));
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    let root = std::fs::read(dir.join("trusted_root.json"))
        .unwrap_or_else(|_| PUBLIC_GOOD_TRUSTED_ROOT.as_bytes().to_vec());
    (
        bundle,
        TrustMaterial::from_trusted_root(&TrustedRoot::from_json(&root).unwrap()).unwrap(),
    )
}

fn bundles(c: &mut Criterion) {
    let artifact = Artifact::Bytes(
        std::fs::read(signet_testdata::path("conformance/bundle-verify/a.txt")).unwrap(),
    );
    let policy = Policy::Identity(IdentityPolicy {
        san: StringMatcher::Exact(IDENTITY.into()),
        issuer: StringMatcher::Exact("https://token.actions.githubusercontent.com".into()),
        extensions: vec![],
    });
    let mut g = c.benchmark_group("verify_bundle");
    g.throughput(Throughput::Elements(1));
    for name in [
        "happy-path-v0.3",
        "happy-path-intoto-in-dsse-v3",
        "rekor2-happy-path",
    ] {
        let (raw, trust) = case(name);
        // Check once that it verifies, so the benchmark measures the success path.
        verify_bundle(
            &Bundle::from_json(&raw).unwrap(),
            &artifact,
            &trust,
            &policy,
            1_800_000_000,
        )
        .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let bundle = Bundle::from_json(black_box(&raw)).unwrap();
                verify_bundle(&bundle, &artifact, &trust, &policy, 1_800_000_000).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bundles);
criterion_main!(benches);
