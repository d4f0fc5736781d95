//! Where a [`Repository`](crate::repo::Repository) keeps its files: the [`TufStore`] trait, a
//! directory ([`FileStore`], one server) and, with the `postgres` feature, a PostgreSQL schema
//! shared by any number of servers (`PostgresStore`).
//!
//! A repository's state is a set of named files, the names a client fetches:
//! `N.root.json`, `N.snapshot.json`, `N.targets.json` and `targets/<sha256 hex>.<name>` (each
//! name fixes its content: a role and version, or a hash) and `timestamp.json`, the one file
//! that is replaced, and the commit point of every publish. A publisher takes the store's
//! lock ([`TufStore::lock`]), reads the current state through it, signs the next versions and
//! commits them ([`TufLock::commit`]): the new files, then the new timestamp by
//! compare-and-swap on its version. Readers ([`TufStore::load`], [`TufStore::read`]) never
//! take the lock.
//!
//! # The contract
//!
//! - **Durable.** A commit that has returned `Ok` is durable: it survives a crash of the
//!   process or the machine.
//! - **One publisher at a time.** While a [`TufLock`] lives, no other lock of the same store
//!   (in this process or, for a shared store, another) is granted; dropping it without a
//!   commit releases it and changes nothing. [`TufLock::load`] sees every commit made before
//!   the lock was granted.
//! - **Timestamp by compare-and-swap.** A commit's timestamp replaces the stored one only if
//!   the stored one has the version the publisher read ([`NewTimestamp::replaces`]), and only
//!   with a higher version; else the commit fails with [`TufError::Conflict`].
//! - **Named files never change.** A file whose name is already stored with other bytes is
//!   refused with [`TufError::Conflict`], except, in a [`FileStore`], a snapshot or targets
//!   version above the committed timestamp's, left by a publish that crashed before its
//!   timestamp (no reader has ever been given it). So no two different files with the same
//!   role and version, or the same target hash, are ever served.
//! - **Order.** A commit's files are durable before its timestamp, so a reader that sees a
//!   timestamp finds everything it refers to. Removals ([`Commit::remove`]) come after the
//!   timestamp, are best effort, and never name a root.
//! - **Consistent reads.** [`TufStore::load`] returns the state of one commit (for a
//!   [`FileStore`], whatever the directory holds, which may include files of an unfinished
//!   publish that no timestamp names yet). Readers may run concurrently with each other and
//!   with a publisher.
//! - **Errors** are not retried by the store: a failed call changed nothing that a reader can
//!   see, or (for a [`FileStore`] commit that failed after some of its files) left only files
//!   no timestamp refers to; the caller tries again later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::TufError;
use crate::files::read_bounded;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;

/// The name of the timestamp metadata, the one file a commit replaces.
pub const TIMESTAMP: &str = "timestamp.json";

/// The largest file a store hands back (metadata, or a target with room to spare).
pub const MAX_FILE_SIZE: u64 = 16 << 20;

/// What one publish writes.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    /// Files named by a version or a hash, in the order to write them: target files, then
    /// `N.targets.json`, `N.snapshot.json`; or a new `N.root.json`.
    pub files: Vec<(String, Bytes)>,
    /// The new `timestamp.json`, written after `files`; `None` for a commit of a root only.
    pub timestamp: Option<NewTimestamp>,
    /// Files the new state no longer refers to, removed after the timestamp (best effort).
    pub remove: Vec<String>,
}

/// A new `timestamp.json` and the version of the one it replaces.
#[derive(Clone, Debug)]
pub struct NewTimestamp {
    /// The version of the stored timestamp the publisher read; `None` when there was none.
    pub replaces: Option<u64>,
    /// The new timestamp's version (higher than `replaces`).
    pub version: u64,
    /// The signed file.
    pub bytes: Bytes,
}

/// A repository's storage. See the module docs for the contract every implementation keeps.
#[tough::async_trait]
pub trait TufStore: Send + Sync + std::fmt::Debug {
    /// Every stored file by name (the state of one commit; see the module docs).
    async fn load(&self) -> Result<BTreeMap<String, Bytes>, TufError>;

