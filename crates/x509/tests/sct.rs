//! Embedded SCTs: real Fulcio certificates from the conformance bundles checked against the CT
//! logs of their trust roots, SCTs signed here by generated logs, tampering, and malformed lists.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as aws_sig, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use signet_x509::*;

const BUNDLES: &str = "conformance/bundle-verify";
const PUBLIC_GOOD: &str = "trust/public-good-trusted_root.json";

fn json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(signet_testdata::path(rel)).unwrap()).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// Seconds since the epoch of an RFC 3339 UTC time such as `2022-10-20T00:00:00Z` or
/// `2022-10-31T23:59:59.999Z` (fractions are dropped).
fn rfc3339(text: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    assert!(text.ends_with('Z'), "{text}");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

#[test]
fn rfc3339_helper() {
    assert_eq!(rfc3339("1970-01-01T00:00:00Z"), 0);
    assert_eq!(rfc3339("2022-10-20T00:00:00Z"), 1_666_224_000);
    assert_eq!(rfc3339("2022-10-31T23:59:59.999Z"), 1_667_260_799);
}

/// A trusted root's Fulcio CAs (the first certificate of each chain) and CT logs.
struct Trust {
    cas: Vec<Certificate>,
    logs: Vec<CtLog>,
    /// CT log keys `PublicKey` cannot parse (the staging root has a bare PKCS#1 RSA key).
    unparsed_logs: usize,
}

fn trust(rel: &str) -> Trust {
    let root = json(rel);
    let cas = root["certificateAuthorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ca| {
            Certificate::from_der(&b64(&ca["certChain"]["certificates"][0]["rawBytes"])).unwrap()
        })
        .collect();
    let mut logs = Vec::new();
    let mut unparsed_logs = 0;
    for log in root["ctlogs"].as_array().unwrap() {
        let Ok(key) = PublicKey::from_spki_der(&b64(&log["publicKey"]["rawBytes"])) else {
            unparsed_logs += 1;
            continue;
        };
        let valid = &log["publicKey"]["validFor"];
        logs.push(CtLog {
            log_id: b64(&log["logId"]["keyId"]),
            key,
            valid_from: valid["start"].as_str().map(rfc3339),
            valid_until: valid["end"].as_str().map(rfc3339),
        });
    }
    Trust {
        cas,
        logs,
        unparsed_logs,
    }
}

/// The signing certificate of a bundle, if it has one (not a public-key bundle).
fn bundle_leaf(case: &str) -> Option<Certificate> {
    let path = format!("{BUNDLES}/{case}/bundle.sigstore.json");
    let bytes = std::fs::read(signet_testdata::path(&path)).unwrap();
    let bundle: Value = serde_json::from_slice(&bytes).ok()?;
    let material = &bundle["verificationMaterial"];
    let raw = if material["certificate"].is_object() {
        &material["certificate"]["rawBytes"]
    } else {
        &material["x509CertificateChain"]["certificates"][0]["rawBytes"]
    };
    raw.as_str()?;
    Some(Certificate::from_der(&b64(raw)).unwrap())
}

/// The trust root a conformance case verifies against: its own, else public good.
fn case_trust(case: &str) -> Trust {
    let own = format!("{BUNDLES}/{case}/trusted_root.json");
    if signet_testdata::path(&own).exists() {
        trust(&own)
    } else {
        trust(PUBLIC_GOOD)
    }
}

fn issuer_in(leaf: &Certificate, trust: &Trust) -> Option<Certificate> {
    trust
        .cas
        .iter()
        .find(|ca| leaf.verify_issued_by(ca).is_ok())
        .cloned()
}

fn happy() -> (Certificate, Certificate, Trust) {
    let leaf = bundle_leaf("happy-path-v0.3").unwrap();
    let trust = trust(PUBLIC_GOOD);
    let issuer = issuer_in(&leaf, &trust).unwrap();
    (leaf, issuer, trust)
}

/// The log ID of the public-good `ctfe.sigstore.dev/2022` log.
fn ctfe_2022() -> Vec<u8> {
    STANDARD
        .decode("3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=")
        .unwrap()
}

