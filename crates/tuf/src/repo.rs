//! The repository side: signet's TUF repository of `trusted_root.json` and
//! `signing_config.v0.2.json`, kept in a [`TufStore`] and served by path.
//!
//! Layout (the names are paths under the repository base URL; TUF consistent snapshots, as
//! Sigstore's public repository):
//!
//! ```text
//! 1.root.json … N.root.json          every root version, never removed
//! timestamp.json
//! V.snapshot.json, V.targets.json    current and previous versions
//! targets/<sha256 hex>.<name>        target files of the current and previous targets
//! ```
//!
//! A publish takes the store's lock, reads the stored state (another server sharing the
//! store may have moved it), signs the next versions and commits them: the target files,
//! then `N.targets.json`, `N.snapshot.json`, and `timestamp.json` last, by compare-and-swap
//! on its version: `timestamp.json` is the commit point (see [`crate::store`] for what each
//! store guarantees and what a crash leaves). A new root (`N+1.root.json`) is its own commit
//! point: clients look for it by name. So with any number of servers on one store there is one
//! new version per change, and never two different files with the same role and version.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::Ed25519KeyPair;
use bytes::Bytes;
use serde::Serialize;
use tough::editor::signed::SignedRole;
use tough::key_source::KeySource;
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::Key;
use tough::schema::{
    Hashes, KeyHolder, Metafile, Role, RoleType, Root, Signed, Snapshot, Target, Targets, Timestamp,
};
use tough::sign::Sign;

use signet_signer::{MemorySigner, SharedSigner, SignerAlgorithm};

use crate::TufError;
use crate::files::read_bounded;
use crate::store::{Commit, FileStore, NewTimestamp, TIMESTAMP, TufLock, TufStore};

/// The TUF specification version written in every role (python-tuf 7 accepts any `1.x.y`).
pub const SPEC_VERSION: &str = "1.0.31";

/// The largest target this repository publishes (a trusted root with many keys is ~30 KB).
pub const MAX_TARGET_SIZE: usize = 8 << 20;

/// The four top-level roles, in the order their keys are listed.
const ROLES: [RoleType; 4] = [
    RoleType::Root,
    RoleType::Targets,
    RoleType::Snapshot,
    RoleType::Timestamp,
];

/// One role's Ed25519 key: its signer (in memory, from the key file, or in an HSM), its TUF
/// key and key ID.
#[derive(Clone)]
struct RoleKey {
    signer: SharedSigner,
    tuf_key: Key,
    key_id: Decoded<Hex>,
}

impl std::fmt::Debug for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RoleKey(ed25519 {}, {})",
            hex::encode(&self.key_id),
            self.signer.location()
        )
    }
}

impl RoleKey {
    fn from_pkcs8(pkcs8: Vec<u8>, path: &Path) -> Result<RoleKey, TufError> {
        let bad = |reason: String| TufError::BadKeyFile {
            path: path.to_path_buf(),
            reason,
        };
        Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| bad(format!("not an Ed25519 PKCS#8 private key ({e})")))?;
        let signer = MemorySigner::from_pkcs8_of(&pkcs8, SignerAlgorithm::Ed25519)
            .map_err(|e| bad(format!("not an Ed25519 PKCS#8 private key ({e})")))?;
        Self::from_signer(Arc::new(signer)).map_err(bad)
    }

    /// A role key over `signer`, which must be Ed25519 (the reason otherwise).
    fn from_signer(signer: SharedSigner) -> Result<RoleKey, String> {
        if signer.algorithm() != SignerAlgorithm::Ed25519 {
            return Err(format!(
                "{} is {}; TUF role keys are Ed25519",
                signer.location(),
                signer.algorithm()
            ));
        }
        let public = signer
            .public_key_spki_der()
            .get(12..)
            .filter(|p| p.len() == 32)
            .ok_or("not an Ed25519 public key")?
            .to_vec();
        let tuf_key = Key::Ed25519 {
            keyval: tough::schema::key::Ed25519Key {
                public: public.into(),
                _extra: HashMap::new(),
            },
            scheme: tough::schema::key::Ed25519Scheme::Ed25519,
            _extra: HashMap::new(),
        };
        let key_id = tuf_key.key_id().map_err(|e| format!("no key ID: {e}"))?;
        Ok(RoleKey {
            signer,
            tuf_key,
            key_id,
        })
    }
}

/// tough signs through a [`KeySource`]; this one signs with a role's [`SharedSigner`].
#[derive(Clone)]
struct SignerKeySource(RoleKey);

impl std::fmt::Debug for SignerKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignerKeySource({:?})", self.0)
    }
}

#[tough::async_trait]
impl Sign for RoleKey {
    fn tuf_key(&self) -> Key {
        self.tuf_key.clone()
    }

    async fn sign(
        &self,
        msg: &[u8],
        _rng: &(dyn SecureRandom + Sync),
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(self.signer.sign(msg)?)
    }
}

#[tough::async_trait]
impl KeySource for SignerKeySource {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Box::new(self.0.clone()))
    }

    async fn write(
        &self,
        _value: &str,
        _key_id_hex: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("signet's TUF keys are written by RoleKeys::load_or_create only".into())
    }
}

/// The Ed25519 keys of the four top-level roles (one each, threshold 1).
#[derive(Clone, Debug)]
pub struct RoleKeys {
    root: RoleKey,
    targets: RoleKey,
    snapshot: RoleKey,
    timestamp: RoleKey,
}

