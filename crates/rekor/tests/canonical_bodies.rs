//! Byte-for-byte canonicalization against the real canonical bodies in the shared bundles:
//! each body is turned back into the request a client sent, canonicalized, and compared.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_rekor::{
    CanonicalEntry, RekorError, SearchKey, canonical_json, canonicalize_create_entry_request,
    canonicalize_proposed_entry, search_keys_of_body,
};

use common::{RealBody, real_bodies};

/// The request a client sent for a stored body, if the bundle holds enough to rebuild it.
fn rebuild_request(real: &RealBody) -> Option<(&'static str, Vec<u8>)> {
    let (kind, version) = real.kind_version();
    let spec = &real.json["spec"];
    match (kind.as_str(), version.as_str()) {
        // A canonical hashedrekord 0.0.1 body is itself a valid proposed entry.
        ("hashedrekord", "0.0.1") => Some(("v1", real.body.clone())),
        ("hashedrekord", "0.0.2") => {
            let entry = &spec["hashedRekordV002"];
            let request = json!({"hashedRekordRequestV002": {
                "digest": entry["data"]["digest"],
                "signature": entry["signature"],
            }});
            Some(("v2", serde_json::to_vec(&request).unwrap()))
        }
        ("dsse", "0.0.1") => {
            // The envelope as the client serialized it (Go's encoding/json of the protobuf
            // struct: compact, `keyid` omitted when empty).
            let envelope = real.bundle.get("dsseEnvelope")?;
            let signatures: Vec<Value> = envelope["signatures"]
                .as_array()?
                .iter()
                .map(|s| match s.get("keyid").and_then(Value::as_str) {
                    Some(k) if !k.is_empty() => json!({"sig": s["sig"], "keyid": k}),
                    _ => json!({"sig": s["sig"]}),
                })
                .collect();
            let text = format!(
                r#"{{"payload":{},"payloadType":{},"signatures":{}}}"#,
                envelope["payload"],
                envelope["payloadType"],
                serde_json::to_string(&signatures).unwrap()
            );
            let verifiers: Vec<&Value> = spec["signatures"]
                .as_array()?
                .iter()
                .map(|s| &s["verifier"])
                .collect();
            let request = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "proposedContent": {"envelope": text, "verifiers": verifiers}}});
            Some(("v1", serde_json::to_vec(&request).unwrap()))
        }
        ("intoto", "0.0.2") => {
            // The signatures and the client's envelope hash come from the body; the payload
            // (which the body omits) from the bundle's envelope.
            let envelope = real.bundle.get("dsseEnvelope")?;
            let payload_text = envelope["payload"].as_str()?;
            let content = &spec["content"];
            let request = json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
                "envelope": {
                    "payload": STANDARD.encode(payload_text),
                    "payloadType": envelope["payloadType"],
                    "signatures": content["envelope"]["signatures"],
                },
                "hash": content["hash"],
            }}});
            Some(("v1", serde_json::to_vec(&request).unwrap()))
        }
        _ => None,
    }
}

fn canonicalize(api: &str, request: &[u8]) -> Result<CanonicalEntry, RekorError> {
    match api {
        "v1" => canonicalize_proposed_entry(request),
        _ => canonicalize_create_entry_request(request),
    }
}

#[test]
fn every_real_body_is_in_canonical_form() {
    let bodies = real_bodies();
    let mut checked = 0;
    for real in &bodies {
        if real.json.is_null() {
            continue;
        }
        assert_eq!(
            canonical_json(&real.json).unwrap().as_bytes(),
            real.body.as_slice(),
            "{}: stored body is not RFC 8785 JSON",
            real.file
        );
        checked += 1;
    }
    assert_eq!(checked, bodies.len());
    assert_eq!(
        checked, 42,
        "distinct canonical bodies in the shared bundles"
    );
}