    /// One stored file (`timestamp.json` or a named file), `None` if there is none.
    async fn read(&self, name: &str) -> Result<Option<Bytes>, TufError>;

    /// Waits for, and takes, the store's publishing lock.
    async fn lock(&self) -> Result<Box<dyn TufLock>, TufError>;

    /// Where the repository is kept, for error messages (a directory, a database schema).
    fn describe(&self) -> String;
}

/// The publishing lock of a [`TufStore`]; released when committed or dropped.
#[tough::async_trait]
pub trait TufLock: Send {
    /// Every stored file by name, as of now (no other publisher can commit while the lock is
    /// held).
    async fn load(&mut self) -> Result<BTreeMap<String, Bytes>, TufError>;

    /// Writes `commit` (see the module docs for the order and the compare-and-swap) and
    /// releases the lock.
    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), TufError>;
}

/// Copies the repository in `from` into `to` when `to` holds nothing yet and `from` has a
/// committed timestamp (a server moving its repository from its data directory to a shared
/// database keeps the root its clients were given): `Ok(true)` when it did. Only the files a
/// store keeps are copied, roots first in version order, in one commit; the repository that
/// opens `to` then verifies them.
///
/// # Errors
/// The stores' errors.
pub async fn copy_if_empty(from: &dyn TufStore, to: &dyn TufStore) -> Result<bool, TufError> {
    let mut lock = to.lock().await?;
    if !lock.load().await?.is_empty() {
        return Ok(false);
    }
    let mut files = from.load().await?;
    let Some(timestamp) = files.remove(TIMESTAMP) else {
        return Ok(false);
    };
    let version = timestamp_version(&timestamp)?;
    let mut roots = Vec::new();
    while let Some(root) = files.remove(&format!("{}.root.json", roots.len() + 1)) {
        roots.push((format!("{}.root.json", roots.len() + 1), root));
    }
    // Roots after a gap were never reachable by clients, and snapshot or targets versions
    // above the committed ones were left by a publish that crashed: not copied (the next
    // publish writes those versions).
    let snapshot = meta_version(&timestamp, TIMESTAMP, "snapshot.json")?;
    let snapshot_name = format!("{snapshot}.snapshot.json");
    let targets = match files.get(&snapshot_name) {
        Some(file) => meta_version(file, &snapshot_name, "targets.json")?,
        None => 0,
    };
    files.retain(|name, _| {
        !name.ends_with(".root.json") && !overwritable(name, (snapshot, targets))
    });
    roots.extend(files);
    lock.commit(Commit {
        files: roots,
        timestamp: Some(NewTimestamp {
            replaces: None,
            version,
            bytes: timestamp,
        }),
        remove: Vec::new(),
    })
    .await?;
    Ok(true)
}

/// The version of a timestamp file, read from its `signed.version`.
pub(crate) fn timestamp_version(bytes: &[u8]) -> Result<u64, TufError> {
    #[derive(serde::Deserialize)]
    struct Signed {
        signed: Version,
    }
    #[derive(serde::Deserialize)]
    struct Version {
        version: u64,
    }
    let parsed: Signed = serde_json::from_slice(bytes).map_err(|e| TufError::Malformed {
        what: TIMESTAMP.to_owned(),
        source: Box::new(e),
    })?;
    Ok(parsed.signed.version)
}

/// Whether `name` is a name a store keeps: `timestamp.json`, `N.<role>.json` for root,
/// snapshot and targets, or `targets/<64 hex>.<plain name>`.
pub fn valid_file_name(name: &str) -> bool {
    if name == TIMESTAMP {
        return true;
    }
    if let Some(rest) = name.strip_prefix("targets/") {
        let Some((hash, target)) = rest.split_once('.') else {
            return false;
        };
        return hash.len() == 64
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && !target.is_empty()
            && target.len() <= 200
            && target
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    }
    let Some((version, role)) = name.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.len() <= 20
        && version.bytes().all(|b| b.is_ascii_digit())
        && matches!(role, "root.json" | "snapshot.json" | "targets.json")
}

