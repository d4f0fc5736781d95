//! Untrusted tokens: garbage, truncations and every single-byte change of real tokens never
//! panic, and a changed token either fails or still attests the same thing. Targeted changes
//! hit the precise error for each check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use proptest::prelude::*;
use signet_timestamp::*;

/// A real token, what it timestamps and the authorities that verify it.
struct Sample {
    name: &'static str,
    token: Vec<u8>,
    data: Vec<u8>,
    authorities: Vec<TimestampAuthority>,
}

/// The Sigstore TSA with an embedded certificate and without one, and the local test TSA
/// (SHA-512 imprint, intermediate CA).
fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for name in [
        "rekor2-happy-path",
        "rekor2-timestamp-without-embedded-cert",
    ] {
        let (bundle, authorities) = conformance(name);
        out.push(Sample {
            name,
            token: bundle.tokens[0].clone(),
            data: bundle.signature,
            authorities,
        });
    }
    out.push(Sample {
        name: "sigstore-python bundle.duplicate",
        token: python_bundle("bundle.duplicate.sigstore").tokens[0].clone(),
        data: b"hello".to_vec(),
        authorities: vec![sigstore_python_tsa()],
    });
    out
}

/// Whether a changed token that still verifies attests exactly what the original does.
fn same_attestation(original: &[u8], changed: &[u8]) -> bool {
    let (a, b) = (
        parse_timestamp_token(original).unwrap(),
        parse_timestamp_token(changed).unwrap(),
    );
    a.gen_time == b.gen_time
        && a.gen_time_nanos == b.gen_time_nanos
        && a.message_imprint == b.message_imprint
        && a.message_imprint_alg == b.message_imprint_alg
        && a.serial == b.serial
        && a.policy == b.policy
}

#[test]
fn every_single_byte_change() {
    for Sample {
        name,
        token,
        data,
        authorities,
    } in samples()
    {
        let original = verify_timestamp(&token, &data, &authorities).unwrap();
        let mut still_verify = Vec::new();
        for i in 0..token.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut changed = token.clone();
                changed[i] ^= mask;
                let _ = parse_timestamp_token(&changed);
                if let Ok(verified) = verify_timestamp(&changed, &data, &authorities) {
                    assert_eq!(verified, original, "{name}: byte {i} ^ {mask:#x}");
                    assert!(
                        same_attestation(&token, &changed),
                        "{name}: byte {i} ^ {mask:#x} changed what is attested"
                    );
                    still_verify.push((i, mask));
                }
            }
        }
        // Only what the TSA does not sign may change: the response status may become
        // grantedWithMods (1), and an empty certificate set `[0] {}` an empty CRL set `[1] {}`.
        assert_eq!(token[8], 0, "{name}: status byte");
        let mut unsigned = vec![(8, 0x01)];
        if parse_timestamp_token(&token)
            .unwrap()
            .embedded_certificates
            .is_empty()
        {
            unsigned.extend(
                find_all(&token, &[0xa0, 0x00])
                    .into_iter()
                    .map(|p| (p, 0x01)),
            );
        }
        assert_eq!(still_verify, unsigned, "{name}");
    }
}

#[test]
fn truncated_and_extended_tokens_fail() {
    for Sample {
        name,
        token,
        data,
        authorities,
    } in samples()
    {
        for len in 0..token.len() {
            assert!(
                verify_timestamp(&token[..len], &data, &authorities).is_err(),
                "{name}: {len}"
            );
            assert!(
                parse_timestamp_token(&token[..len]).is_err(),
                "{name}: {len}"
            );
        }
        let mut longer = token.clone();
        longer.push(0);
        let e = verify_timestamp(&longer, &data, &authorities).unwrap_err();
        assert!(matches!(e, TimestampError::Malformed { .. }), "{name}: {e}");
    }
}