/// Bodies that are not reproduced exactly, and why. Everything else must match byte for byte.
/// All are from `_fail` conformance cases, whose entries the suite's mock log fabricated, or
/// pair a key with a digest this log (like Rekor today) refuses.
const EXPECTED_MISMATCHES: &[(&str, &str)] = &[
    // The body is `{"apiVersion":"0.0.1","kind":"hashedrekord"}`: no spec.
    (
        "conformance/bundle-verify/bundle-empty-certificate-chain_fail/bundle.sigstore.json",
        "missing_field",
    ),
    // ECDSA P-384 keys with SHA-256 digests, as sigstore-python signed before it moved to
    // P-256. Rekor's algorithm registry (and so this log) pairs P-384 with SHA-384 only: a
    // P-384 signature over a SHA-256 digest `D` also verifies as a SHA-384 "digest" `0^16 || D`.
    (
        "conformance/bundle-verify/bundle-with-root-cert_fail/bundle.sigstore.json",
        "digest_algorithm_mismatch",
    ),
    // The envelope's signature is corrupted, so its verifier verifies nothing.
    (
        "conformance/bundle-verify/dsse-invalid-sig_fail/bundle.sigstore.json",
        "unused_verifier",
    ),
    // The entry's signature was not made by the entry's key.
    (
        "conformance/bundle-verify/incorrect-public-key_fail/bundle.sigstore.json",
        "bad_signature",
    ),
    // The mock log wrote these `intoto` bodies with the envelope's `payload`, which Rekor has
    // never stored (the production `intoto` bodies in the sigstore-go bundles lack it). Ours
    // must equal theirs without `payload`.
    (
        "conformance/bundle-verify/intoto-expired-certificate_fail/bundle.sigstore.json",
        "differs-by-payload",
    ),
    // The mock log stored `sig` base64-encoded once; Rekor encodes the envelope's base64 text
    // again, so this `sig` does not hold base64.
    (
        "conformance/bundle-verify/intoto-log-entry-mismatch_fail/bundle.sigstore.json",
        "invalid_value",
    ),
    (
        "conformance/bundle-verify/intoto-set-outside-signing-cert-validity_fail/bundle.sigstore.json",
        "differs-by-payload",
    ),
    (
        "conformance/bundle-verify/intoto-tsa-timestamp-outside-cert-validity_fail/bundle.sigstore.json",
        "differs-by-payload",
    ),
    (
        "sigstore-python/bundle.txt.sigstore",
        "digest_algorithm_mismatch",
    ),
    (
        "sigstore-python/bundle_no_cert_v1.txt.sigstore",
        "digest_algorithm_mismatch",
    ),
    (
        "sigstore-python/bundle_no_checkpoint.txt.sigstore",
        "digest_algorithm_mismatch",
    ),
    (
        "sigstore-python/integration/Python-3.12.5.tgz.sigstore",
        "digest_algorithm_mismatch",
    ),
];

/// The body without `spec.content.envelope.payload`, re-canonicalized.
fn without_intoto_payload(body: &Value) -> Vec<u8> {
    let mut body = body.clone();
    if let Some(envelope) = body["spec"]["content"]["envelope"].as_object_mut() {
        envelope.remove("payload");
    }
    canonical_json(&body).unwrap().into_bytes()
}

#[test]
fn real_bodies_are_reproduced_byte_for_byte() {
    let mut matched: Vec<(String, String)> = Vec::new();
    let mut mismatched: Vec<(String, String)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for real in real_bodies() {
        let (kind, version) = real.kind_version();
        let label = format!("{kind} {version}");
        let Some((api, request)) = rebuild_request(&real) else {
            skipped.push(format!("{} ({label})", real.file));
            continue;
        };
        match canonicalize(api, &request) {
            Ok(entry) if entry.body == real.body => {
                assert_eq!(
                    (entry.kind, entry.api_version),
                    (kind.as_str(), version.as_str())
                );
                // Re-indexing a stored body finds a subset of what insertion indexed.
                for key in search_keys_of_body(&entry.body).unwrap() {
                    assert!(entry.search_keys.contains(&key), "{}: {key:?}", real.file);
                }
                assert!(
                    entry
                        .search_keys
                        .iter()
                        .any(|k| matches!(k, SearchKey::Hash(_)))
                        && entry
                            .search_keys
                            .iter()
                            .any(|k| matches!(k, SearchKey::PublicKey(_))),
                    "{}: {:?}",
                    real.file,
                    entry.search_keys
                );
                matched.push((real.file.clone(), label));
            }
            Ok(entry) if entry.body == without_intoto_payload(&real.json) => {
                mismatched.push((real.file.clone(), "differs-by-payload".into()));
            }
            Ok(entry) => panic!(
                "{}: canonical body differs\n got: {}\nwant: {}",
                real.file,
                String::from_utf8_lossy(&entry.body),
                String::from_utf8_lossy(&real.body)
            ),
            Err(e) => {
                println!("{}: {e}", real.file);
                mismatched.push((real.file.clone(), e.kind().to_owned()))
            }
        }
    }
    let summary = |kind: &str| matched.iter().filter(|(_, k)| k == kind).count();
    println!(
        "byte-for-byte: {} bodies (hashedrekord 0.0.1: {}, hashedrekord 0.0.2: {}, dsse 0.0.1: {}, \
         intoto 0.0.2: {}); not reproduced: {mismatched:?}; not rebuildable: {skipped:?}",
        matched.len(),
        summary("hashedrekord 0.0.1"),
        summary("hashedrekord 0.0.2"),
        summary("dsse 0.0.1"),
        summary("intoto 0.0.2"),
    );
    let expected: Vec<(String, String)> = EXPECTED_MISMATCHES
        .iter()
        .map(|(f, k)| ((*f).to_owned(), (*k).to_owned()))
        .collect();
    assert_eq!(mismatched, expected);
    assert_eq!(matched.len(), 29);
    assert_eq!(summary("hashedrekord 0.0.1"), 16);
    assert_eq!(summary("hashedrekord 0.0.2"), 8);
    assert_eq!(summary("dsse 0.0.1"), 1);
    assert_eq!(summary("intoto 0.0.2"), 4);
    // Only the body with neither kind nor spec cannot be turned back into a request.
    assert_eq!(skipped.len(), 1, "{skipped:?}");
}
