//! Where the log keeps each entry's `extra_data` (the `PrecertChainEntry`: precertificate and
//! issuer chain), keyed by the entry's leaf hash, and the SCT it issued for each
//! precertificate ([`IssuedSct`]), keyed by the precertificate, so that a precertificate
//! submitted again gets its first SCT back instead of a new entry.
//!
//! The Merkle leaf must be exactly RFC 6962's `MerkleTreeLeaf`, and signet-log hashes the whole
//! stored entry, so the extra data cannot ride in the entry itself: it lives in this side table.
//! It is written (durably) before the leaf is submitted, so every logged leaf has its extra
//! data and its SCT record; a crash in between leaves unreferenced rows, which are harmless
//! (the log checks that a recorded SCT's leaf is in the tree before it answers with it).
//!
//! [`RedbExtraDataStore`] group-commits: concurrent `put`s share one durable transaction
//! (one fsync), and each returns only once its own transaction has committed.

use crate::CtError;
use redb::{Database, Durability, TableDefinition};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Leaf hash → `PrecertChainEntry`.
const EXTRA_DATA: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("ct_extra_data");
/// Precertificate identity → the SCT issued for it ([`IssuedSct::encode`]).
const ISSUED_SCTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("ct_issued_scts");

/// The SCT the log issued for one precertificate: enough to answer a later submission of the
/// same precertificate with the same SCT, and to rebuild the leaf it logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSct {
    /// The precertificate's identity: SHA-256 of the issuer key hash and the `TBSCertificate`
    /// the leaf holds (the leaf without its timestamp), see `CtLog::add_pre_chain`.
    pub precert: [u8; 32],
    /// The SCT's (and the leaf's) timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The SCT's TLS `DigitallySigned` signature.
    pub signature: Vec<u8>,
}

impl IssuedSct {
    /// The stored form: the timestamp (8 bytes, big-endian), then the signature.
    fn encode(&self) -> Vec<u8> {
        let mut out = self.timestamp_ms.to_be_bytes().to_vec();
        out.extend_from_slice(&self.signature);
        out
    }

    fn decode(precert: [u8; 32], data: &[u8]) -> Result<IssuedSct, CtError> {
        let corrupt = || CtError::Corrupt {
            what: "issued SCT record",
            detail: "shorter than its timestamp".into(),
        };
        let timestamp: [u8; 8] = data
            .get(..8)
            .and_then(|t| t.try_into().ok())
            .ok_or_else(corrupt)?;
        Ok(IssuedSct {
            precert,
            timestamp_ms: u64::from_be_bytes(timestamp),
            signature: data.get(8..).ok_or_else(corrupt)?.to_vec(),
        })
    }
}

/// Durable storage for `extra_data`, keyed by leaf hash, and for the SCT issued for each
/// precertificate, keyed by the precertificate's identity.
///
/// # Contract
/// - `put` returns `Ok` only once both rows are durable. Writing the same key again with the
///   same value is allowed (keys are leaf hashes, which cover the timestamp, so they do not
///   repeat); a new SCT for a precertificate replaces the old record.
/// - Methods may block (fsync): the log calls them on tokio's blocking pool.
/// - Calls may run concurrently.
pub trait ExtraDataStore: Send + Sync + 'static {
    /// Durably stores `extra_data` for the entry with `leaf_hash`, and `sct` as the SCT issued
    /// for its precertificate.
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8], sct: &IssuedSct) -> Result<(), CtError>;
    /// The extra data of each leaf hash, `None` where absent.
    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError>;
    /// The SCT recorded for the precertificate `precert`, if any.
    fn issued_sct(&self, precert: &[u8; 32]) -> Result<Option<IssuedSct>, CtError>;
}

/// An in-memory [`ExtraDataStore`] for tests: nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryExtraDataStore {
    rows: Mutex<HashMap<[u8; 32], Vec<u8>>>,
    scts: Mutex<HashMap<[u8; 32], IssuedSct>>,
}

