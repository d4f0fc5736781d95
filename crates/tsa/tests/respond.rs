//! The pure core: tokens verify with signet-timestamp, requests are honoured field by field,
//! and bad requests get the right rejection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use common::*;
use der::{Any, Decode, Encode};
use signet_tsa::{SigningAlgorithm, TsaTime};

const DATA: &[u8] = b"the signature bytes being timestamped";

#[test]
fn tokens_verify_for_every_imprint_hash_and_key() {
    for key_alg in [
        SigningAlgorithm::EcdsaP256Sha256,
        SigningAlgorithm::EcdsaP384Sha384,
    ] {
        let tsa = authority(key_alg, NOW.unix_seconds);
        for alg in [SHA256, SHA384, SHA512] {
            for cert_req in [true, false] {
                let mut req = Req::over(alg, DATA);
                req.cert_req = cert_req;
                let reply = tsa.respond(&req.der(), NOW, [0xab; 16]);
                let verified =
                    signet_timestamp::verify_timestamp(&reply, DATA, &trust(&tsa)).unwrap();
                assert_eq!(verified.time, 1_780_000_000, "{key_alg:?} {alg}");
                // The same token over other data fails.
                assert!(
                    signet_timestamp::verify_timestamp(&reply, b"other", &trust(&tsa)).is_err()
                );
            }
        }
    }
}

#[test]
fn token_fields_follow_the_request() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let mut req = Req::over(SHA384, DATA);
    req.nonce = Some(vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
    req.policy = Some(signet_tsa::SIGSTORE_POLICY);
    let reply = tsa.respond(&req.der(), NOW, [0xff; 16]);
    assert_eq!(status(&reply), (0, vec![], true));
    let token = signet_timestamp::parse_timestamp_token(&reply).unwrap();
    assert_eq!(token.gen_time, 1_780_000_000);
    assert_eq!(token.gen_time_nanos, 0);
    assert_eq!(
        token.nonce.as_deref(),
        Some(&req.nonce.clone().unwrap()[..])
    );
    assert_eq!(token.policy, "1.3.6.1.4.1.57264.2");
    assert_eq!(token.message_imprint, req.imprint);
    assert!(!token.ordering);
    let accuracy = token.accuracy.unwrap();
    assert_eq!(
        (accuracy.seconds, accuracy.millis, accuracy.micros),
        (1, 0, 0)
    );
    // The serial is the randomness given, made positive.
    assert_eq!(token.serial.len(), 16);
    assert_eq!(token.serial[0], 0x7f);
    assert!(token.serial[1..].iter().all(|b| *b == 0xff));
    // certReq true: the whole chain is embedded.
    let mut embedded = token.embedded_certificates.clone();
    let mut chain: Vec<Vec<u8>> = tsa
        .keys()
        .chain()
        .iter()
        .map(|c| c.der().to_vec())
        .collect();
    embedded.sort();
    chain.sort();
    assert_eq!(embedded, chain);

    // The largest nonce accepted (64 bits, with its sign byte) is echoed too, and no nonce
    // gives none.
    req.nonce = Some([&[0x00][..], &[0xff; 8]].concat());
    let token =
        signet_timestamp::parse_timestamp_token(&tsa.respond(&req.der(), NOW, [1; 16])).unwrap();
    assert_eq!(token.nonce, req.nonce);
    req.nonce = None;
    let token =
        signet_timestamp::parse_timestamp_token(&tsa.respond(&req.der(), NOW, [1; 16])).unwrap();
    assert_eq!(token.nonce, None);
}

#[test]
fn cert_req_false_embeds_no_certificates() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let mut req = Req::over(SHA256, DATA);
    req.cert_req = false;
    let reply = tsa.respond(&req.der(), NOW, [2; 16]);
    let token = signet_timestamp::parse_timestamp_token(&reply).unwrap();
    assert!(token.embedded_certificates.is_empty());
    // Still verifies: the verifier uses the authority's TSA certificate.
    signet_timestamp::verify_timestamp(&reply, DATA, &trust(&tsa)).unwrap();
}

