//! The client side: one TUF instance's local state, refreshed through tough.
//!
//! An [`InstanceStore`] directory holds:
//!
//! ```text
//! DIR/root.json               the latest verified root (the bootstrap root until a refresh)
//! DIR/datastore/              tough's datastore: the last timestamp, snapshot and targets seen
//!                             (rollback protection across runs) and the last system time seen
//! DIR/verified-targets.json   the last verified trusted_root.json and signing config
//! ```
//!
//! `root.json` and `verified-targets.json` are written through `signet-durable`; each is one
//! file, so a crash leaves the old state or the new one whole.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use tough::schema::{Root, Signed};
use tough::{IntoVec as _, RepositoryLoader, TargetName, TransportError, TransportErrorKind};
use url::Url;

use crate::error::{Unreachable, classify, signature_error, threshold_of};
use crate::files::read_bounded;
use crate::{SIGNING_CONFIG_TARGET, TRUSTED_ROOT_TARGET, TufError};

/// The largest root a client accepts (bootstrap and updates).
const MAX_ROOT_SIZE: u64 = 1 << 20;
/// The largest file one fetch may return (tough further bounds each file by its listed length).
const MAX_FETCH_SIZE: u64 = 16 << 20;
/// The longest one fetch may take, connection to last byte.
const FETCH_DEADLINE: Duration = Duration::from_secs(30);

/// The targets a refresh produced, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustTargets {
    /// `trusted_root.json`, byte for byte.
    pub trusted_root: Vec<u8>,
    /// `signing_config.v0.2.json`, when the repository lists it.
    pub signing_config: Option<Vec<u8>>,
    /// Whether these are the last verified targets, given because the repository could not be
    /// reached.
    pub offline: bool,
}

/// What `verified-targets.json` holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTargets {
    trusted_root: String,
    signing_config: Option<String>,
}

/// One TUF instance's local state (see the module docs): the latest verified root, tough's
/// datastore and the last verified targets.
#[derive(Clone, Debug)]
pub struct InstanceStore {
    dir: PathBuf,
}

impl InstanceStore {
    /// The store kept in `dir` (created when first written).
    pub fn new(dir: PathBuf) -> InstanceStore {
        InstanceStore { dir }
    }

    /// The directory for the instance at `url` under `base`: the URL, trailing `/` ignored,
    /// percent-encoded into one path component (long URLs are shortened with their SHA-256).
    pub fn dir_for(base: &Path, url: &str) -> PathBuf {
        let url = url.trim_end_matches('/');
        let mut name = String::with_capacity(url.len());
        for b in url.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        if name.len() > 200 {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, url.as_bytes());
            name = format!("{}-{}", name.get(..120).unwrap_or(""), hex::encode(hash));
        }
        if name.is_empty() || name == "." || name == ".." {
            name.insert(0, '_');
        }
        base.join(name)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a trusted root is stored.
    pub fn is_bootstrapped(&self) -> bool {
        self.root_path().is_file()
    }

    fn root_path(&self) -> PathBuf {
        self.dir.join("root.json")
    }

    fn targets_path(&self) -> PathBuf {
        self.dir.join("verified-targets.json")
    }

    /// trust-instance: checks that `root_json` is a TUF root signed by its own threshold of root
    /// keys, then stores it durably as the trusted root. When another root was trusted before,
    /// what was verified under it (the last verified targets, tough's datastore) is dropped
    /// first, so that nothing verified under the old root is ever handed back.
    ///
    /// # Errors
    /// [`TufError::Malformed`] for something that is not TUF root metadata,
    /// [`TufError::ThresholdNotMet`] when its root keys did not sign it, [`TufError::TooLarge`],
    /// [`TufError::Io`].
    pub fn bootstrap(&self, root_json: &[u8]) -> Result<(), TufError> {
        if root_json.len() as u64 > MAX_ROOT_SIZE {
            return Err(TufError::TooLarge {
                what: "root metadata".to_owned(),
                len: root_json.len() as u64,
                max: MAX_ROOT_SIZE,
            });
        }
        let root = parse_root(root_json)?;
        if let Err(e) = root.signed.verify_role(&root) {
            return Err(root_check_error(e));
        }
        signet_durable::create_dir_all(&self.dir)
            .map_err(|e| TufError::io("creating", &self.dir, e))?;
        let same = read_bounded(&self.root_path(), MAX_ROOT_SIZE)
            .ok()
            .is_some_and(|old| old == root_json);
        if !same {
            self.forget_verified()?;
        }
        signet_durable::write(&self.root_path(), root_json, signet_durable::Mode::Public)
            .map_err(|e| TufError::io("writing", self.root_path(), e))
    }

