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
    /// The signing key is not an ECDSA P-256 PKCS#8 key.
    #[error("the log's signing key is not an ECDSA P-256 PKCS#8 private key")]
    BadSigningKey,
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
    /// Signing an SCT or a tree head failed in the crypto library.
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
            CtError::BadSigningKey
            | CtError::BadOrigin(_)
            | CtError::BadRoot { .. }
            | CtError::Signing
            | CtError::Log(_)
            | CtError::ExtraData { .. }
            | CtError::Corrupt { .. } => false,
        }
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
            CtError::BadOrigin(_) => "bad_origin",
            CtError::BadRoot { .. } => "bad_root",
            CtError::Signing => "signing",
            CtError::Log(_) => "log",
            CtError::ExtraData { .. } => "extra_data",
            CtError::Corrupt { .. } => "corrupt",
        }
    }
}
