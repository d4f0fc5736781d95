//! Proposed entries (v1) and create requests (v2) made with fresh keys: what is accepted, the
//! canonical form it gets, and a typed client error for every way a request can be wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::digest::{SHA256, SHA384, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use signet_formats::pae;
use signet_rekor::{
    CanonicalEntry, MAX_PROPOSED_ENTRY_SIZE, RekorError, SearchKey,
    canonicalize_create_entry_request, canonicalize_proposed_entry,
};
use signet_testkit::ecdsa_p256_twin as p256_twin;

enum Key {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl Key {
    fn ecdsa(alg: &'static EcdsaSigningAlgorithm) -> Key {
        Key::Ecdsa(EcdsaKeyPair::generate(alg).unwrap())
    }
    fn p256() -> Key {
        Key::ecdsa(&ECDSA_P256_SHA256_ASN1_SIGNING)
    }
    fn ed25519() -> Key {
        Key::Ed25519(Ed25519KeyPair::generate().unwrap())
    }
    fn rsa2048() -> Key {
        Key::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }

    /// Signs `message` (hashing it with the key's own digest).
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Ecdsa(k) => k
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            Key::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .unwrap();
                sig
            }
        }
    }

    fn spki(&self) -> Vec<u8> {
        match self {
            Key::Ecdsa(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
            Key::Ed25519(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
            Key::Rsa(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
        }
    }

    fn pem(&self) -> String {
        signet_testkit::pem("PUBLIC KEY", &self.spki())
    }
}

const ARTIFACT: &[u8] = b"hello, signet\n";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest(&SHA256, data))
}

fn hashedrekord(algorithm: &str, value: &str, sig: &[u8], pem: &[u8]) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": algorithm, "value": value}},
        "signature": {"content": STANDARD.encode(sig), "publicKey": {"content": STANDARD.encode(pem)}},
    }})
}

fn valid_hashedrekord(key: &Key) -> Value {
    hashedrekord(
        "sha256",
        &sha256_hex(ARTIFACT),
        &key.sign(ARTIFACT),
        key.pem().as_bytes(),
    )
}

fn v1(request: &Value) -> Result<CanonicalEntry, RekorError> {
    canonicalize_proposed_entry(&serde_json::to_vec(request).unwrap())
}

fn v2(request: &Value) -> Result<CanonicalEntry, RekorError> {
    canonicalize_create_entry_request(&serde_json::to_vec(request).unwrap())
}

/// Asserts a client error of the given kind naming the given field.
#[track_caller]
fn assert_rejected(result: Result<CanonicalEntry, RekorError>, kind: &str, field: &str) {
    let err = result.expect_err("request must be rejected");
    assert!(err.is_client_error(), "{err}");
    assert_eq!(err.kind(), kind, "{err}");
    assert!(
        err.to_string().contains(field),
        "{err:?} does not name {field}"
    );
}

fn body_json(entry: &CanonicalEntry) -> Value {
    serde_json::from_slice(&entry.body).unwrap()
}

// ---- hashedrekord 0.0.1 ----