impl MemoryExtraDataStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ExtraDataStore for MemoryExtraDataStore {
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8], sct: &IssuedSct) -> Result<(), CtError> {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(leaf_hash, extra_data.to_vec());
        self.scts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sct.precert, sct.clone());
        Ok(())
    }

    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        Ok(leaf_hashes.iter().map(|h| rows.get(h).cloned()).collect())
    }

    fn issued_sct(&self, precert: &[u8; 32]) -> Result<Option<IssuedSct>, CtError> {
        let scts = self.scts.lock().unwrap_or_else(|e| e.into_inner());
        Ok(scts.get(precert).cloned())
    }
}

/// How [`RedbExtraDataStore`] groups concurrent `put`s into one durable transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// How long the writer that will commit the next group waits for more rows before it
    /// commits. Zero (the default): it commits at once, and the group is every row put while
    /// the previous commit was fsyncing, so a lone submitter never waits.
    pub max_wait: Duration,
    /// The writer stops waiting once this many rows are pending. It is not a cap: a group
    /// takes every pending row.
    pub max_rows: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_wait: Duration::ZERO,
            max_rows: 256,
        }
    }
}

/// An [`ExtraDataStore`] in its own redb file (two tables), with group commit: concurrent
/// `put`s share one transaction committed with [`Durability::Immediate`] (one fsync).
///
/// # Group commit
/// A `put` appends its row to the pending group and waits. If no commit is running, the
/// caller becomes the writer: it takes the whole pending group (after waiting up to
/// [`GroupCommit::max_wait`] for it to fill), writes it in one transaction, commits it
/// durably, and wakes every `put` of the group with the commit's outcome. Rows put while a
/// commit runs form the next group, so under load each fsync covers many rows and a lone
/// `put` costs one fsync, as before.
///
/// # Crash safety
/// Each `put` returns `Ok` only after the transaction holding its row has committed with
/// `Durability::Immediate`, i.e. after the fsync, so the [`ExtraDataStore`] contract is kept
/// row by row. A crash before that commit loses the whole group, but none of its `put`s has
/// returned, so none of their leaves was submitted and no SCT was issued for them. If the
/// commit fails, every `put` of the group gets the error. Waiting callers block a thread
/// each (the log runs them on tokio's blocking pool).
#[derive(Debug)]
pub struct RedbExtraDataStore {
    db: Database,
    group: GroupCommit,
    state: Mutex<GroupState>,
    changed: Condvar,
    commits: AtomicU64,
}

/// The rows waiting for the next commit, and whether a commit is running.
#[derive(Debug, Default)]
struct GroupState {
    rows: Vec<Row>,
    /// The group the pending rows belong to; its outcome is set once it is committed.
    group: Arc<Group>,
    committing: bool,
}

/// One `put`: extra data by leaf hash, and the SCT issued.
#[derive(Debug)]
struct Row {
    leaf_hash: [u8; 32],
    extra_data: Vec<u8>,
    sct: IssuedSct,
}

/// The outcome of one group's commit, shared by its `put`s.
#[derive(Debug, Default)]
struct Group {
    outcome: OnceLock<Result<(), String>>,
}

fn backend(op: &'static str) -> impl Fn(redb::Error) -> CtError {
    move |e| CtError::ExtraData {
        op,
        detail: e.to_string(),
    }
}

/// Clears `committing` and wakes everyone when the writer is done, also if it unwinds.
struct WriterGuard<'a> {
    store: &'a RedbExtraDataStore,
    group: Arc<Group>,
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        // Only if the commit panicked is the outcome still unset.
        let _ = self
            .group
            .outcome
            .set(Err("the commit of this group did not finish".into()));
        let mut state = self.store.lock_state();
        state.committing = false;
        drop(state);
        self.store.changed.notify_all();
    }
}

