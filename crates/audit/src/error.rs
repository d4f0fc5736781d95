//! What can go wrong reading and auditing a log.

/// Why a log could not be read or did not verify.
///
/// [`AuditError::is_verification_failure`] separates what the log served wrongly (a bad
/// signature, a proof that does not verify, a log that shrank) from not reaching it at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The request could not be made or answered: the log is down, the URL is wrong, or the
    /// request timed out.
    #[error("{url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The log answered with an HTTP error status.
    #[error("{url}: HTTP status {status}: {message}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer.
        message: String,
    },
    /// The answer is larger than this reader accepts.
    #[error("{url}: answer larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The bound.
        limit: usize,
    },
    /// The answer does not parse as what the API promises.
    #[error("{url}: {reason}")]
    Malformed {
        /// The URL requested (or what was read).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoint or signed tree head is not signed by any key the trusted root gives for
    /// this kind of log.
    #[error("{what} is not signed by a trusted log key: {reasons}")]
    UntrustedCheckpoint {
        /// What was checked (`checkpoint of <url>`).
        what: String,
        /// Why each candidate key refused it.
        reasons: String,
    },
    /// The log is smaller than a tree head it signed before: it shrank or was rolled back.
    #[error("the log shrank: it had signed a tree of {old} entries and now signs {new}")]
    Shrank {
        /// The size saved before.
        old: u64,
        /// The size now.
        new: u64,
    },
    /// Two signed tree heads of one size have different roots: the log forked.
    #[error("the log forked: size {size} had root {old} and now has root {new}")]
    Fork {
        /// The tree size.
        size: u64,
        /// The root saved before (hex).
        old: String,
        /// The root now (hex).
        new: String,
    },
    /// A consistency proof between two signed tree heads does not verify.
    #[error("consistency from size {old} to {new} does not verify: {reason}")]
    Inconsistent {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
        /// What failed.
        reason: String,
    },
    /// An inclusion proof does not verify.
    #[error("entry {index}: inclusion in the tree of size {size} does not verify: {reason}")]
    NotIncluded {
        /// The entry's index.
        index: u64,
        /// The tree size.
        size: u64,
        /// What failed.
        reason: String,
    },
    /// The entries read do not hash to the signed root: the log served other entries (or tiles)
    /// than the ones it signed.
    #[error(
        "entries {from}..{to} do not build the signed root: computed {computed}, signed {signed}"
    )]
    EntriesMismatch {
        /// First entry read.
        from: u64,
        /// One past the last entry read.
        to: u64,
        /// The root computed (hex).
        computed: String,
        /// The signed root (hex).
        signed: String,
    },
    /// A tile or entry bundle does not have the shape its path demands.
    #[error("{path}: {reason}")]
    BadTile {
        /// The tile path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A Rekor entry does not verify (SET, inclusion proof or checkpoint).
    #[error("entry {index}: {source}")]
    Entry {
        /// The entry's index as the log gave it.
        index: i64,
        /// What failed.
        #[source]
        source: signet_verify::VerifyError,
    },
    /// The saved state belongs to another log, or cannot be used.
    #[error("state file {path}: {reason}")]
    State {
        /// The state file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The request cannot be made as asked (e.g. a UUID lookup on a tiled log).
    #[error("{0}")]
    Unsupported(String),
}

impl AuditError {
    /// Whether this is the log failing verification (served something wrong, or contradicted
    /// itself), as opposed to not being reachable or not being asked correctly.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            AuditError::Malformed { .. }
                | AuditError::UntrustedCheckpoint { .. }
                | AuditError::Shrank { .. }
                | AuditError::Fork { .. }
                | AuditError::Inconsistent { .. }
                | AuditError::NotIncluded { .. }
                | AuditError::EntriesMismatch { .. }
                | AuditError::BadTile { .. }
                | AuditError::Entry { .. }
        )
    }

    /// Whether this is an alert for a monitor: the log contradicted what it signed before
    /// (shrank, forked, inconsistent) or signed with an untrusted key.
    pub fn is_alert(&self) -> bool {
        matches!(
            self,
            AuditError::UntrustedCheckpoint { .. }
                | AuditError::Shrank { .. }
                | AuditError::Fork { .. }
                | AuditError::Inconsistent { .. }
                | AuditError::EntriesMismatch { .. }
        )
    }
}
