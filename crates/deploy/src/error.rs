//! [`DeployError`]: why a service could not be opened from its data directory.

use std::path::{Path, PathBuf};

/// Why opening a service (or the whole deployment) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// A file in the data directory could not be read or written (permissions, full disk).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A store exists but its signing key (or tree ID) is gone: signing with a new identity over
    /// old data would break every client that trusts the old key. Restore the file.
    #[error("{store} holds a log but {missing} is missing; refusing to sign with a new identity")]
    MissingKey {
        /// The existing store.
        store: PathBuf,
        /// The missing key or tree ID file.
        missing: PathBuf,
    },
    /// A key or tree ID file exists but does not hold what it should (truncated or replaced).
    #[error("{path}: {reason}")]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Key generation failed in the crypto library.
    #[error("generating {what} failed")]
    KeyGeneration {
        /// Which key.
        what: &'static str,
    },
    /// A log store could not be opened (damaged, or locked by another process).
    #[error("opening {path}: {source}")]
    Store {
        /// The store.
        path: PathBuf,
        /// The log's error.
        source: signet_log::LogError,
    },
    /// The search index could not be opened (damaged, or locked by another process). It is
    /// derived data: deleting it rebuilds it.
    #[error("opening the search index {path}: {source}")]
    SearchIndex {
        /// The index database.
        path: PathBuf,
        /// What redb said.
        source: Box<redb::Error>,
    },
    /// The log server refused to start (see [`signet_server::ServerError`]).
    #[error(transparent)]
    Server(#[from] signet_server::ServerError),
    /// A service of `signet up` (CA, CT log, TSA, OIDC issuer) could not start.
    #[error("starting {what}: {reason}")]
    Component {
        /// Which service.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The trust files computed from the keys differ from those already written: a key was
    /// replaced or lost, or the public URL changed. Clients trust the old files, so the
    /// deployment refuses to sign with a new identity.
    #[error(
        "{path} differs from what the current keys and public URL give: a key was replaced or \
         lost, or the public URL changed; restore the old keys (or URL), or move the data \
         directory away to start a new deployment"
    )]
    TrustChanged {
        /// The trust file.
        path: PathBuf,
    },
}

impl DeployError {
    /// Maps an I/O error on `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeployError + '_ {
        move |source| DeployError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// A service that could not start.
    pub(crate) fn component(what: &'static str, e: impl std::fmt::Display) -> DeployError {
        DeployError::Component {
            what,
            reason: e.to_string(),
        }
    }
}
