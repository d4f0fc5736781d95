//! The one error type of this crate.

use std::path::PathBuf;

/// Why a token was refused, an issuer could not be reached, a configuration was rejected, or
/// the development issuer failed.
///
/// [`OidcError::is_client_fault`] splits the variants the way a server answers them: a bad
/// token is the caller's fault (4xx); an issuer that cannot be reached or serves garbage is not
/// (502/503).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    // ---- The token itself (client fault) ----
    /// The token is longer than the limit; nothing in it was read.
    #[error("token is {len} bytes, more than the {max}-byte limit")]
    TokenTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token is not a compact JWS of three base64url parts with JSON header and payload.
    #[error("malformed token: {reason}")]
    MalformedToken {
        /// What was wrong with its shape.
        reason: &'static str,
    },
    /// The header or the claims object (or an object inside them) names a member twice, e.g.
    /// two `sub` claims. JSON parsers disagree on which one counts, so such a token is refused
    /// whatever the order.
    #[error("token {part} names the member {name:?} more than once")]
    DuplicateMember {
        /// `header` or `claims`.
        part: &'static str,
        /// The repeated name (at most 64 characters of it).
        name: String,
    },
    /// The header names an algorithm this verifier refuses (`none`, HMAC, PS*, EdDSA, …).
    #[error("unsupported token algorithm {alg:?} (accepted: RS256, RS384, RS512, ES256, ES384)")]
    UnsupportedAlgorithm {
        /// The `alg` from the header.
        alg: String,
    },
    /// The token's `iss` is not one of the configured issuers (exact string comparison) and
    /// matches no meta issuer pattern as a whole (or is not then an http(s) URL).
    #[error("issuer {issuer:?} is not configured")]
    IssuerNotConfigured {
        /// The `iss` claim as sent.
        issuer: String,
    },
    /// No key in the issuer's JWKS (even after a refresh) has the token's `kid` and algorithm.
    #[error("unknown key id {kid:?} for issuer {issuer:?}")]
    UnknownKeyId {
        /// The issuer whose key set was searched.
        issuer: String,
        /// The header's `kid`, if it had one.
        kid: Option<String>,
    },
    /// The signature does not verify under the issuer's key: the token was altered or forged.
    #[error("token signature does not verify")]
    BadSignature,
    /// The token's `aud` does not contain the issuer's configured client ID.
    #[error("token audience {found:?} does not contain {expected:?}")]
    WrongAudience {
        /// The configured client ID.
        expected: String,
        /// The audiences the token carried.
        found: Vec<String>,
    },
    /// `exp` (plus the allowed clock skew) is in the past.
    #[error("token expired at {exp} (now {now})")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verification time.
        now: i64,
    },
    /// `nbf` (minus the allowed clock skew) is in the future.
    #[error("token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The `nbf` claim.
        nbf: i64,
        /// The verification time.
        now: i64,
    },
    /// `iat` (minus the allowed clock skew) is in the future.
    #[error("token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: i64,
        /// The verification time.
        now: i64,
    },
    /// A claim the issuer type requires is absent.
    #[error("token has no {claim:?} claim")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim is present but has the wrong type or an invalid value.
    #[error("token claim {claim:?} is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// An email issuer's token does not have `email_verified: true`.
    #[error("token email is not verified (email_verified is not true)")]
    EmailNotVerified,

    // ---- The issuer (server side) ----
    /// The discovery document or JWKS could not be fetched: connection refused, timeout, non-2xx
    /// status, or a body over the size limit.
    #[error("issuer {issuer:?} unreachable while fetching {what}: {reason}")]
    IssuerUnavailable {
        /// The configured issuer URL.
        issuer: String,
        /// `discovery document` or `JWKS`.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The discovery document's `issuer` is not the configured issuer URL.
    #[error("discovery document of {configured:?} names issuer {discovered:?}")]
    DiscoveryIssuerMismatch {
        /// The configured issuer URL.
        configured: String,
        /// The `issuer` the discovery document gave.
        discovered: String,
    },
    /// The discovery document or JWKS was fetched but is not valid (not JSON, no `jwks_uri`, a
    /// `jwks_uri` that is not http(s), no `keys` array).
    #[error("issuer {issuer:?} served an invalid {what}: {reason}")]
    InvalidIssuerDocument {
        /// The configured issuer URL.
        issuer: String,
        /// `discovery document` or `JWKS`.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },

    // ---- Configuration ----
    /// The issuer configuration file is not valid.
    #[error("invalid issuer configuration: {reason}")]
    InvalidConfig {
        /// What was wrong, naming the issuer and field when there is one.
        reason: String,
    },
    /// The configuration names an issuer type this crate does not know.
    #[error(
        "issuer {issuer:?} has unsupported type {issuer_type:?} (supported: email, github-workflow, \
         gitlab-pipeline, kubernetes, spiffe, uri, username, ci-provider)"
    )]
    UnsupportedIssuerType {
        /// The issuer URL.
        issuer: String,
        /// The `Type` as written.
        issuer_type: String,
    },

    // ---- Development issuer ----
    /// The development issuer's key file could not be read or written.
    #[error("development issuer key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The development issuer's key file does not hold a P-256 PKCS#8 key.
    #[error("development issuer key file {path} does not hold a P-256 PKCS#8 private key")]
    InvalidKeyFile {
        /// The file.
        path: PathBuf,
    },
    /// A request to the development issuer was invalid.
    #[error("invalid token request: {reason}")]
    InvalidTokenRequest {
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The system random source or the signer failed.
    #[error("development issuer crypto failure: {what}")]
    Crypto {
        /// The operation that failed.
        what: &'static str,
    },
}