/// The signer info as sigstore-python's rfc3161-client wants it: version 1 with
/// issuerAndSerialNumber, and an ESSCertIDv2 naming the TSA certificate by SHA-256.
#[test]
fn signer_info_has_ess_cert_id_v2_and_the_cms_shape() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let reply = tsa.respond(&Req::over(SHA256, DATA).der(), NOW, [3; 16]);
    let outer = Vec::<Any>::from_der(&reply).unwrap();
    let content_info = ContentInfo::from_der(&outer[1].to_der().unwrap()).unwrap();
    assert_eq!(
        content_info.content_type.to_string(),
        "1.2.840.113549.1.7.2"
    );
    let signed_data = SignedData::from_der(&content_info.content.to_der().unwrap()).unwrap();
    assert_eq!(signed_data.version as u8, 3);
    let signers = signed_data.signer_infos.0.as_slice();
    assert_eq!(signers.len(), 1);
    let signer = &signers[0];
    assert_eq!(signer.version as u8, 1);
    assert!(matches!(
        signer.sid,
        cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(_)
    ));
    assert_eq!(signer.digest_alg.oid, SHA256);
    assert_eq!(
        signer.signature_algorithm.oid.to_string(),
        "1.2.840.10045.4.3.2"
    );
    let attrs = signer.signed_attrs.as_ref().unwrap();
    let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
    for wanted in [
        "1.2.840.113549.1.9.3",
        "1.2.840.113549.1.9.4",
        "1.2.840.113549.1.9.5",
        "1.2.840.113549.1.9.16.2.47",
    ] {
        assert!(oids.contains(&wanted.to_owned()), "{wanted} in {oids:?}");
    }
    let v2 = attrs
        .iter()
        .find(|a| a.oid.to_string() == "1.2.840.113549.1.9.16.2.47")
        .unwrap();
    // SigningCertificateV2 { certs: [ ESSCertIDv2 { certHash, issuerSerial } ] }.
    let value = v2.values.as_slice()[0].to_der().unwrap();
    let certs = Vec::<Any>::from_der(&value).unwrap();
    let ids = Vec::<Any>::from_der(&certs[0].to_der().unwrap()).unwrap();
    let id = Vec::<Any>::from_der(&ids[0].to_der().unwrap()).unwrap();
    let hash = der::asn1::OctetString::from_der(&id[0].to_der().unwrap()).unwrap();
    assert_eq!(
        hash.as_bytes(),
        digest(SHA256, tsa.keys().chain()[0].der()),
        "certHash is the SHA-256 of the TSA certificate (hashAlgorithm omitted as DEFAULT)"
    );
    assert_eq!(id.len(), 2, "issuerSerial present");
}

#[test]
fn distinct_serials_and_times_make_distinct_tokens() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let req = Req::over(SHA256, DATA).der();
    let later = TsaTime {
        unix_seconds: NOW.unix_seconds + 3600,
        nanos: 0,
    };
    let a = signet_timestamp::parse_timestamp_token(&tsa.respond(&req, NOW, [4; 16])).unwrap();
    let b = signet_timestamp::parse_timestamp_token(&tsa.respond(&req, later, [5; 16])).unwrap();
    assert_ne!(a.serial, b.serial);
    assert_eq!(b.gen_time - a.gen_time, 3600);
}

#[test]
fn malformed_requests_are_bad_request() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let good = Req::over(SHA256, DATA).der();
    let mut trailing = good.clone();
    trailing.push(0);
    let mut truncated = good.clone();
    truncated.pop();
    let mut v2 = good.clone();
    // version INTEGER 1 -> 2 (bytes: 30 len 02 01 01).
    assert_eq!(&v2[2..5], &[0x02, 0x01, 0x01]);
    v2[4] = 2;
    for bad in [
        &b""[..],
        b"\x30\x00",
        b"not DER at all",
        &trailing,
        &truncated,
        &v2,
        &vec![0x30; signet_tsa::MAX_REQUEST_SIZE + 1],
    ] {
        assert_rejected(&tsa.respond(bad, NOW, [0; 16]), 2);
    }
}

