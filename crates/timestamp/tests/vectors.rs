//! RFC 3161 timestamps from real Sigstore bundles in `../shared/testdata`: sigstore-python's TSA
//! assets and the sigstore-conformance `bundle-verify` cases that carry timestamps, each checked
//! against the trusted root beside it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use signet_timestamp::*;
use signet_x509::Certificate;

#[test]
fn rfc3339_helper() {
    assert_eq!(rfc3339("1970-01-01T00:00:00Z"), 0);
    assert_eq!(rfc3339("2025-07-25T19:53:04Z"), 1_753_473_184);
    assert_eq!(rfc3339("2024-02-29T12:00:00.000Z"), 1_709_208_000);
}

/// What `verify_timestamp` alone must conclude for a conformance case.
enum Expect {
    /// The timestamp verifies. For `_fail` cases the reason the bundle fails lies elsewhere.
    Verified,
    /// The timestamp is rejected with this error.
    Rejected(fn(&TimestampError) -> bool),
}

/// Every conformance case whose bundle carries RFC 3161 timestamps.
const CONFORMANCE: &[(&str, Expect)] = &[
    ("bundle-with-sct-with-extensions", Expect::Verified),
    // Fails because genTime (2023-02-02) is after the signing certificate expired: the caller
    // compares the verified time with the certificate (checked below).
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        Expect::Verified,
    ),
    // The next three fail on the Rekor v2 checkpoint, not the timestamp.
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        Expect::Verified,
    ),
    ("rekor2-checkpoint-missing-origin_fail", Expect::Verified),
    ("rekor2-checkpoint-missing-size_fail", Expect::Verified),
    ("rekor2-checkpoint-multiple-cosigs", Expect::Verified),
    ("rekor2-checkpoint-origin-not-first", Expect::Verified),
    ("rekor2-checkpoint-two-sigs-cosigned", Expect::Verified),
    ("rekor2-dsse-happy-path", Expect::Verified),
    // The envelope signature is by another key; the timestamp covers that signature and is
    // fine (README: "should not produce a timestamp failure").
    ("rekor2-dsse-invalid-sig_fail", Expect::Verified),
    // The envelope signature differs from the one logged; the timestamp covers the envelope's.
    ("rekor2-dsse-mismatch-sig_fail", Expect::Verified),
    ("rekor2-happy-path", Expect::Verified),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        Expect::Rejected(|e| {
            matches!(
                e,
                TimestampError::OutsideAuthorityValidity {
                    authority: 0,
                    time: 1_749_729_740,
                    valid_from: 1_744_156_800,
                    valid_until: Some(1_748_736_000),
                }
            )
        }),
    ),
    (
        "rekor2-timestamp-payload-mismatch_fail",
        Expect::Rejected(|e| matches!(e, TimestampError::ImprintMismatch { .. })),
    ),
    // FreeTSA signed it and embeds its own certificates; the trusted root only has Sigstore's.
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        Expect::Rejected(|e| {
            matches!(e, TimestampError::NotAuthorityLeaf { authority: 0, subject }
                if subject.contains("CN=www.freetsa.org"))
        }),
    ),
    // The TSA chain expired minutes after genTime; it is checked at genTime, so it verifies.
    ("rekor2-timestamp-with-expired-cert-chain", Expect::Verified),
    ("rekor2-timestamp-without-embedded-cert", Expect::Verified),
    // The trusted root's *tlog* lacks a validity start; its TSA is fine.
    (
        "trust-root-tlog-missing-validity-start_fail",
        Expect::Verified,
    ),
    // These two use the production trusted root. The wrong key is the artifact signer's.
    ("managed-key-happy-path", Expect::Verified),
    ("managed-key-wrong-key_fail", Expect::Verified),
];

#[test]
fn conformance_cases() {
    for (case, expect) in CONFORMANCE {
        let (bundle, authorities) = conformance(case);
        assert_eq!(bundle.tokens.len(), 1, "{case}");
        let result = verify_timestamp(&bundle.tokens[0], &bundle.signature, &authorities);
        match (expect, &result) {
            (Expect::Verified, Ok(verified)) => {
                assert_eq!(verified.authority, 0, "{case}");
                let token = parse_timestamp_token(&bundle.tokens[0]).unwrap();
                assert_eq!(verified.time, token.gen_time, "{case}");
            }
            (Expect::Rejected(want), Err(e)) if want(e) => {}
            _ => panic!("{case}: unexpected {result:?}"),
        }
    }
}