    /// Removes the last verified targets and tough's datastore (what a previous root vouched
    /// for). The targets file goes first: without it nothing can fall back to old trust.
    fn forget_verified(&self) -> Result<(), TufError> {
        let targets = self.targets_path();
        match std::fs::remove_file(&targets) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TufError::io("removing", targets, e)),
        }
        let datastore = self.dir.join("datastore");
        match std::fs::remove_dir_all(&datastore) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(TufError::io("removing", datastore, e)),
        }
    }

    /// Refreshes through TUF from `url` (the metadata base URL; targets at `url/targets/`) and
    /// returns both targets, verified (length and hashes), after storing them and the new
    /// trusted metadata.
    ///
    /// When the repository cannot be reached at all ([`TufError::Unreachable`]: connection
    /// refused, DNS, timeout), returns the last verified targets with `offline: true` (or that
    /// error when there are none). Every verification failure is an error, never a fallback.
    ///
    /// # Errors
    /// The [`TufError`] saying what TUF refused; [`TufError::NotBootstrapped`];
    /// [`TufError::MissingTarget`] when `trusted_root.json` is not listed.
    pub async fn refresh(&self, url: &str, transport: Transport) -> Result<TrustTargets, TufError> {
        let root = self.trusted_root()?;
        let trimmed = url.trim_end_matches('/');
        let metadata_url =
            Url::parse(&format!("{trimmed}/")).map_err(|_| TufError::BadUrl(url.to_owned()))?;
        if !matches!(metadata_url.scheme(), "http" | "https" | "file") {
            return Err(TufError::BadUrl(url.to_owned()));
        }
        let targets_url = metadata_url
            .join("targets/")
            .map_err(|_| TufError::BadUrl(url.to_owned()))?;
        let datastore = self.dir.join("datastore");
        signet_durable::create_dir_all(&datastore)
            .map_err(|e| TufError::io("creating", &datastore, e))?;

        let fetched = async {
            let repo = RepositoryLoader::new(&root, metadata_url, targets_url)
                .transport(transport)
                .datastore(&datastore)
                .limits(tough::Limits {
                    max_root_size: MAX_ROOT_SIZE,
                    max_targets_size: MAX_FETCH_SIZE,
                    max_timestamp_size: MAX_ROOT_SIZE,
                    max_snapshot_size: MAX_FETCH_SIZE,
                    max_root_updates: 1024,
                })
                .load()
                .await
                .map_err(classify)?;
            let trusted_root = read_target(&repo, TRUSTED_ROOT_TARGET)
                .await?
                .ok_or_else(|| TufError::MissingTarget(TRUSTED_ROOT_TARGET.to_owned()))?;
            let signing_config = read_target(&repo, SIGNING_CONFIG_TARGET).await?;
            Ok::<_, TufError>((repo, trusted_root, signing_config))
        }
        .await;
        let (repo, trusted_root, signing_config) = match fetched {
            Ok(f) => f,
            Err(e) if e.is_unreachable() => {
                return match self.cached() {
                    Ok(cached) => Ok(cached),
                    Err(TufError::NoCachedTargets(_)) => Err(e),
                    Err(other) => Err(other),
                };
            }
            Err(e) => return Err(e),
        };

        // The new trusted root, as tough verified it (tough keeps unknown fields, so the
        // re-serialised root verifies the same way).
        let stored = parse_root(&root)?;
        if repo.root().signed.version > stored.signed.version {
            let bytes =
                serde_json::to_vec_pretty(repo.root()).map_err(|e| TufError::Malformed {
                    what: "updated root".to_owned(),
                    source: Box::new(e),
                })?;
            signet_durable::write(&self.root_path(), &bytes, signet_durable::Mode::Public)
                .map_err(|e| TufError::io("writing", self.root_path(), e))?;
        }
        let stored = StoredTargets {
            trusted_root: B64.encode(&trusted_root),
            signing_config: signing_config.as_ref().map(|s| B64.encode(s)),
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| TufError::Malformed {
            what: "verified targets".to_owned(),
            source: Box::new(e),
        })?;
        signet_durable::write(&self.targets_path(), &bytes, signet_durable::Mode::Public)
            .map_err(|e| TufError::io("writing", self.targets_path(), e))?;
        Ok(TrustTargets {
            trusted_root,
            signing_config,
            offline: false,
        })
    }

    /// The last verified targets, without any network (`offline: true`).
    ///
    /// # Errors
    /// [`TufError::NoCachedTargets`] when no refresh has succeeded yet, [`TufError::Io`],
    /// [`TufError::Malformed`] for a damaged store file.
    pub fn cached(&self) -> Result<TrustTargets, TufError> {
        let path = self.targets_path();
        let bytes = match read_bounded(&path, 4 * MAX_FETCH_SIZE) {
            Ok(b) => b,
            Err(TufError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(TufError::NoCachedTargets(self.dir.clone()));
            }
            Err(e) => return Err(e),
        };
        let malformed = |e: Box<dyn std::error::Error + Send + Sync>| TufError::Malformed {
            what: path.display().to_string(),
            source: e,
        };
        let stored: StoredTargets =
            serde_json::from_slice(&bytes).map_err(|e| malformed(Box::new(e)))?;
        let trusted_root = B64
            .decode(&stored.trusted_root)
            .map_err(|e| malformed(Box::new(e)))?;
        let signing_config = match stored.signing_config {
            Some(s) => Some(B64.decode(s).map_err(|e| malformed(Box::new(e)))?),
            None => None,
        };
        Ok(TrustTargets {
            trusted_root,
            signing_config,
            offline: true,
        })
    }

    /// The stored trusted root's bytes.
    fn trusted_root(&self) -> Result<Vec<u8>, TufError> {
        match read_bounded(&self.root_path(), MAX_ROOT_SIZE) {
            Err(TufError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(TufError::NotBootstrapped(self.dir.clone()))
            }
            other => other,
        }
    }
}

