//! [`TufError`]: what was wrong, one variant per kind a caller (or a test) must tell apart.

use std::path::PathBuf;

/// Why a TUF operation failed.
///
/// Verification failures (everything but [`TufError::Unreachable`], [`TufError::Io`] and the
/// key-file and repository-side variants) mean the repository or a mirror served something TUF
/// refuses; a client never falls back to cached targets for them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// The `role` metadata has expired: the repository stopped re-signing it, or a mirror is
    /// replaying old metadata (a freeze attack).
    #[error("{role} metadata has expired")]
    Expired {
        /// The role whose metadata expired.
        role: String,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// Metadata older than what this client already trusts was offered (a rollback attack, or a
    /// repository that lost its state).
    #[error(
        "rollback refused: {role} version {offered} is older than the trusted version {trusted}"
    )]
    Rollback {
        /// The role (or metadata file) that went back.
        role: String,
        /// The version this client trusts.
        trusted: u64,
        /// The version that was offered.
        offered: u64,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// A metadata file's version differs from the version the snapshot or timestamp lists for
    /// it (mix-and-match of files from different repository states).
    #[error(
        "mix-and-match refused: {role} version {fetched} differs from the listed version {expected}"
    )]
    VersionMismatch {
        /// The role whose file did not match.
        role: String,
        /// The version the fetched file has.
        fetched: u64,
        /// The version the snapshot or timestamp lists.
        expected: u64,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// A fetched file (metadata or target) does not have the SHA-256 listed for it: modified in
    /// transit or on a mirror, or a mix-and-match.
    #[error("hash mismatch for {what}: expected sha256 {expected}, got {calculated}")]
    HashMismatch {
        /// What was fetched (its URL).
        what: String,
        /// The listed SHA-256 (hex).
        expected: String,
        /// The SHA-256 of what was served (hex).
        calculated: String,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// A fetched file is longer than its listed length (or than the client's bound when none is
    /// listed).
    #[error("{what} is longer than {max_size} bytes (the length listed by {listed_by})")]
    LengthMismatch {
        /// What was fetched (its URL).
        what: String,
        /// The bound it exceeded.
        max_size: u64,
        /// Where the bound comes from.
        listed_by: String,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// Fewer valid signatures than the role's threshold: signed by the wrong key, tampered
    /// with, or the keys were rotated without a new root.
    #[error("{role} metadata has {valid} valid signature(s), its threshold is {threshold}")]
    ThresholdNotMet {
        /// The role whose signatures were checked.
        role: String,
        /// The threshold from the trusted root.
        threshold: u64,
        /// How many signatures verified.
        valid: u64,
        /// tough's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A metadata file is not valid TUF metadata (bad JSON, wrong `_type`, a key ID that is not
    /// the hash of its key, duplicate signatures, …).
    #[error("malformed {what}")]
    Malformed {
        /// Which file or role.
        what: String,
        /// The parse error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A target the client needs is not listed in the verified targets metadata.
    #[error("the repository's targets do not list {0}")]
    MissingTarget(String),
    /// The repository answered, but a file could not be fetched (HTTP status, missing file,
    /// broken connection after it was made).
    #[error("fetching {url} failed")]
    Transport {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The repository could not be reached at all (connection refused, DNS, timeout, or a
    /// gateway saying its upstream is down). The only error a client may answer from its cache.
    #[error("the TUF repository {url} cannot be reached")]
    Unreachable {
        /// The URL that was tried.
        url: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The system clock is earlier than a time this client already saw (tough refuses, so that
    /// winding the clock back cannot make expired metadata valid again).
    #[error("the system clock stepped backward since the last TUF refresh")]
    ClockSteppedBackward(#[source] Box<tough::error::Error>),
    /// This instance has no trusted root yet: run trust-instance (bootstrap) first.
    #[error("no trusted root in {0}: bootstrap the instance first")]
    NotBootstrapped(PathBuf),
    /// No verified targets are stored for this instance (needed for an offline answer).
    #[error("no verified targets are stored in {0}")]
    NoCachedTargets(PathBuf),
    /// A URL is not an absolute http(s) or file URL.
    #[error("bad TUF repository URL {0:?}")]
    BadUrl(String),
    /// A key file exists but is not an Ed25519 PKCS#8 PEM private key.
    #[error("bad TUF key file {path}: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The stored metadata does not list the key this repository holds for `role` (a key file
    /// replaced by hand; TUF key rotation is not done here).
    /// With a shared store (PostgreSQL): this replica's key files are not the ones of the
    /// replica that made the repository; copy its `tuf/keys/` (or use its HSM keys).
    #[error(
        "the TUF repository in {store} was made with another {role} key than this server's; \
         every replica must use the keys of the one that made it (copy its TUF key files, or \
         use the same HSM keys)"
    )]
    KeyMismatch {
        /// The role.
        role: String,
        /// Where the repository is kept (a directory, or the database schema).
        store: String,
    },
    /// The stored repository is inconsistent (a referenced file missing or not matching its
    /// listed hash).
    #[error("TUF repository state in {store}: {reason}")]
    BadRepositoryState {
        /// Where the repository is kept (a directory, or the database schema).
        store: String,
        /// What is wrong.
        reason: String,
    },
    /// A commit that would change what was already published: a file name (a role and version,
    /// or a target hash) stored with other bytes, or a timestamp whose version is no longer
    /// the one this publisher read. Another publisher moved the repository without holding
    /// the store's lock; nothing was changed.
    #[error("TUF publish refused, the repository changed under it: {reason}")]
    Conflict {
        /// What differed.
        reason: String,
    },
    /// The database holding the repository failed or could not be reached.
    #[error("TUF repository database: {what}")]
    Database {
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A target name that cannot be published (empty, a path, or unusual characters), or a name
    /// given twice.
    #[error("bad target name {0:?}: a plain file name of [A-Za-z0-9._-], given once")]
    BadTargetName(String),
    /// A target or metadata file larger than this crate's bound.
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// What was too large.
        what: String,
        /// Its length.
        len: u64,
        /// The bound.
        max: u64,
    },
    /// A time outside the range TUF metadata can express.
    #[error("time {0} (Unix seconds) is out of range")]
    TimeOutOfRange(i64),
    /// Signing or building metadata failed inside tough.
    #[error("signing {role} metadata failed")]
    Sign {
        /// The role being signed.
        role: String,
        /// tough's error.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// A file could not be read or written.
    #[error("{op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other failure tough reported (datastore, URL joining, delegations, …), kept whole.
    #[error("TUF update failed")]
    Tough(#[source] Box<tough::error::Error>),
}

impl TufError {
    /// Whether this is a failure to reach the repository at all (the only case an offline
    /// fallback is allowed).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, TufError::Unreachable { .. })
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TufError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// A transport failure before any answer from the repository (connection refused, DNS,
/// timeout, gateway down): the marker [`classify`] looks for to tell [`TufError::Unreachable`]
/// from the other transport errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreachable(pub(crate) Box<dyn std::error::Error + Send + Sync>);

/// Maps an error from tough to the kind it is, keeping tough's error as the source.
pub(crate) fn classify(err: tough::error::Error) -> TufError {
    use tough::error::Error as E;
    // Errors found inside a transport stream (hash or size checks are stream adapters, so they
    // arrive wrapped in a `TransportError`).
    if let E::Transport { url, source, .. } = &err {
        let url = url.to_string();
        let mut inner: Option<&(dyn std::error::Error + 'static)> =
            std::error::Error::source(source);
        while let Some(e) = inner {
            if e.downcast_ref::<Unreachable>().is_some() {
                return TufError::Unreachable {
                    url,
                    source: Box::new(err),
                };
            }
            if let Some(t) = e.downcast_ref::<tough::error::Error>() {
                match t {
                    E::HashMismatch {
                        context,
                        calculated,
                        expected,
                        ..
                    } => {
                        return TufError::HashMismatch {
                            what: context.clone(),
                            expected: expected.clone(),
                            calculated: calculated.clone(),
                            source: Box::new(err),
                        };
                    }
                    E::MaxSizeExceeded {
                        max_size,
                        specifier,
                        ..
                    } => {
                        return TufError::LengthMismatch {
                            what: url,
                            max_size: *max_size,
                            listed_by: (*specifier).to_owned(),
                            source: Box::new(err),
                        };
                    }
                    _ => {}
                }
            }
            inner = e.source();
        }
        return TufError::Transport {
            url,
            source: Box::new(err),
        };
    }
    match &err {
        E::ExpiredMetadata { role, .. } => TufError::Expired {
            role: role.to_string(),
            source: Box::new(err),
        },
        E::OlderMetadata {
            role,
            current_version,
            new_version,
            ..
        } => TufError::Rollback {
            role: role.to_string(),
            trusted: *current_version,
            offered: *new_version,
            source: Box::new(err),
        },
        E::OlderSnapshotInTimestamp {
            snapshot_new,
            snapshot_old,
            ..
        } => TufError::Rollback {
            role: "snapshot (listed in timestamp)".to_owned(),
            trusted: *snapshot_old,
            offered: *snapshot_new,
            source: Box::new(err),
        },
        E::SnapshotRoleRollback {
            role,
            old_role_version,
            new_role_version,
            ..
        } => TufError::Rollback {
            role: format!("{role} (listed in snapshot)"),
            trusted: *old_role_version,
            offered: *new_role_version,
            source: Box::new(err),
        },
        E::SnapshotRoleMissing {
            role,
            old_version,
            new_version,
        } => TufError::Rollback {
            role: format!("{role} (dropped from snapshot)"),
            trusted: *old_version,
            offered: *new_version,
            source: Box::new(err),
        },
        E::VersionMismatch {
            role,
            fetched,
            expected,
            ..
        } => TufError::VersionMismatch {
            role: role.to_string(),
            fetched: *fetched,
            expected: *expected,
            source: Box::new(err),
        },
        E::SystemTimeSteppedBackward { .. } => TufError::ClockSteppedBackward(Box::new(err)),
        E::VerifyMetadata { role, source, .. } => {
            signature_error(role.to_string(), threshold_of(source), err)
        }
        E::VerifyTrustedMetadata { source, .. } => {
            signature_error("trusted root".to_owned(), threshold_of(source), err)
        }
        E::ParseMetadata { role, .. } => TufError::Malformed {
            what: format!("{role} metadata"),
            source: Box::new(err),
        },
        E::ParseTrustedMetadata { .. } => TufError::Malformed {
            what: "trusted root".to_owned(),
            source: Box::new(err),
        },
        _ => TufError::Tough(Box::new(err)),
    }
}

/// The threshold and valid count of a signature-threshold failure.
pub(crate) fn threshold_of(source: &tough::schema::Error) -> Option<(u64, u64)> {
    match source {
        tough::schema::Error::SignatureThreshold {
            threshold, valid, ..
        } => Some((*threshold, *valid)),
        _ => None,
    }
}

/// A signature-check failure: a threshold not met, or malformed metadata.
pub(crate) fn signature_error(
    role: String,
    threshold: Option<(u64, u64)>,
    err: impl std::error::Error + Send + Sync + 'static,
) -> TufError {
    match threshold {
        Some((threshold, valid)) => TufError::ThresholdNotMet {
            role,
            threshold,
            valid,
            source: Box::new(err),
        },
        None => TufError::Malformed {
            what: format!("{role} metadata"),
            source: Box::new(err),
        },
    }
}