#[test]
fn happy_path_v03_verifies_against_public_good() {
    let (leaf, issuer, trust) = happy();
    assert_eq!(trust.logs.len(), 2);
    let verified = verify_embedded_scts(&leaf, &issuer, &trust.logs).unwrap();
    assert_eq!(
        verified,
        vec![VerifiedSct {
            log_id: ctfe_2022(),
            // 2024-03-19T17:26:26.470Z, just after the certificate's notBefore.
            timestamp_ms: 1_710_869_186_470,
        }]
    );
    assert_eq!(leaf.not_before(), 1_710_869_186);
    // The log ID in the trust root is the SHA-256 of the log's key.
    for log in &trust.logs {
        assert_eq!(CtLog::from_key(log.key.clone()).log_id, log.log_id);
    }
}

/// Every conformance bundle with a certificate from a CA of its trust root (its own
/// `trusted_root.json`, else public good) verifies, except `invalid-ct-key_fail`, whose trust
/// root lacks the issuing log. Run with `--nocapture` to see each case.
#[test]
fn conformance_bundles() {
    let mut dirs: Vec<String> = std::fs::read_dir(signet_testdata::path(BUNDLES))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| {
            signet_testdata::path(&format!("{BUNDLES}/{name}/bundle.sigstore.json")).exists()
        })
        .collect();
    dirs.sort();
    let mut verified = 0;
    let mut not_verified = std::collections::BTreeMap::new();
    for case in &dirs {
        let outcome = match bundle_leaf(case) {
            None => "no certificate".to_owned(),
            Some(leaf) => {
                let trust = case_trust(case);
                match issuer_in(&leaf, &trust) {
                    None => "not issued by a CA of its trust root".to_owned(),
                    Some(issuer) => match verify_embedded_scts(&leaf, &issuer, &trust.logs) {
                        Ok(scts) => {
                            assert_eq!(scts.len(), 1, "{case}");
                            verified += 1;
                            println!("{case}: verified");
                            continue;
                        }
                        Err(e) => e.to_string(),
                    },
                }
            }
        };
        println!("{case}: {outcome}");
        not_verified.insert(case.as_str(), outcome);
    }
    let expected = [
        ("bundle-empty-certificate-chain_fail", "no certificate"),
        (
            "bundle-from-wrong-instance_fail",
            "not issued by a CA of its trust root",
        ),
        ("bundle-malformed-json_fail", "no certificate"),
        (
            "invalid-ct-key_fail",
            "none of the 1 embedded SCTs is from a trusted CT log",
        ),
        ("managed-key-and-trusted-root", "no certificate"),
        ("managed-key-happy-path", "no certificate"),
        ("managed-key-wrong-key_fail", "no certificate"),
    ];
    assert_eq!(
        not_verified,
        expected
            .iter()
            .map(|&(case, why)| (case, why.to_owned()))
            .collect()
    );
    assert_eq!(verified, dirs.len() - expected.len());
    assert!(verified >= 40, "{verified}");
}

/// The bundle from the staging instance verifies against the staging trust root only.
#[test]
fn staging_bundle_verifies_against_staging_root() {
    let leaf = bundle_leaf("bundle-from-wrong-instance_fail").unwrap();
    let staging = trust("trust/staging-trusted_root.json");
    let issuer = issuer_in(&leaf, &staging).unwrap();
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &staging.logs)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &trust(PUBLIC_GOOD).logs),
        Err(X509Error::NoValidSct { count: 1 })
    );
}

#[test]
fn sct_with_extensions_verifies_with_its_trust_root() {
    let case = "bundle-with-sct-with-extensions";
    let leaf = bundle_leaf(case).unwrap();
    let trust = case_trust(case);
    let issuer = issuer_in(&leaf, &trust).unwrap();
    let (_, value) = leaf.extension(&oid::SCT_LIST).unwrap();
    let scts = parse_sct_list(value).unwrap();
    assert_eq!(scts.len(), 1);
    // A Static CT leaf-index extension: type 0, length 5, index 0x70.
    assert_eq!(scts[0].extensions, [0, 0, 5, 0, 0, 0, 0, 0x70]);
    let verified = verify_embedded_scts(&leaf, &issuer, &trust.logs).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].timestamp_ms, 1_768_517_364_925);
    // Dropping the extensions breaks the signature.
    let mut stripped = scts.clone();
    stripped[0].extensions.clear();
    let tampered = with_scts(&leaf, &stripped);
    assert!(matches!(
        verify_embedded_scts(&tampered, &issuer, &trust.logs),
        Err(X509Error::Sct {
            index: Some(0),
            reason: SctError::BadSignature { .. }
        })
    ));
}