#[test]
fn unsupported_hashes_are_bad_alg() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    // SHA-1 is refused: too weak for new timestamps.
    assert_rejected(&tsa.respond(&Req::over(SHA1, DATA).der(), NOW, [0; 16]), 0);
    let mut unknown = Req::over(SHA256, DATA);
    unknown.alg = der::asn1::ObjectIdentifier::new_unwrap("1.2.3.4.5");
    assert_rejected(&tsa.respond(&unknown.der(), NOW, [0; 16]), 0);
}

#[test]
fn wrong_imprint_length_is_bad_data_format() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    for (alg, len) in [(SHA256, 31), (SHA256, 48), (SHA384, 32), (SHA512, 0)] {
        let mut req = Req::over(alg, DATA);
        req.imprint = vec![7; len];
        assert_rejected(&tsa.respond(&req.der(), NOW, [0; 16]), 5);
    }
}

#[test]
fn negative_and_oversized_nonces_are_bad_data_format() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    for nonce in [
        vec![0x80, 0x01],
        vec![0xff],
        // 65 bits.
        [&[0x01][..], &[0; 8]].concat(),
        // 9,000 bytes (the request is still under the size limit).
        [&[0x12][..], &[0x34; 8999]].concat(),
    ] {
        let mut req = Req::over(SHA256, DATA);
        req.nonce = Some(nonce.clone());
        let der = req.der();
        assert!(der.len() <= signet_tsa::MAX_REQUEST_SIZE);
        assert_rejected(&tsa.respond(&der, NOW, [0; 16]), 5);
    }
}

#[test]
fn other_policies_are_unaccepted() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let mut req = Req::over(SHA256, DATA);
    req.policy = Some(der::asn1::ObjectIdentifier::new_unwrap("1.2.3.4.1"));
    assert_rejected(&tsa.respond(&req.der(), NOW, [0; 16]), 15);
}

#[test]
fn rejections_are_refused_by_the_verifier() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let reply = tsa.respond(b"junk", NOW, [0; 16]);
    assert_eq!(
        signet_timestamp::verify_timestamp(&reply, DATA, &trust(&tsa)),
        Err(signet_timestamp::TimestampError::NotGranted { status: 2 })
    );
}

#[test]
fn times_far_ahead_use_generalized_signing_time() {
    // 2060: signingTime must switch to GeneralizedTime; the token still verifies.
    let at = 2_840_000_000;
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, at);
    let now = TsaTime {
        unix_seconds: at,
        nanos: 0,
    };
    let reply = tsa.respond(&Req::over(SHA256, DATA).der(), now, [6; 16]);
    let verified = signet_timestamp::verify_timestamp(&reply, DATA, &trust(&tsa)).unwrap();
    assert_eq!(verified.time, 2_840_000_000);
}

/// Every single-bit corruption of a valid request, and every truncation, gets a well-formed
/// answer: granted (and then the token parses and echoes what was asked) or rejected with one
/// failure bit. Never a panic.
#[test]
fn corrupted_requests_always_get_a_well_formed_answer() {
    let tsa = authority(SigningAlgorithm::EcdsaP256Sha256, NOW.unix_seconds);
    let mut req = Req::over(SHA256, DATA);
    req.nonce = Some(vec![0x12; 8]);
    req.policy = Some(signet_tsa::SIGSTORE_POLICY);
    let good = req.der();
    let mut granted = 0;
    let mut check = |bytes: &[u8]| {
        let reply = tsa.respond(bytes, NOW, [8; 16]);
        let (code, bits, has_token) = status(&reply);
        match code {
            0 => {
                assert!(has_token && bits.is_empty());
                signet_timestamp::parse_timestamp_token(&reply).unwrap();
                granted += 1;
            }
            2 => assert!(!has_token && bits.len() == 1, "{bits:?}"),
            other => panic!("status {other}"),
        }
    };
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            check(&bad);
        }
        check(&good[..i]);
    }
    // Flips inside the imprint or nonce still make valid requests.
    assert!(granted > 0);
}