impl OidcError {
    /// True when the token (or the request) is at fault and a server should answer 4xx; false
    /// when the issuer could not be reached, served invalid documents, or this side is
    /// misconfigured, which a server answers 502/503/500.
    #[must_use]
    pub fn is_client_fault(&self) -> bool {
        match self {
            Self::TokenTooLarge { .. }
            | Self::MalformedToken { .. }
            | Self::DuplicateMember { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::IssuerNotConfigured { .. }
            | Self::UnknownKeyId { .. }
            | Self::BadSignature
            | Self::WrongAudience { .. }
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::IssuedInFuture { .. }
            | Self::MissingClaim { .. }
            | Self::InvalidClaim { .. }
            | Self::EmailNotVerified
            | Self::InvalidTokenRequest { .. } => true,
            Self::IssuerUnavailable { .. }
            | Self::DiscoveryIssuerMismatch { .. }
            | Self::InvalidIssuerDocument { .. }
            | Self::InvalidConfig { .. }
            | Self::UnsupportedIssuerType { .. }
            | Self::KeyFile { .. }
            | Self::InvalidKeyFile { .. }
            | Self::Crypto { .. } => false,
        }
    }

    /// A short stable name for the variant, for metrics labels and logs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TokenTooLarge { .. } => "token_too_large",
            Self::MalformedToken { .. } => "malformed_token",
            Self::DuplicateMember { .. } => "duplicate_member",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::IssuerNotConfigured { .. } => "issuer_not_configured",
            Self::UnknownKeyId { .. } => "unknown_key_id",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::IssuedInFuture { .. } => "issued_in_future",
            Self::MissingClaim { .. } => "missing_claim",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::EmailNotVerified => "email_not_verified",
            Self::IssuerUnavailable { .. } => "issuer_unavailable",
            Self::DiscoveryIssuerMismatch { .. } => "discovery_issuer_mismatch",
            Self::InvalidIssuerDocument { .. } => "invalid_issuer_document",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::UnsupportedIssuerType { .. } => "unsupported_issuer_type",
            Self::KeyFile { .. } => "key_file",
            Self::InvalidKeyFile { .. } => "invalid_key_file",
            Self::InvalidTokenRequest { .. } => "invalid_token_request",
            Self::Crypto { .. } => "crypto",
        }
    }
}