#[test]
fn hashedrekord_with_a_public_key() {
    let key = Key::p256();
    let entry = v1(&valid_hashedrekord(&key)).unwrap();
    assert_eq!((entry.kind, entry.api_version), ("hashedrekord", "0.0.1"));
    let body = body_json(&entry);
    // Canonical: Go PEM of the key, same signature, sorted keys, no whitespace.
    let pem = STANDARD
        .decode(
            body["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(String::from_utf8(pem).unwrap(), key.pem());
    assert!(entry.body.starts_with(br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":""#));
    // The canonical body is itself a proposed entry that canonicalizes to itself.
    assert_eq!(canonicalize_proposed_entry(&entry.body).unwrap(), entry);
    assert!(
        entry
            .search_keys
            .contains(&SearchKey::Hash(format!("sha256:{}", sha256_hex(ARTIFACT))))
    );
    assert!(
        entry
            .search_keys
            .contains(&SearchKey::for_public_key_query("x509", key.pem().as_bytes()).unwrap())
    );
}

#[test]
fn hashedrekord_pem_is_canonicalized() {
    // CRLF line ends, unwrapped base64 and surrounding whitespace are accepted and rewritten
    // the way Go writes PEM.
    let key = Key::p256();
    let messy = format!(
        "\r\n-----BEGIN PUBLIC KEY-----\r\n{}\r\n-----END PUBLIC KEY-----",
        STANDARD.encode(key.spki())
    );
    let sig = key.sign(ARTIFACT);
    let digest = sha256_hex(ARTIFACT);
    let entry = v1(&hashedrekord("sha256", &digest, &sig, messy.as_bytes())).unwrap();
    let tidy = v1(&hashedrekord("sha256", &digest, &sig, key.pem().as_bytes())).unwrap();
    assert_eq!(entry, tidy);
}

#[test]
fn hashedrekord_other_digests() {
    let key = Key::ecdsa(&ECDSA_P384_SHA384_ASN1_SIGNING);
    let sig = key.sign(ARTIFACT);
    let sha384 = hex::encode(digest(&SHA384, ARTIFACT));
    assert!(v1(&hashedrekord("sha384", &sha384, &sig, key.pem().as_bytes())).is_ok());
    // P-384 keys sign SHA-384 digests: a SHA-256 digest is refused before any signature check.
    assert_rejected(
        v1(&hashedrekord(
            "sha256",
            &sha256_hex(ARTIFACT),
            &sig,
            key.pem().as_bytes(),
        )),
        "digest_algorithm_mismatch",
        "spec.data.hash.algorithm",
    );
    let rsa = Key::rsa2048();
    assert!(v1(&valid_hashedrekord(&rsa)).is_ok());
}

/// One signature, one meaning: ECDSA truncates a digest to the curve order's size, so a P-256
/// signature over the SHA-256 digest `D` also verifies over a "SHA-384 digest" `D || x`. Each
/// key signs one digest algorithm (Sigstore's algorithm registry), so these are refused.
#[test]
fn hashedrekord_digest_algorithm_belongs_to_the_key() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    let pem = key.pem();
    let d = sha256_hex(ARTIFACT);
    for (algorithm, padding) in [("sha384", 16), ("sha512", 32)] {
        let replay = format!("{d}{}", "ab".repeat(padding));
        assert_rejected(
            v1(&hashedrekord(algorithm, &replay, &sig, pem.as_bytes())),
            "digest_algorithm_mismatch",
            "spec.data.hash.algorithm",
        );
    }
    let rsa = Key::rsa2048();
    assert_rejected(
        v1(&hashedrekord(
            "sha384",
            &hex::encode(digest(&SHA384, ARTIFACT)),
            &rsa.sign(ARTIFACT),
            rsa.pem().as_bytes(),
        )),
        "digest_algorithm_mismatch",
        "RSA-2048",
    );

    // Rekor v2: the digest's length must be the key's digest's, whatever keyDetails claims.
    let d = digest(&SHA256, ARTIFACT);
    let mut replay = d.as_ref().to_vec();
    replay.extend([0xab; 16]);
    assert_rejected(
        v2(&hashedrekord_v2(
            &replay,
            &sig,
            v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256"),
        )),
        "invalid_value",
        "hashedRekordRequestV002.digest",
    );
    assert_rejected(
        v2(&hashedrekord_v2(
            &replay,
            &sig,
            v2_verifier(&key, "PKIX_ECDSA_P384_SHA_384"),
        )),
        "key_details_mismatch",
        "ECDSA P-256",
    );
}

/// A signature and its twin are two valid requests, each stored as sent, and each names the
/// other's leaf hash as equivalent, so that a log can refuse the second as a duplicate.
#[test]
fn ecdsa_twin_signatures_are_equivalent_entries() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    let twin = p256_twin(&sig);
    assert_eq!(p256_twin(&twin), sig);
    let pem = key.pem();
    let d = sha256_hex(ARTIFACT);
    let a = v1(&hashedrekord("sha256", &d, &sig, pem.as_bytes())).unwrap();
    let b = v1(&hashedrekord("sha256", &d, &twin, pem.as_bytes())).unwrap();
    assert_ne!(a.body, b.body);
    assert_eq!(
        body_json(&b)["spec"]["signature"]["content"],
        STANDARD.encode(&twin)
    );
    assert_eq!(a.equivalent_leaf_hashes, [b.leaf_hash()]);
    assert_eq!(b.equivalent_leaf_hashes, [a.leaf_hash()]);

    let digest = digest(&SHA256, ARTIFACT);
    let verifier = v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256");
    let a = v2(&hashedrekord_v2(digest.as_ref(), &sig, verifier.clone())).unwrap();
    let b = v2(&hashedrekord_v2(digest.as_ref(), &twin, verifier)).unwrap();
    assert_ne!(a.body, b.body);
    assert_eq!(a.equivalent_leaf_hashes, [b.leaf_hash()]);
    assert_eq!(b.equivalent_leaf_hashes, [a.leaf_hash()]);

    // RSA PKCS#1 v1.5 signatures have one encoding.
    let rsa = Key::rsa2048();
    assert!(
        v1(&valid_hashedrekord(&rsa))
            .unwrap()
            .equivalent_leaf_hashes
            .is_empty()
    );
}

#[test]
fn hashedrekord_bad_signature_wrong_key_wrong_digest() {
    let key = Key::p256();
    let mut sig = key.sign(ARTIFACT);
    let last = sig.len() - 1;
    sig[last] ^= 1;
    let pem = key.pem();
    let digest = sha256_hex(ARTIFACT);
    assert_rejected(
        v1(&hashedrekord("sha256", &digest, &sig, pem.as_bytes())),
        "bad_signature",
        "spec.signature.content",
    );
    let other = Key::p256();
    assert_rejected(
        v1(&hashedrekord(
            "sha256",
            &digest,
            &key.sign(ARTIFACT),
            other.pem().as_bytes(),
        )),
        "bad_signature",
        "spec.signature.content",
    );
    assert_rejected(
        v1(&hashedrekord(
            "sha256",
            &sha256_hex(b"other"),
            &key.sign(ARTIFACT),
            pem.as_bytes(),
        )),
        "bad_signature",
        "spec.signature.content",
    );
    assert_rejected(
        v1(&hashedrekord("sha256", &digest, b"", pem.as_bytes())),
        "invalid_value",
        "spec.signature.content",
    );
}

#[test]
fn hashedrekord_unsupported_algorithms() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    assert_rejected(
        v1(&hashedrekord(
            "sha1",
            &"0".repeat(40),
            &sig,
            key.pem().as_bytes(),
        )),
        "unsupported_algorithm",
        "spec.data.hash.algorithm",
    );
    // Ed25519 would need Ed25519ph.
    let ed = Key::ed25519();
    assert_rejected(
        v1(&hashedrekord(
            "sha256",
            &sha256_hex(ARTIFACT),
            &ed.sign(ARTIFACT),
            ed.pem().as_bytes(),
        )),
        "unsupported_algorithm",
        "spec.signature.publicKey.content",
    );
}

#[test]
fn hashedrekord_malformed_keys() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    let digest = sha256_hex(ARTIFACT);
    // A compressed P-256 point, which Go (and so Rekor) rejects.
    let spki = key.spki();
    let point = &spki[spki.len() - 65..];
    let mut compressed =
        hex::decode("3039301306072a8648ce3d020106082a8648ce3d030107032200").unwrap();
    compressed.push(if point[64] & 1 == 1 { 3 } else { 2 });
    compressed.extend_from_slice(&point[1..33]);
    let compressed_pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(&compressed)
    );
    let private_pem = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    let chain = format!("{}{}", key.pem(), key.pem());
    let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    let bad_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    for pem in [
        b"not a key".as_slice(),
        private_pem.as_bytes(),
        chain.as_bytes(),
        garbage.as_bytes(),
        bad_cert.as_bytes(),
        compressed_pem.as_bytes(),
        &spki,
    ] {
        assert_rejected(
            v1(&hashedrekord("sha256", &digest, &sig, pem)),
            "malformed_key",
            "spec.signature.publicKey.content",
        );
    }
}

