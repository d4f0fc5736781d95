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
    Token(String),
    /// Signing with the key failed.
    #[error("signing failed: {0}")]
    Key(String),
    /// Bad input from the caller (e.g. an unparseable predicate).
    #[error("{0}")]
    Input(String),
}