/// Every conformance case with a timestamp is in the table above, so new cases get a look.
#[test]
fn conformance_table_is_complete() {
    let dir = signet_testdata::path("conformance/bundle-verify");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().file_name().into_string().unwrap();
        let Ok(text) = std::fs::read_to_string(dir.join(&case).join("bundle.sigstore.json")) else {
            continue;
        };
        if text.contains("rfc3161Timestamps") && text.contains("signedTimestamp") {
            assert!(
                CONFORMANCE.iter().any(|(c, _)| *c == case),
                "conformance case {case} has a timestamp but is not in CONFORMANCE"
            );
        }
    }
}

#[test]
fn timestamp_outside_signing_certificate_is_the_callers_check() {
    let (bundle, authorities) = conformance("intoto-tsa-timestamp-outside-cert-validity_fail");
    let verified = verify_timestamp(&bundle.tokens[0], &bundle.signature, &authorities).unwrap();
    let cert = signing_certificate(&bundle.json).unwrap();
    assert!(!cert.is_valid_at(verified.time));
}

#[test]
fn expired_tsa_chain_is_checked_at_gen_time() {
    let (bundle, authorities) = conformance("rekor2-timestamp-with-expired-cert-chain");
    let verified = verify_timestamp(&bundle.tokens[0], &bundle.signature, &authorities).unwrap();
    let tsa = &authorities[0].chain[0];
    assert!(tsa.is_valid_at(verified.time));
    assert!(
        tsa.not_after() - verified.time < 600,
        "the chain lived minutes"
    );
}

#[test]
fn token_fields() {
    let (bundle, _) = conformance("rekor2-happy-path");
    let token = parse_timestamp_token(&bundle.tokens[0]).unwrap();
    assert_eq!(token.gen_time, 1_749_729_740); // 2025-06-12T12:02:20Z
    assert_eq!(token.gen_time_nanos, 0);
    assert_eq!(token.message_imprint_alg, HashAlgorithm::Sha256);
    assert_eq!(
        token.message_imprint,
        HashAlgorithm::Sha256.digest(&bundle.signature)
    );
    assert_eq!(token.policy, "1.3.6.1.4.1.57264.2");
    assert_eq!(
        token.tsa_name.as_deref(),
        Some("CN=sigstore-tsa,O=sigstore.dev")
    );
    assert_eq!(
        token.accuracy,
        Some(TimestampAccuracy {
            seconds: 1,
            millis: 0,
            micros: 0
        })
    );
    assert!(!token.ordering);
    assert!(token.nonce.is_some());
    assert!(!token.serial.is_empty());
    assert_eq!(token.embedded_certificates.len(), 1);
    let embedded = Certificate::from_der(&token.embedded_certificates[0]).unwrap();
    assert_eq!(embedded.subject(), "CN=sigstore-tsa,O=sigstore.dev");

    let (bundle, _) = conformance("rekor2-timestamp-without-embedded-cert");
    let token = parse_timestamp_token(&bundle.tokens[0]).unwrap();
    assert!(token.embedded_certificates.is_empty());
}

#[test]
fn sigstore_python_bundle_txt() {
    let bundle = python_bundle("bundle.txt.sigstore");
    let tsa = [sigstore_python_tsa()];
    assert_eq!(bundle.tokens.len(), 2);
    let verified = verify_timestamp(&bundle.tokens[0], &bundle.signature, &tsa).unwrap();
    assert_eq!(
        verified,
        VerifiedTimestamp {
            time: 1_730_370_219,
            authority: 0
        }
    );
    // The second timestamp is the SHA-512 of "hello", not of this bundle's signature.
    let second = verify_timestamp(&bundle.tokens[1], &bundle.signature, &tsa).unwrap_err();
    assert!(
        matches!(second, TimestampError::ImprintMismatch { .. }),
        "{second}"
    );
    assert_eq!(
        parse_timestamp_token(&bundle.tokens[1])
            .unwrap()
            .message_imprint_alg,
        HashAlgorithm::Sha512
    );
    verify_timestamp(&bundle.tokens[1], b"hello", &tsa).unwrap();
    // `tsa/trust_config.json` holds another local TSA (an RSA one): not the one that signed.
    let other = authorities(&signet_testdata::path(
        "sigstore-python/tsa/trust_config.json",
    ));
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &other).unwrap_err();
    assert!(
        matches!(e, TimestampError::NotAuthorityLeaf { authority: 0, .. }),
        "{e}"
    );
}

