//! The one error type of this crate.

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The image reference does not parse (`registry/repo[:tag][@sha256:hex]`).
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A digest is not `sha256:<64 hex>` (or `sha512:<128 hex>`).
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    /// Plain HTTP to a registry that is not on a loopback address was not allowed.
    #[error("registry {0} is not on loopback; plain HTTP needs the allow-insecure option")]
    InsecureRegistry(String),
    /// The connection failed (DNS, TCP, TLS, timeout).
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL (never carries credentials).
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: registry answered {status}{detail}")]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error code, when it sent one (prefixed with ": ").
        detail: String,
    },
    /// The registry refused our credentials, or wanted credentials we do not have.
    #[error("not authorized by {registry} (check the credentials in the Docker config)")]
    Unauthorized {
        /// The registry host.
        registry: String,
    },
    /// A `WWW-Authenticate` challenge could not be understood or is not allowed (e.g. a token
    /// realm over plain HTTP).
    #[error("bad authentication challenge: {0}")]
    BadChallenge(String),
    /// A token endpoint gave no usable token.
    #[error("token endpoint {realm} gave no token")]
    NoToken {
        /// The realm URL.
        realm: String,
    },
    /// A manifest, blob or response body is larger than the limit.
    #[error("{what} exceeds the {limit}-byte limit")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A list (layers, referrers, redirects) is longer than allowed.
    #[error("more than {limit} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The bytes received do not hash to the digest asked for or announced.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// The digest asked for or announced by the registry.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// A manifest or index is not valid JSON of the expected shape.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// A manifest has a media type that is not expected where it was found.
    #[error("unexpected media type {found:?} for {what}")]
    UnexpectedMediaType {
        /// What was being read.
        what: &'static str,
        /// The media type found.
        found: String,
    },
    /// The Docker config file could not be read.
    #[error("docker config {path}: {reason}")]
    DockerConfig {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Other writers kept replacing a shared manifest (the tag-schema index) without our entry.
    #[error("the {what} kept changing under concurrent writers ({attempts} writes); try again")]
    Contended {
        /// Which manifest.
        what: &'static str,
        /// How many writes were made.
        attempts: u32,
    },
    /// A Docker credential helper failed.
    #[error("credential helper {helper}: {reason}")]
    CredentialHelper {
        /// The program, `docker-credential-<name>`.
        helper: String,
        /// What went wrong.
        reason: String,
    },
    /// A simple-signing payload is not the JSON cosign writes.
    #[error("bad simple-signing payload: {0}")]
    BadSimpleSigning(String),
}
