//! Why a bundle did not verify. Each variant names the check that failed.

use signet_x509::X509Error;

/// A failed verification step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle, a Rekor body or the trusted root could not be parsed.
    #[error("malformed input: {0}")]
    Format(#[from] signet_formats::FormatError),
    /// The trusted root is unusable (bad key, bad certificate, malformed validity).
    #[error("trusted root: {reason}")]
    BadTrustRoot {
        /// What is wrong.
        reason: String,
    },
    /// The policy itself is unusable.
    #[error("policy: {reason}")]
    BadPolicy {
        /// What is wrong.
        reason: String,
    },
    /// Something the bundle version requires is missing or something forbidden is present.
    #[error("bundle structure: {reason}")]
    Structure {
        /// What is wrong.
        reason: String,
    },
    /// A transparency-log entry is from a log the trusted root does not list.
    #[error("tlog entry {entry}: log {log_id} is not in the trusted root")]
    UnknownLog {
        /// Entry position in the bundle.
        entry: usize,
        /// The log ID, hex.
        log_id: String,
    },
    /// A transparency-log entry does not match the bundle.
    #[error("tlog entry {entry}: the logged {field} does not match the bundle")]
    EntryMismatch {
        /// Entry position.
        entry: usize,
        /// What differs.
        field: &'static str,
    },
    /// Two fields of one transparency-log entry that must agree do not (checked whether or not
    /// anything signed covers them).
    #[error("tlog entry {entry}: {reason}")]
    Inconsistent {
        /// Entry position.
        entry: usize,
        /// Which fields disagree, with their values.
        reason: String,
    },
    /// The signed entry timestamp (inclusion promise) does not verify.
    #[error("tlog entry {entry}: signed entry timestamp does not verify")]
    BadSignedEntryTimestamp {
        /// Entry position.
        entry: usize,
    },
    /// The inclusion proof does not verify.
    #[error("tlog entry {entry}: inclusion proof does not verify: {reason}")]
    BadInclusionProof {
        /// Entry position.
        entry: usize,
        /// Why.
        reason: String,
    },
    /// The checkpoint is malformed, not signed by the log, or does not match the proof.
    #[error("tlog entry {entry}: checkpoint: {reason}")]
    BadCheckpoint {
        /// Entry position.
        entry: usize,
        /// Why.
        reason: String,
    },
    /// A time is outside the validity of the key or authority that vouches for it.
    #[error("{what} is not valid at {time}")]
    OutsideValidity {
        /// The key, log or authority.
        what: String,
        /// The time, Unix seconds.
        time: i64,
    },
    /// An integrated time lies in the future.
    #[error("tlog entry {entry}: integrated time {time} is in the future (now {now})")]
    TimeInFuture {
        /// Entry position.
        entry: usize,
        /// The integrated time.
        time: i64,
        /// The time of verification.
        now: i64,
    },
    /// An RFC 3161 timestamp does not verify.
    #[error("timestamp {index}: {source}")]
    Timestamp {
        /// Timestamp position.
        index: usize,
        /// Why.
        source: signet_timestamp::TimestampError,
    },
    /// No verified time: a certificate cannot be checked without one.
    #[error("no verified time: the bundle needs a signed entry timestamp or an RFC 3161 timestamp")]
    NoVerifiedTime,
    /// The signing certificate does not chain to a trusted CA at some verified time.
    #[error("signing certificate is not trusted at {time}: {source}")]
    UntrustedCertificate {
        /// The verified time checked.
        time: i64,
        /// Why.
        source: X509Error,
    },
    /// The signing certificate has no valid SCT from a trusted CT log.
    #[error("signing certificate SCT: {0}")]
    Sct(X509Error),
    /// Under an identity policy, the signing certificate must name exactly one identity (one
    /// subject alternative name of any type), as every Fulcio certificate does.
    #[error(
        "signing certificate has {count} subject alternative names ({names}); an identity policy needs exactly one"
    )]
    NotOneIdentity {
        /// How many names the certificate has.
        count: usize,
        /// The names, each with its type.
        names: String,
    },
    /// The certificate does not carry the identity the policy asks for.
    #[error("identity mismatch: {field} is {found:?}, expected {expected}")]
    IdentityMismatch {
        /// Which part of the identity.
        field: &'static str,
        /// What the policy asked for.
        expected: String,
        /// What the certificate has.
        found: String,
    },
    /// The bundle is signed with a different kind of material than the policy expects, or a
    /// different key.
    #[error("signing key: {reason}")]
    KeyMismatch {
        /// Why.
        reason: String,
    },
    /// A certificate or key in the bundle could not be used.
    #[error("bundle certificate or key: {0}")]
    Material(X509Error),
    /// The signature does not verify over the artifact or the DSSE envelope.
    #[error("signature over the {what} does not verify")]
    BadSignature {
        /// Artifact, digest or DSSE envelope.
        what: &'static str,
    },
    /// The artifact is not the one that was signed.
    #[error("artifact mismatch: {reason}")]
    ArtifactMismatch {
        /// Why.
        reason: String,
    },
}