impl RoleKeys {
    /// Reads the four key files in `dir` (`tuf-root.key.pem`, `tuf-targets.key.pem`,
    /// `tuf-snapshot.key.pem`, `tuf-timestamp.key.pem`: PKCS#8 PEM, mode 0600), creating any that
    /// is missing from a seed drawn from `rng`.
    ///
    /// # Errors
    /// [`TufError::BadKeyFile`] for a file that is not an Ed25519 PKCS#8 PEM key,
    /// [`TufError::Io`] when a file cannot be read or written.
    pub fn load_or_create(dir: &Path, rng: &dyn SecureRandom) -> Result<RoleKeys, TufError> {
        signet_durable::create_dir_all(dir)
            .map_err(|e| TufError::io("creating the TUF key directory", dir, e))?;
        let load = |role: RoleType| load_or_create_key(&dir.join(key_file_name(role)), rng);
        Ok(RoleKeys {
            root: load(RoleType::Root)?,
            targets: load(RoleType::Targets)?,
            snapshot: load(RoleType::Snapshot)?,
            timestamp: load(RoleType::Timestamp)?,
        })
    }

    /// [`RoleKeys::load_or_create`], with the roles listed in `external` signing with a key
    /// kept elsewhere (an HSM; Ed25519): for those no key file is read or created.
    ///
    /// # Errors
    /// As [`RoleKeys::load_or_create`]; [`TufError::BadKeyFile`] (naming the key) for an
    /// external key that is not Ed25519, or a role listed twice.
    pub fn load_or_create_with(
        dir: &Path,
        rng: &dyn SecureRandom,
        external: &[(RoleType, SharedSigner)],
    ) -> Result<RoleKeys, TufError> {
        // The external keys are checked before any key file is made.
        let mut given: HashMap<RoleType, RoleKey> = HashMap::new();
        for (role, signer) in external {
            let bad = |reason: String| TufError::BadKeyFile {
                path: signer.location().into(),
                reason: format!("the {role} role's key: {reason}"),
            };
            let key = RoleKey::from_signer(Arc::clone(signer)).map_err(bad)?;
            if given.insert(*role, key).is_some() {
                return Err(bad("given twice".into()));
            }
        }
        signet_durable::create_dir_all(dir)
            .map_err(|e| TufError::io("creating the TUF key directory", dir, e))?;
        let load = |role: RoleType| {
            let path = dir.join(key_file_name(role));
            match given.get(&role) {
                // A key file left beside an HSM key would be a second key for the role.
                Some(_) if path.exists() => Err(TufError::BadKeyFile {
                    path,
                    reason: format!(
                        "present, but the {role} role's key is kept elsewhere (an HSM): remove \
                         the file"
                    ),
                }),
                Some(key) => Ok(key.clone()),
                None => load_or_create_key(&path, rng),
            }
        };
        Ok(RoleKeys {
            root: load(RoleType::Root)?,
            targets: load(RoleType::Targets)?,
            snapshot: load(RoleType::Snapshot)?,
            timestamp: load(RoleType::Timestamp)?,
        })
    }

    fn key(&self, role: RoleType) -> &RoleKey {
        match role {
            RoleType::Root => &self.root,
            RoleType::Snapshot => &self.snapshot,
            RoleType::Timestamp => &self.timestamp,
            RoleType::Targets | RoleType::DelegatedTargets => &self.targets,
        }
    }

    /// The TUF key ID (hex) of `role`'s key.
    pub fn key_id(&self, role: RoleType) -> String {
        hex::encode(&self.key(role).key_id)
    }
}

/// The file name of `role`'s key.
pub fn key_file_name(role: RoleType) -> String {
    format!("tuf-{role}.key.pem")
}

fn load_or_create_key(path: &Path, rng: &dyn SecureRandom) -> Result<RoleKey, TufError> {
    match read_bounded(path, 64 << 10) {
        Ok(pem) => return parse_key_pem(&pem, path),
        Err(TufError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut seed = [0u8; 32];
    rng.fill(&mut seed)
        .map_err(|_| TufError::io("drawing a key seed for", path, std::io::Error::other("rng")))?;
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| TufError::BadKeyFile {
        path: path.to_path_buf(),
        reason: format!("generated seed rejected ({e})"),
    })?;
    let pkcs8 = pair.to_pkcs8().map_err(|_| TufError::BadKeyFile {
        path: path.to_path_buf(),
        reason: "cannot encode the new key as PKCS#8".to_owned(),
    })?;
    let pem =
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, pkcs8.as_ref())
            .map_err(|e| TufError::BadKeyFile {
                path: path.to_path_buf(),
                reason: format!("cannot encode PEM ({e})"),
            })?;
    match signet_durable::create_new(path, pem.as_bytes(), signet_durable::Mode::Secret) {
        Ok(()) => parse_key_pem(pem.as_bytes(), path),
        // Created meanwhile by another process: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            parse_key_pem(&read_bounded(path, 64 << 10)?, path)
        }
        Err(e) => Err(TufError::io("writing TUF key", path, e)),
    }
}

fn parse_key_pem(pem: &[u8], path: &Path) -> Result<RoleKey, TufError> {
    let (label, der) = pem_rfc7468::decode_vec(pem).map_err(|e| TufError::BadKeyFile {
        path: path.to_path_buf(),
        reason: format!("not PEM ({e})"),
    })?;
    if label != "PRIVATE KEY" {
        return Err(TufError::BadKeyFile {
            path: path.to_path_buf(),
            reason: format!("PEM label {label:?}, expected \"PRIVATE KEY\""),
        });
    }
    RoleKey::from_pkcs8(der, path)
}

