//! What can go wrong while signing.

/// A signing failure. Service errors name the service, its URL and what it said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signing config offers no usable service of a kind (all expired, unsupported API
    /// versions, or an `EXACT` count that cannot be met).
    #[error("no usable {kind}: {reason}")]
    NoService {
        /// Which kind of service.
        kind: &'static str,
        /// Why none is usable.
        reason: String,
    },
    /// A service could not be reached (connection refused, timeout, TLS failure).
    #[error("{service} at {url} is unreachable: {reason}")]
    Unreachable {
        /// Which service.
        service: &'static str,
        /// The URL tried.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// A service answered with an error status.
    #[error("{service} at {url} refused the request: HTTP {status}: {message}")]
    Refused {
        /// Which service.
        service: &'static str,
        /// The URL tried.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The service's message (its JSON `message` field when it sent one), shortened.
        message: String,
    },
    /// A service answered 2xx with something this client cannot use.
    #[error("{service} at {url} sent a bad answer: {reason}")]
    BadResponse {
        /// Which service.
        service: &'static str,
        /// The URL tried.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The certificate the CA issued does not check out against the trusted root (chain,
    /// SCT, or the key it certifies).
    #[error("the certificate from {url} is not trustworthy: {reason}")]
    BadCertificate {
        /// The CA's URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The bundle assembled from the services' answers does not verify (bad inclusion proof,
    /// checkpoint, SET or timestamp).
    #[error("the signed bundle does not verify: {0}")]
    SelfCheck(#[from] signet_verify::VerifyError),
    /// No identity token could be obtained, or the one given is malformed.
    #[error("identity token: {0}")]
    Token(#[from] TokenError),
    /// Signing with the key failed.
    #[error("signing failed: {0}")]
    Key(#[from] SigningKeyError),
    /// Bad input from the caller (e.g. an unparseable predicate).
    #[error("{0}")]
    Input(#[from] InputError),
}

/// Why no identity token was obtained ([`SignError::Token`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is not three dot-separated parts.
    #[error("not a JWT (expected three dot-separated parts)")]
    NotJwt,
    /// The token's payload is not base64url.
    #[error("JWT payload is not base64url: {0}")]
    PayloadNotBase64(#[source] base64::DecodeError),
    /// The token's payload is not a JSON object.
    #[error("JWT payload is not a JSON object")]
    PayloadNotObject,
    /// The token's claims (at any depth) name a member twice, e.g. two `sub`: which one counts
    /// would depend on the reader, so the token is refused (the CA refuses it too).
    #[error("JWT claims name {0:?} twice")]
    DuplicateClaim(String),
    /// The token names no identity.
    #[error("the token has neither an email nor a sub claim")]
    NoIdentityClaim,
    /// A URL (from the environment or an issuer's discovery document) does not parse.
    #[error("{what} is not a URL: {source}")]
    NotAUrl {
        /// Where the URL came from.
        what: &'static str,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// An endpoint could not be reached or its answer not read (refused, timed out, reset).
    #[error("{what}: {}", transport_text(source))]
    Transport {
        /// The endpoint.
        what: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// An endpoint's answer is larger than the limit.
    #[error("{what}: answer larger than {limit} bytes")]
    AnswerTooLarge {
        /// The endpoint.
        what: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// An endpoint's answer is not JSON.
    #[error("{what}: HTTP {status}: {body}")]
    NotJson {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The start of the answer, lossily decoded.
        body: String,
    },
    /// An endpoint answered with an error status.
    #[error("{what}: HTTP {status}: {message}")]
    Refused {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// Its `error_description`, `error` or `message`.
        message: String,
    },
    /// An endpoint answered with an error status and no OAuth error.
    #[error("{what}: HTTP {status}")]
    Status {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
    },
    /// An endpoint's answer lacks a field it must have.
    #[error("{what}: no {field} in its answer")]
    MissingField {
        /// The endpoint.
        what: String,
        /// The field.
        field: &'static str,
    },
    /// The issuer's discovery document lacks the endpoint a flow needs.
    #[error("the issuer offers no {endpoint}")]
    NoEndpoint {
        /// The endpoint's discovery name.
        endpoint: &'static str,
    },
    /// The system random number generator failed.
    #[error("no randomness")]
    Random,
    /// The loopback listener for the login redirect failed.
    #[error("{what}: {source}")]
    Listener {
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The user did not log in in time.
    #[error("timed out waiting for the {flow} login")]
    LoginTimeout {
        /// `browser` or `device`.
        flow: &'static str,
    },
    /// The issuer redirected back with an OAuth error.
    #[error("the issuer refused the login: {error}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    LoginRefused {
        /// The OAuth `error` (shortened).
        error: String,
        /// The `error_description`, when sent (shortened).
        description: Option<String>,
    },
    /// The token endpoint refused the device login.
    #[error("device login refused: {0}")]
    DeviceLoginRefused(String),
}

impl TokenError {
    /// Whether the failure is a timeout: the user's login, or a request that reached its
    /// deadline.
    pub fn is_timeout(&self) -> bool {
        match self {
            TokenError::LoginTimeout { .. } => true,
            TokenError::Transport { source, .. } => source.is_timeout(),
            _ => false,
        }
    }
}

/// A transport error with its causes on one line (reqwest's own message alone does not say
/// "timed out").
fn transport_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if e.is_timeout() && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

/// Why signing with the key failed ([`SignError::Key`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// Generating the ephemeral key failed.
    #[error("could not generate an ECDSA key")]
    Generate,
    /// The ephemeral key's public key does not encode.
    #[error("could not encode the public key")]
    EncodePublicKey,
    /// The ephemeral key failed to sign.
    #[error("ECDSA signing failed")]
    Signing,
    /// The system random number generator failed.
    #[error("no randomness for the timestamp nonce")]
    NonceRandomness,
    /// The key's public key is not one the verifier accepts.
    #[error("{0}")]
    PublicKey(#[source] signet_x509::X509Error),
    /// A structure built from the key does not DER-encode (`what`: the CSR, the timestamp
    /// request, ...).
    #[error("{what}: {source}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// The DER error.
        source: der::Error,
    },
    /// A structure does not PEM-encode.
    #[error("PEM encoding: {0}")]
    Pem(#[source] pem_rfc7468::Error),
    /// A DSSE envelope that does not hold exactly one signature (a bundle holds one, and Rekor
    /// v2 logs one).
    #[error("a DSSE envelope must hold exactly one signature, it has {0}")]
    DsseSignatureCount(usize),
    /// A caller's signer failed (its own error).
    #[error("{0}")]
    Signer(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SigningKeyError {
    /// A caller's signer's own error, as a [`SigningKeyError::Signer`].
    pub fn signer(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        SigningKeyError::Signer(Box::new(error))
    }
}

/// Bad input from the caller ([`SignError::Input`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The TLS configuration cannot be built.
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// The HTTP client cannot be built.
    #[error("HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// A DSSE self-check of a bundle that holds a message signature.
    #[error("not a DSSE bundle")]
    NotDsse,
    /// The in-toto statement has no subject.
    #[error("the in-toto statement has no subject")]
    NoStatementSubject,
    /// The in-toto subject has no digest.
    #[error("the in-toto subject has no digest")]
    NoSubjectDigest,
    /// The in-toto subject's digest is of an algorithm not supported.
    #[error("unsupported in-toto subject digest {0}")]
    UnsupportedSubjectDigest(String),
}