/// Fetches and verifies (listed length and SHA-256) one target; `None` when it is not listed.
async fn read_target(repo: &tough::Repository, name: &str) -> Result<Option<Vec<u8>>, TufError> {
    let target = TargetName::new(name).map_err(|_| TufError::MissingTarget(name.to_owned()))?;
    match repo.read_target(&target).await.map_err(classify)? {
        Some(stream) => Ok(Some(stream.into_vec().await.map_err(classify)?)),
        None => Ok(None),
    }
}

fn parse_root(bytes: &[u8]) -> Result<Signed<Root>, TufError> {
    serde_json::from_slice(bytes).map_err(|e| TufError::Malformed {
        what: "root metadata".to_owned(),
        source: Box::new(e),
    })
}

/// A failed self-signature check of a root.
fn root_check_error(e: tough::schema::Error) -> TufError {
    signature_error("root".to_owned(), threshold_of(&e), e)
}

/// How a client fetches repository files: `http(s)://` through the given [`reqwest::Client`],
/// `file://` from disk (tough's [`tough::FilesystemTransport`]). Each fetch is bounded in size
/// and has a total deadline.
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    max_size: u64,
    deadline: Duration,
}

impl Transport {
    /// A transport using `http` (its TLS roots and proxies), at most 16 MiB and 30 s per fetch.
    pub fn new(http: reqwest::Client) -> Transport {
        Transport {
            http,
            max_size: MAX_FETCH_SIZE,
            deadline: FETCH_DEADLINE,
        }
    }