#[test]
fn hashedrekord_malformed_fields() {
    let key = Key::p256();
    let good = valid_hashedrekord(&key);
    let with = |path: &[&str], value: Value| {
        let mut request = good.clone();
        let mut slot = &mut request;
        for p in path {
            slot = &mut slot[*p];
        }
        *slot = value;
        request
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&["spec", "data", "hash", "value"], json!("AB".repeat(32))),
            "invalid_value",
            "spec.data.hash.value",
        ),
        (
            with(&["spec", "data", "hash", "value"], json!("ab")),
            "invalid_value",
            "spec.data.hash.value",
        ),
        (
            with(&["spec", "signature", "content"], json!("!!!")),
            "invalid_value",
            "spec.signature.content",
        ),
        (
            with(&["spec", "signature", "content"], json!(7)),
            "wrong_type",
            "spec.signature.content",
        ),
        (
            with(&["spec", "signature", "publicKey"], json!(null)),
            "missing_field",
            "spec.signature.publicKey",
        ),
        (
            with(&["spec", "data"], json!([])),
            "wrong_type",
            "spec.data",
        ),
        (with(&["spec"], json!(null)), "missing_field", "spec"),
        (
            with(&["kind"], json!("rekord")),
            "unsupported_kind",
            "rekord",
        ),
        (
            with(&["apiVersion"], json!("0.0.2")),
            "unsupported_kind",
            "0.0.2",
        ),
        (json!([]), "wrong_type", "(document)"),
    ];
    for (request, kind, field) in cases {
        assert_rejected(v1(&request), kind, field);
    }
    assert_rejected(canonicalize_proposed_entry(b"{"), "json", "JSON");
    assert_rejected(canonicalize_proposed_entry(b"\xff"), "json", "JSON");
    let huge = vec![b' '; MAX_PROPOSED_ENTRY_SIZE + 1];
    assert_rejected(
        canonicalize_proposed_entry(&huge),
        "too_large",
        "proposed entry",
    );
}