impl RedbExtraDataStore {
    /// Opens or creates the file at `path`, with the default [`GroupCommit`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CtError> {
        Self::open_with(path, GroupCommit::default())
    }

    /// The bound of the file's page cache: 16 MiB. redb's default (1 GiB) would let the
    /// cache grow with the log; extra data is read only by `get-entries` and the replay check.
    pub const CACHE_BYTES: usize = 16 << 20;

    /// Opens or creates the file at `path`, grouping `put`s as `group` says.
    pub fn open_with(path: impl AsRef<Path>, group: GroupCommit) -> Result<Self, CtError> {
        let db = Database::builder()
            .create_with_file_format_v3(true)
            .set_cache_size(Self::CACHE_BYTES)
            .create(path)
            .map_err(|e| backend("open")(e.into()))?;
        let txn = db.begin_write().map_err(|e| backend("open")(e.into()))?;
        txn.open_table(EXTRA_DATA)
            .map_err(|e| backend("open")(e.into()))?;
        txn.open_table(ISSUED_SCTS)
            .map_err(|e| backend("open")(e.into()))?;
        txn.commit().map_err(|e| backend("open")(e.into()))?;
        Ok(RedbExtraDataStore {
            db,
            group,
            state: Mutex::new(GroupState::default()),
            changed: Condvar::new(),
            commits: AtomicU64::new(0),
        })
    }

    /// How many transactions `put` has committed since this store was opened (each one
    /// fsync), for metrics and tests.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn lock_state(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `rows` in one transaction and commits it durably.
    fn commit_rows(&self, rows: &[Row]) -> Result<(), CtError> {
        let err = backend("put");
        let mut txn = self.db.begin_write().map_err(|e| err(e.into()))?;
        txn.set_durability(Durability::Immediate);
        {
            let mut table = txn.open_table(EXTRA_DATA).map_err(|e| err(e.into()))?;
            let mut scts = txn.open_table(ISSUED_SCTS).map_err(|e| err(e.into()))?;
            for row in rows {
                table
                    .insert(&row.leaf_hash, row.extra_data.as_slice())
                    .map_err(|e| err(e.into()))?;
                scts.insert(&row.sct.precert, row.sct.encode().as_slice())
                    .map_err(|e| err(e.into()))?;
            }
        }
        txn.commit().map_err(|e| err(e.into()))?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Runs as the writer: waits for the group to fill (up to `max_wait`), takes it, commits
    /// it and publishes the outcome. Called with `committing` just set.
    fn write_group<'a>(
        &'a self,
        mut state: MutexGuard<'a, GroupState>,
    ) -> MutexGuard<'a, GroupState> {
        if !self.group.max_wait.is_zero() {
            let deadline = Instant::now() + self.group.max_wait;
            while state.rows.len() < self.group.max_rows {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        let rows = std::mem::take(&mut state.rows);
        let group = std::mem::take(&mut state.group);
        drop(state);
        let guard = WriterGuard {
            store: self,
            group: Arc::clone(&group),
        };
        let outcome = self.commit_rows(&rows).map_err(|e| e.to_string());
        let _ = group.outcome.set(outcome);
        drop(guard);
        self.lock_state()
    }
}