/// How long each role's metadata stays valid after it is signed.
#[derive(Clone, Copy, Debug)]
pub struct Expiries {
    /// Root metadata.
    pub root: Duration,
    /// Targets metadata.
    pub targets: Duration,
    /// Snapshot metadata.
    pub snapshot: Duration,
    /// Timestamp metadata.
    pub timestamp: Duration,
}

const DAY: u64 = 24 * 60 * 60;

impl Default for Expiries {
    /// Root 365 days, targets 90, snapshot 7, timestamp 1.
    fn default() -> Self {
        Expiries {
            root: Duration::from_secs(365 * DAY),
            targets: Duration::from_secs(90 * DAY),
            snapshot: Duration::from_secs(7 * DAY),
            timestamp: Duration::from_secs(DAY),
        }
    }
}

impl Expiries {
    fn of(&self, role: RoleType) -> Duration {
        match role {
            RoleType::Root => self.root,
            RoleType::Snapshot => self.snapshot,
            RoleType::Timestamp => self.timestamp,
            RoleType::Targets | RoleType::DelegatedTargets => self.targets,
        }
    }
}

/// The current version of each role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// Root version.
    pub root: u64,
    /// Targets version.
    pub targets: u64,
    /// Snapshot version.
    pub snapshot: u64,
    /// Timestamp version.
    pub timestamp: u64,
}

/// signet's TUF repository: its metadata and target files, in memory for serving and in a
/// [`TufStore`] (a directory, or a database shared by several servers).
///
/// Owned by one task (`publish` and `refresh` take `&mut self`); a server shares it behind a
/// lock and calls [`Repository::file`] for reads. Every publish and re-signing takes the
/// store's lock and first reads the stored state, so that several repositories on one store
/// (one per server) publish one version per change between them; [`Repository::install`]
/// takes what another one published. A clone is a second handle on the same store, with a
/// copy of the state in memory (a server re-signs on a clone, so that its reads never wait
/// for the store's lock).
#[derive(Clone, Debug)]
pub struct Repository {
    store: Arc<dyn TufStore>,
    keys: RoleKeys,
    expiries: Expiries,
    initial_root: Bytes,
    root: Signed<Root>,
    targets: Signed<Targets>,
    previous_targets: Option<Signed<Targets>>,
    snapshot: Signed<Snapshot>,
    timestamp: Signed<Timestamp>,
    /// Every servable file by its path relative to the base URL.
    files: BTreeMap<String, Bytes>,
}

/// A signed role ready to write: its file name and bytes.
struct Written<T> {
    signed: Signed<T>,
    name: String,
    bytes: Bytes,
    sha256: Vec<u8>,
}

/// What one commit signs and writes (see [`Repository::commit`]).
struct Change {
    /// New targets (a new targets version), with their files.
    targets: Option<HashMap<tough::TargetName, Target>>,
    target_files: Vec<(String, Bytes)>,
    /// A new snapshot version (implied by new targets).
    snapshot: bool,
    /// A new timestamp version (implied by a new snapshot); without one only `root` is written.
    timestamp: bool,
    /// A new root, already signed.
    root: Option<Written<Root>>,
    /// Number the roles 1 (a new repository) instead of the current version + 1.
    first: bool,
}

/// A stored repository, read and verified against its roots.
struct Stored {
    initial_root: Bytes,
    root: Signed<Root>,
    /// `None`: roots only (a first open that stopped before its first timestamp).
    roles: Option<StoredRoles>,
    /// The files to serve.
    files: BTreeMap<String, Bytes>,
}

struct StoredRoles {
    targets: Signed<Targets>,
    previous_targets: Option<Signed<Targets>>,
    snapshot: Signed<Snapshot>,
    timestamp: Signed<Timestamp>,
}

impl Repository {
    /// Opens the repository kept in `dir` (a [`FileStore`]); see [`Repository::open_store`].
    ///
    /// # Errors
    /// As [`Repository::open_store`].
    pub async fn open(
        dir: &Path,
        keys: RoleKeys,
        expiries: Expiries,
        now_unix: i64,
    ) -> Result<Repository, TufError> {
        let store = FileStore::open(dir)?;
        Repository::open_store(Arc::new(store), keys, expiries, now_unix).await
    }

    /// Opens the repository kept in `store`, creating version 1 of every role when the store
    /// is empty (root signed by the root key, consistent snapshots, no targets yet). Of
    /// several servers opening one empty store at once, one creates it and the others open
    /// what it made.
    ///
    /// # Errors
    /// [`TufError::KeyMismatch`] when the stored root does not list `keys`,
    /// [`TufError::BadRepositoryState`] when a file the timestamp refers to is missing or
    /// altered, the store's errors ([`TufError::Io`], [`TufError::Database`]).
    pub async fn open_store(
        store: Arc<dyn TufStore>,
        keys: RoleKeys,
        expiries: Expiries,
        now_unix: i64,
    ) -> Result<Repository, TufError> {
        let mut lock = store.lock().await?;
        let stored = lock.load().await?;
        let desc = store.describe();
        let Some(found) = read_stored(&stored, &desc)? else {
            return Self::create(store, lock, &stored, keys, expiries, now_unix).await;
        };
        check_keys(&found.root, &keys, &desc)?;
        let Some(roles) = found.roles else {
            // A crash during the first open, after the root: start the other roles.
            let mut repo = Repository {
                store,
                keys,
                expiries,
                initial_root: found.initial_root,
                targets: Signed {
                    signed: new_targets(1, now_unix, &expiries, HashMap::new())?,
                    signatures: Vec::new(),
                },
                root: found.root,
                previous_targets: None,
                snapshot: placeholder_snapshot(),
                timestamp: placeholder_timestamp(),
                files: found.files,
            };
            let change = Change {
                targets: Some(HashMap::new()),
                target_files: Vec::new(),
                snapshot: true,
                timestamp: true,
                root: None,
                first: true,
            };
            repo.commit(lock, &stored, change, now_unix).await?;
            return Ok(repo);
        };
        drop(lock);
        Ok(Repository {
            store,
            keys,
            expiries,
            initial_root: found.initial_root,
            root: found.root,
            targets: roles.targets,
            previous_targets: roles.previous_targets,
            snapshot: roles.snapshot,
            timestamp: roles.timestamp,
            files: found.files,
        })
    }

