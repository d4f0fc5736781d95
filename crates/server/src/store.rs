//! The store a log lives in: redb in the data directory, or a schema of a PostgreSQL database.
//! [`AnyStore`] delegates to either and times every durable write for `/metrics` (entries per
//! batch, stage and publish commit latency: the fsync or the PostgreSQL `COMMIT`).
//!
//! It also keeps full tiles (256 hashes) in memory: a full tile never changes once staged (a
//! store only ever replaces a tile by a wider one), so the cache can never be stale, on any
//! server sharing a database. It saves a database round trip per tile for tile reads and for
//! every proof. At most [`TILE_CACHE_ENTRIES`] tiles (8 KiB each); when full it is cleared.

use crate::metrics::{Api, Metrics};
use signet_log::{
    LogState, LogStore, PostgresStore, RedbStore, StagedBatch, StoreError, StoreOp,
    StoredCheckpoint, StoredEntry,
};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Most full tiles kept in memory per log (8 KiB each: 16 MiB).
pub(crate) const TILE_CACHE_ENTRIES: usize = 2048;

/// Full tiles by (level, index).
type TileCache = HashMap<(u8, u64), Vec<u8>>;

/// Which backend.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Redb(Arc<RedbStore>),
    Postgres(PostgresStore),
}

/// One log's store, with its metrics.
pub(crate) struct AnyStore {
    pub(crate) backend: Backend,
    api: Api,
    metrics: Arc<Metrics>,
    /// Full tiles by (level, index).
    full_tiles: RwLock<TileCache>,
}

impl std::fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl AnyStore {
    pub(crate) fn new(backend: Backend, api: Api, metrics: Arc<Metrics>) -> AnyStore {
        AnyStore {
            backend,
            api,
            metrics,
            full_tiles: RwLock::new(HashMap::new()),
        }
    }
}

impl LogStore for AnyStore {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        let entries = batch.entries.len();
        let start = Instant::now();
        let result = match &self.backend {
            Backend::Redb(s) => s.stage_batch(batch).await,
            Backend::Postgres(s) => s.stage_batch(batch).await,
        };
        self.metrics.commit(
            self.api,
            StoreOp::StageBatch,
            start.elapsed(),
            result.is_ok(),
        );
        if result.is_ok() {
            self.metrics.batch(self.api, entries);
        }
        result
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let start = Instant::now();
        let result = match &self.backend {
            Backend::Redb(s) => s.publish_checkpoint(expected_previous, checkpoint).await,
            Backend::Postgres(s) => s.publish_checkpoint(expected_previous, checkpoint).await,
        };
        self.metrics.commit(
            self.api,
            StoreOp::PublishCheckpoint,
            start.elapsed(),
            result.is_ok(),
        );
        result
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        match &self.backend {
            Backend::Redb(s) => s.state().await,
            Backend::Postgres(s) => s.state().await,
        }
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let full = |t: &TileId| u64::from(t.width) == signet_tiles::TILE_WIDTH;
        let mut out: Vec<Option<Vec<u8>>> = vec![None; tiles.len()];
        let mut missing = Vec::new();
        let mut missing_at = Vec::new();
        {
            let cache = self.full_tiles.read().unwrap_or_else(|e| e.into_inner());
            for (i, tile) in tiles.iter().enumerate() {
                match cache.get(&(tile.level, tile.index)).filter(|_| full(tile)) {
                    Some(data) => {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(data.clone());
                        }
                    }
                    None => {
                        missing.push(*tile);
                        missing_at.push(i);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let read = match &self.backend {
            Backend::Redb(s) => s.read_tiles(&missing).await?,
            Backend::Postgres(s) => s.read_tiles(&missing).await?,
        };
        let mut fresh = Vec::new();
        for ((tile, i), data) in missing.iter().zip(missing_at).zip(read) {
            if let Some(d) = &data
                && full(tile)
            {
                fresh.push(((tile.level, tile.index), d.clone()));
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = data;
            }
        }
        if !fresh.is_empty() {
            let mut cache = self.full_tiles.write().unwrap_or_else(|e| e.into_inner());
            if cache.len() + fresh.len() > TILE_CACHE_ENTRIES {
                cache.clear();
            }
            cache.extend(fresh);
        }
        Ok(out)
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Redb(s) => s.read_entry_bundle(bundle).await,
            Backend::Postgres(s) => s.read_entry_bundle(bundle).await,
        }
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        match &self.backend {
            Backend::Redb(s) => s.read_entry(index).await,
            Backend::Postgres(s) => s.read_entry(index).await,
        }
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        match &self.backend {
            Backend::Redb(s) => s.find_leaves(leaf_hashes).await,
            Backend::Postgres(s) => s.find_leaves(leaf_hashes).await,
        }
    }
}