// ---- dsse 0.0.1 ----

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

fn statement() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a.txt", "digest": {"sha256": sha256_hex(ARTIFACT)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    }))
    .unwrap()
}

fn envelope_text(payload: &[u8], sigs: &[Vec<u8>]) -> String {
    let signatures: Vec<Value> = sigs
        .iter()
        .map(|s| json!({"keyid": "", "sig": STANDARD.encode(s)}))
        .collect();
    serde_json::to_string(&json!({
        "payload": STANDARD.encode(payload),
        "payloadType": PAYLOAD_TYPE,
        "signatures": signatures,
    }))
    .unwrap()
}

fn dsse(envelope: &str, verifiers: &[&Key]) -> Value {
    let verifiers: Vec<String> = verifiers.iter().map(|k| STANDARD.encode(k.pem())).collect();
    json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "proposedContent": {"envelope": envelope, "verifiers": verifiers}}})
}

#[test]
fn dsse_v001_with_two_signers() {
    let (a, b) = (Key::p256(), Key::ed25519());
    let payload = statement();
    let message = pae(PAYLOAD_TYPE, &payload);
    let (sa, sb) = (a.sign(&message), b.sign(&message));
    let text = envelope_text(&payload, &[sa.clone(), sb.clone()]);
    let entry = v1(&dsse(&text, &[&b, &a])).unwrap();
    assert_eq!((entry.kind, entry.api_version), ("dsse", "0.0.1"));
    let body = body_json(&entry);
    let spec = &body["spec"];
    assert_eq!(spec["envelopeHash"]["value"], sha256_hex(text.as_bytes()));
    assert_eq!(spec["payloadHash"]["value"], sha256_hex(&payload));
    // Signatures sorted by their base64 text, each with the key that verified it.
    let mut want = vec![
        (STANDARD.encode(&sa), STANDARD.encode(a.pem())),
        (STANDARD.encode(&sb), STANDARD.encode(b.pem())),
    ];
    want.sort();
    let got: Vec<(String, String)> = spec["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["signature"].as_str().unwrap().to_owned(),
                s["verifier"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(spec.get("proposedContent").is_none());
    // The in-toto subject is searchable.
    assert!(
        entry
            .search_keys
            .contains(&SearchKey::Hash(format!("sha256:{}", sha256_hex(ARTIFACT))))
    );
}

#[test]
fn dsse_v001_rejections() {
    let (a, b) = (Key::p256(), Key::p256());
    let payload = statement();
    let message = pae(PAYLOAD_TYPE, &payload);
    let (sa, sb) = (a.sign(&message), b.sign(&message));
    // A signature nobody verifies.
    assert_rejected(
        v1(&dsse(
            &envelope_text(&payload, &[sa.clone(), sb.clone()]),
            &[&a],
        )),
        "unverified_signature",
        "spec.proposedContent.envelope.signatures[1].sig",
    );
    // A verifier that verifies nothing.
    assert_rejected(
        v1(&dsse(
            &envelope_text(&payload, std::slice::from_ref(&sa)),
            &[&a, &b],
        )),
        "unused_verifier",
        "spec.proposedContent.verifiers[1]",
    );
    // A corrupted signature.
    let mut bad = sa.clone();
    bad[10] ^= 0x40;
    assert_rejected(
        v1(&dsse(&envelope_text(&payload, &[bad]), &[&a])),
        "unused_verifier",
        "spec.proposedContent.verifiers[0]",
    );
    // Server-computed fields.
    let mut request = dsse(&envelope_text(&payload, std::slice::from_ref(&sa)), &[&a]);
    request["spec"]["envelopeHash"] = json!({"algorithm": "sha256", "value": "00"});
    assert_rejected(v1(&request), "invalid_value", "spec.envelopeHash");
    // Envelopes that are not envelopes.
    assert_rejected(v1(&dsse("{", &[&a])), "json", "DSSE envelope");
    assert_rejected(
        v1(&dsse(
            r#"{"payload":"","payloadType":"t","signatures":[]}"#,
            &[&a],
        )),
        "invalid_value",
        "spec.proposedContent.envelope.signatures",
    );
    assert_rejected(
        v1(&dsse(r#"{"payload":"","payloadType":"t"}"#, &[&a])),
        "missing_field",
        "spec.proposedContent.envelope.signatures",
    );
    let many = envelope_text(&payload, &vec![sa.clone(); 11]);
    assert_rejected(
        v1(&dsse(&many, &[&a])),
        "too_many",
        "spec.proposedContent.envelope.signatures",
    );
    let mut request = dsse(&envelope_text(&payload, std::slice::from_ref(&sa)), &[&a]);
    request["spec"]["proposedContent"]["verifiers"] = json!(["bm90IHBlbQ=="]);
    assert_rejected(
        v1(&request),
        "malformed_key",
        "spec.proposedContent.verifiers[0]",
    );
    request["spec"]["proposedContent"]["verifiers"] = json!([]);
    assert_rejected(
        v1(&request),
        "invalid_value",
        "spec.proposedContent.verifiers",
    );
}

#[test]
fn dsse_v001_duplicate_signatures_collapse() {
    let a = Key::p256();
    let payload = statement();
    let sa = a.sign(&pae(PAYLOAD_TYPE, &payload));
    let entry = v1(&dsse(&envelope_text(&payload, &[sa.clone(), sa]), &[&a])).unwrap();
    assert_eq!(
        body_json(&entry)["spec"]["signatures"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- intoto 0.0.2 ----

fn intoto(payload: &[u8], sig: &[u8], key: &Key, keyid: &str) -> Value {
    json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
        "envelope": {
            "payload": STANDARD.encode(STANDARD.encode(payload)),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{
                "keyid": keyid,
                "sig": STANDARD.encode(STANDARD.encode(sig)),
                "publicKey": STANDARD.encode(key.pem()),
            }],
        },
        "hash": {"algorithm": "sha256", "value": sha256_hex(b"the client's envelope")},
    }}})
}

#[test]
fn intoto_v002() {
    let a = Key::p256();
    let payload = statement();
    let sig = a.sign(&pae(PAYLOAD_TYPE, &payload));
    let entry = v1(&intoto(&payload, &sig, &a, "my-key")).unwrap();
    let body = body_json(&entry);
    let content = &body["spec"]["content"];
    assert!(content["envelope"].get("payload").is_none());
    assert_eq!(content["envelope"]["signatures"][0]["keyid"], "my-key");
    assert_eq!(content["payloadHash"]["value"], sha256_hex(&payload));
    // An empty keyid is left out, as Go's omitempty does.
    let entry = v1(&intoto(&payload, &sig, &a, "")).unwrap();
    assert!(
        body_json(&entry)["spec"]["content"]["envelope"]["signatures"][0]
            .get("keyid")
            .is_none()
    );

    let mut request = intoto(&payload, &sig, &a, "");
    request["spec"]["content"]["hash"] = json!(null);
    assert_rejected(v1(&request), "missing_field", "spec.content.hash");
    let other = Key::p256();
    assert_rejected(
        v1(&intoto(&payload, &sig, &other, "")),
        "unused_verifier",
        "spec.content.envelope.signatures[0].publicKey",
    );
}

// ---- Rekor v2 ----

fn v2_verifier(key: &Key, details: &str) -> Value {
    json!({"publicKey": {"rawBytes": STANDARD.encode(key.spki())}, "keyDetails": details})
}

fn hashedrekord_v2(digest: &[u8], sig: &[u8], verifier: Value) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest),
        "signature": {"content": STANDARD.encode(sig), "verifier": verifier},
    }})
}

