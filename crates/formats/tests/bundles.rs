//! Every Sigstore bundle in `../shared/testdata` (sigstore-conformance, sigstore-python,
//! sigstore-go): which parse, which are rejected as malformed and why, their Rekor entry
//! bodies, DSSE payloads, and JSON round trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use signet_formats::FormatError;
use signet_formats::bundle::*;
use signet_formats::intoto::{self, Statement};
use signet_formats::rekor::{RekorBody, Verifier};

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files under `dir` (recursively) whose names end with one of `suffixes`, sorted.
fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, suffixes));
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && suffixes.iter().any(|s| name.ends_with(s))
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every bundle in the shared test data, named relative to `testdata/`.
fn all_bundles() -> Vec<(String, PathBuf)> {
    let root = signet_testdata::dir();
    let mut paths = Vec::new();
    paths.extend(files(
        &root.join("conformance/bundle-verify"),
        &["bundle.sigstore.json"],
    ));
    paths.extend(files(
        &root.join("sigstore-python"),
        &[".sigstore", ".sigstore.json"],
    ));
    paths.extend(files(&root.join("sigstore-go/bundles"), &[".json"]));
    paths.extend(
        files(&root.join("sigstore-go/examples"), &[".json"])
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("bundle-"))
            }),
    );
    paths
        .into_iter()
        .map(|p| (p.strip_prefix(&root).unwrap().display().to_string(), p))
        .collect()
}

/// The bundles that must not parse, with the reason, checked by variant and field.
fn expected_failure(name: &str, err: &FormatError) -> Option<bool> {
    let field_is = |want: &str| match err {
        FormatError::EmptyList { field }
        | FormatError::MissingField { field }
        | FormatError::NegativeValue { field, .. }
        | FormatError::TooMany { field, .. } => field == want,
        _ => false,
    };
    Some(match name {
        // README: truncated JSON, "should fail with parse error".
        "conformance/bundle-verify/bundle-malformed-json_fail/bundle.sigstore.json" => {
            matches!(err, FormatError::Json { what: "bundle", .. })
        }
        // README: "Bundle contains empty certificate chain". A chain needs a leaf.
        "conformance/bundle-verify/bundle-empty-certificate-chain_fail/bundle.sigstore.json" => {
            field_is("verificationMaterial.x509CertificateChain.certificates")
        }
        // README: "tlog entry has negative log index". No log has one.
        "conformance/bundle-verify/bundle-negative-log-index_fail/bundle.sigstore.json" => {
            field_is("verificationMaterial.tlogEntries[0].logIndex")
        }
        // README: "unknown media type" ("this is completely wrong").
        "sigstore-python/bundle_invalid_version.txt.sigstore" => {
            matches!(err, FormatError::UnsupportedMediaType(m) if m == "this is completely wrong")
        }
        // README: "no certificate": the x509CertificateChain is empty.
        "sigstore-python/bundle_no_cert_v1.txt.sigstore" => {
            field_is("verificationMaterial.x509CertificateChain.certificates")
        }
        // README: "no checkpoint": the inclusion proof lacks its required checkpoint (as
        // sigstore-python and sigstore-go reject when loading the bundle).
        "sigstore-python/bundle_no_checkpoint.txt.sigstore" => {
            field_is("verificationMaterial.tlogEntries[0].inclusionProof.checkpoint")
        }
        // README: "too many timestamps, so it must be rejected": 33 > MAX_RFC3161_TIMESTAMPS.
        "sigstore-python/tsa/bundle.many_timestamp.sigstore" => matches!(
            err,
            FormatError::TooMany { field, count: 33, limit: 32 }
                if field == "verificationMaterial.timestampVerificationData.rfc3161Timestamps"
        ),
        _ => return None,
    })
}

/// Bundles that parse, with (versions, content kind, material kind).
fn parsed_bundles() -> Vec<(String, Bundle)> {
    all_bundles()
        .into_iter()
        .filter_map(|(name, path)| Bundle::from_json(&read(&path)).ok().map(|b| (name, b)))
        .collect()
}