#[test]
fn invalid_ct_key_fails_for_want_of_the_log() {
    let case = "invalid-ct-key_fail";
    let leaf = bundle_leaf(case).unwrap();
    let trust = case_trust(case);
    // The case's root is the staging one: its logs are not the one that signed the SCT.
    assert_eq!(trust.unparsed_logs, 1, "the bare PKCS#1 RSA log key");
    assert!(trust.logs.iter().all(|l| l.log_id != ctfe_2022()));
    let issuer = issuer_in(&leaf, &trust).unwrap();
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &trust.logs),
        Err(X509Error::NoValidSct { count: 1 })
    );
    // With the public-good logs it verifies.
    let good = self::trust(PUBLIC_GOOD);
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &good.logs).unwrap()[0].log_id,
        ctfe_2022()
    );
}

#[test]
fn wrong_log_key_is_rejected() {
    let (leaf, issuer, trust) = happy();
    // The 2022 log's ID with the test log's key.
    let other = trust.logs.iter().find(|l| l.log_id != ctfe_2022()).unwrap();
    let wrong = CtLog {
        log_id: ctfe_2022(),
        key: other.key.clone(),
        valid_from: None,
        valid_until: None,
    };
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, std::slice::from_ref(&wrong)),
        Err(X509Error::Sct {
            index: Some(0),
            reason: SctError::BadSignature {
                log_id: ctfe_2022().try_into().unwrap()
            }
        })
    );
    // Two trust-root entries under one ID (only the right one has the log's key): either may
    // accept.
    let right = trust.logs.iter().find(|l| l.log_id == ctfe_2022()).unwrap();
    assert!(verify_embedded_scts(&leaf, &issuer, &[right.clone(), wrong.clone()]).is_ok());
    // No log known: nothing verifies.
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &[]),
        Err(X509Error::NoValidSct { count: 1 })
    );
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, std::slice::from_ref(other)),
        Err(X509Error::NoValidSct { count: 1 })
    );
}

#[test]
fn wrong_issuer_is_rejected() {
    let (leaf, issuer, trust) = happy();
    let other_ca = trust.cas.iter().find(|ca| **ca != issuer).unwrap();
    assert!(matches!(
        verify_embedded_scts(&leaf, other_ca, &trust.logs),
        Err(X509Error::Sct {
            reason: SctError::BadSignature { .. },
            ..
        })
    ));
}

#[test]
fn log_validity_window_is_enforced() {
    let (leaf, issuer, trust) = happy();
    let log = trust.logs.iter().find(|l| l.log_id == ctfe_2022()).unwrap();
    let at = 1_710_869_186; // the SCT's second
    let window = |from, until| CtLog {
        valid_from: from,
        valid_until: until,
        ..log.clone()
    };
    for ok in [
        window(Some(at), Some(at)),
        window(None, Some(at)),
        window(Some(at), None),
    ] {
        verify_embedded_scts(&leaf, &issuer, &[ok]).unwrap();
    }
    for bad in [window(Some(at + 1), None), window(None, Some(at - 1))] {
        assert!(matches!(
            verify_embedded_scts(&leaf, &issuer, &[bad]),
            Err(X509Error::Sct {
                index: Some(0),
                reason: SctError::OutsideLogValidity {
                    timestamp_ms: 1_710_869_186_470,
                    ..
                }
            })
        ));
    }
    // Another entry for the same log that covers the time accepts it.
    verify_embedded_scts(
        &leaf,
        &issuer,
        &[window(Some(at + 1), None), window(None, None)],
    )
    .unwrap();
}

#[test]
fn certificate_without_sct_list() {
    let (_, issuer, trust) = happy();
    assert_eq!(
        verify_embedded_scts(&issuer, &issuer, &trust.logs),
        Err(X509Error::MissingSctList)
    );
}

// ---- Rebuilding certificates with other SCT lists ----