    /// A new repository: root, then targets, snapshot and timestamp version 1, in one commit.
    async fn create(
        store: Arc<dyn TufStore>,
        lock: Box<dyn TufLock>,
        stored: &BTreeMap<String, Bytes>,
        keys: RoleKeys,
        expiries: Expiries,
        now_unix: i64,
    ) -> Result<Repository, TufError> {
        let mut tuf_keys = HashMap::new();
        let mut roles = HashMap::new();
        for role in ROLES {
            let key = keys.key(role);
            tuf_keys.insert(key.key_id.clone(), key.tuf_key.clone());
            roles.insert(
                role,
                tough::schema::RoleKeys {
                    keyids: vec![key.key_id.clone()],
                    threshold: NonZeroU64::MIN,
                    _extra: HashMap::new(),
                },
            );
        }
        let root = Root {
            spec_version: SPEC_VERSION.to_owned(),
            consistent_snapshot: true,
            version: NonZeroU64::MIN,
            expires: expires_at(now_unix, expiries.root)?,
            keys: tuf_keys,
            roles,
            _extra: HashMap::new(),
        };
        let signed_root = sign(root.clone(), &root, keys.key(RoleType::Root)).await?;
        let mut repo = Repository {
            store,
            keys,
            expiries,
            initial_root: signed_root.bytes.clone(),
            root: signed_root.signed.clone(),
            targets: Signed {
                signed: new_targets(1, now_unix, &expiries, HashMap::new())?,
                signatures: Vec::new(),
            },
            previous_targets: None,
            snapshot: placeholder_snapshot(),
            timestamp: placeholder_timestamp(),
            files: BTreeMap::new(),
        };
        let change = Change {
            targets: Some(HashMap::new()),
            target_files: Vec::new(),
            snapshot: true,
            timestamp: true,
            root: Some(signed_root),
            first: true,
        };
        repo.commit(lock, stored, change, now_unix).await?;
        Ok(repo)
    }

    /// Makes `targets` (name, bytes) the repository's targets. If they equal the current ones
    /// (as stored: another server may have published them) nothing happens (`Ok(false)`);
    /// else a new targets version, snapshot version and timestamp version are signed and
    /// committed to the store (target files first, then targets, snapshot, timestamp last):
    /// `Ok(true)`.
    ///
    /// # Errors
    /// [`TufError::BadTargetName`] for a name that is not a plain file name or is given twice,
    /// [`TufError::TooLarge`] for a target over [`MAX_TARGET_SIZE`], signing and store errors.
    /// On error nothing the repository serves has changed.
    pub async fn publish(
        &mut self,
        targets: &[(&str, &[u8])],
        now_unix: i64,
    ) -> Result<bool, TufError> {
        let mut entries = HashMap::new();
        let mut target_files = Vec::new();
        for (name, bytes) in targets {
            if !valid_target_name(name) {
                return Err(TufError::BadTargetName((*name).to_owned()));
            }
            if bytes.len() > MAX_TARGET_SIZE {
                return Err(TufError::TooLarge {
                    what: format!("target {name}"),
                    len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                    max: MAX_TARGET_SIZE as u64,
                });
            }
            let target_name = tough::TargetName::new(*name)
                .map_err(|_| TufError::BadTargetName((*name).to_owned()))?;
            let sha256 = digest(&SHA256, bytes).as_ref().to_vec();
            let target = Target {
                length: bytes.len() as u64,
                hashes: Hashes {
                    sha256: Decoded::from(sha256.clone()),
                    _extra: HashMap::new(),
                },
                custom: HashMap::new(),
                _extra: HashMap::new(),
            };
            if entries.insert(target_name, target).is_some() {
                return Err(TufError::BadTargetName((*name).to_owned()));
            }
            target_files.push((
                format!("targets/{}.{name}", hex::encode(&sha256)),
                Bytes::copy_from_slice(bytes),
            ));
        }
        let mut lock = self.store.lock().await?;
        let stored = lock.load().await?;
        self.install(&stored)?;
        if entries == self.targets.signed.targets {
            return Ok(false);
        }
        let change = Change {
            targets: Some(entries),
            target_files,
            snapshot: true,
            timestamp: true,
            root: None,
            first: false,
        };
        self.commit(lock, &stored, change, now_unix).await?;
        Ok(true)
    }

