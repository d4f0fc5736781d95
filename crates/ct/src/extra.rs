//! Where the log keeps each entry's `extra_data` (the `PrecertChainEntry`: precertificate and
//! issuer chain), keyed by the entry's leaf hash.
//!
//! The Merkle leaf must be exactly RFC 6962's `MerkleTreeLeaf`, and signet-log hashes the whole
//! stored entry, so the extra data cannot ride in the entry itself: it lives in this side table.
//! It is written (durably) before the leaf is submitted, so every logged leaf has its extra
//! data; a crash in between leaves an unreferenced row, which is harmless.

use crate::CtError;
use redb::{Database, Durability, TableDefinition};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Leaf hash → `PrecertChainEntry`.
const EXTRA_DATA: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("ct_extra_data");

/// Durable storage for `extra_data`, keyed by leaf hash.
///
/// # Contract
/// - `put` returns `Ok` only once the row is durable. Writing the same key again with the same
///   value is allowed (keys are leaf hashes, which cover the timestamp, so they do not repeat).
/// - Methods may block (fsync): the log calls them on tokio's blocking pool.
/// - Calls may run concurrently.
pub trait ExtraDataStore: Send + Sync + 'static {
    /// Durably stores `extra_data` for the entry with `leaf_hash`.
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8]) -> Result<(), CtError>;
    /// The extra data of each leaf hash, `None` where absent.
    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError>;
}

/// An in-memory [`ExtraDataStore`] for tests: nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryExtraDataStore {
    rows: Mutex<HashMap<[u8; 32], Vec<u8>>>,
}

impl MemoryExtraDataStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ExtraDataStore for MemoryExtraDataStore {
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8]) -> Result<(), CtError> {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(leaf_hash, extra_data.to_vec());
        Ok(())
    }

    fn get(&self, leaf_hashes: &[[u8; 32]]) -> Result<Vec<Option<Vec<u8>>>, CtError> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        Ok(leaf_hashes.iter().map(|h| rows.get(h).cloned()).collect())
    }
}

/// An [`ExtraDataStore`] in its own redb file (one table), each `put` one transaction
/// committed with [`Durability::Immediate`] (fsynced).
#[derive(Debug)]
pub struct RedbExtraDataStore {
    db: Database,
}

fn backend(op: &'static str) -> impl Fn(redb::Error) -> CtError {
    move |e| CtError::ExtraData {
        op,
        detail: e.to_string(),
    }
}

impl RedbExtraDataStore {
    /// Opens or creates the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CtError> {
        let db = Database::builder()
            .create_with_file_format_v3(true)
            .create(path)
            .map_err(|e| backend("open")(e.into()))?;
        let txn = db.begin_write().map_err(|e| backend("open")(e.into()))?;
        txn.open_table(EXTRA_DATA)
            .map_err(|e| backend("open")(e.into()))?;
        txn.commit().map_err(|e| backend("open")(e.into()))?;
        Ok(RedbExtraDataStore { db })
    }
}

impl ExtraDataStore for RedbExtraDataStore {
    fn put(&self, leaf_hash: [u8; 32], extra_data: &[u8]) -> Result<(), CtError> {
        let err = backend("put");
        let mut txn = self.db.begin_write().map_err(|e| err(e.into()))?;
        txn.set_durability(Durability::Immediate);
        {
            let mut table = txn.open_table(EXTRA_DATA).map_err(|e| err(e.into()))?;
            table
                .insert(leaf_hash, extra_data)
                .map_err(|e| err(e.into()))?;
        }
        txn.commit().map_err(|e| err(e.into()))
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redb_rows_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.redb");
        {
            let store = RedbExtraDataStore::open(&path).unwrap();
            store.put([1; 32], b"one").unwrap();
        }
        let store = RedbExtraDataStore::open(&path).unwrap();
        assert_eq!(
            store.get(&[[1; 32], [2; 32]]).unwrap(),
            vec![Some(b"one".to_vec()), None]
        );
    }
}
