//! Helpers shared by the integration tests: bundles, trusted roots and their timestamp
//! authorities, read from `../shared/testdata`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use signet_timestamp::TimestampAuthority;
use signet_x509::Certificate;
use std::path::Path;

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn b64(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("base64 string"))
        .unwrap()
}

/// Unix seconds of an RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.fff]Z`), as trusted roots
/// write `validFor`.
pub fn rfc3339(text: &str) -> i64 {
    let b = text.as_bytes();
    assert!(
        text.ends_with('Z') && b[4] == b'-' && b[10] == b'T',
        "{text}"
    );
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// The timestamp authorities of a trusted root (or of a client trust config holding one).
pub fn authorities(path: &Path) -> Vec<TimestampAuthority> {
    let json = read_json(path);
    let root = json.get("trustedRoot").unwrap_or(&json);
    root["timestampAuthorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tsa| TimestampAuthority {
            chain: tsa["certChain"]["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Certificate::from_der(&b64(&c["rawBytes"])).unwrap())
                .collect(),
            valid_from: tsa["validFor"]["start"].as_str().map(rfc3339),
            valid_until: tsa["validFor"]["end"].as_str().map(rfc3339),
        })
        .collect()
}

/// A bundle's timestamps and the bytes they timestamp: the message signature, or the DSSE
/// envelope's first signature.
pub struct Bundle {
    pub tokens: Vec<Vec<u8>>,
    pub signature: Vec<u8>,
    pub json: Value,
}

pub fn bundle(path: &Path) -> Bundle {
    let json = read_json(path);
    let tokens = json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .map(|ts| ts.iter().map(|t| b64(&t["signedTimestamp"])).collect())
        .unwrap_or_default();
    let signature = if let Some(sig) = json["messageSignature"]["signature"].as_str() {
        STANDARD.decode(sig).unwrap()
    } else {
        b64(&json["dsseEnvelope"]["signatures"][0]["sig"])
    };
    Bundle {
        tokens,
        signature,
        json,
    }
}

/// The bundle's signing certificate, if it has one.
pub fn signing_certificate(json: &Value) -> Option<Certificate> {
    let vm = &json["verificationMaterial"];
    let raw = vm["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())?;
    Some(Certificate::from_der(&STANDARD.decode(raw).unwrap()).unwrap())
}

/// A conformance case's bundle and trusted root (its own, or else production's, as the
/// conformance suite does).
pub fn conformance(case: &str) -> (Bundle, Vec<TimestampAuthority>) {
    let dir = signet_testdata::path("conformance/bundle-verify").join(case);
    let root = dir.join("trusted_root.json");
    let root = if root.exists() {
        root
    } else {
        signet_testdata::path("trust/public-good-trusted_root.json")
    };
    (
        bundle(&dir.join("bundle.sigstore.json")),
        authorities(&root),
    )
}

pub fn staging() -> Vec<TimestampAuthority> {
    authorities(&signet_testdata::path("trust/staging-trusted_root.json"))
}

/// sigstore-python's TSA tests use the staging root with its TSA replaced by `tsa/ca.json`, the
/// local test TSA that made `tsa/bundle.txt.sigstore`.
pub fn sigstore_python_tsa() -> TimestampAuthority {
    let ca = read_json(&signet_testdata::path("sigstore-python/tsa/ca.json"));
    TimestampAuthority {
        chain: ca["certChain"]["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Certificate::from_der(&b64(&c["rawBytes"])).unwrap())
            .collect(),
        valid_from: ca["validFor"]["start"].as_str().map(rfc3339),
        valid_until: ca["validFor"]["end"].as_str().map(rfc3339),
    }
}

pub fn python_bundle(name: &str) -> Bundle {
    bundle(&signet_testdata::path(&format!(
        "sigstore-python/tsa/{name}"
    )))
}
