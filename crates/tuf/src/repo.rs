//! The repository side: signet's TUF repository of `trusted_root.json` and
//! `signing_config.v0.2.json`, kept in one directory and served by path.
//!
//! Layout (the directory is the repository base URL; TUF consistent snapshots, as Sigstore's
//! public repository):
//!
//! ```text
//! DIR/1.root.json … DIR/N.root.json      every root version, never removed
//! DIR/timestamp.json
//! DIR/V.snapshot.json, DIR/V.targets.json current and previous versions
//! DIR/targets/<sha256 hex>.<name>         target files of the current and previous targets
//! ```
//!
//! Every file is written through `signet-durable`. A publish writes the target files, then
//! `N.targets.json`, `N.snapshot.json`, and `timestamp.json` last: `timestamp.json` is the
//! commit point. A crash before it leaves files no timestamp refers to (overwritten by the next
//! publish, which reuses their version numbers); a reopen reads the state the timestamp names.
//! A new root (`N+1.root.json`) is its own commit point: clients look for it by name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
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

use crate::TufError;
use crate::files::read_bounded;

/// The TUF specification version written in every role (python-tuf 7 accepts any `1.x.y`).
pub const SPEC_VERSION: &str = "1.0.31";

/// The largest target this repository publishes (a trusted root with many keys is ~30 KB).
pub const MAX_TARGET_SIZE: usize = 8 << 20;

/// The largest metadata file read back from the repository directory.
const MAX_METADATA_SIZE: u64 = 16 << 20;

/// The four top-level roles, in the order their keys are listed.
const ROLES: [RoleType; 4] = [
    RoleType::Root,
    RoleType::Targets,
    RoleType::Snapshot,
    RoleType::Timestamp,
];

/// One role's Ed25519 key: the PKCS#8 document (tough's signer is rebuilt from it for each
/// signature), its TUF key and key ID.
#[derive(Clone)]
struct RoleKey {
    pkcs8: Arc<Vec<u8>>,
    tuf_key: Key,
    key_id: Decoded<Hex>,
}

impl std::fmt::Debug for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RoleKey(ed25519 {})", hex::encode(&self.key_id))
    }
}

impl RoleKey {
    fn from_pkcs8(pkcs8: Vec<u8>, path: &Path) -> Result<RoleKey, TufError> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| TufError::BadKeyFile {
            path: path.to_path_buf(),
            reason: format!("not an Ed25519 PKCS#8 private key ({e})"),
        })?;
        let tuf_key = Sign::tuf_key(&pair);
        let key_id = tuf_key.key_id().map_err(|e| TufError::BadKeyFile {
            path: path.to_path_buf(),
            reason: format!("no key ID: {e}"),
        })?;
        Ok(RoleKey {
            pkcs8: Arc::new(pkcs8),
            tuf_key,
            key_id,
        })
    }
}

/// tough signs through a [`KeySource`]; this one holds the key in memory.
#[derive(Clone)]
struct MemoryKeySource(Arc<Vec<u8>>);

impl std::fmt::Debug for MemoryKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryKeySource(ed25519)")
    }
}