/// TLS encoding of an SCT list (the inverse of `parse_sct_list`, inside the OCTET STRING).
fn encode_list(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    let mut list = Vec::new();
    for sct in scts {
        let mut one = vec![0u8];
        one.extend_from_slice(&sct.log_id);
        one.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        one.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        one.extend_from_slice(&sct.extensions);
        one.push(sct.hash_algorithm);
        one.push(sct.signature_algorithm);
        one.extend_from_slice(&(sct.signature.len() as u16).to_be_bytes());
        one.extend_from_slice(&sct.signature);
        list.extend_from_slice(&(one.len() as u16).to_be_bytes());
        list.extend_from_slice(&one);
    }
    let mut out = (list.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&list);
    out
}

/// `leaf` with its SCT list extension value replaced by `value` (the outer signature is left
/// stale; SCT checks do not look at it).
fn with_sct_value(leaf: &Certificate, value: &[u8]) -> Certificate {
    let mut inner = leaf.inner().clone();
    for ext in inner.tbs_certificate.extensions.as_mut().unwrap() {
        if ext.extn_id == oid::SCT_LIST {
            ext.extn_value = der::asn1::OctetString::new(value.to_vec()).unwrap();
        }
    }
    Certificate::from_der(&inner.to_der().unwrap()).unwrap()
}

fn octet_string(tls: &[u8]) -> Vec<u8> {
    der::asn1::OctetString::new(tls.to_vec())
        .unwrap()
        .to_der()
        .unwrap()
}

fn with_tls_list(leaf: &Certificate, tls: &[u8]) -> Certificate {
    with_sct_value(leaf, &octet_string(tls))
}

fn with_scts(leaf: &Certificate, scts: &[SignedCertificateTimestamp]) -> Certificate {
    with_tls_list(leaf, &encode_list(scts))
}

fn real_scts(leaf: &Certificate) -> (Vec<u8>, Vec<SignedCertificateTimestamp>) {
    let (_, value) = leaf.extension(&oid::SCT_LIST).unwrap();
    let tls = der::asn1::OctetString::from_der(value)
        .unwrap()
        .as_bytes()
        .to_vec();
    (tls, parse_sct_list(value).unwrap())
}

#[test]
fn parse_round_trips() {
    for case in ["happy-path-v0.3", "bundle-with-sct-with-extensions"] {
        let leaf = bundle_leaf(case).unwrap();
        let (tls, scts) = real_scts(&leaf);
        assert_eq!(encode_list(&scts), tls, "{case}");
        assert_eq!(scts[0].hash_algorithm, 4);
        assert_eq!(scts[0].signature_algorithm, 3);
        // Rebuilding the certificate with the same list changes nothing.
        assert_eq!(with_scts(&leaf, &scts).der(), leaf.der());
    }
}

#[test]
fn tampered_sct_is_rejected() {
    let (leaf, issuer, trust) = happy();
    let (_, scts) = real_scts(&leaf);
    let bad_signature = |reason: &Result<Vec<VerifiedSct>, X509Error>| {
        matches!(
            reason,
            Err(X509Error::Sct {
                index: Some(0),
                reason: SctError::BadSignature { .. }
            })
        )
    };
    // Every byte of the signature, flipped.
    for i in 0..scts[0].signature.len() {
        let mut t = scts.clone();
        t[0].signature[i] ^= 0x01;
        let r = verify_embedded_scts(&with_scts(&leaf, &t), &issuer, &trust.logs);
        assert!(bad_signature(&r), "signature byte {i}: {r:?}");
    }
    // The timestamp, the extensions, the hash.
    let mut t = scts.clone();
    t[0].timestamp_ms += 1;
    assert!(bad_signature(&verify_embedded_scts(
        &with_scts(&leaf, &t),
        &issuer,
        &trust.logs
    )));
    let mut t = scts.clone();
    t[0].extensions = vec![0];
    assert!(bad_signature(&verify_embedded_scts(
        &with_scts(&leaf, &t),
        &issuer,
        &trust.logs
    )));
    let mut t = scts.clone();
    t[0].hash_algorithm = 5;
    assert!(bad_signature(&verify_embedded_scts(
        &with_scts(&leaf, &t),
        &issuer,
        &trust.logs
    )));
    // Unsupported hash and signature algorithms from a trusted log are errors too.
    for (hash, expect) in [(2u8, "hash"), (6, "hash"), (0, "hash")] {
        let mut t = scts.clone();
        t[0].hash_algorithm = hash;
        let r = verify_embedded_scts(&with_scts(&leaf, &t), &issuer, &trust.logs);
        assert!(
            matches!(
                r,
                Err(X509Error::Sct {
                    reason: SctError::UnsupportedHashAlgorithm { .. },
                    ..
                })
            ),
            "{expect} {hash}: {r:?}"
        );
    }
    for algorithm in [0u8, 1, 2, 7] {
        let mut t = scts.clone();
        t[0].signature_algorithm = algorithm;
        let r = verify_embedded_scts(&with_scts(&leaf, &t), &issuer, &trust.logs);
        assert!(
            matches!(
                r,
                Err(X509Error::Sct {
                    reason: SctError::SignatureAlgorithmMismatch { algorithm: a, .. },
                    ..
                }) if a == algorithm
            ),
            "{algorithm}: {r:?}"
        );
    }
    // Another certificate field changed: the TBS no longer matches.
    let mut inner = leaf.inner().clone();
    inner.tbs_certificate.validity.not_after = inner.tbs_certificate.validity.not_before;
    let changed = Certificate::from_der(&inner.to_der().unwrap()).unwrap();
    assert!(bad_signature(&verify_embedded_scts(
        &changed,
        &issuer,
        &trust.logs
    )));
}

