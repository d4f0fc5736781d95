//! The CA's error type, and how each error maps to an HTTP status and a gRPC code.

/// Why a request was refused or a CA operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The request body is not the JSON Fulcio expects (bad JSON, missing or mistyped field,
    /// bad base64).
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    /// The request body is larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request's content type is not `application/json`.
    #[error("content type must be application/json, not {0:?}")]
    UnsupportedMediaType(String),
    /// Neither the body's `credentials.oidcIdentityToken` nor an `Authorization: Bearer`
    /// header carries a token.
    #[error("no OIDC identity token: send credentials.oidcIdentityToken or Authorization: Bearer")]
    MissingToken,
    /// The token was refused by the verifier (bad signature, expired, unknown issuer, ...).
    #[error("OIDC token refused: {0}")]
    TokenRefused(String),
    /// The token could not be checked for a reason on our side (issuer unreachable, ...).
    #[error("OIDC token could not be checked: {0}")]
    TokenUnavailable(String),
    /// The token is valid but does not give an identity this CA certifies: a claim is missing
    /// or has the wrong form, the email is not verified, the subject is outside the issuer's
    /// domain.
    #[error("identity refused: {0}")]
    Identity(String),
    /// The issuer's configuration lacks something its type needs (a subject domain, a trust
    /// domain).
    #[error("issuer {issuer} is misconfigured: {reason}")]
    IssuerConfig {
        /// The issuer URL.
        issuer: String,
        /// What is missing.
        reason: &'static str,
    },
    /// The subject public key is of a type or size the CA does not certify (RSA below 2048 or
    /// above 4096 bits, an EC curve other than P-256/P-384/P-521, ...).
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The certificate signing request does not parse.
    #[error("bad certificate signing request: {0}")]
    BadCsr(String),
    /// The certificate signing request's signature does not verify with its own key.
    #[error("certificate signing request signature does not verify with its public key")]
    CsrSignature,
    /// The proof of possession does not verify: it must be a signature, with the requested
    /// key, over the token's subject (its email for email issuers).
    #[error(
        "proof of possession does not verify: expected a signature over {challenge:?} with the requested key"
    )]
    ProofOfPossession {
        /// The string that had to be signed.
        challenge: String,
    },
    /// The CA's key material is unusable (bad PEM, key and certificate do not match, the
    /// chain does not verify).
    #[error("CA key material: {0}")]
    KeyMaterial(String),
    /// Building or signing a certificate failed (an internal error).
    #[error("certificate issuance failed: {0}")]
    Issuance(String),
    /// The CT log did not return an SCT for the precertificate.
    #[error("CT log: {0}")]
    CtLog(String),
}

impl CaError {
    /// The HTTP status for this error: 4xx for what the client sent, 5xx for our side.
    pub fn http_status(&self) -> u16 {
        match self {
            CaError::MalformedRequest(_)
            | CaError::UnsupportedKey(_)
            | CaError::BadCsr(_)
            | CaError::CsrSignature
            | CaError::ProofOfPossession { .. } => 400,
            CaError::MissingToken | CaError::TokenRefused(_) => 401,
            CaError::Identity(_) => 403,
            CaError::BodyTooLarge { .. } => 413,
            CaError::UnsupportedMediaType(_) => 415,
            CaError::TokenUnavailable(_) => 503,
            CaError::IssuerConfig { .. }
            | CaError::KeyMaterial(_)
            | CaError::Issuance(_)
            | CaError::CtLog(_) => 500,
        }
    }

    /// The gRPC status code Fulcio would answer with (its JSON errors carry it as `code`).
    pub fn grpc_code(&self) -> u16 {
        match self.http_status() {
            400 | 413 | 415 => 3, // INVALID_ARGUMENT
            401 => 16,            // UNAUTHENTICATED
            403 => 7,             // PERMISSION_DENIED
            503 => 14,            // UNAVAILABLE
            _ => 13,              // INTERNAL
        }
    }

    /// Whether the client caused this error.
    pub fn is_client_fault(&self) -> bool {
        self.http_status() < 500
    }

    /// A short, stable name of the variant, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CaError::MalformedRequest(_) => "malformed_request",
            CaError::BodyTooLarge { .. } => "body_too_large",
            CaError::UnsupportedMediaType(_) => "unsupported_media_type",
            CaError::MissingToken => "missing_token",
            CaError::TokenRefused(_) => "token_refused",
            CaError::TokenUnavailable(_) => "token_unavailable",
            CaError::Identity(_) => "identity",
            CaError::IssuerConfig { .. } => "issuer_config",
            CaError::UnsupportedKey(_) => "unsupported_key",
            CaError::BadCsr(_) => "bad_csr",
            CaError::CsrSignature => "csr_signature",
            CaError::ProofOfPossession { .. } => "proof_of_possession",
            CaError::KeyMaterial(_) => "key_material",
            CaError::Issuance(_) => "issuance",
            CaError::CtLog(_) => "ct_log",
        }
    }
}