    /// Re-signs (as a new version) every role whose metadata expires within half its period
    /// from `now_unix`: the timestamp; the snapshot and a new timestamp; the targets, snapshot
    /// and timestamp; the root as `N+1.root.json` (same keys). `Ok(true)` when anything changed.
    /// What is due is decided again on the stored state under the store's lock, so that of
    /// several servers on one store only the first re-signs.
    ///
    /// # Errors
    /// Signing and store errors; on error nothing the repository serves has changed.
    pub async fn refresh(&mut self, now_unix: i64) -> Result<bool, TufError> {
        if self.next_refresh() > now_unix {
            return Ok(false);
        }
        let mut lock = self.store.lock().await?;
        let stored = lock.load().await?;
        self.install(&stored)?;
        let due = |role: RoleType, expires: jiff::Timestamp| {
            refresh_at(expires, self.expiries.of(role)) <= now_unix
        };
        let root_due = due(RoleType::Root, self.root.signed.expires);
        let targets_due = due(RoleType::Targets, self.targets.signed.expires);
        let snapshot_due = targets_due || due(RoleType::Snapshot, self.snapshot.signed.expires);
        let timestamp_due = snapshot_due || due(RoleType::Timestamp, self.timestamp.signed.expires);
        if !root_due && !timestamp_due {
            return Ok(false);
        }
        let new_root = if root_due {
            let mut root = self.root.signed.clone();
            root.version = next_version(root.version)?;
            root.expires = expires_at(now_unix, self.expiries.root)?;
            Some(sign(root.clone(), &root, self.keys.key(RoleType::Root)).await?)
        } else {
            None
        };
        let change = Change {
            targets: targets_due.then(|| self.targets.signed.targets.clone()),
            target_files: Vec::new(),
            snapshot: snapshot_due,
            timestamp: timestamp_due,
            root: new_root,
            first: false,
        };
        self.commit(lock, &stored, change, now_unix).await?;
        Ok(true)
    }

    /// Takes the state of `stored` (every stored file, as [`TufStore::load`] returns them)
    /// when it is newer than this repository's: a higher timestamp version, or the same
    /// timestamp and a newer root. `Ok(true)` when it did. Never goes back: the timestamp
    /// served only ever moves forward.
    ///
    /// # Errors
    /// [`TufError::Conflict`] when the stored timestamp has this repository's version but
    /// other bytes (a fork); [`TufError::KeyMismatch`], [`TufError::BadRepositoryState`] as
    /// for [`Repository::open_store`], and when the stored repository has another first root.
    pub fn install(&mut self, stored: &BTreeMap<String, Bytes>) -> Result<bool, TufError> {
        let desc = self.store.describe();
        let Some(Stored {
            initial_root,
            root,
            roles: Some(roles),
            files,
        }) = read_stored(stored, &desc)?
        else {
            return Err(bad_state(
                &desc,
                "the stored repository has no timestamp".to_owned(),
            ));
        };
        let (theirs, ours) = (
            roles.timestamp.signed.version,
            self.timestamp.signed.version,
        );
        if theirs == ours && stored.get(TIMESTAMP) != self.files.get(TIMESTAMP) {
            return Err(TufError::Conflict {
                reason: format!("two different timestamps of version {ours}"),
            });
        }
        let newer =
            theirs > ours || (theirs == ours && root.signed.version > self.root.signed.version);
        if !newer {
            return Ok(false);
        }
        if initial_root != self.initial_root {
            return Err(bad_state(
                &desc,
                "the stored repository has another first root".to_owned(),
            ));
        }
        check_keys(&root, &self.keys, &desc)?;
        self.root = root;
        self.targets = roles.targets;
        self.previous_targets = roles.previous_targets;
        self.snapshot = roles.snapshot;
        self.timestamp = roles.timestamp;
        self.files = files;
        Ok(true)
    }

