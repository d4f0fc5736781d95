//! The DSSE protocol test vector, in-toto statements, and Rekor bodies built by hand for the
//! entry types the shared bundles do not cover.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_formats::FormatError;
use signet_formats::dsse::{Envelope, pae};
use signet_formats::intoto::{self, Statement};
use signet_formats::rekor::{RekorBody, Verifier};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(signet_testdata::path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn dsse_protocol_test_vector() {
    let v: Value = serde_json::from_slice(&read("dsse/protocol-test-vector.json")).unwrap();
    let payload_type = v["payload_type"].as_str().unwrap();
    let payload = v["payload_utf8"].as_str().unwrap().as_bytes();
    let encoded = pae(payload_type, payload);
    assert_eq!(hex::encode(&encoded), v["pae_hex"].as_str().unwrap());
    assert_eq!(encoded, v["pae_utf8"].as_str().unwrap().as_bytes());

    let envelope = Envelope::from_json(v["envelope"].to_string().as_bytes()).unwrap();
    assert_eq!(envelope.payload, payload);
    assert_eq!(envelope.payload_type, payload_type);
    assert_eq!(envelope.pae(), encoded);
    assert_eq!(
        envelope.signatures[0].sig,
        STANDARD
            .decode(v["signature_raw_rs_b64"].as_str().unwrap())
            .unwrap()
    );
    assert_eq!(envelope.signatures[0].keyid, "");
    assert_eq!(
        Envelope::from_json(envelope.to_json().as_bytes()).unwrap(),
        envelope
    );
}

#[test]
fn statements_from_files() {
    let s = Statement::from_json(&read("conformance/statement.json")).unwrap();
    assert!(s.type_ == intoto::STATEMENT_TYPE_V1 || s.type_ == intoto::STATEMENT_TYPE_V0_1);
    assert!(!s.subject.is_empty());
    assert_eq!(Statement::from_json(s.to_json().as_bytes()).unwrap(), s);

    let s = Statement::from_json(&read(
        "sigstore-go/examples/statement-provenance-sigstorejs1.3.0.json",
    ))
    .unwrap();
    assert_eq!(s.type_, intoto::STATEMENT_TYPE_V0_1);
    assert!(s.predicate_type.starts_with("https://slsa.dev/provenance/"));
    assert!(s.subject[0].digest.contains_key("sha512"));
    assert!(s.predicate.is_some());
    assert_eq!(Statement::from_json(s.to_json().as_bytes()).unwrap(), s);
}

fn body(v: Value) -> Result<RekorBody, FormatError> {
    RekorBody::parse(v.to_string().as_bytes())
}

#[test]
fn dsse_v002_body() {
    let spki = STANDARD.encode([0x30, 0x59]);
    let v = json!({
        "apiVersion": "0.0.2",
        "kind": "dsse",
        "spec": {"dsseV002": {
            "payloadHash": {"algorithm": "SHA2_256", "digest": STANDARD.encode([7u8; 32])},
            "signatures": [
                {"content": "AQI=", "verifier": {"keyDetails": "PKIX_ED25519", "publicKey": {"rawBytes": spki}}},
                {"content": "AwQ=", "verifier": {"keyDetails": "PKIX_ECDSA_P256_SHA_256", "x509Certificate": {"rawBytes": "MAA="}}}
            ]
        }}
    });
    let (b, key_details) = RekorBody::parse_with_key_details(v.to_string().as_bytes()).unwrap();
    assert_eq!(
        b,
        RekorBody::DsseV002 {
            payload_hash: ("SHA2_256".into(), vec![7; 32]),
            signatures: vec![
                (vec![1, 2], Verifier::PublicKey(vec![0x30, 0x59])),
                (vec![3, 4], Verifier::X509Certificate(vec![0x30, 0])),
            ],
        }
    );
    assert_eq!(key_details, ["PKIX_ED25519", "PKIX_ECDSA_P256_SHA_256"]);
    assert_eq!(body(v).unwrap(), b);
    assert_eq!(b.kind_version(), ("dsse", "0.0.2"));
}

#[test]
fn hashedrekord_v002_with_a_public_key_and_snake_case() {
    let b = body(json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {"hashed_rekord_v002": {
            "data": {"algorithm": "SHA2_256", "digest": "AAAA"},
            "signature": {"content": "AQI", "verifier": {"key_details": "PKIX_ECDSA_P256_SHA_256", "public_key": {"raw_bytes": "MAA"}}}
        }}
    }))
    .unwrap();
    let RekorBody::HashedRekordV002 {
        verifier,
        signature,
        digest,
        ..
    } = b
    else {
        panic!()
    };
    assert_eq!(verifier, Verifier::PublicKey(vec![0x30, 0]));
    assert_eq!(signature, [1, 2]);
    assert_eq!(digest, [0, 0, 0]);
}

