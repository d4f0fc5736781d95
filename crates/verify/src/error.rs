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
    #[error("tlog entry {entry}: inclusion proof does not verify: {source}")]
    BadInclusionProof {
        /// Entry position.
        entry: usize,
        /// Why.
        source: InclusionProofError,
    },
    /// The entry's checkpoint lacks the witness cosignatures the client's policy requires.
    #[error(
        "tlog entry {entry}: its checkpoint carries {got} valid cosignatures by the required witnesses, {need} required"
    )]
    WitnessQuorum {
        /// Entry position.
        entry: usize,
        /// Valid cosignatures by policy witnesses.
        got: usize,
        /// The quorum.
        need: usize,
    },
    /// The checkpoint is malformed, not signed by the log, or does not match the proof.
    #[error("tlog entry {entry}: checkpoint: {source}")]
    BadCheckpoint {
        /// Entry position.
        entry: usize,
        /// Why.
        source: LogCheckpointError,
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

/// Why an inclusion proof does not verify ([`VerifyError::BadInclusionProof`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InclusionProofError {
    /// `inclusionProof.logIndex` is negative.
    #[error("negative proof log index")]
    NegativeLogIndex(i64),
    /// `inclusionProof.treeSize` is negative.
    #[error("negative tree size")]
    NegativeTreeSize(i64),
    /// A proof hash is not 32 bytes.
    #[error("{0}")]
    Hash(#[source] signet_merkle::Error),
    /// `inclusionProof.rootHash` is not 32 bytes.
    #[error("root hash: {0}")]
    RootHash(#[source] signet_merkle::Error),
    /// The proof does not lead from the entry's leaf to the root.
    #[error("{0}")]
    Proof(#[source] signet_merkle::Error),
}

/// Why an inclusion proof's checkpoint is refused ([`VerifyError::BadCheckpoint`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogCheckpointError {
    /// The proof carries no checkpoint.
    #[error("missing")]
    Missing,
    /// The checkpoint is not a signed note.
    #[error("{0}")]
    Note(#[source] signet_note::NoteError),
    /// The note's text is not a checkpoint.
    #[error("{0}")]
    Checkpoint(#[source] signet_note::CheckpointError),
    /// The checkpoint's tree size is not the proof's.
    #[error("size {checkpoint} differs from inclusionProof.treeSize {proof}")]
    SizeMismatch {
        /// The checkpoint's size.
        checkpoint: u64,
        /// The proof's tree size.
        proof: u64,
    },
    /// The checkpoint's root hash is not the proof's.
    #[error(
        "root hash {} differs from inclusionProof.rootHash {}",
        base64(&checkpoint.0),
        base64(&proof.0)
    )]
    RootMismatch {
        /// The checkpoint's root hash.
        checkpoint: signet_merkle::Hash,
        /// The proof's root hash.
        proof: signet_merkle::Hash,
    },
    /// The trusted log's key is marked Ed25519 but is not 32 bytes.
    #[error("log key is not Ed25519")]
    NotEd25519,
    /// The checkpoint's origin is not the log's key name.
    #[error(
        "origin {origin:?} is not the log's name {name:?} (the host of its baseUrl {base_url:?})"
    )]
    OriginNotLogName {
        /// The checkpoint's origin.
        origin: String,
        /// The log's key name.
        name: String,
        /// The log's `baseUrl` in the trusted root.
        base_url: String,
    },
    /// The trusted root gives the log no usable `baseUrl`, so its key has no name.
    #[error("the trusted root gives log {log_id} no baseUrl, so its checkpoint key has no name")]
    NoBaseUrl {
        /// The log ID, hex.
        log_id: String,
    },
    /// The log's key cannot verify notes under its name.
    #[error("{0}")]
    Key(#[source] signet_note::KeyError),
    /// The trusted log ID is shorter than a note key ID.
    #[error("log ID shorter than 4 bytes")]
    ShortLogId,
    /// The log's note key ID is not the start of its log ID.
    #[error("the log's key {name:?} has key ID {key_id:08x}, not the start of its log ID {log_id}")]
    KeyIdMismatch {
        /// The log's key name.
        name: String,
        /// The key ID of the log's key under that name.
        key_id: signet_note::KeyId,
        /// The log ID, hex.
        log_id: String,
    },
    /// No signature line is by the log's key.
    #[error(
        "no signature by the log's key (name {name:?}, key ID {key_id:08x}); signature lines: {}",
        signature_lines(signatures)
    )]
    NoLogSignature {
        /// The log's key name.
        name: String,
        /// The log's key ID.
        key_id: signet_note::KeyId,
        /// The name and key ID of each signature line.
        signatures: Vec<(String, signet_note::KeyId)>,
    },
    /// The log's signature line does not verify.
    #[error("{0}")]
    Signature(#[source] signet_note::NoteError),
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn signature_lines(signatures: &[(String, signet_note::KeyId)]) -> String {
    if signatures.is_empty() {
        return "none".to_owned();
    }
    let lines: Vec<String> = signatures
        .iter()
        .map(|(name, key_id)| format!("{name:?} {key_id:08x}"))
        .collect();
    lines.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts users read stay as they were when these causes were strings.
    #[test]
    fn checkpoint_errors_read_as_before() {
        let err = VerifyError::BadCheckpoint {
            entry: 0,
            source: LogCheckpointError::NoLogSignature {
                name: "rekor.sigstore.dev".into(),
                key_id: 0xc0d23d6a,
                signatures: vec![("rekor.example.com".into(), 0xc0d23d6a)],
            },
        };
        assert_eq!(
            err.to_string(),
            "tlog entry 0: checkpoint: no signature by the log's key (name \"rekor.sigstore.dev\", \
             key ID c0d23d6a); signature lines: \"rekor.example.com\" c0d23d6a"
        );
        let none = LogCheckpointError::NoLogSignature {
            name: "n".into(),
            key_id: 1,
            signatures: vec![],
        };
        assert!(
            none.to_string().ends_with("signature lines: none"),
            "{none}"
        );
        let root = LogCheckpointError::RootMismatch {
            checkpoint: signet_merkle::Hash([0; 32]),
            proof: signet_merkle::Hash([0xff; 32]),
        };
        assert_eq!(
            root.to_string(),
            format!(
                "root hash {} differs from inclusionProof.rootHash {}",
                base64(&[0; 32]),
                base64(&[0xff; 32])
            )
        );
        let err = VerifyError::BadInclusionProof {
            entry: 2,
            source: InclusionProofError::NegativeTreeSize(-1),
        };
        assert_eq!(
            err.to_string(),
            "tlog entry 2: inclusion proof does not verify: negative tree size"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
