//! The CA's error type, and how each error maps to an HTTP status and a gRPC code.
//!
//! [`CaError`] says which kind of failure it is (and so the HTTP status); each kind that has
//! several causes carries a small enum of them ([`RequestError`], [`IdentityError`],
//! [`SubjectKeyError`], [`CsrError`], [`KeyMaterialError`], [`IssuanceError`],
//! [`CtLogError`]), which keeps the underlying library error as its `source`. The texts are
//! the ones the Fulcio API answers with, so they stay stable.

use crate::http::TokenRejection;
use signet_x509::{KeyKind, X509Error};
use std::path::PathBuf;

/// Why a request was refused or a CA operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The request body is not the JSON Fulcio expects (bad JSON, missing or mistyped field,
    /// bad base64).
    #[error("malformed request: {0}")]
    MalformedRequest(#[from] RequestError),
    /// The request body is larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request's content type is not `application/json`.
    #[error("content type must be application/json, not {content_type:?}")]
    UnsupportedMediaType {
        /// The `Content-Type` sent (empty when there was none).
        content_type: String,
    },
    /// Neither the body's `credentials.oidcIdentityToken` nor an `Authorization: Bearer`
    /// header carries a token.
    #[error("no OIDC identity token: send credentials.oidcIdentityToken or Authorization: Bearer")]
    MissingToken,
    /// The token was refused by the verifier (bad signature, expired, unknown issuer, ...).
    #[error("OIDC token refused: {0}")]
    TokenRefused(#[source] TokenRejection),
    /// The token could not be checked for a reason on our side (issuer unreachable, ...).
    #[error("OIDC token could not be checked: {0}")]
    TokenUnavailable(#[source] TokenRejection),
    /// The token is valid but does not give an identity this CA certifies: a claim is missing
    /// or has the wrong form, the email is not verified, the subject is outside the issuer's
    /// domain.
    #[error("identity refused: {0}")]
    Identity(#[from] IdentityError),
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
    UnsupportedKey(#[from] SubjectKeyError),
    /// The certificate signing request does not parse.
    #[error("bad certificate signing request: {0}")]
    BadCsr(#[from] CsrError),
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
    /// chain does not verify, a key file cannot be read or written).
    #[error("CA key material: {0}")]
    KeyMaterial(#[from] KeyMaterialError),
    /// Building or signing a certificate failed (an internal error).
    #[error("certificate issuance failed: {0}")]
    Issuance(#[from] IssuanceError),
    /// The CT log did not return an SCT for the precertificate.
    #[error("CT log: {0}")]
    CtLog(#[from] CtLogError),
    /// The CA's issuing key could not sign: the HSM holding it is unavailable (503; nothing
    /// was issued).
    #[error("CA signing key: {0}")]
    SignerUnavailable(#[source] signet_signer::SignError),
}

/// What is wrong with a request body ([`CaError::MalformedRequest`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is not JSON of the request's shape.
    #[error("body is not the expected JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// Both key forms were sent.
    #[error("send either certificateSigningRequest or publicKeyRequest, not both")]
    BothKeyForms,
    /// Neither key form was sent.
    #[error("missing certificateSigningRequest or publicKeyRequest")]
    NoKeyForm,
    /// A field that must be base64 is not.
    #[error("{field} is not base64")]
    NotBase64 {
        /// The field's JSON name.
        field: &'static str,
    },
    /// `publicKey.content` starts as PEM but is not.
    #[error("publicKey.content PEM: {0}")]
    PublicKeyPem(#[source] pem_rfc7468::Error),
    /// `publicKey.algorithm` names no algorithm Fulcio knows.
    #[error("publicKey.algorithm {0:?} is not ECDSA, ED25519 or RSA_PSS")]
    UnknownAlgorithm(String),
}

/// Why a verified token gives no identity this CA certifies ([`CaError::Identity`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A claim the issuer type needs is absent, empty, or not a string, number or boolean.
    #[error("token lacks the {claim:?} claim")]
    MissingClaim {
        /// The claim's name.
        claim: String,
    },
    /// A nested claim (Kubernetes' `kubernetes.io.…`) is absent.
    #[error("token lacks {path}")]
    MissingNestedClaim {
        /// The claim's dotted path.
        path: &'static str,
    },
    /// The email claim is not marked verified.
    #[error("email {email:?} is not verified (email_verified is not true)")]
    EmailNotVerified {
        /// The email.
        email: String,
    },
    /// A SPIFFE ID outside the issuer's trust domain.
    #[error("SPIFFE ID {subject:?} is not in the trust domain {domain:?}")]
    OutsideTrustDomain {
        /// The token's subject.
        subject: String,
        /// The issuer's trust domain.
        domain: String,
    },
    /// A URI subject outside the issuer's subject domain.
    #[error("subject {subject:?} is not a URI under {domain:?}")]
    OutsideSubjectDomain {
        /// The token's subject.
        subject: String,
        /// The issuer's subject domain.
        domain: String,
    },
    /// A username holding the `!` that separates it from the domain.
    #[error("username {username:?} must not contain '!'")]
    BangInUsername {
        /// The username.
        username: String,
    },
    /// A claim template lacks its closing `}}`.
    #[error("template {template:?} is not closed")]
    TemplateNotClosed {
        /// The template.
        template: String,
    },
    /// A claim template holds something other than `{{ .claim }}`.
    #[error("template {template:?}: expected {{{{ .claim }}}}")]
    TemplateSyntax {
        /// The template.
        template: String,
    },
    /// A claim template renders to more than the limit.
    #[error("template {template:?} renders to more than {limit} bytes")]
    TemplateTooLong {
        /// The template.
        template: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The rendered subject alternative name is not a URI.
    #[error("subject alternative name {san:?} is not a URI")]
    SanNotUri {
        /// The rendered name.
        san: String,
    },
    /// An email SAN that is not ASCII (an `rfc822Name` must be).
    #[error("email {email:?} is not ASCII")]
    EmailNotAscii {
        /// The email.
        email: String,
    },
    /// A URI SAN that is not ASCII.
    #[error("URI {uri:?} is not ASCII")]
    UriNotAscii {
        /// The URI.
        uri: String,
    },
}

/// Why a subject public key is not certified ([`CaError::UnsupportedKey`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectKeyError {
    /// The key is of an algorithm or curve the CA does not certify, or does not parse.
    #[error(
        "{0}; supported: ECDSA P-256/P-384/P-521, RSA {min}-{max} bits, Ed25519",
        min = crate::request::MIN_RSA_BITS,
        max = crate::request::MAX_RSA_BITS
    )]
    Unsupported(#[source] X509Error),
    /// The RSA key's PKCS#1 structure does not parse.
    #[error("RSA key does not parse: {0}")]
    RsaKey(#[source] der::Error),
    /// The RSA modulus is zero (empty).
    #[error("RSA modulus is zero")]
    RsaModulusZero,
    /// The RSA modulus is too small or too large.
    #[error(
        "RSA key of {bits} bits; supported sizes are {min} to {max} bits",
        min = crate::request::MIN_RSA_BITS,
        max = crate::request::MAX_RSA_BITS
    )]
    RsaSize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The key's `SubjectPublicKeyInfo` does not re-parse for the certificate.
    #[error("bad SubjectPublicKeyInfo: {0}")]
    Spki(#[source] der::Error),
    /// `publicKey.content` is PEM of another kind than `PUBLIC KEY`.
    #[error("publicKey.content is a {label} block; send a PUBLIC KEY (SubjectPublicKeyInfo)")]
    WrongPemLabel {
        /// The PEM label found.
        label: String,
    },
    /// `publicKey.algorithm` names another kind of key than the one sent.
    #[error("publicKey.algorithm {algorithm:?} does not match the {kind:?} key sent")]
    AlgorithmMismatch {
        /// The algorithm named.
        algorithm: String,
        /// The key's kind.
        kind: KeyKind,
    },
}

/// Why a certificate signing request does not parse ([`CaError::BadCsr`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// PEM text that is not UTF-8.
    #[error("PEM is not UTF-8")]
    PemNotUtf8(#[source] std::str::Utf8Error),
    /// The PEM encoding is broken.
    #[error("PEM: {0}")]
    Pem(#[source] pem_rfc7468::Error),
    /// PEM of another kind than a certificate request.
    #[error("expected a CERTIFICATE REQUEST block, found {label}")]
    WrongPemLabel {
        /// The PEM label found.
        label: String,
    },
    /// The DER is not a PKCS#10 request.
    #[error("PKCS#10: {0}")]
    Pkcs10(#[source] der::Error),
    /// The request's public key does not re-encode.
    #[error("public key: {0}")]
    PublicKey(#[source] der::Error),
    /// The signed part of the request cannot be found.
    #[error("{0}")]
    Structure(#[source] X509Error),
    /// The signature BIT STRING has unused bits.
    #[error("signature is not a whole number of bytes")]
    UnalignedSignature,
    /// The request is signed with an algorithm not accepted.
    #[error("unsupported signature algorithm {algorithm}")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm's OID.
        algorithm: String,
    },
}

/// Why the CA's key material is unusable ([`CaError::KeyMaterial`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// Generating a key failed.
    #[error("key generation failed")]
    KeyGeneration,
    /// A key or certificate could not be PEM-encoded.
    #[error("PEM encoding: {0}")]
    PemEncoding(#[source] pem_rfc7468::Error),
    /// A private key file is not PEM.
    #[error("private key PEM: {0}")]
    PrivateKeyPem(#[source] pem_rfc7468::Error),
    /// A private key file holds PEM of another kind.
    #[error("expected a PRIVATE KEY (PKCS#8) block, found {label}")]
    WrongPemLabel {
        /// The PEM label found.
        label: String,
    },
    /// The private key is not a PKCS#8 ECDSA P-256 or P-384 key.
    #[error("private key is not a PKCS#8 ECDSA P-256 or P-384 key")]
    UnsupportedPrivateKey,
    /// A public key does not encode.
    #[error("public key: {0}")]
    PublicKey(#[source] der::Error),
    /// A DER structure of the SCT signer's key does not encode.
    #[error("{0}")]
    Encoding(#[source] der::Error),
    /// The CA subject name does not parse.
    #[error("CA subject {subject:?}: {source}")]
    Subject {
        /// The name.
        subject: String,
        /// Why it does not parse.
        source: der::Error,
    },
    /// A certificate (`what`: root, intermediate, generated root) does not parse.
    #[error("{what}: {source}")]
    Certificate {
        /// Which certificate.
        what: &'static str,
        /// Why it does not parse.
        source: X509Error,
    },
    /// A certificate file holds no `CERTIFICATE` block.
    #[error("{what}: no CERTIFICATE block")]
    NoCertificate {
        /// Which certificate.
        what: &'static str,
    },
    /// The intermediate is not issued by the root, or one of them is not a CA.
    #[error("CA chain: {0}")]
    Chain(#[source] X509Error),
    /// The intermediate key is not the key of the intermediate certificate.
    #[error("intermediate key does not match the intermediate certificate")]
    IntermediateKeyMismatch,
    /// The root key is not the key of the root certificate.
    #[error("root key does not match the root certificate")]
    RootKeyMismatch,
    /// A signer of an algorithm the CA cannot use (its keys are ECDSA P-256 or P-384).
    #[error("CA key {key} is {algorithm}; the CA's keys must be ECDSA P-256 or P-384")]
    UnsupportedSigner {
        /// Where the key lives (a `pkcs11:` URI).
        key: String,
        /// The key's algorithm.
        algorithm: &'static str,
    },
    /// A key that lives outside this process (in an HSM) has no PKCS#8 form to write.
    #[error("CA key {key} cannot be exported: it is not a key kept in a file")]
    NotExportable {
        /// Where the key lives.
        key: String,
    },
    /// A key file or its directory cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why building or signing a certificate failed ([`CaError::Issuance`]): internal errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuanceError {
    /// A part of the certificate does not DER-encode.
    #[error("encoding {what}: {source}")]
    Encoding {
        /// Which part.
        what: &'static str,
        /// The DER error.
        source: der::Error,
    },
    /// A validity time before the Unix epoch.
    #[error("time {0} is before 1970")]
    TimeBeforeEpoch(i64),
    /// A validity time that overflows.
    #[error("time {0} overflows")]
    TimeOverflow(i64),
    /// The certificate does not PEM-encode.
    #[error("PEM: {0}")]
    Pem(#[source] pem_rfc7468::Error),
    /// The SCT list is longer than its TLS length prefix allows.
    #[error("SCT list longer than 65535 bytes")]
    SctListTooLong,
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// The CA key failed to sign.
    #[error("signing failed")]
    Signing,
}

/// Why no SCT was obtained for a precertificate ([`CaError::CtLog`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtLogError {
    /// The precertificate does not parse or re-encode.
    #[error("precertificate: {0}")]
    Precertificate(#[source] der::Error),
    /// The precertificate lacks the poison extension (or holds it more than once).
    #[error("precertificate lacks the poison extension")]
    MissingPoison,
    /// The precertificate's TBS is longer than an SCT can sign.
    #[error("precertificate TBS too long")]
    TbsTooLong,
    /// Signing the SCT failed.
    #[error("signing the SCT failed")]
    Signing,
    /// The SCT signature is longer than its length prefix allows.
    #[error("signature too long")]
    SignatureTooLong,
    /// No issuer certificate was given with the precertificate.
    #[error("empty chain")]
    EmptyChain,
    /// The issuer certificate does not parse.
    #[error("issuer certificate: {0}")]
    IssuerCertificate(#[source] der::Error),
    /// The issuer's public key does not encode.
    #[error("issuer key: {0}")]
    IssuerKey(#[source] der::Error),
    /// The log refused or failed (its own error).
    #[error("{0}")]
    Log(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The log cannot take the precertificate now (its key or its sequencer is unavailable,
    /// it is shutting down): nothing was issued, the client may retry (503).
    #[error("{0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TokenRejection {}

impl CtLogError {
    /// The log's own error, as a [`CtLogError::Log`].
    pub fn log(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        CtLogError::Log(Box::new(error))
    }

    /// The log's own error when it is temporarily unavailable, as a
    /// [`CtLogError::Unavailable`] (HTTP 503).
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        CtLogError::Unavailable(Box::new(error))
    }
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
            CaError::UnsupportedMediaType { .. } => 415,
            CaError::TokenUnavailable(_) | CaError::SignerUnavailable(_) => 503,
            CaError::CtLog(CtLogError::Unavailable(_)) => 503,
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
            CaError::UnsupportedMediaType { .. } => "unsupported_media_type",
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
            CaError::SignerUnavailable(_) => "signer_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client faults are answered with their text (the JSON `message`): it reads as it did
    /// when the causes were strings.
    #[test]
    fn answered_texts_are_unchanged() {
        let cases: Vec<(CaError, &str)> = vec![
            (
                RequestError::NotBase64 {
                    field: "certificateSigningRequest",
                }
                .into(),
                "malformed request: certificateSigningRequest is not base64",
            ),
            (
                RequestError::BothKeyForms.into(),
                "malformed request: send either certificateSigningRequest or publicKeyRequest, not both",
            ),
            (
                RequestError::UnknownAlgorithm("DSA".into()).into(),
                "malformed request: publicKey.algorithm \"DSA\" is not ECDSA, ED25519 or RSA_PSS",
            ),
            (
                CaError::UnsupportedMediaType {
                    content_type: "text/plain".into(),
                },
                "content type must be application/json, not \"text/plain\"",
            ),
            (
                CaError::TokenRefused(TokenRejection {
                    client_fault: true,
                    message: "token expired".into(),
                }),
                "OIDC token refused: token expired",
            ),
            (
                IdentityError::MissingClaim {
                    claim: "email".into(),
                }
                .into(),
                "identity refused: token lacks the \"email\" claim",
            ),
            (
                IdentityError::MissingNestedClaim {
                    path: "kubernetes.io.namespace",
                }
                .into(),
                "identity refused: token lacks kubernetes.io.namespace",
            ),
            (
                IdentityError::TemplateSyntax {
                    template: "{{a}}".into(),
                }
                .into(),
                "identity refused: template \"{{a}}\": expected {{ .claim }}",
            ),
            (
                SubjectKeyError::RsaSize { bits: 1024 }.into(),
                "unsupported public key: RSA key of 1024 bits; supported sizes are 2048 to 4096 bits",
            ),
            (
                SubjectKeyError::Unsupported(X509Error::UnsupportedKey("EC curve 1.2".into()))
                    .into(),
                "unsupported public key: unsupported public key: EC curve 1.2; supported: \
                 ECDSA P-256/P-384/P-521, RSA 2048-4096 bits, Ed25519",
            ),
            (
                CsrError::WrongPemLabel {
                    label: "PUBLIC KEY".into(),
                }
                .into(),
                "bad certificate signing request: expected a CERTIFICATE REQUEST block, found PUBLIC KEY",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn causes_are_sources() {
        let error = CaError::from(CsrError::Pkcs10(der::Error::from(der::ErrorKind::Failed)));
        assert!(std::error::Error::source(&error).is_some());
        let error = CaError::from(CtLogError::log(std::io::Error::other("log down")));
        assert_eq!(error.kind(), "ct_log");
        assert_eq!(error.to_string(), "CT log: log down");
    }
}