#[test]
fn sigstore_python_duplicate_and_many_timestamps() {
    // Limits on how many timestamps a bundle may have, and duplicates, are the caller's
    // policy; each token on its own is a valid timestamp of "hello".
    let tsa = [sigstore_python_tsa()];
    for (name, count) in [
        ("bundle.duplicate.sigstore", 3),
        ("bundle.many_timestamp.sigstore", 33),
    ] {
        let bundle = python_bundle(name);
        assert_eq!(bundle.tokens.len(), count, "{name}");
        for token in &bundle.tokens {
            let verified = verify_timestamp(token, b"hello", &tsa).unwrap();
            assert_eq!(verified.time, 1_730_381_504, "{name}");
        }
    }
}

#[test]
fn sigstore_python_late_timestamp() {
    // Made by the staging TSA 12 minutes after signing, when the Fulcio certificate had
    // expired. The token itself is good; the caller's certificate check must reject it.
    let bundle = python_bundle("bundle.txt.late_timestamp.sigstore");
    let verified = verify_timestamp(&bundle.tokens[0], &bundle.signature, &staging()).unwrap();
    assert_eq!(verified.time, 1_747_076_427);
    let cert = signing_certificate(&bundle.json).unwrap();
    assert!(verified.time > cert.not_after());
}

#[test]
fn sigstore_python_issue1482_response_without_certificates() {
    // A TimeStampResp whose SignedData has an empty `certificates` set: the signer is found
    // by issuer and serial number among the trusted TSA certificates.
    let path = |name: &str| signet_testdata::path(&format!("sigstore-python/tsa/{name}"));
    let token = std::fs::read(path("issue1482-timestamp-with-no-cert")).unwrap();
    let message = std::fs::read(path("issue1482-message")).unwrap();
    assert!(
        parse_timestamp_token(&token)
            .unwrap()
            .embedded_certificates
            .is_empty()
    );
    let verified = verify_timestamp(&token, &message, &staging()).unwrap();
    assert_eq!(
        verified,
        VerifiedTimestamp {
            time: 1_753_473_184,
            authority: 0
        }
    );
    let e = verify_timestamp(&token, b"other", &staging()).unwrap_err();
    assert!(matches!(e, TimestampError::ImprintMismatch { .. }));
}

#[test]
fn other_bundles_with_timestamps() {
    for (bundle, root) in [
        (
            "sigstore-python/staging-rekor-v2.txt.sigstore.json",
            "trust/staging-trusted_root.json",
        ),
        (
            "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
            "trust/staging-trusted_root.json",
        ),
        (
            "sigstore-go/bundles/public-key-validity.sigstore.json",
            "sigstore-go/trusted-roots/public-key-validity.json",
        ),
    ] {
        let b = self::bundle(&signet_testdata::path(bundle));
        let authorities = authorities(&signet_testdata::path(root));
        assert_eq!(b.tokens.len(), 1, "{bundle}");
        verify_timestamp(&b.tokens[0], &b.signature, &authorities)
            .unwrap_or_else(|e| panic!("{bundle}: {e}"));
    }
}