#[test]
fn every_bundle_parses_or_fails_for_its_documented_reason() {
    let bundles = all_bundles();
    assert!(bundles.len() >= 70, "found only {} bundles", bundles.len());
    let mut failures = 0;
    for (name, path) in &bundles {
        match Bundle::from_json(&read(path)) {
            Ok(bundle) => {
                assert!(
                    expected_failure(name, &FormatError::UnsupportedMediaType(String::new()))
                        .is_none(),
                    "{name} parsed but must be rejected"
                );
                assert_eq!(
                    BundleVersion::from_media_type(&bundle.media_type).unwrap(),
                    bundle.version()
                );
            }
            Err(err) => {
                failures += 1;
                match expected_failure(name, &err) {
                    Some(true) => {}
                    Some(false) => panic!("{name} rejected for the wrong reason: {err}"),
                    None => panic!("{name} must parse: {err}"),
                }
            }
        }
    }
    assert_eq!(failures, 7);
}

#[test]
fn versions_and_variants_of_known_bundles() {
    let get = |rel: &str| Bundle::from_json(&read(&signet_testdata::path(rel))).unwrap();
    let cases = [
        (
            "conformance/bundle-verify/happy-path-v0.1/bundle.sigstore.json",
            BundleVersion::V0_1,
        ),
        (
            "conformance/bundle-verify/happy-path-v0.2/bundle.sigstore.json",
            BundleVersion::V0_2,
        ),
        (
            "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
            BundleVersion::V0_3,
        ),
        (
            "conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json",
            BundleVersion::V0_3,
        ),
    ];
    for (rel, version) in cases {
        assert_eq!(get(rel).version(), version, "{rel}");
    }

    let b = get("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    assert!(
        matches!(b.verification_material.content, VerificationMaterialContent::Certificate(ref der) if der.first() == Some(&0x30))
    );
    let BundleContent::MessageSignature(m) = &b.content else {
        panic!()
    };
    let digest = m.message_digest.as_ref().unwrap();
    assert_eq!(digest.algorithm, HashAlgorithm::Sha2_256);
    assert_eq!(
        hex::encode(&digest.digest),
        "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
    );
    let entry = &b.verification_material.tlog_entries[0];
    assert_eq!(entry.log_index, 79_571_823);
    assert_eq!(entry.integrated_time, 1_710_869_186);
    assert_eq!(entry.log_id.len(), 32);
    assert_eq!(entry.kind_version.kind, "hashedrekord");
    let proof = entry.inclusion_proof.as_ref().unwrap();
    assert_eq!((proof.log_index, proof.tree_size), (75_408_392, 75_408_393));
    assert_eq!(proof.hashes.len(), 11);
    assert!(
        proof
            .checkpoint
            .starts_with("rekor.sigstore.dev - 2605736670972794746\n")
    );
    assert!(entry.inclusion_promise.is_some());

    // Rekor v2: no integrated time, no promise, an RFC 3161 timestamp instead.
    let b = get("conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json");
    let entry = &b.verification_material.tlog_entries[0];
    assert_eq!(entry.integrated_time, 0);
    assert!(entry.inclusion_promise.is_none());
    assert_eq!(
        b.verification_material
            .timestamp_verification_data
            .as_ref()
            .unwrap()
            .rfc3161_timestamps
            .len(),
        1
    );

    let b = get("conformance/bundle-verify/managed-key-happy-path/bundle.sigstore.json");
    assert!(matches!(
        b.verification_material.content,
        VerificationMaterialContent::PublicKey { .. }
    ));

    let b = get("sigstore-go/bundles/dsse-2sigs.sigstore.json");
    let BundleContent::DsseEnvelope(e) = &b.content else {
        panic!()
    };
    assert_eq!(e.signatures.len(), 2);
    assert_eq!(e.payload_type, intoto::PAYLOAD_TYPE);

    let b = get("sigstore-go/bundles/public-key-validity.sigstore.json");
    assert!(b.verification_material.tlog_entries.is_empty());
}

