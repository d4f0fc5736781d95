//! One suite, run against every store: appends, duplicates, compare-and-swap, reopening,
//! proofs, checkpoint formats, refusal to open a damaged log. `check_log` runs after each test.
//! The suite is `signet_testkit::log::conformance`; PostgreSQL runs it in `postgres.rs`, the
//! server's caching store in signet-server.

signet_testkit::log_store_conformance!(memory, signet_testkit::log::MemoryFixture::start());
signet_testkit::log_store_conformance!(redb, signet_testkit::log::RedbFixture::start());

/// A [`signet_log::MemoryStore`] behind a tile cache that holds three full tiles, so that the
/// larger trees of the suite evict all the time: every answer must still be the store's, and
/// a narrower cached tile must never stand in for a wider one.
struct TinyTileCache(std::sync::Arc<signet_log::CachedStore<signet_log::MemoryStore>>);

impl TinyTileCache {
    async fn start() -> Option<Self> {
        let tiles = signet_log::TileCache::new(3 * (8192 + signet_log::ENTRY_OVERHEAD));
        Some(TinyTileCache(std::sync::Arc::new(
            signet_log::CachedStore::new(
                signet_log::MemoryStore::new(),
                std::sync::Arc::new(tiles),
            ),
        )))
    }
}

impl signet_testkit::log::Fixture for TinyTileCache {
    type Store = signet_log::CachedStore<signet_log::MemoryStore>;
    fn store(&self) -> std::sync::Arc<Self::Store> {
        std::sync::Arc::clone(&self.0)
    }
    fn reopen(&mut self, old: std::sync::Arc<Self::Store>) -> std::sync::Arc<Self::Store> {
        old
    }
}

signet_testkit::log_store_conformance!(tiny_tile_cache, TinyTileCache::start());