    /// The same, with another deadline per fetch.
    pub fn with_deadline(mut self, deadline: Duration) -> Transport {
        self.deadline = deadline;
        self
    }

    async fn fetch_http(&self, url: &Url) -> Result<Bytes, TransportError> {
        let unreachable = |e: Box<dyn std::error::Error + Send + Sync>| {
            TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), Unreachable(e))
        };
        let reqwest_error = |e: reqwest::Error| {
            if e.is_connect() || e.is_timeout() {
                unreachable(Box::new(e))
            } else {
                TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), e)
            }
        };
        let mut response = self
            .http
            .get(url.clone())
            .timeout(self.deadline)
            .send()
            .await
            .map_err(reqwest_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(TransportError::new(
                TransportErrorKind::FileNotFound,
                url.as_str(),
            ));
        }
        if matches!(status.as_u16(), 502..=504) {
            return Err(unreachable(format!("HTTP {status} from a gateway").into()));
        }
        if !status.is_success() {
            return Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                url.as_str(),
                format!("HTTP {status}"),
            ));
        }
        if response.content_length().is_some_and(|n| n > self.max_size) {
            return Err(too_large(url, self.max_size));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(reqwest_error)? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > self.max_size {
                return Err(too_large(url, self.max_size));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

fn too_large(url: &Url, max: u64) -> TransportError {
    TransportError::new_with_cause(
        TransportErrorKind::Other,
        url.as_str(),
        format!("answer larger than {max} bytes"),
    )
}

#[tough::async_trait]
impl tough::Transport for Transport {
    async fn fetch(&self, url: Url) -> Result<tough::TransportStream, TransportError> {
        match url.scheme() {
            "file" => tough::FilesystemTransport.fetch(url).await,
            "http" | "https" => {
                let bytes = tokio::time::timeout(self.deadline, self.fetch_http(&url))
                    .await
                    .map_err(|e| {
                        TransportError::new_with_cause(
                            TransportErrorKind::Other,
                            url.as_str(),
                            Unreachable(Box::new(e)),
                        )
                    })??;
                Ok(Box::pin(futures_util::stream::iter([Ok(bytes)])))
            }
            _ => Err(TransportError::new(
                TransportErrorKind::UnsupportedUrlScheme,
                url.as_str(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_for_encodes_one_component() {
        let base = Path::new("/b");
        let a = InstanceStore::dir_for(base, "https://tuf.example.com:8443/x/tuf/");
        assert_eq!(
            a,
            Path::new("/b/https%3A%2F%2Ftuf.example.com%3A8443%2Fx%2Ftuf")
        );
        assert_eq!(
            a,
            InstanceStore::dir_for(base, "https://tuf.example.com:8443/x/tuf")
        );
        assert_eq!(InstanceStore::dir_for(base, ".."), Path::new("/b/_.."));
        let long = format!("https://example.com/{}", "a".repeat(400));
        let d = InstanceStore::dir_for(base, &long);
        let name = d.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(name.len() < 200, "{name}");
        assert_ne!(d, InstanceStore::dir_for(base, &format!("{long}b")));
    }

    #[test]
    fn bootstrap_refuses_non_roots() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = InstanceStore::new(dir.path().join("i"));
        assert!(!store.is_bootstrapped());
        assert!(matches!(
            store.bootstrap(b"{}"),
            Err(TufError::Malformed { .. })
        ));
        assert!(matches!(
            store.bootstrap(&vec![b' '; 2 << 20]),
            Err(TufError::TooLarge { .. })
        ));
        assert!(!store.is_bootstrapped());
        assert!(matches!(store.cached(), Err(TufError::NoCachedTargets(_))));
    }
}