#[test]
fn hashedrekord_v002() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    let d = digest(&SHA256, ARTIFACT);
    let entry = v2(&hashedrekord_v2(
        d.as_ref(),
        &sig,
        v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256"),
    ))
    .unwrap();
    assert_eq!((entry.kind, entry.api_version), ("hashedrekord", "0.0.2"));
    let want = format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
        STANDARD.encode(d),
        STANDARD.encode(&sig),
        STANDARD.encode(key.spki())
    );
    assert_eq!(String::from_utf8(entry.body.clone()).unwrap(), want);
    // The same key in a v1 entry has the same search key.
    let v1_entry = v1(&valid_hashedrekord(&key)).unwrap();
    let key_of = |e: &CanonicalEntry| {
        e.search_keys
            .iter()
            .find(|k| matches!(k, SearchKey::PublicKey(_)))
            .cloned()
    };
    assert_eq!(key_of(&entry), key_of(&v1_entry));

    // Proto JSON leniency: snake_case names, URL-safe unpadded base64; the output is the same.
    let lenient = json!({"hashed_rekord_request_v002": {
        "digest": URL_SAFE_NO_PAD.encode(d),
        "signature": {"content": URL_SAFE_NO_PAD.encode(&sig), "verifier": {
            "public_key": {"raw_bytes": URL_SAFE_NO_PAD.encode(key.spki())},
            "key_details": "PKIX_ECDSA_P256_SHA_256",
        }},
    }});
    assert_eq!(v2(&lenient).unwrap(), entry);

    let rsa = Key::rsa2048();
    let rsa_sig = rsa.sign(ARTIFACT);
    assert!(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &rsa_sig,
            v2_verifier(&rsa, "PKIX_RSA_PKCS1V15_2048_SHA256")
        ))
        .is_ok()
    );
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &rsa_sig,
            v2_verifier(&rsa, "PKIX_RSA_PKCS1V15_3072_SHA256"),
        )),
        "key_details_mismatch",
        "RSA-2048",
    );
}