    /// Signs the new versions `change` asks for, commits them through `lock` (target files,
    /// a root, targets, snapshot, then the timestamp by compare-and-swap: the commit point),
    /// removes what is no longer served, and serves the new state. `stored` is what the lock
    /// read.
    async fn commit(
        &mut self,
        lock: Box<dyn TufLock>,
        stored: &BTreeMap<String, Bytes>,
        change: Change,
        now_unix: i64,
    ) -> Result<(), TufError> {
        let first = change.first;
        let root = match &change.root {
            Some(r) => r.signed.signed.clone(),
            None => self.root.signed.clone(),
        };
        let version = |current: NonZeroU64| {
            if first {
                Ok(NonZeroU64::MIN)
            } else {
                next_version(current)
            }
        };
        let mut writes = change.target_files.clone();
        if let Some(r) = &change.root {
            writes.push((r.name.clone(), r.bytes.clone()));
        }
        let new_targets_role = match change.targets {
            Some(entries) => {
                let role = new_targets(
                    version(self.targets.signed.version)?.get(),
                    now_unix,
                    &self.expiries,
                    entries,
                )?;
                let signed = sign(role, &root, self.keys.key(RoleType::Targets)).await?;
                writes.push((signed.name.clone(), signed.bytes.clone()));
                Some(signed)
            }
            None => None,
        };
        let new_snapshot_role = if change.snapshot || new_targets_role.is_some() {
            let mut role = Snapshot::new(
                SPEC_VERSION.to_owned(),
                version(self.snapshot.signed.version)?,
                expires_at(now_unix, self.expiries.snapshot)?,
            );
            let meta = match &new_targets_role {
                Some(t) => metafile(t),
                None => self
                    .snapshot
                    .signed
                    .meta
                    .get("targets.json")
                    .cloned()
                    .ok_or_else(|| {
                        bad_state(&self.store.describe(), "no targets in snapshot".to_owned())
                    })?,
            };
            role.meta.insert("targets.json".to_owned(), meta);
            let signed = sign(role, &root, self.keys.key(RoleType::Snapshot)).await?;
            writes.push((signed.name.clone(), signed.bytes.clone()));
            Some(signed)
        } else {
            None
        };
        let new_timestamp = if change.timestamp || new_snapshot_role.is_some() {
            let mut timestamp = Timestamp::new(
                SPEC_VERSION.to_owned(),
                version(self.timestamp.signed.version)?,
                expires_at(now_unix, self.expiries.timestamp)?,
            );
            let snapshot_meta = match &new_snapshot_role {
                Some(s) => metafile(s),
                None => self
                    .timestamp
                    .signed
                    .meta
                    .get("snapshot.json")
                    .cloned()
                    .ok_or_else(|| {
                        bad_state(
                            &self.store.describe(),
                            "no snapshot in timestamp".to_owned(),
                        )
                    })?,
            };
            timestamp
                .meta
                .insert("snapshot.json".to_owned(), snapshot_meta);
            Some(sign(timestamp, &root, self.keys.key(RoleType::Timestamp)).await?)
        } else {
            None
        };

        // What the new state serves; the rest of what is stored goes (never a root).
        let snapshot_version = new_snapshot_role
            .as_ref()
            .map_or(self.snapshot.signed.version, |s| s.signed.signed.version);
        let (targets_now, targets_before) = match &new_targets_role {
            Some(t) => (&t.signed, (!first).then_some(&self.targets)),
            None => (&self.targets, self.previous_targets.as_ref()),
        };
        let keep = kept_names(snapshot_version.get(), targets_now, targets_before);
        let remove = stored
            .keys()
            .filter(|name| {
                name.as_str() != TIMESTAMP && !name.ends_with(".root.json") && !keep.contains(*name)
            })
            .cloned()
            .collect();

        // 1. target files, 2. a root, 3. targets, 4. snapshot, 5. timestamp (the commit point).
        lock.commit(Commit {
            files: writes,
            timestamp: new_timestamp.as_ref().map(|t| NewTimestamp {
                replaces: (!first).then(|| self.timestamp.signed.version.get()),
                version: t.signed.signed.version.get(),
                bytes: t.bytes.clone(),
            }),
            remove,
        })
        .await?;

        for (name, bytes) in change.target_files {
            self.files.insert(name, bytes);
        }
        if let Some(r) = change.root {
            self.files.insert(r.name, r.bytes);
            self.root = r.signed;
        }
        if let Some(t) = new_targets_role {
            self.files.insert(t.name, t.bytes);
            let old = std::mem::replace(&mut self.targets, t.signed);
            self.previous_targets = (!first).then_some(old);
        }
        if let Some(s) = new_snapshot_role {
            self.files.insert(s.name, s.bytes);
            self.snapshot = s.signed;
        }
        if let Some(t) = new_timestamp {
            self.files.insert(t.name, t.bytes);
            self.timestamp = t.signed;
        }
        self.prune();
        Ok(())
    }

    /// Forgets snapshot, targets and target files older than the previous version (the
    /// commit removed them from the store).
    fn prune(&mut self) {
        let keep = kept_names(
            self.snapshot.signed.version.get(),
            &self.targets,
            self.previous_targets.as_ref(),
        );
        self.files
            .retain(|name, _| name.ends_with(".root.json") || keep.contains(name));
    }

    /// When [`Repository::refresh`] next has something to do (Unix seconds): the earliest time
    /// a role is within half its period of expiring.
    pub fn next_refresh(&self) -> i64 {
        [
            refresh_at(self.root.signed.expires, self.expiries.root),
            refresh_at(self.targets.signed.expires, self.expiries.targets),
            refresh_at(self.snapshot.signed.expires, self.expiries.snapshot),
            refresh_at(self.timestamp.signed.expires, self.expiries.timestamp),
        ]
        .into_iter()
        .min()
        .unwrap_or(i64::MIN)
    }

    /// The bytes of `1.root.json`: the file an operator hands out to clients.
    pub fn initial_root(&self) -> &[u8] {
        &self.initial_root
    }

    /// The current version of each role.
    pub fn versions(&self) -> Versions {
        Versions {
            root: self.root.signed.version.get(),
            targets: self.targets.signed.version.get(),
            snapshot: self.snapshot.signed.version.get(),
            timestamp: self.timestamp.signed.version.get(),
        }
    }

    /// Where the repository is kept.
    pub fn store(&self) -> Arc<dyn TufStore> {
        self.store.clone()
    }

    /// A file to serve, by its path relative to the repository base URL (`1.root.json`,
    /// `timestamp.json`, `3.snapshot.json`, `targets/<hex>.trusted_root.json`, …); `None` for
    /// anything else (absolute paths, `..`, unknown names).
    pub fn file(&self, path: &str) -> Option<Bytes> {
        if path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path
                .split('/')
                .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return None;
        }
        self.files.get(path).cloned()
    }
}

/// Whether `name` can be a published target: a plain file name of `[A-Za-z0-9._-]`, not
/// starting with a dot.
fn valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `targets/<sha256 hex>.<name>`, the consistent-snapshot path of a target.
fn target_path(name: &str, sha256: &[u8]) -> String {
    format!("targets/{}.{name}", hex::encode(sha256))
}

fn new_targets(
    version: u64,
    now_unix: i64,
    expiries: &Expiries,
    entries: HashMap<tough::TargetName, Target>,
) -> Result<Targets, TufError> {
    let version = NonZeroU64::new(version).ok_or(TufError::TimeOutOfRange(now_unix))?;
    Ok(Targets {
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires: expires_at(now_unix, expiries.targets)?,
        targets: entries,
        // No delegations at all (tough's `Targets::new` writes an empty object).
        delegations: None,
        _extra: HashMap::new(),
    })
}