#[test]
fn malformed_bodies() {
    let unsupported = [
        ("rekord", "0.0.1"),
        ("intoto", "0.0.1"),
        ("hashedrekord", "0.0.3"),
        ("dsse", "0.1.0"),
        ("", ""),
    ];
    for (kind, version) in unsupported {
        assert_eq!(
            body(json!({"kind": kind, "apiVersion": version, "spec": {}})).unwrap_err(),
            FormatError::UnsupportedEntry {
                kind: kind.into(),
                version: version.into()
            }
        );
    }
    let missing = |v: Value, want: &str| match body(v).unwrap_err() {
        FormatError::MissingField { field } => assert_eq!(field, want),
        other => panic!("{other:?}"),
    };
    // Shapes found in the conformance `_fail` bundles, whose bodies were cut down.
    missing(json!({"apiVersion": "0.0.1"}), "kind");
    missing(
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord"}),
        "spec",
    );
    missing(json!({"kind": "hashedrekord", "spec": {}}), "apiVersion");
    missing(
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {"data": {"hash": {"algorithm": "sha256", "value": "00"}}}}),
        "spec.signature",
    );
    missing(
        json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"dsseV002": {}}}),
        "spec.hashedRekordV002",
    );
    let v2 = |verifier: Value| {
        json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"hashedRekordV002": {
            "data": {"algorithm": "SHA2_256", "digest": "AAAA"},
            "signature": {"content": "AQI=", "verifier": verifier}
        }}})
    };
    assert!(matches!(
        body(v2(json!({"keyDetails": "PKIX_ED25519"}))).unwrap_err(),
        FormatError::NoVariant { field, .. } if field == "spec.hashedRekordV002.signature.verifier"
    ));
    assert!(matches!(
        body(v2(
            json!({"publicKey": {"rawBytes": "MAA="}, "x509Certificate": {"rawBytes": "MAA="}})
        ))
        .unwrap_err(),
        FormatError::MultipleVariants { .. }
    ));
    assert!(matches!(
        body(json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"signatures": []}})).unwrap_err(),
        FormatError::EmptyList { field } if field == "spec.signatures"
    ));
    // intoto `sig` is base64 of base64; both layers are decoded.
    let intoto = |sig: &str| {
        json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {"envelope": {
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": sig, "publicKey": "LS0t"}]
        }}}})
    };
    let RekorBody::IntotoV002 {
        signatures,
        payload_hash,
        ..
    } = body(intoto(&STANDARD.encode(STANDARD.encode([9u8, 8, 7])))).unwrap()
    else {
        panic!()
    };
    assert_eq!(signatures, [(vec![9, 8, 7], b"---".to_vec())]);
    assert_eq!(payload_hash, None);
    for bad in [
        "not base64!".to_owned(),
        STANDARD.encode("not base64!"),
        STANDARD.encode([0x30, 0x46, 0x02]),
    ] {
        assert!(matches!(
            body(intoto(&bad)).unwrap_err(),
            FormatError::InvalidBase64 { field, .. } if field == "spec.content.envelope.signatures[0].sig"
        ));
    }
    assert!(matches!(
        body(json!([1, 2])).unwrap_err(),
        FormatError::Json { .. }
    ));
}
