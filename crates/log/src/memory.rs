//! An in-memory [`LogStore`] for tests and tools. Nothing survives the process.

use crate::store::{bundle_prefix, tile_prefix};
use crate::{LogState, LogStore, StagedBatch, StoreError, StoredCheckpoint, StoredEntry};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A [`LogStore`] kept in memory. Every operation is atomic under one mutex, so it follows the
/// store contract exactly, durability aside ("durable" means: until the value is dropped).
///
/// Wrap it in [`crate::FaultyStore`] to make operations fail before or after they take effect.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<StoredEntry>,
    leaves: HashMap<Hash, u64>,
    /// Widest version of each tile, by (level, index).
    tiles: HashMap<(u8, u64), Vec<u8>>,
    /// Widest version of each entry bundle, by index.
    bundles: HashMap<u64, Vec<u8>>,
    checkpoint: Option<StoredCheckpoint>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-written: every method validates first and
        // then mutates without calling anything that can fail.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn staged_size(inner: &Inner) -> u64 {
    inner.entries.len() as u64
}

impl LogStore for MemoryStore {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let found = staged_size(&inner);
        if found != batch.expected_size.0 {
            return Err(StoreError::StagedConflict {
                expected: batch.expected_size.0,
                found,
            });
        }
        for (offset, entry) in batch.entries.into_iter().enumerate() {
            let index = found + offset as u64;
            inner.leaves.entry(entry.leaf_hash).or_insert(index);
            inner.entries.push(StoredEntry {
                data: entry.data,
                timestamp_ms: entry.timestamp_ms,
            });
        }
        for (tile, data) in batch.tiles {
            inner.tiles.insert((tile.level, tile.index), data);
        }
        for (bundle, data) in batch.bundles {
            inner.bundles.insert(bundle.index, data);
        }
        Ok(())
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let found = inner.checkpoint.as_ref().map(|c| c.size.0);
        if found != expected_previous.map(|s| s.0) {
            return Err(StoreError::CheckpointConflict {
                expected: expected_previous.map(|s| s.0),
                found,
            });
        }
        let staged = staged_size(&inner);
        if checkpoint.size.0 > staged {
            return Err(StoreError::CheckpointBeyondStaged {
                size: checkpoint.size.0,
                staged,
            });
        }
        if let Some(previous) = found.filter(|&p| p > checkpoint.size.0) {
            return Err(StoreError::CheckpointShrinks {
                size: checkpoint.size.0,
                previous,
            });
        }
        inner.checkpoint = Some(checkpoint);
        Ok(())
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        let inner = self.lock();
        Ok(LogState {
            staged_size: TreeSize(staged_size(&inner)),
            checkpoint: inner.checkpoint.clone(),
        })
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let inner = self.lock();
        Ok(tiles
            .iter()
            .map(|tile| {
                inner
                    .tiles
                    .get(&(tile.level, tile.index))
                    .and_then(|data| tile_prefix(data, *tile))
                    .map(<[u8]>::to_vec)
            })
            .collect())
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .bundles
            .get(&bundle.index)
            .and_then(|data| bundle_prefix(data, bundle.width))
            .map(<[u8]>::to_vec))
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        let inner = self.lock();
        Ok(usize::try_from(index.0)
            .ok()
            .and_then(|i| inner.entries.get(i))
            .cloned())
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        let inner = self.lock();
        Ok(leaf_hashes
            .iter()
            .map(|h| inner.leaves.get(h).copied().map(LeafIndex))
            .collect())
    }
}
