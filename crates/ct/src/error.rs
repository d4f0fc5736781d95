//! The error type of this crate.

use signet_log::LogError;
use signet_x509::X509Error;

/// Why a submission, a read or the log itself failed.
///
/// [`CtError::is_client_fault`] splits the variants into those caused by the request (HTTP 4xx)
/// and those caused by the log (5xx).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    /// The chain holds no issuer: `add-pre-chain` needs the precertificate's issuer at
    /// `chain[0]`.
    #[error("the chain holds no issuer certificate")]
    EmptyChain,
    /// More certificates than the log accepts in one chain.
    #[error("the chain holds {len} certificates, more than {max}")]
    ChainTooLong {
        /// Certificates submitted (issuers, without the precertificate).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate does not parse. `position` 0 is the precertificate, 1 its issuer
    /// (`chain[0]`), and so on.
    #[error("certificate {position} of the submission is invalid: {source}")]
    Certificate {
        /// Where in the submission (0: the precertificate).
        position: usize,
        /// Why it was rejected.
        source: X509Error,
    },
    /// The precertificate lacks the RFC 6962 poison extension (1.3.6.1.4.1.11129.2.4.3): it is
    /// an ordinary certificate, which this log does not accept.
    #[error("the precertificate has no poison extension")]
    MissingPoison,
    /// The poison extension is not marked critical, or its value is not ASN.1 NULL.
    #[error("the precertificate's poison extension is malformed: {reason}")]
    BadPoison {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A certificate was not issued by the next one in the chain (names differ or the
    /// signature does not verify). `position` 0 is the precertificate.
    #[error("certificate {position} of the submission is not issued by the next one: {source}")]
    NotIssuedBy {
        /// The certificate whose signature failed (0: the precertificate).
        position: usize,
        /// Why.
        source: X509Error,
    },
    /// The chain does not end in, or at a certificate issued by, one of the log's accepted
    /// roots.
    #[error("the chain does not lead to a root this log accepts")]
    UntrustedChain,
    /// The precertificate's TBSCertificate (or the resulting log entry) is too large.
    #[error("the log entry would be {size} bytes, more than {max}")]
    EntryTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An HTTP request parameter is missing or malformed.
    #[error("parameter {name}: {reason}")]
    BadParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A tree size beyond the latest signed tree head was asked for.
    #[error("tree size {requested} is beyond the current tree size {current}")]
    TreeSizeBeyondHead {
        /// The size asked for.
        requested: u64,
        /// The latest signed tree head's size.
        current: u64,
    },
    /// No entry with this leaf hash is in the tree of the size asked for.
    #[error("no entry with that leaf hash in the tree of size {tree_size}")]
    LeafNotFound {
        /// The tree size asked about.
        tree_size: u64,
    },
    /// The log's public key is not an ECDSA P-256 `SubjectPublicKeyInfo`.
    #[error("the log's key is not an ECDSA P-256 key")]
    BadSigningKey,
    /// The signer given to [`crate::CtLog::open`] is not ECDSA P-256 with SHA-256, the only
    /// algorithm an RFC 6962 log signs with (e.g. an Ed25519 or P-384 key configured for the
    /// CT log by mistake).
    #[error("the CT log signs with ECDSA P-256 (RFC 6962), but its key ({location}) is {found}")]
    SigningKeyAlgorithm {
        /// The signer's algorithm.
        found: signet_signer::SignerAlgorithm,
        /// Where the key lives ([`signet_signer::Signer::location`]).
        location: String,
    },
    /// The signing key failed to sign an SCT (an HSM that went away): nothing was logged.
    /// Answered with 503; the client may retry.
    #[error("{0}")]
    SignerUnavailable(#[source] signet_signer::SignError),
    /// The configured origin is not a valid note key name (it names the checkpoint signature).
    #[error("origin {0:?} is not a valid checkpoint key name")]
    BadOrigin(String),
    /// A configured root certificate does not parse.
    #[error("configured root {index} is invalid: {source}")]
    BadRoot {
        /// Its index in [`crate::CtLogConfig::roots`].
        index: usize,
        /// Why.
        source: X509Error,
    },
    /// No process sequences the log right now (a takeover in progress), or the one that does
    /// did not answer a forwarded submission in time, or this process was sent a forwarded
    /// submission it cannot take (it no longer sequences). Nothing was acknowledged; the client
    /// may retry (503).
    #[error("the CT log's sequencer is unavailable: {reason}")]
    SequencerUnavailable {
        /// What happened.
        reason: String,
    },
    /// The process that sequences the log refused a forwarded submission, or answered with
    /// something this one cannot read (`status` 502).
    #[error("the CT log's sequencer answered {status}: {message}")]
    Forwarded {
        /// Its HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// The PostgreSQL database of a shared log cannot be reached or set up.
    #[error("database: {what}: {detail}")]
    Database {
        /// The step that failed.
        what: &'static str,
        /// The database's message.
        detail: String,
    },
    /// A signature does not fit its TLS `DigitallySigned` length prefix.
    #[error("signing failed")]
    Signing,
    /// The underlying log failed (storage, sequencing) or is shut down.
    #[error("log: {0}")]
    Log(#[from] LogError),
    /// The extra-data store failed.
    #[error("extra-data store: {op}: {detail}")]
    ExtraData {
        /// The operation (`put`, `get`).
        op: &'static str,
        /// The backend's message.
        detail: String,
    },
    /// Stored data (an entry, its extra data, a checkpoint) does not decode: the store was
    /// damaged or written by another program.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl CtError {
    /// Whether the request caused the error (answer 4xx), rather than the log (5xx).
    pub fn is_client_fault(&self) -> bool {
        match self {
            CtError::EmptyChain
            | CtError::ChainTooLong { .. }
            | CtError::Certificate { .. }
            | CtError::MissingPoison
            | CtError::BadPoison { .. }
            | CtError::NotIssuedBy { .. }
            | CtError::UntrustedChain
            | CtError::EntryTooLarge { .. }
            | CtError::BadParameter { .. }
            | CtError::TreeSizeBeyondHead { .. }
            | CtError::LeafNotFound { .. } => true,
            CtError::Log(LogError::EntryTooLarge { .. }) => true,
            CtError::Forwarded { status, .. } => (400..500).contains(status),
            CtError::SequencerUnavailable { .. } | CtError::Database { .. } => false,
            CtError::BadSigningKey
            | CtError::SigningKeyAlgorithm { .. }
            | CtError::SignerUnavailable(_)
            | CtError::BadOrigin(_)
            | CtError::BadRoot { .. }
            | CtError::Signing
            | CtError::Log(_)
            | CtError::ExtraData { .. }
            | CtError::Corrupt { .. } => false,
        }
    }

    /// Whether the log cannot take the request now but may later (HTTP 503): its key failed
    /// to sign (an SCT, or the tree head of the batch), it is shutting down, or a checkpoint
    /// guard refused. Nothing was acknowledged; the client may retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            CtError::SignerUnavailable(_)
                | CtError::SequencerUnavailable { .. }
                | CtError::Forwarded { status: 503, .. }
                | CtError::Log(LogError::Closed | LogError::Sign(_) | LogError::Guard(_))
        )
    }

    /// A short stable name of the variant, for metrics labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CtError::EmptyChain => "empty_chain",
            CtError::ChainTooLong { .. } => "chain_too_long",
            CtError::Certificate { .. } => "bad_certificate",
            CtError::MissingPoison => "missing_poison",
            CtError::BadPoison { .. } => "bad_poison",
            CtError::NotIssuedBy { .. } => "not_issued_by",
            CtError::UntrustedChain => "untrusted_chain",
            CtError::EntryTooLarge { .. } => "entry_too_large",
            CtError::BadParameter { .. } => "bad_parameter",
            CtError::TreeSizeBeyondHead { .. } => "tree_size_beyond_head",
            CtError::LeafNotFound { .. } => "leaf_not_found",
            CtError::BadSigningKey => "bad_signing_key",
            CtError::SigningKeyAlgorithm { .. } => "signing_key_algorithm",
            CtError::SignerUnavailable(_) => "signer_unavailable",
            CtError::SequencerUnavailable { .. } => "sequencer_unavailable",
            CtError::Forwarded { .. } => "forwarded",
            CtError::Database { .. } => "database",
            CtError::BadOrigin(_) => "bad_origin",
            CtError::BadRoot { .. } => "bad_root",
            CtError::Signing => "signing",
            CtError::Log(_) => "log",
            CtError::ExtraData { .. } => "extra_data",
            CtError::Corrupt { .. } => "corrupt",
        }
    }
}