/// A repository in one directory, as it is served (the layout of
/// [`crate::repo`]), written through `signet-durable`. One process owns the directory (the
/// lock is a mutex in this process); `signet up` keeps it in its data directory.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl FileStore {
    /// The store in `dir`, created (with `dir/targets/`) if missing.
    ///
    /// # Errors
    /// [`TufError::Io`] when the directory cannot be created.
    pub fn open(dir: &Path) -> Result<FileStore, TufError> {
        signet_durable::create_dir_all(&dir.join("targets"))
            .map_err(|e| TufError::io("creating the TUF repository directory", dir, e))?;
        Ok(FileStore {
            dir: dir.to_path_buf(),
            lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn blocking_error(e: tokio::task::JoinError) -> TufError {
    TufError::io(
        "TUF repository I/O",
        PathBuf::new(),
        std::io::Error::other(e),
    )
}

/// The file at `path`, `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<Bytes>, TufError> {
    match read_bounded(path, MAX_FILE_SIZE) {
        Ok(bytes) => Ok(Some(Bytes::from(bytes))),
        Err(TufError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn load_dir(dir: &Path) -> Result<BTreeMap<String, Bytes>, TufError> {
    let mut files = BTreeMap::new();
    for (sub, prefix) in [(dir.to_path_buf(), ""), (dir.join("targets"), "targets/")] {
        let entries = match std::fs::read_dir(&sub) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TufError::io("listing", &sub, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| TufError::io("listing", &sub, e))?;
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let name = format!("{prefix}{file_name}");
            // Temp files of an unfinished write, `targets/` itself, anything else: not ours.
            if !valid_file_name(&name) {
                continue;
            }
            if let Some(bytes) = read_optional(&entry.path())? {
                files.insert(name, bytes);
            }
        }
    }
    Ok(files)
}

#[tough::async_trait]
impl TufStore for FileStore {
    async fn load(&self) -> Result<BTreeMap<String, Bytes>, TufError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || load_dir(&dir))
            .await
            .map_err(blocking_error)?
    }

    async fn read(&self, name: &str) -> Result<Option<Bytes>, TufError> {
        if !valid_file_name(name) {
            return Ok(None);
        }
        let path = self.dir.join(name);
        tokio::task::spawn_blocking(move || read_optional(&path))
            .await
            .map_err(blocking_error)?
    }

    async fn lock(&self) -> Result<Box<dyn TufLock>, TufError> {
        let guard = self.lock.clone().lock_owned().await;
        Ok(Box::new(FileLock {
            dir: self.dir.clone(),
            _guard: guard,
        }))
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

struct FileLock {
    dir: PathBuf,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

#[tough::async_trait]
impl TufLock for FileLock {
    async fn load(&mut self) -> Result<BTreeMap<String, Bytes>, TufError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || load_dir(&dir))
            .await
            .map_err(blocking_error)?
    }

    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), TufError> {
        let dir = self.dir.clone();
        // The lock stays held (moved into the closure) until the last file is written.
        tokio::task::spawn_blocking(move || {
            let _lock = self;
            commit_dir(&dir, commit)
        })
        .await
        .map_err(blocking_error)?
    }
}

/// [`TufLock::commit`] for a directory: 1. the named files, 2. `timestamp.json` (the commit
/// point), 3. the removals. A crash before 2 leaves files no timestamp names, which the next
/// publish (reusing their versions) overwrites.
fn commit_dir(dir: &Path, commit: Commit) -> Result<(), TufError> {
    let stored_timestamp = read_optional(&dir.join(TIMESTAMP))?;
    let stored_version = stored_timestamp
        .as_deref()
        .map(timestamp_version)
        .transpose()?;
    if let Some(new) = &commit.timestamp {
        check_swap(stored_version, new)?;
    }
    // What the committed timestamp names may not be overwritten either.
    let committed = match &stored_timestamp {
        Some(bytes) => committed_versions(dir, bytes)?,
        None => (0, 0),
    };
    for (name, bytes) in &commit.files {
        if !valid_file_name(name) || name == TIMESTAMP {
            return Err(TufError::Conflict {
                reason: format!("{name:?} is not a file name a commit writes"),
            });
        }
        let path = dir.join(name);
        if let Some(existing) = read_optional(&path)? {
            if existing == *bytes {
                continue;
            }
            if !overwritable(name, committed) {
                return Err(TufError::Conflict {
                    reason: format!("{name} is already stored with other contents"),
                });
            }
        }
        signet_durable::write(&path, bytes, signet_durable::Mode::Public)
            .map_err(|e| TufError::io("writing TUF metadata", path, e))?;
    }
    if let Some(new) = &commit.timestamp {
        let path = dir.join(TIMESTAMP);
        signet_durable::write(&path, &new.bytes, signet_durable::Mode::Public)
            .map_err(|e| TufError::io("writing TUF metadata", path, e))?;
    }
    for name in &commit.remove {
        if name.ends_with(".root.json") || !valid_file_name(name) || name == TIMESTAMP {
            continue;
        }
        // Best effort: a file left behind is never referenced again.
        let _ = std::fs::remove_file(dir.join(name));
    }
    Ok(())
}

/// The compare-and-swap of the timestamp: the stored version must be the one read, and the
/// new one higher.
pub(crate) fn check_swap(stored: Option<u64>, new: &NewTimestamp) -> Result<(), TufError> {
    if stored != new.replaces {
        return Err(TufError::Conflict {
            reason: format!(
                "the stored timestamp is version {}, the publisher read {}",
                stored.map_or("none".to_owned(), |v| v.to_string()),
                new.replaces.map_or("none".to_owned(), |v| v.to_string()),
            ),
        });
    }
    if new.replaces.is_some_and(|old| new.version <= old) || new.version == 0 {
        return Err(TufError::Conflict {
            reason: format!(
                "timestamp version {} does not follow {:?}",
                new.version, new.replaces
            ),
        });
    }
    Ok(())
}

/// The version named for `role` (`snapshot.json`, `targets.json`) in the `meta` of a
/// timestamp or snapshot file.
fn meta_version(file: &[u8], what: &str, role: &str) -> Result<u64, TufError> {
    #[derive(serde::Deserialize)]
    struct Signed {
        signed: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        meta: BTreeMap<String, Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        version: u64,
    }
    let parsed: Signed = serde_json::from_slice(file).map_err(|e| TufError::Malformed {
        what: what.to_owned(),
        source: Box::new(e),
    })?;
    Ok(parsed.signed.meta.get(role).map_or(0, |m| m.version))
}

/// The committed snapshot and targets versions: the snapshot the timestamp names, and the
/// targets that snapshot names.
fn committed_versions(dir: &Path, timestamp: &[u8]) -> Result<(u64, u64), TufError> {
    let snapshot = meta_version(timestamp, TIMESTAMP, "snapshot.json")?;
    let name = format!("{snapshot}.snapshot.json");
    let Some(file) = read_optional(&dir.join(&name))? else {
        return Err(TufError::BadRepositoryState {
            store: dir.display().to_string(),
            reason: format!("{name}, named by the timestamp, is missing"),
        });
    };
    Ok((snapshot, meta_version(&file, &name, "targets.json")?))
}

/// Whether a stored `name` with other bytes may be overwritten: a snapshot or targets version
/// above the committed one (versions only grow, so it was never committed: it was left by a
/// publish that crashed before its timestamp).
fn overwritable(name: &str, (snapshot, targets): (u64, u64)) -> bool {
    let version = |suffix: &str| {
        name.strip_suffix(suffix)
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(v) = version(".snapshot.json") {
        return v > snapshot;
    }
    if let Some(v) = version(".targets.json") {
        return v > targets;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        for ok in [
            "timestamp.json",
            "1.root.json",
            "12.snapshot.json",
            "3.targets.json",
            "targets/0000000000000000000000000000000000000000000000000000000000000000.a.json",
        ] {
            assert!(valid_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            "root.json",
            "1.keys.json",
            "x.root.json",
            "../1.root.json",
            "targets/abc.a.json",
            "targets/0000000000000000000000000000000000000000000000000000000000000000.",
            "targets/0000000000000000000000000000000000000000000000000000000000000000.a/b",
            ".1.root.json.tmp",
        ] {
            assert!(!valid_file_name(bad), "{bad}");
        }
    }
}