/// FreeTSA's token (RSA, SHA-512, rsaEncryption as the signature algorithm, an ESS v1
/// signing-certificate attribute with a SHA-1 hash) gets through the signature checks once
/// FreeTSA is trusted, and stops at its root, whose basic constraints are not critical (RFC 5280
/// requires them to be; `signet_x509::verify_chain` insists).
#[test]
fn freetsa_when_trusted() {
    let (bundle, _) = conformance("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail");
    let token = parse_timestamp_token(&bundle.tokens[0]).unwrap();
    let mut chain: Vec<Certificate> = token
        .embedded_certificates
        .iter()
        .map(|der| Certificate::from_der(der).unwrap())
        .collect();
    chain.sort_by_key(Certificate::is_ca);
    assert_eq!(chain.len(), 2);
    let freetsa = TimestampAuthority {
        chain,
        valid_from: Some(0),
        valid_until: None,
    };
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &[freetsa]).unwrap_err();
    assert!(
        matches!(
            &e,
            TimestampError::Chain {
                source: signet_x509::X509Error::NotACa {
                    reason: "basic constraints are not critical",
                    ..
                },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn first_authority_that_verifies_wins() {
    let (bundle, mut authorities) = conformance("rekor2-happy-path");
    authorities.insert(0, sigstore_python_tsa());
    let verified = verify_timestamp(&bundle.tokens[0], &bundle.signature, &authorities).unwrap();
    assert_eq!(verified.authority, 1);
}

#[test]
fn authority_validity() {
    let (bundle, authorities) = conformance("rekor2-timestamp-without-embedded-cert");
    let token = &bundle.tokens[0];
    let time = parse_timestamp_token(token).unwrap().gen_time;
    let with = |valid_from, valid_until| {
        let mut a = authorities[0].clone();
        a.valid_from = valid_from;
        a.valid_until = valid_until;
        verify_timestamp(token, &bundle.signature, &[a])
    };
    // Both ends are inclusive; a missing end is open.
    with(Some(time), Some(time)).unwrap();
    with(Some(time), None).unwrap();
    for (from, until) in [(Some(time + 1), None), (Some(0), Some(time - 1))] {
        let e = with(from, until).unwrap_err();
        assert!(
            matches!(
                e,
                TimestampError::OutsideAuthorityValidity { authority: 0, .. }
            ),
            "{e}"
        );
    }
    // A missing start makes the authority unusable.
    let e = with(None, None).unwrap_err();
    assert_eq!(e, TimestampError::AuthorityWithoutStart { authority: 0 });
}

#[test]
fn the_furthest_failure_is_reported() {
    let (bundle, authorities) = conformance("rekor2-happy-path");
    let mut expired = authorities[0].clone();
    expired.valid_until = Some(expired.valid_from.unwrap());
    let mut no_start = authorities[0].clone();
    no_start.valid_from = None;
    let empty = TimestampAuthority {
        chain: Vec::new(),
        valid_from: Some(0),
        valid_until: None,
    };
    let all = [no_start, expired, sigstore_python_tsa(), empty];
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &all).unwrap_err();
    assert!(
        matches!(
            e,
            TimestampError::OutsideAuthorityValidity { authority: 1, .. }
        ),
        "{e}"
    );
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &all[3..]).unwrap_err();
    assert_eq!(e, TimestampError::EmptyAuthorityChain { authority: 0 });
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &[]).unwrap_err();
    assert_eq!(e, TimestampError::NoAuthorities);
}

#[test]
fn authority_with_only_ca_certificates() {
    // With no TSA certificate in the trusted chain, an embedded TSA certificate must chain to
    // it; a token without embedded certificates then has no signer certificate.
    let (with_cert, authorities) = conformance("rekor2-happy-path");
    let mut ca_only = authorities[0].clone();
    ca_only.chain.remove(0);
    let verified = verify_timestamp(
        &with_cert.tokens[0],
        &with_cert.signature,
        &[ca_only.clone()],
    )
    .unwrap();
    assert_eq!(verified.authority, 0);

    let (without, _) = conformance("rekor2-timestamp-without-embedded-cert");
    let e = verify_timestamp(&without.tokens[0], &without.signature, &[ca_only]).unwrap_err();
    assert_eq!(
        e,
        TimestampError::SignerCertificateNotFound { authority: 0 }
    );
}

#[test]
fn authority_with_only_a_leaf_is_unusable() {
    let (bundle, authorities) = conformance("rekor2-happy-path");
    let mut leaf_only = authorities[0].clone();
    leaf_only.chain.truncate(1);
    let e = verify_timestamp(&bundle.tokens[0], &bundle.signature, &[leaf_only]).unwrap_err();
    assert!(
        matches!(
            e,
            TimestampError::Chain {
                source: signet_x509::X509Error::BadTrustedChain(_),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn response_and_bare_token_are_equivalent() {
    let (bundle, authorities) = conformance("rekor2-happy-path");
    let response = &bundle.tokens[0];
    let token = bare_token(response);
    assert_eq!(token[0], 0x30);
    assert_eq!(
        parse_timestamp_token(&token).unwrap(),
        parse_timestamp_token(response).unwrap()
    );
    assert_eq!(
        verify_timestamp(&token, &bundle.signature, &authorities).unwrap(),
        verify_timestamp(response, &bundle.signature, &authorities).unwrap()
    );
}

/// The `timeStampToken` inside a `TimeStampResp` (both long-form lengths, as real ones are).
fn bare_token(response: &[u8]) -> Vec<u8> {
    fn skip_header(der: &[u8]) -> &[u8] {
        let len_len = if der[1] & 0x80 == 0 {
            0
        } else {
            usize::from(der[1] & 0x7f)
        };
        &der[2 + len_len..]
    }
    let body = skip_header(response);
    // Skip the PKIStatusInfo.
    let status_len = usize::from(body[1]);
    body[2 + status_len..].to_vec()
}
