//! The largest entry the logs take: a canonical body of 65,535 bytes (64 KiB - 1), because a
//! C2SP tlog-tiles entry bundle prefixes each entry with a big-endian `u16` length. A body one
//! byte over gets a 413 that names the limit, on both APIs; a body at the limit is logged.
//!
//! Bodies that size come from real, verifying entries: the signing key is carried in a
//! certificate padded with a private extension (Rekor checks the signature against the
//! certificate's key, not the certificate's own signature or chain).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Signer, artifact, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The limit under test, from the tiles crate: an entry bundle's `u16` length prefix.
const LIMIT: usize = 65_535;

/// A DER TLV with a one-byte tag.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// A certificate for `signer`'s key with a non-critical private extension of `padding` bytes,
/// the same bytes every time for the same padding.
fn certificate(signer: &Signer, padding: usize) -> Vec<u8> {
    let ecdsa_with_sha256 = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let name = tlv(
        0x30,
        &tlv(
            0x31,
            &tlv(
                0x30,
                &[
                    tlv(0x06, &[0x55, 0x04, 0x03]),
                    tlv(0x0c, b"entry size test"),
                ]
                .concat(),
            ),
        ),
    );
    let validity = tlv(
        0x30,
        &[tlv(0x17, b"250101000000Z"), tlv(0x17, b"450101000000Z")].concat(),
    );
    // 1.3.6.1.4.1.57264.99.1: under Sigstore's arc, unknown to everyone.
    let extension = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x63, 0x01],
            ),
            tlv(0x04, &tlv(0x04, &vec![0x5a; padding])),
        ]
        .concat(),
    );
    let tbs = tlv(
        0x30,
        &[
            tlv(0xa0, &tlv(0x02, &[2])),
            tlv(0x02, &[1]),
            ecdsa_with_sha256.clone(),
            name.clone(),
            validity,
            name,
            signer.spki(),
            tlv(0xa3, &tlv(0x30, &extension)),
        ]
        .concat(),
    );
    // Nobody checks the certificate's own signature; a fixed one keeps its size fixed.
    let signature = tlv(0x03, &[0u8; 65]);
    tlv(0x30, &[tbs, ecdsa_with_sha256, signature].concat())
}

/// A hashedrekord 0.0.1 request for `data` signed by `signer`, with the padded certificate.
fn v1_request(signer: &Signer, data: &[u8], sig: &[u8], padding: usize) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest(&SHA256, data))}},
        "signature": {
            "content": STANDARD.encode(sig),
            "publicKey": {"content": STANDARD.encode(signet_testkit::pem("CERTIFICATE", &certificate(signer, padding)))},
        },
    }})
}

/// A hashedRekordRequestV002 for `data` signed by `signer`, with the padded certificate.
fn v2_request(signer: &Signer, data: &[u8], sig: &[u8], padding: usize) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest(&SHA256, data)),
        "signature": {"content": STANDARD.encode(sig), "verifier": {
            "x509Certificate": {"rawBytes": STANDARD.encode(certificate(signer, padding))},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }},
    }})
}

/// The padding whose request's canonical body is the largest at most `LIMIT` bytes, and the
/// smallest whose body is over it, with their body sizes.
fn around_the_limit(body_len: impl Fn(usize) -> usize) -> ((usize, usize), (usize, usize)) {
    let (mut fits, mut over) = (0usize, 60_000usize);
    assert!(body_len(fits) <= LIMIT && body_len(over) > LIMIT);
    while over - fits > 1 {
        let mid = (fits + over) / 2;
        if body_len(mid) <= LIMIT {
            fits = mid;
        } else {
            over = mid;
        }
    }
    ((fits, body_len(fits)), (over, body_len(over)))
}

async fn post(url: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_up_to_65535_bytes_are_logged_and_one_more_is_413_naming_the_limit() {
    assert_eq!(LIMIT, signet_tiles::MAX_ENTRY_SIZE);
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), None).await;
    let signer = Signer::new();
    let data = artifact();
    let sig = signer.sign(&data);

    type Build = fn(&Signer, &[u8], &[u8], usize) -> Value;
    type Canonicalize = fn(&[u8]) -> Result<signet_rekor::CanonicalEntry, signet_rekor::RekorError>;
    let apis: [(&str, Build, Canonicalize); 2] = [
        (
            "/api/v1/log/entries",
            v1_request,
            signet_rekor::canonicalize_proposed_entry,
        ),
        (
            "/api/v2/log/entries",
            v2_request,
            signet_rekor::canonicalize_create_entry_request,
        ),
    ];
    for (path, build, canonicalize) in apis {
        let body_len = |padding: usize| {
            let request = build(&signer, &data, &sig, padding).to_string();
            canonicalize(request.as_bytes()).unwrap().body.len()
        };
        let ((fits, fits_len), (over, over_len)) = around_the_limit(body_len);
        // Base64 steps are small: both land next to the limit.
        assert!(fits_len > LIMIT - 8, "{path}: {fits_len}");
        assert!(over_len < LIMIT + 8, "{path}: {over_len}");

        let (status, answer) = post(&s.url(path), &build(&signer, &data, &sig, over)).await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {over_len}-byte body: {:.300}",
            answer.to_string()
        );
        assert_eq!(answer["code"], 413, "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains("65535"), "{path}: {message}");
        assert!(message.contains(&over_len.to_string()), "{path}: {message}");

        let (status, answer) = post(&s.url(path), &build(&signer, &data, &sig, fits)).await;
        assert!(
            status.is_success(),
            "{path}: {fits_len}-byte body: {status} {:.300}",
            answer.to_string()
        );
    }
    s.stop().await;
}