#[test]
fn garbage_is_malformed() {
    let (bundle, authorities) = conformance("rekor2-happy-path");
    let pem = format!(
        "-----BEGIN PKCS7-----\n{}\n-----END PKCS7-----\n",
        base64_encode(&bundle.tokens[0])
    );
    // A TimeStampReq (what `openssl ts -query` writes), not a response.
    let mut request = vec![
        0x30, 0x31, 0x02, 0x01, 0x01, 0x30, 0x2c, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
        0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20,
    ];
    request.extend([0xab; 32]);
    request.extend([0x01, 0x01, 0xff]);
    let text = b"Status info:\nStatus: Granted.\nTST info:\nVersion: 1\n".to_vec();
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0x30],
        vec![0x30, 0x00],
        vec![0x30, 0x80, 0x00, 0x00],
        vec![0x05, 0x00],
        vec![0x30, 0x03, 0x02, 0x01, 0x00],
        pem.into_bytes(),
        base64_encode(&bundle.tokens[0]).into_bytes(),
        request,
        text,
        vec![0xff; 100],
    ];
    for garbage in cases {
        let e = verify_timestamp(&garbage, &bundle.signature, &authorities).unwrap_err();
        assert!(
            matches!(e, TimestampError::Malformed { .. }),
            "{garbage:02x?}: {e}"
        );
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn oversized_token() {
    let mut big = vec![0x30, 0x83, 0x01, 0x00, 0x00];
    big.resize(5 + 0x10000, 0);
    let e = parse_timestamp_token(&big).unwrap_err();
    assert_eq!(
        e,
        TimestampError::TooLarge {
            size: 0x10005,
            max: MAX_TOKEN_SIZE
        }
    );
}

#[test]
fn refused_responses() {
    // TimeStampResp { status { rejection (2) } }.
    let rejected = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
    assert_eq!(
        parse_timestamp_token(&rejected).unwrap_err(),
        TimestampError::NotGranted { status: 2 }
    );
    // TimeStampResp { status { granted (0) } } with no token.
    let empty = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00];
    assert_eq!(
        parse_timestamp_token(&empty).unwrap_err(),
        TimestampError::MissingToken
    );
}

#[test]
fn content_info_of_another_type() {
    // ContentInfo { id-data, [0] OCTET STRING "" }.
    let data = [
        0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x02,
        0x04, 0x00,
    ];
    assert_eq!(
        parse_timestamp_token(&data).unwrap_err(),
        TimestampError::NotSignedData {
            found: "1.2.840.113549.1.7.1".into()
        }
    );
}

/// The happy-path token (with an embedded certificate) and what it covers.
fn happy() -> (Vec<u8>, Vec<u8>, Vec<TimestampAuthority>) {
    let (bundle, authorities) = conformance("rekor2-happy-path");
    (bundle.tokens[0].clone(), bundle.signature, authorities)
}

/// Where `needle` occurs in `haystack`.
fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

const OID_TST_INFO: &[u8] = &[
    0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_MESSAGE_DIGEST: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04,
];
const OID_SIGNING_TIME: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
];
const OID_SIGNING_CERTIFICATE_V2: &[u8] = &[
    0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];
const OID_SHA256: &[u8] = &[
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
];
const OID_ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

fn verify_changed(change: impl FnOnce(&mut Vec<u8>)) -> TimestampError {
    let (mut token, data, authorities) = happy();
    change(&mut token);
    verify_timestamp(&token, &data, &authorities).unwrap_err()
}

#[test]
fn changed_signed_attribute_breaks_the_signature() {
    let e = verify_changed(|t| {
        // signingTime: OID, SET header, UTCTime header, then digits; change the last digit.
        let at = find_all(t, OID_SIGNING_TIME)[0] + OID_SIGNING_TIME.len() + 4 + 11;
        t[at] = if t[at] == b'0' { b'1' } else { b'0' };
    });
    assert!(matches!(e, TimestampError::BadSignature { .. }), "{e}");
}

#[test]
fn changed_message_digest_attribute() {
    let e = verify_changed(|t| {
        let at = find_all(t, OID_MESSAGE_DIGEST)[0] + OID_MESSAGE_DIGEST.len() + 4;
        t[at] ^= 1;
    });
    assert!(
        matches!(e, TimestampError::MessageDigestMismatch { .. }),
        "{e}"
    );
}

#[test]
fn changed_tst_info_no_longer_matches_its_digest() {
    let (token, ..) = happy();
    let serial = parse_timestamp_token(&token).unwrap().serial;
    let e = verify_changed(|t| {
        let at = find_all(t, &serial)[0] + serial.len() - 1;
        t[at] ^= 1;
    });
    assert!(
        matches!(e, TimestampError::MessageDigestMismatch { .. }),
        "{e}"
    );
}

#[test]
fn changed_content_type_attribute() {
    let e = verify_changed(|t| {
        // The first id-ct-TSTInfo is eContentType, the last the content-type attribute.
        let at = *find_all(t, OID_TST_INFO).last().unwrap() + OID_TST_INFO.len() - 1;
        t[at] = 0x05;
    });
    assert_eq!(
        e,
        TimestampError::ContentTypeAttributeMismatch {
            found: "1.2.840.113549.1.9.16.1.5".into()
        }
    );
}