#[test]
fn unknown_logs_are_skipped_but_known_failures_fail_closed() {
    let (leaf, issuer, trust) = happy();
    let (_, scts) = real_scts(&leaf);
    let mut unknown = scts[0].clone();
    unknown.log_id = [7; 32];
    unknown.signature = vec![1, 2, 3];
    unknown.hash_algorithm = 99;
    // An unknown log's SCT, garbage or not, is ignored either side of the good one.
    for list in [
        vec![unknown.clone(), scts[0].clone()],
        vec![scts[0].clone(), unknown.clone()],
    ] {
        let verified =
            verify_embedded_scts(&with_scts(&leaf, &list), &issuer, &trust.logs).unwrap();
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].log_id, ctfe_2022());
    }
    // Only unknown logs: nothing verifies.
    assert_eq!(
        verify_embedded_scts(
            &with_scts(&leaf, &[unknown.clone(), unknown.clone()]),
            &issuer,
            &trust.logs
        ),
        Err(X509Error::NoValidSct { count: 2 })
    );
    // A good SCT and a bad one from the same trusted log: rejected, naming the bad one.
    let mut bad = scts[0].clone();
    bad.timestamp_ms += 1;
    assert!(matches!(
        verify_embedded_scts(
            &with_scts(&leaf, &[scts[0].clone(), bad]),
            &issuer,
            &trust.logs
        ),
        Err(X509Error::Sct {
            index: Some(1),
            reason: SctError::BadSignature { .. }
        })
    ));
    // The same good SCT twice verifies twice.
    assert_eq!(
        verify_embedded_scts(
            &with_scts(&leaf, &[scts[0].clone(), scts[0].clone()]),
            &issuer,
            &trust.logs
        )
        .unwrap()
        .len(),
        2
    );
}

// ---- SCTs signed here, by generated logs ----

/// The RFC 6962 §3.2 signed data for a precertificate entry, built independently of the crate:
/// the TBS is re-encoded with the SCT list extension removed.
fn signed_data(
    leaf: &Certificate,
    issuer: &Certificate,
    timestamp_ms: u64,
    extensions: &[u8],
) -> Vec<u8> {
    let mut tbs = leaf.inner().tbs_certificate.clone();
    tbs.extensions
        .as_mut()
        .unwrap()
        .retain(|e| e.extn_id != oid::SCT_LIST);
    let tbs = tbs.to_der().unwrap();
    let mut d = vec![0, 0];
    d.extend_from_slice(&timestamp_ms.to_be_bytes());
    d.extend_from_slice(&[0, 1]);
    d.extend_from_slice(&Sha256::digest(issuer.public_key().spki_der()));
    d.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
    d.extend_from_slice(&tbs);
    d.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    d.extend_from_slice(extensions);
    d
}

fn log_for(spki_der: &[u8]) -> CtLog {
    CtLog::from_key(PublicKey::from_spki_der(spki_der).unwrap())
}