#[test]
fn hashedrekord_v002_rejections() {
    let key = Key::p256();
    let sig = key.sign(ARTIFACT);
    let d = digest(&SHA256, ARTIFACT);
    let details = "hashedRekordRequestV002.signature.verifier.keyDetails";
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &sig,
            v2_verifier(&key, "PKIX_ECDSA_P384_SHA_384"),
        )),
        "key_details_mismatch",
        details,
    );
    for unsupported in ["PKIX_ED25519_PH", "PKIX_RSA_PSS_2048_SHA256", "ML_DSA_65"] {
        assert_rejected(
            v2(&hashedrekord_v2(
                d.as_ref(),
                &sig,
                v2_verifier(&key, unsupported),
            )),
            "unsupported_algorithm",
            details,
        );
    }
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &sig,
            v2_verifier(&key, "NOPE"),
        )),
        "invalid_value",
        details,
    );
    let ed = Key::ed25519();
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &ed.sign(ARTIFACT),
            v2_verifier(&ed, "PKIX_ED25519"),
        )),
        "unsupported_algorithm",
        details,
    );
    assert_rejected(
        v2(&hashedrekord_v2(
            &d.as_ref()[..20],
            &sig,
            v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256"),
        )),
        "invalid_value",
        "hashedRekordRequestV002.digest",
    );
    let other = digest(&SHA256, b"other");
    assert_rejected(
        v2(&hashedrekord_v2(
            other.as_ref(),
            &sig,
            v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256"),
        )),
        "bad_signature",
        "hashedRekordRequestV002.signature.content",
    );
    let mut both = v2_verifier(&key, "PKIX_ECDSA_P256_SHA_256");
    both["x509Certificate"] = json!({"rawBytes": "AAAA"});
    assert_rejected(
        v2(&hashedrekord_v2(d.as_ref(), &sig, both)),
        "invalid_value",
        "hashedRekordRequestV002.signature.verifier",
    );
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &sig,
            json!({"keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
        )),
        "missing_field",
        "hashedRekordRequestV002.signature.verifier.publicKey",
    );
    assert_rejected(
        v2(&hashedrekord_v2(
            d.as_ref(),
            &sig,
            json!({"x509Certificate": {"rawBytes": "AAAA"}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}),
        )),
        "malformed_key",
        "hashedRekordRequestV002.signature.verifier.x509Certificate.rawBytes",
    );
    assert_rejected(v2(&json!({})), "missing_field", "hashedRekordRequestV002");
    assert_rejected(
        v2(&json!({"hashedRekordRequestV002": {}, "dsseRequestV002": {}})),
        "invalid_value",
        "both",
    );
    assert_rejected(
        v2(&json!({"hashedRekordRequestV002": {"digest": 5}})),
        "wrong_type",
        "hashedRekordRequestV002.digest",
    );
}

