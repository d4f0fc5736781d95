//! The store a log lives in: a redb file, or a schema of a PostgreSQL database.
//! [`AnyStore`] delegates to either and times every durable write for `/metrics` (entries per
//! batch, stage and publish commit latency: the fsync or the PostgreSQL `COMMIT`).
//!
//! It also keeps tiles in memory, the widest version read of each: a store only ever replaces
//! a tile by a wider one whose prefix is the old contents, and never unstages one, so a cached
//! version answers every request for that width or narrower and can never be stale, on any
//! server sharing a database. It saves a database round trip per tile for tile reads, for the
//! inclusion proof of every create answer, and for every other proof. At most
//! [`TILE_CACHE_ENTRIES`] tiles (8 KiB at most each); when full it is cleared.

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

/// Most tiles kept in memory per log (8 KiB at most each: 16 MiB).
pub(crate) const TILE_CACHE_ENTRIES: usize = 2048;

/// Tiles by (level, index).
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
    /// The widest version read of each tile, by (level, index).
    tiles: RwLock<TileCache>,
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
            tiles: RwLock::new(HashMap::new()),
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
        let mut out: Vec<Option<Vec<u8>>> = vec![None; tiles.len()];
        let mut missing = Vec::new();
        let mut missing_at = Vec::new();
        {
            let cache = self.tiles.read().unwrap_or_else(|e| e.into_inner());
            for (i, tile) in tiles.iter().enumerate() {
                let valid_width =
                    tile.width > 0 && u64::from(tile.width) <= signet_tiles::TILE_WIDTH;
                let cached = cache
                    .get(&(tile.level, tile.index))
                    .filter(|_| valid_width)
                    .and_then(|data| data.get(..tile.byte_len()));
                match cached {
                    Some(data) => {
                        if let Some(slot) = out.get_mut(i) {
                            *slot = Some(data.to_vec());
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
            if let Some(d) = &data {
                fresh.push(((tile.level, tile.index), d.clone()));
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = data;
            }
        }
        if !fresh.is_empty() {
            let mut cache = self.tiles.write().unwrap_or_else(|e| e.into_inner());
            if cache.len() + fresh.len() > TILE_CACHE_ENTRIES {
                cache.clear();
            }
            for (key, data) in fresh {
                let wider = cache.get(&key).is_none_or(|old| old.len() < data.len());
                if wider {
                    cache.insert(key, data);
                }
            }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use signet_log::StagedEntry;

    fn tile(width: u16) -> TileId {
        TileId {
            level: 0,
            index: 0,
            width,
        }
    }

    /// The cache answers narrower widths from a wider version, reads through for wider ones,
    /// and never invents data the store does not have.
    #[tokio::test]
    async fn tile_cache_serves_prefixes_and_reads_wider() {
        let dir = tempfile::tempdir().unwrap();
        let redb = Arc::new(RedbStore::open(dir.path().join("t.redb")).unwrap());
        let store = AnyStore::new(
            Backend::Redb(Arc::clone(&redb)),
            Api::V2,
            Arc::new(Metrics::new()),
        );
        let stage = |from: u64, to: u64| {
            let entries = (from..to)
                .map(|i| StagedEntry {
                    leaf_hash: signet_merkle::hash_leaf(&[u8::try_from(i).unwrap()]),
                    data: vec![u8::try_from(i).unwrap()],
                    timestamp_ms: 1,
                })
                .collect::<Vec<_>>();
            let hashes: Vec<u8> = (0..to)
                .flat_map(|i| [u8::try_from(i).unwrap(); 32])
                .collect();
            StagedBatch {
                expected_size: TreeSize(from),
                entries,
                tiles: vec![(tile(u16::try_from(to).unwrap()), hashes)],
                bundles: Vec::new(),
            }
        };
        redb.stage_batch(stage(0, 2)).await.unwrap();
        let two = store.read_tiles(&[tile(2)]).await.unwrap();
        assert_eq!(two[0].as_ref().unwrap().len(), 64);
        assert_eq!(store.read_tiles(&[tile(3)]).await.unwrap()[0], None);
        // The log grows behind the cache's back (another server): wider reads go to the store.
        redb.stage_batch(stage(2, 3)).await.unwrap();
        let got = store
            .read_tiles(&[tile(1), tile(3), tile(2), tile(4)])
            .await
            .unwrap();
        assert_eq!(got[0].as_deref(), Some(&[0u8; 32][..]));
        assert_eq!(got[1].as_ref().unwrap().len(), 96);
        assert_eq!(got[1].as_ref().unwrap()[64..], [2u8; 32]);
        assert_eq!(got[2], two[0]);
        assert_eq!(got[3], None);
        // Now cached at width 3; a width-0 or over-wide request is never answered from it.
        assert_eq!(store.read_tiles(&[tile(0)]).await.unwrap()[0], None);
        assert_eq!(store.read_tiles(&[tile(257)]).await.unwrap()[0], None);
    }

    /// [`AnyStore`] as the `LogStore` conformance suite takes it: over a redb file or a
    /// PostgreSQL database (a throwaway server; skipped without one). Reopening drops the
    /// wrapper, its tile cache with it, and opens the backend again.
    struct AnyStoreFixture {
        store: Option<Arc<AnyStore>>,
        reopen: Box<dyn Fn() -> Backend>,
        _redb_dir: Option<tempfile::TempDir>,
        _postgres: Option<signet_testkit::pg::PgServer>,
    }

    impl AnyStoreFixture {
        fn wrap(backend: Backend) -> Arc<AnyStore> {
            Arc::new(AnyStore::new(backend, Api::V2, Arc::new(Metrics::new())))
        }

        async fn redb() -> Option<AnyStoreFixture> {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log.redb");
            let open = move || Backend::Redb(Arc::new(RedbStore::open(&path).unwrap()));
            Some(AnyStoreFixture {
                store: Some(Self::wrap(open())),
                reopen: Box::new(open),
                _redb_dir: Some(dir),
                _postgres: None,
            })
        }

        async fn postgres() -> Option<AnyStoreFixture> {
            let server = signet_testkit::pg::PgServer::start()?;
            let url = server.create_database();
            let store = PostgresStore::connect(&url).await.unwrap();
            let open = move || {
                let url = url.clone();
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async move {
                        Backend::Postgres(PostgresStore::connect(&url).await.unwrap())
                    })
                })
            };
            Some(AnyStoreFixture {
                store: Some(Self::wrap(Backend::Postgres(store))),
                reopen: Box::new(open),
                _redb_dir: None,
                _postgres: Some(server),
            })
        }
    }

    impl signet_testkit::log::Fixture for AnyStoreFixture {
        type Store = AnyStore;
        fn store(&self) -> Arc<AnyStore> {
            Arc::clone(self.store.as_ref().unwrap())
        }
        fn reopen(&mut self, old: Arc<AnyStore>) -> Arc<AnyStore> {
            drop(old);
            let last = self.store.take().unwrap();
            assert_eq!(Arc::strong_count(&last), 1, "a store handle is still alive");
            if let Backend::Postgres(pg) = &last.backend {
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(pg.pool().close())
                });
            }
            drop(last);
            let store = Self::wrap((self.reopen)());
            self.store = Some(Arc::clone(&store));
            store
        }
    }

    signet_testkit::log_store_conformance!(conformance_redb, AnyStoreFixture::redb());
    signet_testkit::log_store_conformance!(conformance_postgres, AnyStoreFixture::postgres());
}
