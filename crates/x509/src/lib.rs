//! X.509 as Sigstore uses it: parse certificates, read the parts verification needs (validity,
//! key usages, SANs, Fulcio's identity extensions), check signatures with any public key that
//! Sigstore allows, check a certificate chain against a trusted CA chain at a given time, and
//! verify the Signed Certificate Timestamps embedded in a certificate against trusted CT logs.
//!
//! Pure: the time is an argument (Unix seconds), nothing is fetched or read from disk. Every
//! input is untrusted; parsing and checking return errors, never panic.
//!
//! ```
//! # let der = std::fs::read(signet_testdata::path("sigstore-python/x509/bogus-root.pem")).unwrap();
//! use signet_x509::Certificate;
//! let root = Certificate::from_pem(std::str::from_utf8(&der).unwrap()).unwrap();
//! assert!(root.is_ca());
//! root.verify_issued_by(&root).unwrap();
//! ```
#![forbid(unsafe_code)]

mod cert;
mod chain;
mod error;
mod key;
mod pem;
mod raw;
mod sct;

pub use cert::{Certificate, FulcioIdentity, SubjectAlternativeName};
pub use chain::{ChainPurpose, check_trusted_chain, verify_chain, verify_leaf_with_checked_chain};
pub use error::X509Error;
pub use key::{HashAlgorithm, KeyKind, PublicKey};
pub use pem::decode_pem;
pub use raw::split_signed;
pub use sct::{
    CtLog, MAX_SCTS, SctError, SignedCertificateTimestamp, VerifiedSct, parse_sct_list,
    verify_embedded_scts,
};

/// Object identifiers used across Sigstore.
pub mod oid {
    use const_oid::ObjectIdentifier as Oid;

    /// Extended key usage: code signing.
    pub const EKU_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");
    /// Extended key usage: time stamping (RFC 3161 TSAs).
    pub const EKU_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
    /// RFC 6962 embedded SCT list.
    pub const SCT_LIST: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
    /// RFC 6962 precertificate poison.
    pub const PRECERT_POISON: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
    /// Fulcio: OIDC issuer (v1, raw string value, deprecated).
    pub const FULCIO_ISSUER_V1: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.1");
    /// Fulcio: OIDC issuer (v2, DER UTF8String).
    pub const FULCIO_ISSUER_V2: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.8");
    /// The Fulcio extension arc `1.3.6.1.4.1.57264.1`.
    pub const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";
    /// The Fulcio extensions' arc, `1.3.6.1.4.1.57264.1`, as an OID: every Fulcio extension's
    /// DER-encoded OID starts with this one's bytes (an arc's last byte has no continuation
    /// bit, so no other arc shares the prefix).
    pub const FULCIO_ARC_OID: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1");
}
