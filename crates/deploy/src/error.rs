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
    /// replaced or lost, or the public URL changed (with `--rotate`: something besides the
    /// rotated keys changed). Clients trust the old files, so the deployment refuses to sign
    /// with a new identity.
    #[error(
        "{path} differs from what the current keys and public URL give: a key was replaced or \
         lost, or the public URL changed; restore the old keys (or URL), replace a key with \
         --rotate SERVICE, or move the data directory away to start a new deployment"
    )]
    TrustChanged {
        /// The trust file.
        path: PathBuf,
    },
    /// A trust file in the data directory does not parse (edited by hand, or damaged).
    #[error("{path}: {reason}")]
    BadTrustFile {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A rotation of this service was begun (its key is recorded as retired) but did not
    /// finish, and this start does not ask for it: the key in place is one clients are about
    /// to stop trusting. Start again with `--rotate` for it to finish.
    #[error(
        "a rotation of the {service} key was interrupted: its old key is recorded as retired \
         but still in place; start with --rotate {service} to finish it{}",
        if *service == crate::RotateService::Ca {
            " (and the same --ca-chain, for an intermediate under an offline root)"
        } else {
            ""
        }
    )]
    RotationInterrupted {
        /// The service.
        service: crate::RotateService,
    },
    /// `--rotate` on a data directory whose trusted root lists no current key of the service
    /// (a first start, or a trusted root lost): there is no old key to retire.
    #[error("nothing to rotate for {service}: {path} lists no current key of it (first start?)")]
    NothingToRotate {
        /// The service.
        service: crate::RotateService,
        /// The trusted root.
        path: PathBuf,
    },
    /// This service's key cannot rotate in this configuration.
    #[error("the {service} key cannot be rotated here: {reason}")]
    RotationUnsupported {
        /// The service.
        service: crate::RotateService,
        /// Why.
        reason: &'static str,
    },
    /// The service's key was already rotated in this very second (its retired files would
    /// share a directory). Wait a second.
    #[error("the {service} key was already rotated this second ({path} exists); try again")]
    RotatedTooSoon {
        /// The service.
        service: crate::RotateService,
        /// The retired file already there.
        path: PathBuf,
    },
    /// A service's key kept outside the data directory (`--pkcs11-key`) could not be used:
    /// the token, PIN or key is missing, or the key is not of the service's algorithm.
    #[error("the {service} key: {reason}")]
    ServiceKey {
        /// The service (`ca`, `rekor-v1`, `tuf-timestamp`, ...).
        service: &'static str,
        /// What failed (names the key; never the PIN).
        reason: String,
    },
    /// The TUF repository could not be opened, signed or written.
    #[error("{what}: {source}")]
    Tuf {
        /// What failed.
        what: &'static str,
        /// Why.
        source: signet_tuf::TufError,
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
