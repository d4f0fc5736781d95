//! The store a log lives in: redb in the data directory, or a schema of a PostgreSQL database.
//! [`AnyStore`] delegates to either and times every durable write for `/metrics` (entries per
//! batch, stage and publish commit latency: the fsync or the PostgreSQL `COMMIT`).

use crate::metrics::{Api, Metrics};
use signet_log::{
    LogState, LogStore, PostgresStore, RedbStore, StagedBatch, StoreError, StoreOp,
    StoredCheckpoint, StoredEntry,
};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use std::sync::Arc;
use std::time::Instant;

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
        match &self.backend {
            Backend::Redb(s) => s.read_tiles(tiles).await,
            Backend::Postgres(s) => s.read_tiles(tiles).await,
        }
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