/// Stand-ins replaced by the first commit (they are never written or served).
fn placeholder_snapshot() -> Signed<Snapshot> {
    Signed {
        signed: Snapshot::new(
            SPEC_VERSION.to_owned(),
            NonZeroU64::MIN,
            jiff::Timestamp::UNIX_EPOCH,
        ),
        signatures: Vec::new(),
    }
}

fn placeholder_timestamp() -> Signed<Timestamp> {
    Signed {
        signed: Timestamp::new(
            SPEC_VERSION.to_owned(),
            NonZeroU64::MIN,
            jiff::Timestamp::UNIX_EPOCH,
        ),
        signatures: Vec::new(),
    }
}

fn next_version(v: NonZeroU64) -> Result<NonZeroU64, TufError> {
    v.checked_add(1)
        .ok_or_else(|| TufError::BadRepositoryState {
            store: String::new(),
            reason: "version overflow".to_owned(),
        })
}

/// `now + period` as whole seconds (python-tuf parses `expires` as `%Y-%m-%dT%H:%M:%SZ`).
fn expires_at(now_unix: i64, period: Duration) -> Result<jiff::Timestamp, TufError> {
    let secs = i64::try_from(period.as_secs()).map_err(|_| TufError::TimeOutOfRange(now_unix))?;
    let at = now_unix
        .checked_add(secs)
        .ok_or(TufError::TimeOutOfRange(now_unix))?;
    jiff::Timestamp::from_second(at).map_err(|_| TufError::TimeOutOfRange(at))
}

/// When metadata expiring at `expires` should be re-signed: half its period before.
fn refresh_at(expires: jiff::Timestamp, period: Duration) -> i64 {
    let half = i64::try_from(period.as_secs() / 2).unwrap_or(i64::MAX);
    expires.as_second().saturating_sub(half)
}

/// The snapshot/timestamp entry describing a written role: version, length and SHA-256.
fn metafile<T: Role>(w: &Written<T>) -> Metafile {
    Metafile {
        length: Some(w.bytes.len() as u64),
        hashes: Some(Hashes {
            sha256: Decoded::from(w.sha256.clone()),
            _extra: HashMap::new(),
        }),
        version: w.signed.signed.version(),
        _extra: HashMap::new(),
    }
}

/// Signs `role` with `key` through tough (canonical JSON, Ed25519) against `root`'s key list.
async fn sign<T: Role + Serialize + Clone>(
    role: T,
    root: &Root,
    key: &RoleKey,
) -> Result<Written<T>, TufError> {
    let sources: [Box<dyn KeySource>; 1] = [Box::new(SignerKeySource(key.clone()))];
    // Ed25519 signing draws no randomness; tough's signature still asks for a generator.
    let rng = SystemRandom::new();
    let signed = SignedRole::new(role, &KeyHolder::Root(root.clone()), &sources, &rng)
        .await
        .map_err(|source| TufError::Sign {
            role: T::TYPE.to_string(),
            source: Box::new(source),
        })?;
    let name = signed.signed().signed.filename(true);
    Ok(Written {
        signed: signed.signed().clone(),
        name,
        bytes: Bytes::from(signed.buffer().clone()),
        sha256: signed.sha256().to_vec(),
    })
}

/// The names the state with snapshot version `snapshot`, `targets` and `previous` targets
/// serves, roots aside: the timestamp, this and the previous snapshot, both targets versions
/// and their target files.
fn kept_names(
    snapshot: u64,
    targets: &Signed<Targets>,
    previous: Option<&Signed<Targets>>,
) -> HashSet<String> {
    let mut keep = HashSet::new();
    keep.insert(TIMESTAMP.to_owned());
    for v in [snapshot, snapshot.saturating_sub(1)] {
        keep.insert(format!("{v}.snapshot.json"));
    }
    for t in std::iter::once(targets).chain(previous) {
        keep.insert(format!("{}.targets.json", t.signed.version));
        for (name, target) in &t.signed.targets {
            keep.insert(target_path(name.raw(), &target.hashes.sha256));
        }
    }
    keep
}