#[tough::async_trait]
impl KeySource for MemoryKeySource {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync>> {
        let pair = Ed25519KeyPair::from_pkcs8(&self.0).map_err(|e| e.to_string())?;
        Ok(Box::new(pair))
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

/// signet's TUF repository: its metadata and target files, in memory for serving and on disk.
///
/// Owned by one task (`publish` and `refresh` take `&mut self`); a server shares it behind a
/// lock and calls [`Repository::file`] for reads.
#[derive(Debug)]
pub struct Repository {
    dir: PathBuf,
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

impl Repository {
    /// Opens the repository kept in `dir`, creating version 1 of every role on first open (root
    /// signed by the root key, consistent snapshots, no targets yet).
    ///
    /// # Errors
    /// [`TufError::KeyMismatch`] when the stored root does not list `keys`,
    /// [`TufError::BadRepositoryState`] when a file the timestamp refers to is missing or
    /// altered, [`TufError::Io`] on I/O failures.
    pub async fn open(
        dir: &Path,
        keys: RoleKeys,
        expiries: Expiries,
        now_unix: i64,
    ) -> Result<Repository, TufError> {
        signet_durable::create_dir_all(&dir.join("targets"))
            .map_err(|e| TufError::io("creating the TUF repository directory", dir, e))?;
        let mut roots = Vec::new();
        loop {
            let name = format!("{}.root.json", roots.len() + 1);
            match read_bounded(&dir.join(&name), MAX_METADATA_SIZE) {
                Ok(bytes) => roots.push((name, Bytes::from(bytes))),
                Err(TufError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let Some((_, initial_root)) = roots.first().cloned() else {
            return Self::create(dir, keys, expiries, now_unix).await;
        };
        let mut root: Option<Signed<Root>> = None;
        let mut files = BTreeMap::new();
        for (name, bytes) in roots {
            let parsed: Signed<Root> = parse(&bytes, &name)?;
            let signer = root.as_ref().unwrap_or(&parsed);
            signer
                .signed
                .verify_role(&parsed)
                .map_err(|e| bad_state(dir, format!("{name} is not signed by its root: {e}")))?;
            root = Some(parsed);
            files.insert(name, bytes);
        }
        let root = root.ok_or_else(|| bad_state(dir, "no root".to_owned()))?;
        for role in ROLES {
            let listed = root
                .signed
                .roles
                .get(&role)
                .is_some_and(|r| r.keyids.contains(&keys.key(role).key_id));
            if !listed {
                return Err(TufError::KeyMismatch {
                    role: role.to_string(),
                });
            }
        }
        let timestamp_bytes = match read_bounded(&dir.join("timestamp.json"), MAX_METADATA_SIZE) {
            Ok(bytes) => Bytes::from(bytes),
            Err(TufError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // A crash during the first open, after the root: start the other roles. Not
                // when later versions exist: clients that saw them would refuse version 1 as a
                // rollback, for ever.
                if dir.join("2.targets.json").exists() || dir.join("2.snapshot.json").exists() {
                    return Err(TufError::BadRepositoryState {
                        dir: dir.to_path_buf(),
                        reason: "timestamp.json is missing but later versions of the other roles exist; restore it from a backup".to_owned(),
                    });
                }
                let mut repo = Repository {
                    dir: dir.to_path_buf(),
                    keys,
                    expiries,
                    initial_root,
                    targets: Signed {
                        signed: new_targets(1, now_unix, &expiries, HashMap::new())?,
                        signatures: Vec::new(),
                    },
                    root,
                    previous_targets: None,
                    snapshot: placeholder_snapshot(),
                    timestamp: placeholder_timestamp(),
                    files,
                };
                repo.commit(Some(HashMap::new()), Vec::new(), true, now_unix, true)
                    .await?;
                return Ok(repo);
            }
            Err(e) => return Err(e),
        };
        let timestamp: Signed<Timestamp> = parse(&timestamp_bytes, "timestamp.json")?;
        verify(&root, &timestamp, dir, "timestamp.json")?;
        let snapshot_meta = timestamp
            .signed
            .meta
            .get("snapshot.json")
            .ok_or_else(|| bad_state(dir, "timestamp.json lists no snapshot".to_owned()))?;
        let snapshot_name = format!("{}.snapshot.json", snapshot_meta.version);
        let snapshot_bytes = read_listed(dir, &snapshot_name, snapshot_meta)?;
        let snapshot: Signed<Snapshot> = parse(&snapshot_bytes, &snapshot_name)?;
        verify(&root, &snapshot, dir, &snapshot_name)?;
        let targets_meta = snapshot
            .signed
            .meta
            .get("targets.json")
            .ok_or_else(|| bad_state(dir, format!("{snapshot_name} lists no targets")))?;
        let targets_name = format!("{}.targets.json", targets_meta.version);
        let targets_bytes = read_listed(dir, &targets_name, targets_meta)?;
        let targets: Signed<Targets> = parse(&targets_bytes, &targets_name)?;
        verify(&root, &targets, dir, &targets_name)?;
        load_target_files(dir, &targets, &mut files)?;
        files.insert("timestamp.json".to_owned(), timestamp_bytes);
        files.insert(snapshot_name, snapshot_bytes);
        files.insert(targets_name, targets_bytes);

        // The previous snapshot and targets, still served to clients that read the previous
        // timestamp; best effort (a pruned or never-written one is simply not served).
        let mut previous_targets = None;
        if let Some(prev) = snapshot
            .signed
            .version
            .get()
            .checked_sub(1)
            .filter(|v| *v > 0)
        {
            let name = format!("{prev}.snapshot.json");
            if let Ok(bytes) = read_bounded(&dir.join(&name), MAX_METADATA_SIZE) {
                files.insert(name, Bytes::from(bytes));
            }
        }
        if let Some(prev) = targets
            .signed
            .version
            .get()
            .checked_sub(1)
            .filter(|v| *v > 0)
        {
            let name = format!("{prev}.targets.json");
            if let Ok(bytes) = read_bounded(&dir.join(&name), MAX_METADATA_SIZE) {
                let bytes = Bytes::from(bytes);
                if let Ok(prev) = parse::<Targets>(&bytes, &name) {
                    let mut prev_files = BTreeMap::new();
                    if load_target_files(dir, &prev, &mut prev_files).is_ok() {
                        files.append(&mut prev_files);
                        files.insert(name, bytes);
                        previous_targets = Some(prev);
                    }
                }
            }
        }
        Ok(Repository {
            dir: dir.to_path_buf(),
            keys,
            expiries,
            initial_root,
            root,
            targets,
            previous_targets,
            snapshot,
            timestamp,
            files,
        })
    }

    /// A new repository: root, then targets, snapshot and timestamp version 1.
    async fn create(
        dir: &Path,
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
        write_files(
            dir,
            vec![(signed_root.name.clone(), signed_root.bytes.clone())],
        )
        .await?;
        let mut files = BTreeMap::new();
        files.insert(signed_root.name.clone(), signed_root.bytes.clone());
        let mut repo = Repository {
            dir: dir.to_path_buf(),
            keys,
            expiries,
            initial_root: signed_root.bytes,
            root: signed_root.signed,
            targets: Signed {
                signed: new_targets(1, now_unix, &expiries, HashMap::new())?,
                signatures: Vec::new(),
            },
            previous_targets: None,
            snapshot: placeholder_snapshot(),
            timestamp: placeholder_timestamp(),
            files,
        };
        repo.commit(Some(HashMap::new()), Vec::new(), true, now_unix, true)
            .await?;
        Ok(repo)
    }

    /// Makes `targets` (name, bytes) the repository's targets. If they equal the current ones
    /// nothing happens (`Ok(false)`); else a new targets version, snapshot version and timestamp
    /// version are signed and written durably (target files first, then targets, snapshot,
    /// timestamp last): `Ok(true)`.
    ///
    /// # Errors
    /// [`TufError::BadTargetName`] for a name that is not a plain file name or is given twice,
    /// [`TufError::TooLarge`] for a target over [`MAX_TARGET_SIZE`], signing and I/O errors.
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
        if entries == self.targets.signed.targets {
            return Ok(false);
        }
        self.commit(Some(entries), target_files, true, now_unix, false)
            .await?;
        Ok(true)
    }

    /// Re-signs (as a new version) every role whose metadata expires within half its period
    /// from `now_unix`: the timestamp; the snapshot and a new timestamp; the targets, snapshot
    /// and timestamp; the root as `N+1.root.json` (same keys). `Ok(true)` when anything changed.
    ///
    /// # Errors
    /// Signing and I/O errors; on error nothing the repository serves has changed.
    pub async fn refresh(&mut self, now_unix: i64) -> Result<bool, TufError> {
        let due = |role: RoleType, expires: jiff::Timestamp| {
            refresh_at(expires, self.expiries.of(role)) <= now_unix
        };
        let root_due = due(RoleType::Root, self.root.signed.expires);
        let targets_due = due(RoleType::Targets, self.targets.signed.expires);
        let snapshot_due = targets_due || due(RoleType::Snapshot, self.snapshot.signed.expires);
        let timestamp_due = snapshot_due || due(RoleType::Timestamp, self.timestamp.signed.expires);
        if root_due {
            let mut root = self.root.signed.clone();
            root.version = next_version(root.version)?;
            root.expires = expires_at(now_unix, self.expiries.root)?;
            let signed = sign(root.clone(), &root, self.keys.key(RoleType::Root)).await?;
            write_files(&self.dir, vec![(signed.name.clone(), signed.bytes.clone())]).await?;
            self.files.insert(signed.name, signed.bytes);
            self.root = signed.signed;
        }
        if timestamp_due {
            let entries = targets_due.then(|| self.targets.signed.targets.clone());
            self.commit(entries, Vec::new(), snapshot_due, now_unix, false)
                .await?;
        }
        Ok(root_due || timestamp_due)
    }

    /// Signs and writes new versions: targets (when `targets` is given), snapshot (when
    /// `new_snapshot`), and always a timestamp; then prunes what is no longer served.
    /// `first` numbers them 1 (a new repository) instead of the current version + 1.
    async fn commit(
        &mut self,
        targets: Option<HashMap<tough::TargetName, Target>>,
        target_files: Vec<(String, Bytes)>,
        new_snapshot: bool,
        now_unix: i64,
        first: bool,
    ) -> Result<(), TufError> {
        let root = self.root.signed.clone();
        let version = |current: NonZeroU64| {
            if first {
                Ok(NonZeroU64::MIN)
            } else {
                next_version(current)
            }
        };
        let mut writes = target_files.clone();
        let new_targets_role = match targets {
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
        let new_snapshot_role = if new_snapshot || new_targets_role.is_some() {
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
                    .ok_or_else(|| bad_state(&self.dir, "no targets in snapshot".to_owned()))?,
            };
            role.meta.insert("targets.json".to_owned(), meta);
            let signed = sign(role, &root, self.keys.key(RoleType::Snapshot)).await?;
            writes.push((signed.name.clone(), signed.bytes.clone()));
            Some(signed)
        } else {
            None
        };
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
                .ok_or_else(|| bad_state(&self.dir, "no snapshot in timestamp".to_owned()))?,
        };
        timestamp
            .meta
            .insert("snapshot.json".to_owned(), snapshot_meta);
        let timestamp = sign(timestamp, &root, self.keys.key(RoleType::Timestamp)).await?;
        writes.push((timestamp.name.clone(), timestamp.bytes.clone()));

        // 1. target files, 2. targets, 3. snapshot, 4. timestamp (the commit point).
        write_files(&self.dir, writes).await?;

        for (name, bytes) in target_files {
            self.files.insert(name, bytes);
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
        self.files.insert(timestamp.name, timestamp.bytes);
        self.timestamp = timestamp.signed;
        self.prune();
        Ok(())
    }

    /// Forgets (and removes from disk, best effort) snapshot, targets and target files older
    /// than the previous version.
    fn prune(&mut self) {
        let mut keep: HashSet<String> = HashSet::new();
        keep.insert("timestamp.json".to_owned());
        for v in [
            self.snapshot.signed.version.get(),
            self.snapshot.signed.version.get().saturating_sub(1),
        ] {
            keep.insert(format!("{v}.snapshot.json"));
        }
        for t in std::iter::once(&self.targets).chain(self.previous_targets.as_ref()) {
            keep.insert(format!("{}.targets.json", t.signed.version));
            for (name, target) in &t.signed.targets {
                keep.insert(target_path(name.raw(), &target.hashes.sha256));
            }
        }
        let stale: Vec<String> = self
            .files
            .keys()
            .filter(|name| !name.ends_with(".root.json") && !keep.contains(*name))
            .cloned()
            .collect();
        for name in stale {
            self.files.remove(&name);
            // Best effort: a file left behind is never served, and never referenced again.
            let _ = std::fs::remove_file(self.dir.join(&name));
        }
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

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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
            dir: PathBuf::new(),
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
    let sources: [Box<dyn KeySource>; 1] = [Box::new(MemoryKeySource(key.pkcs8.clone()))];
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

/// Writes `files` (relative names) durably, in order, off the async runtime.
async fn write_files(dir: &Path, files: Vec<(String, Bytes)>) -> Result<(), TufError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        for (name, bytes) in files {
            let path = dir.join(&name);
            signet_durable::write(&path, &bytes, signet_durable::Mode::Public)
                .map_err(|e| TufError::io("writing TUF metadata", path, e))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| {
        TufError::io(
            "writing TUF metadata",
            PathBuf::new(),
            std::io::Error::other(e),
        )
    })?
}

/// Reads a metadata file and checks it against its snapshot/timestamp entry.
fn read_listed(dir: &Path, name: &str, meta: &Metafile) -> Result<Bytes, TufError> {
    let bytes = read_bounded(&dir.join(name), MAX_METADATA_SIZE)?;
    if let Some(hashes) = &meta.hashes
        && digest(&SHA256, &bytes).as_ref() != hashes.sha256.as_ref() as &[u8]
    {
        return Err(bad_state(
            dir,
            format!("{name} does not match its listed hash"),
        ));
    }
    Ok(Bytes::from(bytes))
}

fn load_target_files(
    dir: &Path,
    targets: &Signed<Targets>,
    files: &mut BTreeMap<String, Bytes>,
) -> Result<(), TufError> {
    for (name, target) in &targets.signed.targets {
        if !valid_target_name(name.raw()) {
            return Err(bad_state(dir, format!("target name {:?}", name.raw())));
        }
        let path = target_path(name.raw(), &target.hashes.sha256);
        let bytes = read_bounded(&dir.join(&path), MAX_TARGET_SIZE as u64)?;
        if bytes.len() as u64 != target.length
            || digest(&SHA256, &bytes).as_ref() != target.hashes.sha256.as_ref() as &[u8]
        {
            return Err(bad_state(
                dir,
                format!("{path} does not match its targets entry"),
            ));
        }
        files.insert(path, Bytes::from(bytes));
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
    dir: &Path,
    name: &str,
) -> Result<(), TufError> {
    root.signed
        .verify_role(role)
        .map_err(|e| bad_state(dir, format!("{name} is not signed by the root's key: {e}")))
}

fn bad_state(dir: &Path, reason: String) -> TufError {
    TufError::BadRepositoryState {
        dir: dir.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests;
