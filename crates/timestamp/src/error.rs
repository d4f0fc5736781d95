//! The error type of this crate.

use signet_x509::X509Error;

/// Why a timestamp token was rejected.
///
/// Most variants are about the token itself and are returned as soon as they are found,
/// before any authority is tried. The variants that name an `authority` (and the signature
/// failures of an authority's TSA certificate) come from trying the token against one
/// authority; when every authority fails, the failure that got furthest through the checks is
/// returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The token is larger than this crate accepts; not a real TSA response.
    #[error("timestamp token is {size} bytes, more than {max}")]
    TooLarge {
        /// The token's size.
        size: usize,
        /// The most accepted.
        max: usize,
    },
    /// Some part of the token is not valid DER of the expected structure: a truncated or
    /// corrupted token, or not a timestamp at all.
    #[error("timestamp token is malformed: {what}: {reason}")]
    Malformed {
        /// The structure being read.
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A `TimeStampResp` whose status is not granted: the TSA refused the request.
    #[error("timestamp response has status {status}, not granted")]
    NotGranted {
        /// The `PKIStatus` value (2 rejection, 3 waiting, 4/5 revocation notices).
        status: u8,
    },
    /// A granted `TimeStampResp` without a token.
    #[error("timestamp response is granted but carries no token")]
    MissingToken,
    /// The `ContentInfo` is not CMS `SignedData`.
    #[error("timestamp token content type is {found}, not signedData")]
    NotSignedData {
        /// The content type OID found.
        found: String,
    },
    /// The signed content is not a `TSTInfo`: some other CMS signature.
    #[error("timestamp token signs content of type {found}, not id-ct-TSTInfo")]
    NotTstInfo {
        /// The encapsulated content type OID found.
        found: String,
    },
    /// The `SignedData` has no encapsulated content (a detached signature).
    #[error("timestamp token has no encapsulated TSTInfo")]
    MissingTstInfo,
    /// A hash algorithm other than SHA-256, SHA-384 or SHA-512.
    #[error("unsupported hash algorithm {oid} in {field}")]
    UnsupportedHashAlgorithm {
        /// Where it was found (`messageImprint`, `digestAlgorithm`, `ESSCertIDv2`).
        field: &'static str,
        /// The algorithm OID.
        oid: String,
    },
    /// The message imprint is not the hash of the signed data: the timestamp is for something
    /// else (a different signature, or a token moved from another bundle).
    #[error("message imprint {found} does not match the signed data's digest {expected}")]
    ImprintMismatch {
        /// Hex digest of the data given.
        expected: String,
        /// Hex digest in the token.
        found: String,
    },
    /// The token must have exactly one signer.
    #[error("timestamp token has {count} signer infos, expected exactly one")]
    SignerCount {
        /// How many there are.
        count: usize,
    },
    /// More embedded certificates than accepted.
    #[error("timestamp token embeds {count} certificates, more than {max}")]
    TooManyCertificates {
        /// How many there are.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// The signer info has no signed attributes, so the signature does not cover the `TSTInfo`
    /// through a message digest (RFC 3161 requires them).
    #[error("timestamp signer info has no signed attributes")]
    MissingSignedAttributes,
    /// More signed attributes than accepted.
    #[error("timestamp signer info has {count} signed attributes, more than {max}")]
    TooManySignedAttributes {
        /// How many there are.
        count: usize,
        /// The most accepted.
        max: usize,
    },
    /// A required signed attribute is absent.
    #[error("timestamp signed attributes lack {name}")]
    MissingAttribute {
        /// The attribute (`content-type`, `message-digest`).
        name: &'static str,
    },
    /// A signed attribute that must be single appears twice or has several values.
    #[error("timestamp signed attribute {name} is not single-valued")]
    AttributeNotSingle {
        /// The attribute.
        name: &'static str,
    },
    /// The content-type signed attribute does not say `id-ct-TSTInfo`.
    #[error("content-type attribute is {found}, not id-ct-TSTInfo")]
    ContentTypeAttributeMismatch {
        /// The OID found.
        found: String,
    },
    /// The message-digest signed attribute is not the digest of the `TSTInfo`: the `TSTInfo`
    /// was changed after signing.
    #[error("message-digest attribute {found} does not match the TSTInfo digest {expected}")]
    MessageDigestMismatch {
        /// Hex digest of the `TSTInfo` bytes.
        expected: String,
        /// Hex digest in the attribute.
        found: String,
    },
    /// A CMS version that RFC 5652 rules out here: `SignedData` over a `TSTInfo` must be
    /// version 3 or later, a signer info 1 (issuer and serial number) or 3 (key identifier).
    #[error("{what} has version {version}, which RFC 5652 does not allow here")]
    UnexpectedVersion {
        /// `SignedData` or `SignerInfo`.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// The signer's digest algorithm is not among `SignedData.digestAlgorithms`.
    #[error("signer digest algorithm {oid} is not listed in SignedData.digestAlgorithms")]
    DigestAlgorithmNotListed {
        /// The signer's digest algorithm OID.
        oid: String,
    },
    /// The token embeds certificates but none is the signer's (RFC 3161 §2.4.1: when the TSA
    /// includes certificates, its own must be among them).
    #[error("timestamp token embeds {embedded} certificates but not the signer's")]
    SignerNotEmbedded {
        /// How many certificates are embedded.
        embedded: usize,
    },
    /// A signature algorithm this crate does not accept (or one that names a digest other than
    /// the signer info's).
    #[error("unsupported timestamp signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm OID.
        oid: String,
    },
    /// The signature algorithm does not fit the signer's key (ECDSA with an RSA key, ...).
    #[error("signature algorithm {oid} cannot be used with a {key} key")]
    SignatureAlgorithmMismatch {
        /// The algorithm OID.
        oid: String,
        /// The key's kind.
        key: String,
    },
    /// No trusted timestamp authorities were given.
    #[error("no timestamp authorities to verify against")]
    NoAuthorities,
    /// The authority has no `validFor.start`, so it cannot be used (Sigstore client spec).
    #[error("timestamp authority {authority} has no start of validity")]
    AuthorityWithoutStart {
        /// Index of the authority.
        authority: usize,
    },
    /// The authority's certificate chain is empty.
    #[error("timestamp authority {authority} has no certificates")]
    EmptyAuthorityChain {
        /// Index of the authority.
        authority: usize,
    },
    /// The token embeds no certificates and the authority's TSA certificate is not the one the
    /// signer identifier names (or the authority lists only CA certificates).
    #[error("signer certificate is not authority {authority}'s TSA certificate")]
    SignerCertificateNotFound {
        /// Index of the authority.
        authority: usize,
    },
    /// The certificate named by the signer identifier is unusable (unparseable, unknown key).
    #[error("signer certificate is unusable: {0}")]
    BadSignerCertificate(X509Error),
    /// The signature over the signed attributes does not verify with the signer's key.
    #[error("timestamp signature does not verify with the key of {subject}")]
    BadSignature {
        /// Subject of the signer certificate.
        subject: String,
    },
    /// The signing-certificate (ESS) attribute names a different certificate than the signer.
    #[error("signing-certificate attribute does not match signer certificate {subject}")]
    SigningCertificateMismatch {
        /// Subject of the signer certificate.
        subject: String,
    },
    /// The embedded signer certificate is not the authority's trusted TSA certificate.
    #[error("signer certificate {subject} is not authority {authority}'s TSA certificate")]
    NotAuthorityLeaf {
        /// Index of the authority.
        authority: usize,
        /// Subject of the signer certificate.
        subject: String,
    },
    /// The TSA certificate does not chain to the authority's CA certificates at `genTime`, or
    /// is not valid for time stamping.
    #[error("TSA certificate is not trusted by authority {authority} at {time}: {source}")]
    Chain {
        /// Index of the authority.
        authority: usize,
        /// The `genTime` checked (Unix seconds).
        time: i64,
        /// Why the chain check failed.
        source: X509Error,
    },
    /// The TSA certificate's extended key usage is not marked critical (RFC 3161 §2.3).
    #[error("TSA certificate {subject} has a non-critical extended key usage")]
    NonCriticalExtendedKeyUsage {
        /// Subject of the TSA certificate.
        subject: String,
    },
    /// `genTime` is outside the authority's `validFor` window.
    #[error(
        "timestamp time {time} is outside authority {authority}'s validity \
         ({valid_from} to {})", valid_until.map_or("open".to_string(), |t| t.to_string())
    )]
    OutsideAuthorityValidity {
        /// Index of the authority.
        authority: usize,
        /// The `genTime` (Unix seconds).
        time: i64,
        /// Start of the authority's validity.
        valid_from: i64,
        /// End of the authority's validity, if any.
        valid_until: Option<i64>,
    },
}

impl TimestampError {
    /// How far through the per-authority checks this failure got; when every authority
    /// fails, the furthest failure is the most telling one.
    pub(crate) fn authority_stage(&self) -> u8 {
        match self {
            TimestampError::AuthorityWithoutStart { .. }
            | TimestampError::EmptyAuthorityChain { .. } => 0,
            TimestampError::SignerCertificateNotFound { .. } => 1,
            TimestampError::BadSignerCertificate(_)
            | TimestampError::SignatureAlgorithmMismatch { .. }
            | TimestampError::UnsupportedSignatureAlgorithm { .. } => 2,
            TimestampError::BadSignature { .. }
            | TimestampError::SigningCertificateMismatch { .. } => 3,
            TimestampError::NotAuthorityLeaf { .. } => 4,
            TimestampError::Chain { .. } | TimestampError::NonCriticalExtendedKeyUsage { .. } => 5,
            TimestampError::OutsideAuthorityValidity { .. } => 6,
            _ => 0,
        }
    }
}
