//! Sigstore data formats: bundles, DSSE envelopes, in-toto statements, trusted roots, signing
//! configs, client trust configs and Rekor entry bodies. Types and JSON only.
//!
//! The crate is pure: it reads no files, clock or network, and verifies nothing. Parsing
//! follows the proto-JSON mapping Sigstore uses:
//!
//! - field names are lowerCamelCase (the original snake_case names are accepted too);
//! - `bytes` are base64, standard or URL-safe, padded or not, and are written as padded
//!   standard base64;
//! - 64-bit integers are JSON strings (numbers are accepted) and are written as strings;
//! - enums are their names;
//! - unknown fields are ignored (trusted roots, signing configs: forward compatibility), except
//!   in bundles, where they are rejected as the reference clients do; `null` means absent;
//! - output writes zero values out (`"logIndex": "0"`, `"hashes": []`).
//!
//! Untrusted input never panics: every document has a size limit, JSON nesting is limited to
//! [`MAX_JSON_DEPTH`], every list that a verifier iterates is bounded, and every error is a
//! [`FormatError`] naming the field that was wrong.
//!
//! Each document type lives in its own module, with its limits and media types; the main types
//! are also re-exported here.
//!
//! ```
//! use signet_formats::bundle::{Bundle, VerificationMaterialContent};
//! use signet_formats::rekor::RekorBody;
//!
//! let json = std::fs::read(signet_testdata::path(
//!     "conformance/bundle-verify/happy-path-v0.1/bundle.sigstore.json",
//! ))
//! .unwrap();
//! let bundle = Bundle::from_json(&json).unwrap();
//! assert!(matches!(
//!     bundle.verification_material.content,
//!     VerificationMaterialContent::X509CertificateChain { .. }
//! ));
//! let entry = &bundle.verification_material.tlog_entries[0];
//! let body = RekorBody::parse(&entry.canonicalized_body).unwrap();
//! assert_eq!((body.kind(), body.api_version()), ("hashedrekord", "0.0.1"));
//! ```
#![forbid(unsafe_code)]

pub mod bundle;
pub mod client_trust_config;
mod common;
pub mod cosign;
pub mod dsse;
mod error;
pub mod intoto;
mod json;
pub mod rekor;
pub mod signing_config;
mod timestamp;
pub mod trust;

pub use bundle::{
    Bundle, BundleContent, BundleVersion, InclusionProof, KindVersion, MessageSignature,
    TimestampVerificationData, TransparencyLogEntry, VerificationMaterial,
    VerificationMaterialContent,
};
pub use client_trust_config::ClientTrustConfig;
pub use common::{HashAlgorithm, HashOutput};
pub use dsse::{DsseSignature, Envelope, pae};
pub use error::FormatError;
pub use intoto::{Statement, Subject};
pub use json::{MAX_JSON_DEPTH, UniqueJsonError, parse_unique_json};
pub use rekor::{RekorBody, Verifier};
pub use signing_config::{Selector, Service, ServiceConfiguration, SigningConfig};
pub use timestamp::Timestamp;
pub use trust::{
    CertificateAuthority, DistinguishedName, PUBLIC_GOOD_TRUSTED_ROOT, TimeRange,
    TransparencyLogInstance, TrustedRoot,
};

/// Entry points for fuzz targets and property tests. Not part of the API.
#[doc(hidden)]
pub mod fuzz {
    /// Parses arbitrary bytes as every document type. A bundle that parses must print back to
    /// JSON that parses to the same bundle.
    pub fn parse_all(data: &[u8]) {
        if let Ok(bundle) = crate::bundle::Bundle::from_json(data) {
            let again = crate::bundle::Bundle::from_json(bundle.to_json().as_bytes());
            assert_eq!(again.as_ref(), Ok(&bundle), "bundle does not round-trip");
        }
        let _ = crate::rekor::RekorBody::parse(data);
        let _ = crate::trust::TrustedRoot::from_json(data);
        let _ = crate::signing_config::SigningConfig::from_json(data);
        let _ = crate::client_trust_config::ClientTrustConfig::from_json(data);
        let _ = crate::intoto::Statement::from_json(data);
        let _ = crate::dsse::Envelope::from_json(data);
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = crate::Timestamp::parse_rfc3339(text);
        }
    }
}
