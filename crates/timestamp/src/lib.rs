//! RFC 3161 timestamp tokens as Sigstore bundles carry them
//! (`verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`):
//! parse them, and verify one over the bytes it timestamps against the trusted timestamp
//! authorities of a trusted root.
//!
//! Pure: no clock, no I/O. The authorities come in as parsed certificates with their validity
//! window; the token's own `genTime` is the time every certificate is checked at. Comparing
//! that time with the signing certificate's validity is left to the caller, as is the policy of
//! how many timestamps a bundle needs. Every input is untrusted: sizes are bounded and errors
//! are returned, never panics.
//!
//! ```
//! # let der = std::fs::read(signet_testdata::path(
//! #     "sigstore-python/tsa/issue1482-timestamp-with-no-cert")).unwrap();
//! let token = signet_timestamp::parse_timestamp_token(&der).unwrap();
//! assert_eq!(token.gen_time, 1753473184); // 2025-07-25T19:53:04Z
//! assert_eq!(token.policy, "1.3.6.1.4.1.57264.2");
//! assert!(token.embedded_certificates.is_empty());
//! ```
#![forbid(unsafe_code)]

mod error;
mod raw;
mod token;
mod verify;

pub use error::TimestampError;
pub use signet_x509::HashAlgorithm;
pub use token::{TimestampAccuracy, TimestampToken};
pub use verify::verify_timestamp;

/// Largest token accepted, in bytes. Real tokens are 1–6 KiB, certificates included.
pub const MAX_TOKEN_SIZE: usize = 64 * 1024;
/// Most signer infos decoded (exactly one is then required).
pub const MAX_SIGNER_INFOS: usize = 8;
/// Most certificates a token may embed.
pub const MAX_CERTIFICATES: usize = 16;
/// Most signed attributes a signer info may have.
pub const MAX_SIGNED_ATTRIBUTES: usize = 32;

/// A trusted RFC 3161 timestamp authority, from a trusted root's `timestampAuthorities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampAuthority {
    /// The authority's `certChain`: the TSA certificate first, then its issuers, root last.
    /// A chain of CA certificates only (no TSA certificate) is also accepted: the token must
    /// then embed a TSA certificate that chains to it.
    pub chain: Vec<signet_x509::Certificate>,
    /// Start of the authority's `validFor`, Unix seconds. `None` makes the authority unusable.
    pub valid_from: Option<i64>,
    /// End of the authority's `validFor`, Unix seconds (inclusive); `None` is open-ended.
    pub valid_until: Option<i64>,
}

/// A timestamp that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The token's `genTime`, Unix seconds (any fraction of a second dropped).
    pub time: i64,
    /// Index into the authorities given of the one that vouches for it.
    pub authority: usize,
}

/// Parses a timestamp token (the DER of a `TimeStampResp` or of a `TimeStampToken`) and returns
/// its `TSTInfo` fields, without checking the signature or any certificate.
///
/// Fails on the structural problems [`verify_timestamp`] finds in its first step: bad DER, a
/// refused response, content other than a `TSTInfo`, a hash other than SHA-2, not exactly one
/// signer, or too many certificates.
pub fn parse_timestamp_token(token_der: &[u8]) -> Result<TimestampToken, TimestampError> {
    token::parse(token_der).map(|parsed| parsed.fields)
}

/// Object identifiers this crate reads.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// CMS `id-signedData`.
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// `id-ct-TSTInfo`.
    pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// CMS content-type attribute.
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// CMS message-digest attribute.
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    /// ESS signing-certificate attribute (RFC 2634).
    pub const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
    /// ESS signing-certificate-v2 attribute (RFC 5035).
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    /// SHA-256.
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// SHA-384.
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// SHA-512.
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// `ecdsa-with-SHA256`.
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// `ecdsa-with-SHA384`.
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    /// `ecdsa-with-SHA512`.
    pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    /// `id-ecPublicKey`, used by some signers as the signature algorithm.
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// `rsaEncryption` (PKCS #1 v1.5 with the digest algorithm's hash).
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// `sha256WithRSAEncryption`.
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    /// `sha384WithRSAEncryption`.
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    /// `sha512WithRSAEncryption`.
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    /// Ed25519 (RFC 8419).
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
    /// Subject key identifier extension.
    pub const SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
}