impl ExtraDataStore for RedbExtraDataStore {
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8], sct: &IssuedSct) -> Result<(), CtError> {
        let mut state = self.lock_state();
        state.rows.push(Row {
            leaf_hash,
            extra_data: extra_data.to_vec(),
            sct: sct.clone(),
        });
        let mine = Arc::clone(&state.group);
        if state.committing && !self.group.max_wait.is_zero() {
            // A writer may be waiting for the group to fill.
            self.changed.notify_all();
        }
        loop {
            if let Some(outcome) = mine.outcome.get() {
                return outcome
                    .clone()
                    .map_err(|detail| CtError::ExtraData { op: "put", detail });
            }
            if state.committing {
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            } else {
                // No commit is running, so the row is still pending and `mine` is the
                // pending group: commit it.
                state.committing = true;
                state = self.write_group(state);
            }
        }
    }

    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError> {
        let err = backend("get");
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(EXTRA_DATA).map_err(|e| err(e.into()))?;
        leaf_hashes
            .iter()
            .map(|h| {
                Ok(table
                    .get(h)
                    .map_err(|e| err(e.into()))?
                    .map(|v| v.value().to_vec()))
            })
            .collect()
    }

    fn issued_sct(&self, precert: &[u8; 32]) -> Result<Option<IssuedSct>, CtError> {
        let err = backend("get");
        let txn = self.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(ISSUED_SCTS).map_err(|e| err(e.into()))?;
        table
            .get(precert)
            .map_err(|e| err(e.into()))?
            .map(|v| IssuedSct::decode(*precert, v.value()))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sct(n: u8) -> IssuedSct {
        IssuedSct {
            precert: [n; 32],
            timestamp_ms: u64::from(n) << 40,
            signature: vec![4, 3, 0, 2, n, n],
        }
    }

    #[test]
    fn redb_rows_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.redb");
        {
            let store = RedbExtraDataStore::open(&path).unwrap();
            store.put([1; 32], b"one", &sct(1)).unwrap();
        }
        let store = RedbExtraDataStore::open(&path).unwrap();
        assert_eq!(
            store.get(&[[1; 32], [2; 32]]).unwrap(),
            vec![Some(b"one".to_vec()), None]
        );
        assert_eq!(store.issued_sct(&[1; 32]).unwrap(), Some(sct(1)));
        assert_eq!(store.issued_sct(&[2; 32]).unwrap(), None);
        let memory = MemoryExtraDataStore::new();
        memory.put([1; 32], b"one", &sct(1)).unwrap();
        assert_eq!(memory.issued_sct(&[1; 32]).unwrap(), Some(sct(1)));
        assert_eq!(memory.issued_sct(&[2; 32]).unwrap(), None);
    }

    #[test]
    fn concurrent_puts_share_one_commit_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.redb");
        let n = 16u8;
        {
            // The first writer waits (up to a minute) until all 16 rows are pending.
            let store = Arc::new(
                RedbExtraDataStore::open_with(
                    &path,
                    GroupCommit {
                        max_wait: Duration::from_secs(60),
                        max_rows: usize::from(n),
                    },
                )
                .unwrap(),
            );
            let threads: Vec<_> = (0..n)
                .map(|i| {
                    let store = Arc::clone(&store);
                    std::thread::spawn(move || store.put([i; 32], &[i; 100], &sct(i)))
                })
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
            assert_eq!(store.commits(), 1);
        }
        {
            // Without a wait, a lone put is committed at once, on its own.
            let store = RedbExtraDataStore::open(&path).unwrap();
            store.put([200; 32], b"later", &sct(200)).unwrap();
            assert_eq!(store.commits(), 1);
        }
        let store = RedbExtraDataStore::open(&path).unwrap();
        let keys: Vec<[u8; 32]> = (0..n).map(|i| [i; 32]).chain([[200; 32]]).collect();
        let rows = store.get(&keys).unwrap();
        for (i, row) in (0..n).zip(&rows) {
            assert_eq!(row.as_deref(), Some(&[i; 100][..]));
        }
        assert_eq!(rows.last().unwrap().as_deref(), Some(&b"later"[..]));
    }

    #[test]
    fn default_group_commit_never_loses_a_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.redb");
        let (threads, per_thread) = (32u8, 8u8);
        {
            let store = Arc::new(RedbExtraDataStore::open(&path).unwrap());
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = Arc::clone(&store);
                    std::thread::spawn(move || {
                        for j in 0..per_thread {
                            let mut key = [0u8; 32];
                            key[0] = t;
                            key[1] = j;
                            key[31] = 1;
                            store.put(key, &[t, j], &sct(t)).unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let puts = u64::from(threads) * u64::from(per_thread);
            assert!(store.commits() >= 1 && store.commits() <= puts);
        }
        let store = RedbExtraDataStore::open(&path).unwrap();
        for t in 0..threads {
            for j in 0..per_thread {
                let mut key = [0u8; 32];
                key[0] = t;
                key[1] = j;
                key[31] = 1;
                assert_eq!(store.get(&[key]).unwrap(), vec![Some(vec![t, j])]);
            }
        }
    }
}