#[test]
fn generated_logs_ecdsa_p256_p384_p521_and_rsa() {
    let (leaf, issuer, trust) = happy();
    let rng = SystemRandom::new();
    let timestamp_ms = 1_710_869_186_999;
    let extensions = vec![0, 0, 5, 0, 0, 0, 1, 2];
    let data = signed_data(&leaf, &issuer, timestamp_ms, &extensions);
    let sct = |log_id: &[u8], hash_algorithm, signature_algorithm, signature: Vec<u8>| {
        SignedCertificateTimestamp {
            log_id: log_id.try_into().unwrap(),
            timestamp_ms,
            extensions: extensions.clone(),
            hash_algorithm,
            signature_algorithm,
            signature,
        }
    };

    let mut logs = trust.logs.clone();
    let mut list = real_scts(&leaf).1;
    for (alg, hash) in [
        (&aws_sig::ECDSA_P256_SHA256_ASN1_SIGNING, 4),
        (&aws_sig::ECDSA_P521_SHA256_ASN1_SIGNING, 4),
        (&aws_sig::ECDSA_P384_SHA384_ASN1_SIGNING, 5),
        (&aws_sig::ECDSA_P521_SHA384_ASN1_SIGNING, 5),
    ] {
        let key = EcdsaKeyPair::generate(alg).unwrap();
        let log = log_for(key.public_key().as_der().unwrap().as_ref());
        let signature = key.sign(&rng, &data).unwrap().as_ref().to_vec();
        list.push(sct(&log.log_id, hash, 3, signature));
        logs.push(log);
    }
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let mut signature = vec![0; rsa.public_modulus_len()];
    rsa.sign(&aws_sig::RSA_PKCS1_SHA256, &rng, &data, &mut signature)
        .unwrap();
    let rsa_log = log_for(rsa.public_key().as_der().unwrap().as_ref());
    list.push(sct(&rsa_log.log_id, 4, 1, signature.clone()));
    logs.push(rsa_log.clone());

    let leaf6 = with_scts(&leaf, &list);
    let verified = verify_embedded_scts(&leaf6, &issuer, &logs).unwrap();
    assert_eq!(verified.len(), 6);
    assert_eq!(verified[0].log_id, ctfe_2022());
    assert!(verified[1..].iter().all(|v| v.timestamp_ms == timestamp_ms));

    // The RSA signature claimed as ECDSA, or as SHA-384, fails.
    let mut as_ecdsa = list.clone();
    as_ecdsa[5].signature_algorithm = 3;
    assert!(matches!(
        verify_embedded_scts(&with_scts(&leaf, &as_ecdsa), &issuer, &logs),
        Err(X509Error::Sct {
            index: Some(5),
            reason: SctError::SignatureAlgorithmMismatch {
                algorithm: 3,
                key: KeyKind::Rsa,
                ..
            }
        })
    ));
    let mut as_384 = list.clone();
    as_384[5].hash_algorithm = 5;
    assert!(matches!(
        verify_embedded_scts(&with_scts(&leaf, &as_384), &issuer, &logs),
        Err(X509Error::Sct {
            index: Some(5),
            reason: SctError::BadSignature { .. }
        })
    ));

    // An Ed25519 log key never matches an RFC 6962 signature algorithm.
    let ed = aws_sig::Ed25519KeyPair::generate().unwrap();
    let ed_log = log_for(ed.public_key().as_der().unwrap().as_ref());
    let ed_sct = sct(&ed_log.log_id, 8, 7, ed.sign(&data).as_ref().to_vec());
    assert!(matches!(
        verify_embedded_scts(&with_scts(&leaf, &[ed_sct]), &issuer, &[ed_log]),
        Err(X509Error::Sct {
            reason: SctError::UnsupportedHashAlgorithm { hash: 8, .. },
            ..
        })
    ));
}

// ---- Malformed lists ----