/// The one parsed bundle whose entry body is malformed. README: "log entry does not match the
/// signed artifact"; its intoto `sig` was written as single base64 (DER), not as the base64 of
/// the base64 signature that Rekor stores, so its inner layer is not base64.
const MALFORMED_BODY: &str =
    "conformance/bundle-verify/intoto-log-entry-mismatch_fail/bundle.sigstore.json";

#[test]
fn every_rekor_body_parses_and_matches_its_kind_version() {
    let mut seen = std::collections::BTreeSet::new();
    for (name, bundle) in parsed_bundles() {
        for entry in &bundle.verification_material.tlog_entries {
            let parsed = RekorBody::parse(&entry.canonicalized_body);
            if name == MALFORMED_BODY {
                assert!(
                    matches!(
                        parsed,
                        Err(FormatError::InvalidBase64 { ref field, .. })
                            if field == "spec.content.envelope.signatures[0].sig"
                    ),
                    "{parsed:?}"
                );
                continue;
            }
            let body = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            let (body2, key_details) =
                RekorBody::parse_with_key_details(&entry.canonicalized_body).unwrap();
            assert_eq!(body2, body);
            let v2 = matches!(body, RekorBody::HashedRekordV002 { .. });
            assert_eq!(key_details.len(), usize::from(v2), "{name}");
            assert!(key_details.iter().all(|k| k.starts_with("PKIX_")), "{name}");
            assert_eq!(
                body.kind_version(),
                (
                    entry.kind_version.kind.as_str(),
                    entry.kind_version.version.as_str()
                ),
                "{name}"
            );
            seen.insert((body.kind(), body.api_version()));
            check_body_against_bundle(&name, &body, &bundle);
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            ("dsse", "0.0.1"),
            ("hashedrekord", "0.0.1"),
            ("hashedrekord", "0.0.2"),
            ("intoto", "0.0.2")
        ]
    );
}

/// Spot checks that the extracted fields are the decoded values, using the happy paths.
fn check_body_against_bundle(name: &str, body: &RekorBody, bundle: &Bundle) {
    if name.contains("_fail") || name.contains("cve_2022") || name.contains("2sigs") {
        return;
    }
    match (body, &bundle.content) {
        (
            RekorBody::HashedRekordV001 {
                digest_algorithm,
                digest_hex,
                signature,
                public_key,
            },
            BundleContent::MessageSignature(m),
        ) => {
            assert_eq!(digest_algorithm, "sha256", "{name}");
            if let Some(d) = &m.message_digest {
                assert_eq!(*digest_hex, hex::encode(&d.digest), "{name}");
            }
            assert_eq!(*signature, m.signature, "{name}");
            assert!(public_key.starts_with(b"-----BEGIN "), "{name}");
        }
        (
            RekorBody::HashedRekordV002 {
                digest_algorithm,
                signature,
                verifier,
                ..
            },
            content,
        ) => {
            assert_eq!(digest_algorithm, "SHA2_256", "{name}");
            let sig = match content {
                BundleContent::MessageSignature(m) => &m.signature,
                BundleContent::DsseEnvelope(e) => &e.signatures[0].sig,
            };
            assert_eq!(signature, sig, "{name}");
            match (&bundle.verification_material.content, verifier) {
                (VerificationMaterialContent::Certificate(der), Verifier::X509Certificate(v)) => {
                    assert_eq!(der, v, "{name}")
                }
                (_, Verifier::PublicKey(spki)) => assert_eq!(spki.first(), Some(&0x30)),
                other => panic!("{name}: {other:?}"),
            }
        }
        (
            RekorBody::DsseV001 {
                payload_hash,
                envelope_hash,
                signatures,
            },
            BundleContent::DsseEnvelope(e),
        ) => {
            assert_eq!(payload_hash.as_ref().unwrap().0, "sha256");
            assert_eq!(envelope_hash.as_ref().unwrap().0, "sha256");
            assert_eq!(signatures[0].0, e.signatures[0].sig, "{name}");
            assert!(signatures[0].1.starts_with(b"-----BEGIN "), "{name}");
        }
        (
            RekorBody::IntotoV002 {
                payload_hash,
                hash,
                envelope_payload_type,
                signatures,
            },
            BundleContent::DsseEnvelope(e),
        ) => {
            assert!(payload_hash.is_some() && hash.is_some(), "{name}");
            assert_eq!(envelope_payload_type, &e.payload_type, "{name}");
            assert_eq!(signatures.len(), e.signatures.len(), "{name}");
            assert_eq!(signatures[0].0, e.signatures[0].sig, "{name}");
            assert!(signatures[0].1.starts_with(b"-----BEGIN "), "{name}");
        }
        other => panic!("{name}: unexpected body for content: {other:?}"),
    }
}