/// Checks that `root` lists this server's key for every role.
fn check_keys(root: &Signed<Root>, keys: &RoleKeys, store: &str) -> Result<(), TufError> {
    for role in ROLES {
        let listed = root
            .signed
            .roles
            .get(&role)
            .is_some_and(|r| r.keyids.contains(&keys.key(role).key_id));
        if !listed {
            return Err(TufError::KeyMismatch {
                role: role.to_string(),
                store: store.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads and verifies the repository in `stored` (every stored file by name): the roots
/// `1.root.json`, `2.root.json`, … each signed by the one before, then the timestamp, the
/// snapshot and targets it names and their target files, and the previous snapshot and
/// targets (best effort: still served to clients that read the previous timestamp). `None`
/// for an empty store.
fn read_stored(stored: &BTreeMap<String, Bytes>, store: &str) -> Result<Option<Stored>, TufError> {
    let mut roots = Vec::new();
    while let Some(bytes) = stored.get(&format!("{}.root.json", roots.len() + 1)) {
        roots.push((format!("{}.root.json", roots.len() + 1), bytes.clone()));
    }
    let Some((_, initial_root)) = roots.first().cloned() else {
        return Ok(None);
    };
    let mut root: Option<Signed<Root>> = None;
    let mut files = BTreeMap::new();
    for (name, bytes) in roots {
        let parsed: Signed<Root> = parse(&bytes, &name)?;
        let signer = root.as_ref().unwrap_or(&parsed);
        signer
            .signed
            .verify_role(&parsed)
            .map_err(|e| bad_state(store, format!("{name} is not signed by its root: {e}")))?;
        root = Some(parsed);
        files.insert(name, bytes);
    }
    let root = root.ok_or_else(|| bad_state(store, "no root".to_owned()))?;
    let Some(timestamp_bytes) = stored.get(TIMESTAMP).cloned() else {
        // Not when later versions exist: clients that saw them would refuse version 1 as a
        // rollback, for ever.
        if stored.contains_key("2.targets.json") || stored.contains_key("2.snapshot.json") {
            return Err(bad_state(
                store,
                "timestamp.json is missing but later versions of the other roles exist; restore it from a backup".to_owned(),
            ));
        }
        return Ok(Some(Stored {
            initial_root,
            root,
            roles: None,
            files,
        }));
    };
    let timestamp: Signed<Timestamp> = parse(&timestamp_bytes, TIMESTAMP)?;
    verify(&root, &timestamp, store, TIMESTAMP)?;
    let snapshot_meta = timestamp
        .signed
        .meta
        .get("snapshot.json")
        .ok_or_else(|| bad_state(store, "timestamp.json lists no snapshot".to_owned()))?;
    let snapshot_name = format!("{}.snapshot.json", snapshot_meta.version);
    let snapshot_bytes = read_listed(stored, store, &snapshot_name, snapshot_meta)?;
    let snapshot: Signed<Snapshot> = parse(&snapshot_bytes, &snapshot_name)?;
    verify(&root, &snapshot, store, &snapshot_name)?;
    let targets_meta = snapshot
        .signed
        .meta
        .get("targets.json")
        .ok_or_else(|| bad_state(store, format!("{snapshot_name} lists no targets")))?;
    let targets_name = format!("{}.targets.json", targets_meta.version);
    let targets_bytes = read_listed(stored, store, &targets_name, targets_meta)?;
    let targets: Signed<Targets> = parse(&targets_bytes, &targets_name)?;
    verify(&root, &targets, store, &targets_name)?;
    load_target_files(stored, store, &targets, &mut files)?;
    files.insert(TIMESTAMP.to_owned(), timestamp_bytes);
    files.insert(snapshot_name, snapshot_bytes);
    files.insert(targets_name, targets_bytes);

    let previous = |version: NonZeroU64| version.get().checked_sub(1).filter(|v| *v > 0);
    if let Some(prev) = previous(snapshot.signed.version) {
        let name = format!("{prev}.snapshot.json");
        if let Some(bytes) = stored.get(&name) {
            files.insert(name, bytes.clone());
        }
    }
    let mut previous_targets = None;
    if let Some(prev) = previous(targets.signed.version) {
        let name = format!("{prev}.targets.json");
        if let Some(bytes) = stored.get(&name)
            && let Ok(prev) = parse::<Targets>(bytes, &name)
        {
            let mut prev_files = BTreeMap::new();
            if load_target_files(stored, store, &prev, &mut prev_files).is_ok() {
                files.append(&mut prev_files);
                files.insert(name, bytes.clone());
                previous_targets = Some(prev);
            }
        }
    }
    Ok(Some(Stored {
        initial_root,
        root,
        roles: Some(StoredRoles {
            targets,
            previous_targets,
            snapshot,
            timestamp,
        }),
        files,
    }))
}

/// A stored metadata file, checked against its snapshot/timestamp entry.
fn read_listed(
    stored: &BTreeMap<String, Bytes>,
    store: &str,
    name: &str,
    meta: &Metafile,
) -> Result<Bytes, TufError> {
    let bytes = stored
        .get(name)
        .ok_or_else(|| bad_state(store, format!("{name} is missing")))?;
    if let Some(hashes) = &meta.hashes
        && digest(&SHA256, bytes).as_ref() != hashes.sha256.as_ref() as &[u8]
    {
        return Err(bad_state(
            store,
            format!("{name} does not match its listed hash"),
        ));
    }
    Ok(bytes.clone())
}

fn load_target_files(
    stored: &BTreeMap<String, Bytes>,
    store: &str,
    targets: &Signed<Targets>,
    files: &mut BTreeMap<String, Bytes>,
) -> Result<(), TufError> {
    for (name, target) in &targets.signed.targets {
        if !valid_target_name(name.raw()) {
            return Err(bad_state(store, format!("target name {:?}", name.raw())));
        }
        let path = target_path(name.raw(), &target.hashes.sha256);
        let bytes = stored
            .get(&path)
            .ok_or_else(|| bad_state(store, format!("{path} is missing")))?;
        if bytes.len() as u64 != target.length
            || digest(&SHA256, bytes).as_ref() != target.hashes.sha256.as_ref() as &[u8]
        {
            return Err(bad_state(
                store,
                format!("{path} does not match its targets entry"),
            ));
        }
        files.insert(path, bytes.clone());
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], name: &str) -> Result<Signed<T>, TufError> {
    serde_json::from_slice(bytes).map_err(|e| TufError::Malformed {
        what: name.to_owned(),
        source: Box::new(e),
    })
}

fn verify<T: Role + Serialize>(
    root: &Signed<Root>,
    role: &Signed<T>,
    store: &str,
    name: &str,
) -> Result<(), TufError> {
    root.signed.verify_role(role).map_err(|e| {
        bad_state(
            store,
            format!("{name} is not signed by the root's key: {e}"),
        )
    })
}

fn bad_state(store: &str, reason: String) -> TufError {
    TufError::BadRepositoryState {
        store: store.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests;