#[test]
fn malformed_lists_are_rejected_precisely() {
    let (leaf, _, _) = happy();
    let (tls, scts) = real_scts(&leaf);
    let list_err = |tls: &[u8]| match parse_sct_list(&octet_string(tls)) {
        Err(X509Error::Sct { index, reason }) => (index, reason),
        other => panic!("{other:?}"),
    };
    // Not an OCTET STRING, or one with trailing bytes.
    assert_eq!(
        parse_sct_list(&tls),
        Err(X509Error::Sct {
            index: None,
            reason: SctError::NotOctetString
        })
    );
    let mut trailing = octet_string(&tls);
    trailing.push(0);
    assert!(parse_sct_list(&trailing).is_err());
    // Empty, or nothing at all.
    assert_eq!(list_err(&[0, 0]), (None, SctError::EmptyList));
    assert!(matches!(
        list_err(&[]),
        (
            None,
            SctError::Truncated {
                field: "SCT list",
                needed: 2,
                available: 0
            }
        )
    ));
    // Bytes after the list.
    let mut extra = tls.clone();
    extra.push(0);
    assert_eq!(
        list_err(&extra),
        (
            None,
            SctError::TrailingBytes {
                structure: "SCT list",
                count: 1
            }
        )
    );
    // An empty entry.
    assert_eq!(list_err(&[0, 2, 0, 0]), (Some(0), SctError::EmptySct));
    // Version 1 (RFC 9162 v2 SCTs are not embedded this way).
    let mut v2 = tls.clone();
    v2[4] = 1;
    assert_eq!(list_err(&v2), (Some(0), SctError::UnsupportedVersion(1)));
    // An SCT with a byte left over inside its entry.
    let one = &tls[4..];
    let mut padded = ((one.len() + 3) as u16).to_be_bytes().to_vec();
    padded.extend_from_slice(&((one.len() + 1) as u16).to_be_bytes());
    padded.extend_from_slice(one);
    padded.push(0);
    assert_eq!(
        list_err(&padded),
        (
            Some(0),
            SctError::TrailingBytes {
                structure: "SCT",
                count: 1
            }
        )
    );
    // A signature length running past the entry.
    let mut long_sig = tls.clone();
    let at = 2 + 2 + 1 + 32 + 8 + 2 + 2; // signature length
    long_sig[at + 1] += 1;
    assert!(matches!(
        list_err(&long_sig),
        (
            Some(0),
            SctError::Truncated {
                field: "signature",
                ..
            }
        )
    ));
    // At most MAX_SCTS.
    let many = vec![scts[0].clone(); MAX_SCTS];
    assert_eq!(
        parse_sct_list(&octet_string(&encode_list(&many)))
            .unwrap()
            .len(),
        MAX_SCTS
    );
    let too_many = vec![scts[0].clone(); MAX_SCTS + 1];
    assert_eq!(
        list_err(&encode_list(&too_many)),
        (None, SctError::TooManyScts { max: MAX_SCTS })
    );
    // Messages say what was wrong.
    let e = X509Error::Sct {
        index: Some(0),
        reason: SctError::UnsupportedVersion(1),
    };
    assert_eq!(e.to_string(), "embedded SCT 0: version 1 is not v1 (0)");
}

#[test]
fn mutated_lists_never_panic() {
    let (leaf, issuer, trust) = happy();
    let (tls, _) = real_scts(&leaf);
    let check = |tls: &[u8]| {
        let _ = parse_sct_list(&octet_string(tls));
        let _ = verify_embedded_scts(&with_tls_list(&leaf, tls), &issuer, &trust.logs);
    };
    // Every truncation, every byte flipped, every byte set to 0x00 and 0xff.
    for len in 0..tls.len() {
        check(&tls[..len]);
    }
    for i in 0..tls.len() {
        for f in [
            |b: u8| b ^ 0x80,
            |_| 0x00,
            |_| 0xff,
            |b: u8| b.wrapping_add(1),
        ] {
            let mut m = tls.clone();
            m[i] = f(m[i]);
            if m == tls {
                continue;
            }
            let r = verify_embedded_scts(&with_tls_list(&leaf, &m), &issuer, &trust.logs);
            // Changing any byte breaks parsing, the log match or the signature.
            assert!(r.is_err(), "byte {i} changed and still verified");
        }
    }
    // Garbage of many lengths, in and out of an OCTET STRING.
    for len in 0..300 {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        let _ = parse_sct_list(&data);
        check(&data);
    }
    // The largest lists the length fields allow (too big for a certificate, so parsed alone).
    let _ = parse_sct_list(&octet_string(&[0xff; 70_000]));
    let mut big = vec![0xff, 0xff];
    big.extend(std::iter::repeat_n(0u8, 0xffff));
    assert_eq!(
        parse_sct_list(&octet_string(&big)),
        Err(X509Error::Sct {
            index: Some(0),
            reason: SctError::EmptySct
        })
    );
}