#[test]
fn every_in_toto_payload_parses_as_a_statement() {
    let mut count = 0;
    for (name, bundle) in parsed_bundles() {
        if let BundleContent::DsseEnvelope(e) = &bundle.content
            && e.payload_type == intoto::PAYLOAD_TYPE
        {
            let s = Statement::from_json(&e.payload).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!s.subject.is_empty(), "{name}");
            count += 1;
        }
    }
    assert!(count >= 10, "{count}");
}

#[test]
fn every_parsed_bundle_round_trips() {
    for (name, bundle) in parsed_bundles() {
        let json = bundle.to_json();
        assert_eq!(
            Bundle::from_json(json.as_bytes()).as_ref(),
            Ok(&bundle),
            "{name}"
        );
        let pretty = bundle.to_json_pretty();
        assert_eq!(
            Bundle::from_json(pretty.as_bytes()).as_ref(),
            Ok(&bundle),
            "{name}"
        );
    }
}

/// Every value in `original` is in `emitted`, except for fields the emitter adds (zero values).
fn assert_contains(original: &Value, emitted: &Value, path: &str) {
    match (original, emitted) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let Some(w) = b.get(k) else {
                    panic!("{path}.{k} was dropped")
                };
                assert_contains(v, w, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}");
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                assert_contains(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(original, emitted, "{path}"),
    }
}

#[test]
fn emitted_json_keeps_every_input_field() {
    for (name, path) in all_bundles() {
        let bytes = read(&path);
        let Ok(bundle) = Bundle::from_json(&bytes) else {
            continue;
        };
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        let emitted: Value = serde_json::from_str(&bundle.to_json()).unwrap();
        assert_contains(&original, &emitted, &name);
    }
}

#[test]
fn emitted_json_writes_zero_values() {
    let rel = "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json";
    let mut bundle = Bundle::from_json(&read(&signet_testdata::path(rel))).unwrap();
    let entry = &mut bundle.verification_material.tlog_entries[0];
    entry.log_index = 0;
    entry.integrated_time = 0;
    let proof = entry.inclusion_proof.as_mut().unwrap();
    proof.log_index = 0;
    proof.hashes.clear();
    let json = bundle.to_json();
    assert!(json.contains(r#""logIndex":"0""#), "{json}");
    assert!(json.contains(r#""integratedTime":"0""#), "{json}");
    assert!(json.contains(r#""hashes":[]"#), "{json}");
    assert_eq!(Bundle::from_json(json.as_bytes()).unwrap(), bundle);

    // Rekor v2 entries have no integratedTime in the input; it is written as "0".
    let rel = "conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json";
    let bundle = Bundle::from_json(&read(&signet_testdata::path(rel))).unwrap();
    assert!(bundle.to_json().contains(r#""integratedTime":"0""#));

    // With no tlog entries, the list is still written.
    let rel = "sigstore-go/bundles/public-key-validity.sigstore.json";
    let bundle = Bundle::from_json(&read(&signet_testdata::path(rel))).unwrap();
    assert!(bundle.to_json().contains(r#""tlogEntries":[]"#));
}

#[test]
fn happy_path_v0_3_prints_back_exactly() {
    let rel = "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json";
    let bytes = read(&signet_testdata::path(rel));
    let original: Value = serde_json::from_slice(&bytes).unwrap();
    let emitted: Value =
        serde_json::from_str(&Bundle::from_json(&bytes).unwrap().to_json()).unwrap();
    assert_eq!(original, emitted);
}