#[test]
fn dsse_v002() {
    let (a, b) = (Key::ed25519(), Key::p256());
    let payload = statement();
    let message = pae(PAYLOAD_TYPE, &payload);
    let (sa, sb) = (a.sign(&message), b.sign(&message));
    let request = |sigs: &[&Vec<u8>], verifiers: Vec<Value>| {
        json!({"dsseRequestV002": {
            "envelope": {
                "payload": STANDARD.encode(&payload),
                "payloadType": PAYLOAD_TYPE,
                "signatures": sigs.iter().map(|s| json!({"sig": STANDARD.encode(s), "keyid": ""})).collect::<Vec<_>>(),
            },
            "verifiers": verifiers,
        }})
    };
    let entry = v2(&request(
        &[&sa, &sb],
        vec![
            v2_verifier(&b, "PKIX_ECDSA_P256_SHA_256"),
            v2_verifier(&a, "PKIX_ED25519"),
        ],
    ))
    .unwrap();
    assert_eq!((entry.kind, entry.api_version), ("dsse", "0.0.2"));
    let body = body_json(&entry);
    let spec = &body["spec"]["dsseV002"];
    assert_eq!(spec["payloadHash"]["algorithm"], "SHA2_256");
    assert_eq!(
        spec["payloadHash"]["digest"],
        STANDARD.encode(digest(&SHA256, &payload))
    );
    // Sorted by raw signature bytes.
    let contents: Vec<Vec<u8>> = spec["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| STANDARD.decode(s["content"].as_str().unwrap()).unwrap())
        .collect();
    let mut sorted = vec![sa.clone(), sb.clone()];
    sorted.sort();
    assert_eq!(contents, sorted);

    assert_rejected(
        v2(&request(&[&sa, &sb], vec![v2_verifier(&a, "PKIX_ED25519")])),
        "unverified_signature",
        "dsseRequestV002.envelope.signatures[1].sig",
    );
    assert_rejected(
        v2(&request(
            &[&sa],
            vec![
                v2_verifier(&b, "PKIX_ECDSA_P256_SHA_256"),
                v2_verifier(&a, "PKIX_ED25519"),
            ],
        )),
        "unused_verifier",
        "dsseRequestV002.verifiers[0]",
    );
    assert_rejected(
        v2(&request(&[&sa], vec![])),
        "invalid_value",
        "dsseRequestV002.verifiers",
    );
}

// ---- ECDSA twins inside envelopes ----

/// A dsse 0.0.2 request with these signatures, each verified by the verifier at the same place.
fn dsse_v2_request(payload: &[u8], sigs: &[Vec<u8>], keys: &[&Key]) -> Value {
    json!({"dsseRequestV002": {
        "envelope": {
            "payload": STANDARD.encode(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": sigs.iter().map(|s| json!({"sig": STANDARD.encode(s), "keyid": ""})).collect::<Vec<_>>(),
        },
        "verifiers": keys.iter().map(|k| v2_verifier(k, "PKIX_ECDSA_P256_SHA_256")).collect::<Vec<_>>(),
    }})
}

/// An envelope whose ECDSA signature is replaced by its twin records the same signature: for
/// dsse 0.0.1, intoto 0.0.2 and dsse 0.0.2 each body names the other's leaf hash, while an
/// envelope of another payload (the valid twin of the rule: a different statement) does not.
#[test]
fn ecdsa_twins_in_envelopes_are_equivalent_entries() {
    let key = Key::p256();
    let payload = statement();
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let twin = p256_twin(&sig);
    let other_payload = br#"{"another":"statement"}"#.to_vec();
    let other_sig = key.sign(&pae(PAYLOAD_TYPE, &other_payload));

    // dsse 0.0.1: the twin changes the envelope text too; the equivalent body hashes the same
    // text with the signature replaced.
    let a = v1(&dsse(
        &envelope_text(&payload, std::slice::from_ref(&sig)),
        &[&key],
    ))
    .unwrap();
    let b = v1(&dsse(
        &envelope_text(&payload, std::slice::from_ref(&twin)),
        &[&key],
    ))
    .unwrap();
    let c = v1(&dsse(
        &envelope_text(&other_payload, std::slice::from_ref(&other_sig)),
        &[&key],
    ))
    .unwrap();
    assert_ne!(a.body, b.body);
    assert_eq!(a.equivalent_leaf_hashes, [b.leaf_hash()]);
    assert_eq!(b.equivalent_leaf_hashes, [a.leaf_hash()]);
    assert!(!c.equivalent_leaf_hashes.contains(&a.leaf_hash()));
    assert!(!a.equivalent_leaf_hashes.contains(&c.leaf_hash()));

    // intoto 0.0.2.
    let a = v1(&intoto(&payload, &sig, &key, "k")).unwrap();
    let b = v1(&intoto(&payload, &twin, &key, "k")).unwrap();
    let c = v1(&intoto(&other_payload, &other_sig, &key, "k")).unwrap();
    assert_ne!(a.body, b.body);
    assert_eq!(a.equivalent_leaf_hashes, [b.leaf_hash()]);
    assert_eq!(b.equivalent_leaf_hashes, [a.leaf_hash()]);
    assert!(!c.equivalent_leaf_hashes.contains(&a.leaf_hash()));

    // dsse 0.0.2 (the deprecated Rekor v2 form).
    let a = v2(&dsse_v2_request(
        &payload,
        std::slice::from_ref(&sig),
        &[&key],
    ))
    .unwrap();
    let b = v2(&dsse_v2_request(
        &payload,
        std::slice::from_ref(&twin),
        &[&key],
    ))
    .unwrap();
    let c = v2(&dsse_v2_request(
        &other_payload,
        std::slice::from_ref(&other_sig),
        &[&key],
    ))
    .unwrap();
    assert_ne!(a.body, b.body);
    assert_eq!(a.equivalent_leaf_hashes, [b.leaf_hash()]);
    assert_eq!(b.equivalent_leaf_hashes, [a.leaf_hash()]);
    assert!(!c.equivalent_leaf_hashes.contains(&a.leaf_hash()));

    // Ed25519 signatures have one encoding: an Ed25519-only envelope names nothing.
    let ed = Key::ed25519();
    let ed_sig = ed.sign(&pae(PAYLOAD_TYPE, &payload));
    let e = v1(&dsse(
        &envelope_text(&payload, std::slice::from_ref(&ed_sig)),
        &[&ed],
    ))
    .unwrap();
    assert!(e.equivalent_leaf_hashes.is_empty());
}

/// Several ECDSA signatures: with up to four, every combination of twins is named (so any
/// re-encoding of an envelope is a duplicate); with more, each alone and all together, at
/// most `MAX_EQUIVALENT_BODIES` either way.
#[test]
fn multi_signature_envelopes_name_a_bounded_set_of_twins() {
    let payload = statement();
    let message = pae(PAYLOAD_TYPE, &payload);
    let keys: Vec<Key> = (0..6).map(|_| Key::p256()).collect();
    let sigs: Vec<Vec<u8>> = keys.iter().map(|k| k.sign(&message)).collect();
    let twins: Vec<Vec<u8>> = sigs.iter().map(|s| p256_twin(s)).collect();
    let with = |n: usize, flipped: &[usize]| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                if flipped.contains(&i) {
                    twins[i].clone()
                } else {
                    sigs[i].clone()
                }
            })
            .collect()
    };

    // Three signatures: all 7 re-encodings are named, in each entry type.
    let three: Vec<&Key> = keys.iter().take(3).collect();
    let v1_dsse =
        |flipped: &[usize]| v1(&dsse(&envelope_text(&payload, &with(3, flipped)), &three)).unwrap();
    let v2_dsse =
        |flipped: &[usize]| v2(&dsse_v2_request(&payload, &with(3, flipped), &three)).unwrap();
    let subsets: [&[usize]; 7] = [&[0], &[1], &[2], &[0, 1], &[0, 2], &[1, 2], &[0, 1, 2]];
    for entry in [&v1_dsse as &dyn Fn(&[usize]) -> CanonicalEntry, &v2_dsse] {
        let original = entry(&[]);
        assert_eq!(original.equivalent_leaf_hashes.len(), 7);
        for flipped in subsets {
            let replay = entry(flipped);
            assert!(
                original
                    .equivalent_leaf_hashes
                    .contains(&replay.leaf_hash()),
                "{flipped:?}"
            );
            assert!(
                replay
                    .equivalent_leaf_hashes
                    .contains(&original.leaf_hash()),
                "{flipped:?}"
            );
        }
    }

    // Six signatures: 6 single flips and all six flipped, nothing else.
    let six: Vec<&Key> = keys.iter().collect();
    let entry =
        |flipped: &[usize]| v2(&dsse_v2_request(&payload, &with(6, flipped), &six)).unwrap();
    let original = entry(&[]);
    assert_eq!(original.equivalent_leaf_hashes.len(), 7);
    assert!(original.equivalent_leaf_hashes.len() <= signet_rekor::MAX_EQUIVALENT_BODIES);
    for flipped in [&[0][..], &[3], &[5], &[0, 1, 2, 3, 4, 5]] {
        assert!(
            original
                .equivalent_leaf_hashes
                .contains(&entry(flipped).leaf_hash()),
            "{flipped:?}"
        );
    }
    assert!(
        !original
            .equivalent_leaf_hashes
            .contains(&entry(&[0, 1]).leaf_hash())
    );
}