#[test]
fn changed_encapsulated_content_type() {
    let e = verify_changed(|t| {
        let at = find_all(t, OID_TST_INFO)[0] + OID_TST_INFO.len() - 1;
        t[at] = 0x05;
    });
    assert_eq!(
        e,
        TimestampError::NotTstInfo {
            found: "1.2.840.113549.1.9.16.1.5".into()
        }
    );
}

#[test]
fn changed_signing_certificate_attribute() {
    let e = verify_changed(|t| {
        // OID, SET, SigningCertificateV2, certs, ESSCertIDv2 headers (the hash algorithm is the
        // default SHA-256, so omitted), then the certHash header and its first byte.
        let at = find_all(t, OID_SIGNING_CERTIFICATE_V2)[0] + OID_SIGNING_CERTIFICATE_V2.len();
        let hash = at + 2 + 2 + 2 + 2 + 2;
        assert_eq!(t[hash - 2..hash], [0x04, 0x20]);
        t[hash] ^= 1;
    });
    assert!(
        matches!(e, TimestampError::SigningCertificateMismatch { .. }),
        "{e}"
    );
}

#[test]
fn unsupported_imprint_hash() {
    let e = verify_changed(|t| {
        // SignedData.digestAlgorithms comes first, then the TSTInfo's message imprint.
        let at = find_all(t, OID_SHA256)[1] + OID_SHA256.len() - 1;
        t[at] = 0x04; // SHA-224
    });
    assert_eq!(
        e,
        TimestampError::UnsupportedHashAlgorithm {
            field: "messageImprint",
            oid: "2.16.840.1.101.3.4.2.4".into()
        }
    );
}

#[test]
fn unsupported_signature_algorithm() {
    let e = verify_changed(|t| {
        // The signer info's signature algorithm is the last ecdsa-with-SHA256 in the token.
        let at = *find_all(t, OID_ECDSA_SHA256).last().unwrap() + OID_ECDSA_SHA256.len() - 1;
        t[at] = 0x03; // ecdsa-with-SHA384, which disagrees with the SHA-256 digest algorithm
    });
    assert_eq!(
        e,
        TimestampError::UnsupportedSignatureAlgorithm {
            oid: "1.2.840.10045.4.3.3".into()
        }
    );
}

#[test]
fn embedded_certificates_without_the_signer() {
    let e = verify_changed(|t| {
        // The TSA certificate's serial number comes first in the embedded certificate, then
        // again in the signer identifier; change the certificate's.
        let serial = [0x02, 0x14, 0x0a, 0x35, 0xa1, 0x06];
        let at = find_all(t, &serial)[0] + serial.len() - 1;
        t[at] ^= 1;
    });
    assert_eq!(e, TimestampError::SignerNotEmbedded { embedded: 1 });
}

#[test]
fn signer_info_version_must_match_its_identifier() {
    let e = verify_changed(|t| {
        // SignerInfo ::= SEQUENCE { version 1, sid IssuerAndSerialNumber (81 bytes), ... }
        let at = find_all(t, &[0x02, 0x01, 0x01, 0x30, 0x51])[0] + 2;
        t[at] = 3;
    });
    assert_eq!(
        e,
        TimestampError::UnexpectedVersion {
            what: "SignerInfo",
            version: 3
        }
    );
}

#[test]
fn signer_digest_algorithm_must_be_listed() {
    let e = verify_changed(|t| {
        // SignedData.digestAlgorithms holds the first SHA-256 OID.
        let at = find_all(t, OID_SHA256)[0] + OID_SHA256.len() - 1;
        t[at] = 0x02;
    });
    assert_eq!(
        e,
        TimestampError::DigestAlgorithmNotListed {
            oid: "2.16.840.1.101.3.4.2.1".into()
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (_, data, authorities) = happy();
        let _ = parse_timestamp_token(&bytes);
        prop_assert!(verify_timestamp(&bytes, &data, &authorities).is_err());
    }

    #[test]
    fn arbitrary_changes_never_panic(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (mut token, data, authorities) = happy();
        let original = token.clone();
        for (index, byte) in changes {
            let i = index.index(token.len());
            token[i] = byte;
        }
        if verify_timestamp(&token, &data, &authorities).is_ok() {
            prop_assert!(same_attestation(&original, &token));
        }
    }
}
