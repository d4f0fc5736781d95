//! Caches bounded in bytes, for servers that must not grow with their log.
//!
//! - [`ByteLru`]: a least-recently-used map whose items are charged their size plus
//!   [`ENTRY_OVERHEAD`]; it never holds more than its capacity.
//! - [`SharedLru`]: a [`ByteLru`] behind a lock, counting hits and misses: for answers that
//!   cannot change (a consistency proof between two sizes, an entry with its proof).
//! - [`TileCache`]: one log's tiles, the widest version seen of each, answering any width up
//!   to it. Upper levels are kept in preference to level 0: each level is 1/256 the size of
//!   the one below, so the upper levels of a billion-entry log fit in a few MiB, and with them
//!   every proof needs at most one or two level-0 tiles from the store.
//! - [`CachedStore`]: any [`LogStore`] with a [`TileCache`] in front of its tile reads.
//!
//! Each reports [`CacheStats`] (bytes held, capacity, items, hits, misses) for metrics.

use crate::{LogState, LogStore, StagedBatch, StoreError, StoredCheckpoint, StoredEntry};
use hashlink::LinkedHashMap;
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TILE_WIDTH, TileId, TileNodes};
use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Bytes an item costs a [`ByteLru`] beyond its own size: the map slot, the list links, the
/// key, and the allocation headers of the node and of a shared buffer. An estimate on the
/// high side, so that the bound holds for the memory actually used.
pub const ENTRY_OVERHEAD: usize = 128;

/// What a cache holds and how well it does, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Bytes held, items' sizes plus [`ENTRY_OVERHEAD`] each. Never more than `capacity`.
    pub bytes: usize,
    /// The bound.
    pub capacity: usize,
    /// Items held.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups the cache could not answer.
    pub misses: u64,
}

struct Slot<V> {
    value: V,
    cost: usize,
}

/// A least-recently-used map bounded in bytes: each item is charged the size given when it
/// was inserted plus [`ENTRY_OVERHEAD`], and inserting evicts the least recently used items
/// until the total is within the capacity. An item larger than the capacity is not kept.
pub struct ByteLru<K, V> {
    map: LinkedHashMap<K, Slot<V>, RandomState>,
    bytes: usize,
    capacity: usize,
}

impl<K, V> std::fmt::Debug for ByteLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteLru")
            .field("bytes", &self.bytes)
            .field("capacity", &self.capacity)
            .field("entries", &self.map.len())
            .finish()
    }
}

impl<K: std::hash::Hash + Eq, V> ByteLru<K, V> {
    /// An empty map holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ByteLru {
            map: LinkedHashMap::with_hasher(RandomState::new()),
            bytes: 0,
            capacity,
        }
    }

    /// The bound, in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes held (sizes plus overheads).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value under `key`, which becomes the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.map.to_back(key).map(|slot| &slot.value)
    }

    /// The value under `key`, leaving the order as it is.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|slot| &slot.value)
    }

    /// Keeps `value` under `key` (replacing what was there) as the most recently used item,
    /// charged `size` plus [`ENTRY_OVERHEAD`] bytes, evicting the least recently used items
    /// as needed. Returns whether it was kept: an item costing more than the capacity is not
    /// (and the previous value under `key` is gone either way).
    pub fn insert(&mut self, key: K, value: V, size: usize) -> bool {
        self.remove(&key);
        let cost = size.saturating_add(ENTRY_OVERHEAD);
        if cost > self.capacity {
            return false;
        }
        while self.bytes.saturating_add(cost) > self.capacity {
            if self.pop_lru().is_none() {
                break;
            }
        }
        self.bytes = self.bytes.saturating_add(cost);
        self.map.insert(key, Slot { value, cost });
        true
    }

    /// Removes and returns the value under `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.map.remove(key)?;
        self.bytes = self.bytes.saturating_sub(slot.cost);
        Some(slot.value)
    }

    /// Removes and returns the least recently used item.
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        let (key, slot) = self.map.pop_front()?;
        self.bytes = self.bytes.saturating_sub(slot.cost);
        Some((key, slot.value))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every method leaves the maps consistent before it can panic (it does not), so a
    // poisoned lock holds usable data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`ByteLru`] shared between threads, counting hits and misses. Values are cloned out
/// (use `Arc`s for anything large).
pub struct SharedLru<K, V> {
    lru: Mutex<ByteLru<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> std::fmt::Debug for SharedLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLru").finish_non_exhaustive()
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> SharedLru<K, V> {
    /// An empty cache holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        SharedLru {
            lru: Mutex::new(ByteLru::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value under `key` (now the most recently used), counted as a hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = lock(&self.lru).get(key).cloned();
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` under `key`, charged `size` bytes plus [`ENTRY_OVERHEAD`] (see
    /// [`ByteLru::insert`]).
    pub fn insert(&self, key: K, value: V, size: usize) -> bool {
        lock(&self.lru).insert(key, value, size)
    }

    /// Its size and hit counts.
    pub fn stats(&self) -> CacheStats {
        let lru = lock(&self.lru);
        CacheStats {
            bytes: lru.bytes(),
            capacity: lru.capacity(),
            entries: lru.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The tiles of one log, the widest version seen of each, bounded in bytes.
///
/// A store only ever replaces a tile by a wider one whose prefix is the old contents and never
/// unstages one, so a cached version answers every request for its width or narrower and is
/// never stale, even on a server that shares its database with others. A request for a width
/// the cached version does not reach is a miss, never a narrower answer.
///
/// Level-0 tiles and upper-level tiles are kept in two least-recently-used lists under one
/// bound. When it is exceeded, level-0 tiles go first, unless the upper levels hold more than
/// half of the bound: the upper levels of a log are 1/255 the size of its level 0, and every
/// proof crosses them, so they are worth keeping, while level 0 keeps at least half the room
/// for the tiles in use (the right edge of the tree, recent entries).
///
/// Beside the tiles it keeps, under the same bound, the nodes of tiles that proofs have
/// computed ([`TileNodes`], 511 hashes for a full tile), the widest version of each, so that a
/// proof through a kept tile needs no hashing; they take at most half of the bound and are
/// evicted last.
pub struct TileCache {
    inner: Mutex<Tiles>,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Tiles {
    /// Level-0 tiles by index.
    leaves: ByteLru<u64, Arc<[u8]>>,
    /// Tiles of level 1 and up by (level, index).
    upper: ByteLru<(u8, u64), Arc<[u8]>>,
    /// The nodes of tiles that proofs have read, the widest version of each, by (level,
    /// index); at most half the bound on its own (see [`TileCache`]).
    nodes: ByteLru<(u8, u64), Arc<TileNodes>>,
    capacity: usize,
}

impl Tiles {
    fn get(&mut self, level: u8, index: u64) -> Option<&Arc<[u8]>> {
        if level == 0 {
            self.leaves.get(&index)
        } else {
            self.upper.get(&(level, index))
        }
    }

    fn insert(&mut self, level: u8, index: u64, data: Arc<[u8]>) {
        let size = data.len();
        if level == 0 {
            self.leaves.insert(index, data, size);
        } else {
            self.upper.insert((level, index), data, size);
        }
        self.evict();
    }

    /// Keeps the total within the bound: tiles go first, as the type's docs say; tile nodes
    /// only once no tile is left.
    fn evict(&mut self) {
        while self.bytes() > self.capacity {
            let upper_first = self.upper.bytes() > self.capacity / 2 || self.leaves.is_empty();
            let evicted = if upper_first {
                self.upper.pop_lru().is_some()
            } else {
                self.leaves.pop_lru().is_some()
            };
            if !evicted && self.nodes.pop_lru().is_none() {
                break;
            }
        }
    }

    fn bytes(&self) -> usize {
        self.leaves
            .bytes()
            .saturating_add(self.upper.bytes())
            .saturating_add(self.nodes.bytes())
    }
}

/// Whether `tile` names a width a tile can have (1 to 256 hashes).
fn valid_width(tile: TileId) -> bool {
    tile.width > 0 && u64::from(tile.width) <= TILE_WIDTH
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl TileCache {
    /// An empty cache holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        TileCache {
            inner: Mutex::new(Tiles {
                // Each list may use the whole bound; `Tiles::insert` keeps their sum within it.
                leaves: ByteLru::new(capacity),
                upper: ByteLru::new(capacity),
                nodes: ByteLru::new(capacity / 2),
                capacity,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached contents of each tile at the width asked for, where a version at least that
    /// wide is cached; counts hits and misses.
    pub fn get(&self, tiles: &[TileId]) -> Vec<Option<Vec<u8>>> {
        let found: Vec<Option<Arc<[u8]>>> = {
            let mut inner = lock(&self.inner);
            tiles
                .iter()
                .map(|tile| {
                    let data = inner.get(tile.level, tile.index)?;
                    (valid_width(*tile) && data.len() >= tile.byte_len()).then(|| Arc::clone(data))
                })
                .collect()
        };
        // Copy outside the lock.
        let out: Vec<Option<Vec<u8>>> = found
            .iter()
            .zip(tiles)
            .map(|(data, tile)| {
                data.as_ref()
                    .and_then(|d| d.get(..tile.byte_len()))
                    .map(<[u8]>::to_vec)
            })
            .collect();
        let hits = out.iter().filter(|d| d.is_some()).count() as u64;
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses
            .fetch_add(tiles.len() as u64 - hits, Ordering::Relaxed);
        out
    }

    /// Records `data` as the contents of `tile` at its width, unless a version at least as
    /// wide is cached. Data of another length than the width says is not kept.
    pub fn insert(&self, tile: TileId, data: &[u8]) {
        if !valid_width(tile) || data.len() != tile.byte_len() {
            return;
        }
        let mut inner = lock(&self.inner);
        if inner
            .get(tile.level, tile.index)
            .is_some_and(|old| old.len() >= data.len())
        {
            return;
        }
        inner.insert(tile.level, tile.index, Arc::from(data));
    }

    /// The kept nodes of tile `tile`'s level and index, at its width or wider (see
    /// [`LogStore::kept_tile_nodes`]); counted as a hit when found. Not counted when not: the
    /// tile read that follows counts as the hit or the miss.
    pub fn nodes(&self, tile: TileId) -> Option<Arc<TileNodes>> {
        let found = if valid_width(tile) {
            lock(&self.inner)
                .nodes
                .get(&(tile.level, tile.index))
                .filter(|n| n.width() >= usize::from(tile.width))
                .cloned()
        } else {
            None
        };
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Keeps the nodes of `tile` unless nodes at least as wide are kept. A tile only ever
    /// grows by appending hashes, so the nodes of a wider version answer for every narrower
    /// one (the complete subtrees of the prefix are the same).
    pub fn keep_nodes(&self, tile: TileId, nodes: &Arc<TileNodes>) {
        if !valid_width(tile) || nodes.width() != usize::from(tile.width) {
            return;
        }
        let mut inner = lock(&self.inner);
        if inner
            .nodes
            .peek(&(tile.level, tile.index))
            .is_some_and(|old| old.width() >= nodes.width())
        {
            return;
        }
        inner.nodes.insert(
            (tile.level, tile.index),
            Arc::clone(nodes),
            nodes.memory_bytes(),
        );
        inner.evict();
    }

    /// Records the tiles of a batch the store has just staged (full contents at their width).
    /// Call it only once the stage succeeded: a batch that failed may be staged again with
    /// other entries.
    pub fn insert_staged(&self, tiles: &[(TileId, Vec<u8>)]) {
        for (tile, data) in tiles {
            self.insert(*tile, data);
        }
    }

    /// [`LogStore::read_tiles`] through the cache: what it lacks is read from `store` in one
    /// call and kept.
    ///
    /// # Errors
    /// The store's, or [`StoreError::Corrupt`] if it answers for another number of tiles.
    pub async fn read_through<S: LogStore + ?Sized>(
        &self,
        store: &S,
        tiles: &[TileId],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut out = self.get(tiles);
        let (missing_at, missing): (Vec<usize>, Vec<TileId>) = out
            .iter()
            .zip(tiles)
            .enumerate()
            .filter(|(_, (data, _))| data.is_none())
            .map(|(i, (_, tile))| (i, *tile))
            .unzip();
        if missing.is_empty() {
            return Ok(out);
        }
        let read = store.read_tiles(&missing).await?;
        if read.len() != missing.len() {
            return Err(StoreError::Corrupt {
                what: "tile read",
                detail: format!("{} answers for {} tiles", read.len(), missing.len()),
            });
        }
        for ((tile, i), data) in missing.into_iter().zip(missing_at).zip(read) {
            if let Some(d) = &data {
                self.insert(tile, d);
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = data;
            }
        }
        Ok(out)
    }

    /// Its size and hit counts.
    pub fn stats(&self) -> CacheStats {
        let inner = lock(&self.inner);
        CacheStats {
            bytes: inner.bytes(),
            capacity: inner.capacity,
            entries: inner.leaves.len() + inner.upper.len() + inner.nodes.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// A [`LogStore`] whose tile reads go through a [`TileCache`]: tiles read are kept, and so are
/// the tiles of every batch staged through it. Everything else goes straight to the store.
#[derive(Debug)]
pub struct CachedStore<S> {
    store: S,
    tiles: Arc<TileCache>,
}

impl<S: LogStore> CachedStore<S> {
    /// `store` behind `tiles` (which may be shared with other handles on the same log).
    pub fn new(store: S, tiles: Arc<TileCache>) -> Self {
        CachedStore { store, tiles }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// The cache.
    pub fn tiles(&self) -> &Arc<TileCache> {
        &self.tiles
    }
}

impl<S: LogStore> LogStore for CachedStore<S> {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        let tiles = batch.tiles.clone();
        self.store.stage_batch(batch).await?;
        self.tiles.insert_staged(&tiles);
        Ok(())
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        self.store
            .publish_checkpoint(expected_previous, checkpoint)
            .await
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        self.store.state().await
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.tiles.read_through(&self.store, tiles).await
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.read_entry_bundle(bundle).await
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        self.store.read_entry(index).await
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        self.store.find_leaves(leaf_hashes).await
    }

    fn kept_tile_nodes(&self, tile: TileId) -> Option<Arc<TileNodes>> {
        self.tiles.nodes(tile)
    }

    fn keep_tile_nodes(&self, tile: TileId, nodes: &Arc<TileNodes>) {
        self.tiles.keep_nodes(tile, nodes);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The hash at `position` of tile (`level`, `index`) in the one true tree of these tests:
    /// any prefix served can be checked against it.
    fn hash_at(level: u8, index: u64, position: usize) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[0] = level;
        h[1..9].copy_from_slice(&index.to_be_bytes());
        h[9..17].copy_from_slice(&(position as u64).to_be_bytes());
        h
    }

    fn contents(tile: TileId) -> Vec<u8> {
        (0..usize::from(tile.width))
            .flat_map(|p| hash_at(tile.level, tile.index, p))
            .collect()
    }

    fn tile(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    /// A tiny xorshift generator: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn byte_lru_stays_within_its_bound_and_evicts_least_recent() {
        let mut lru: ByteLru<u32, Vec<u8>> = ByteLru::new(10 * (100 + ENTRY_OVERHEAD));
        for k in 0..10 {
            assert!(lru.insert(k, vec![0; 100], 100));
        }
        assert_eq!(lru.len(), 10);
        assert_eq!(lru.bytes(), lru.capacity());
        // Touch 0: 1 is now the least recent.
        assert!(lru.get(&0).is_some());
        assert!(lru.insert(10, vec![0; 100], 100));
        assert!(lru.peek(&0).is_some());
        assert!(lru.peek(&1).is_none());
        // Far beyond the bound, with sizes of every kind.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for k in 11..10_000 {
            let size = usize::try_from(rng.below(700)).unwrap();
            lru.insert(k, vec![0; size], size);
            assert!(lru.bytes() <= lru.capacity(), "{} bytes", lru.bytes());
        }
        // Too large alone: not kept, and the old value under its key is gone.
        assert!(lru.insert(5, vec![0; 1], 1));
        assert!(!lru.insert(5, Vec::new(), lru.capacity()));
        assert!(lru.peek(&5).is_none());
        // Replacing charges the new size only.
        let mut lru: ByteLru<u32, ()> = ByteLru::new(1000);
        lru.insert(1, (), 500);
        lru.insert(1, (), 100);
        assert_eq!(lru.bytes(), 100 + ENTRY_OVERHEAD);
        assert_eq!(lru.remove(&1), Some(()));
        assert_eq!(lru.bytes(), 0);
    }

    #[test]
    fn shared_lru_counts_and_stays_within_its_bound() {
        let cache: SharedLru<(u64, u64), Arc<str>> = SharedLru::new(64 * 1024);
        assert_eq!(cache.get(&(1, 2)), None);
        cache.insert((1, 2), Arc::from("proof"), 5);
        assert_eq!(cache.get(&(1, 2)).as_deref(), Some("proof"));
        for i in 0..10_000u64 {
            let body: Arc<str> = Arc::from("x".repeat(usize::try_from(i % 900).unwrap()));
            cache.insert((i, i + 1), Arc::clone(&body), body.len());
            assert!(cache.stats().bytes <= 64 * 1024);
        }
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 1));
        assert_eq!(stats.capacity, 64 * 1024);
        assert!(stats.entries > 0);
    }

    /// Random inserts and reads far beyond the bound: the cache never holds more than its
    /// bound, and every answer is the true prefix at the width asked for, never a narrower
    /// version standing in for a wider request.
    #[test]
    fn tile_cache_is_bounded_and_never_answers_wrong() {
        let capacity = 40 * (8192 + ENTRY_OVERHEAD);
        let cache = TileCache::new(capacity);
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut served = 0;
        for _ in 0..50_000 {
            let level = u8::try_from(rng.below(4)).unwrap();
            let index = rng.below(if level == 0 { 300 } else { 20 });
            let width = u16::try_from(rng.below(258)).unwrap();
            let t = tile(level, index, width);
            if rng.below(2) == 0 {
                let data = if (1..=256).contains(&width) {
                    contents(t)
                } else {
                    vec![7; usize::from(width) * 32]
                };
                cache.insert(t, &data);
            } else if let Some(data) = cache.get(&[t]).pop().unwrap() {
                served += 1;
                assert!((1..=256).contains(&width), "invalid width {width} answered");
                assert_eq!(data, contents(t), "wrong contents for {t:?}");
            }
            assert!(cache.stats().bytes <= capacity);
        }
        assert!(served > 1000, "only {served} answers");
        // Wrong lengths are never kept.
        let cache = TileCache::new(capacity);
        cache.insert(tile(0, 1, 2), &[0; 32]);
        assert_eq!(cache.stats().entries, 0);
    }

    /// A narrower version never answers a wider request; a wider one answers every narrower
    /// request and replaces the narrower one, and the narrower one never replaces it back.
    #[test]
    fn tile_cache_keeps_the_widest() {
        let cache = TileCache::new(1 << 20);
        cache.insert(tile(0, 3, 2), &contents(tile(0, 3, 2)));
        assert_eq!(cache.get(&[tile(0, 3, 3)]), vec![None]);
        assert_eq!(
            cache.get(&[tile(0, 3, 1)]),
            vec![Some(contents(tile(0, 3, 1)))]
        );
        cache.insert(tile(0, 3, 5), &contents(tile(0, 3, 5)));
        cache.insert(tile(0, 3, 2), &contents(tile(0, 3, 2)));
        assert_eq!(
            cache.get(&[tile(0, 3, 4), tile(0, 3, 6), tile(1, 3, 1), tile(0, 3, 0)]),
            vec![Some(contents(tile(0, 3, 4))), None, None, None]
        );
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.hits, stats.misses), (1, 2, 4));
    }

    /// Upper-level tiles survive a flood of level-0 tiles, up to half the bound.
    #[test]
    fn tile_cache_prefers_upper_levels() {
        let cost = 8192 + ENTRY_OVERHEAD;
        let cache = TileCache::new(10 * cost);
        let upper: Vec<TileId> = (0..4).map(|i| tile(1 + (i % 2) as u8, i, 256)).collect();
        for t in &upper {
            cache.insert(*t, &contents(*t));
        }
        for i in 0..1000 {
            cache.insert(tile(0, i, 256), &contents(tile(0, i, 256)));
        }
        let got = cache.get(&upper);
        assert!(got.iter().all(Option::is_some));
        // The newest level-0 tiles are there, the oldest are not.
        assert!(cache.get(&[tile(0, 999, 256)])[0].is_some());
        assert!(cache.get(&[tile(0, 0, 256)])[0].is_none());
        // Upper levels beyond half the bound give way, least recent first.
        for i in 0..20 {
            cache.insert(tile(1, 100 + i, 256), &contents(tile(1, 100 + i, 256)));
        }
        let stats = cache.stats();
        assert!(stats.bytes <= 10 * cost);
        assert!(cache.get(&[tile(0, 999, 256)])[0].is_some());
        assert!(cache.get(&[tile(1, 119, 256)])[0].is_some());
        assert!(cache.get(&[tile(1, 100, 256)])[0].is_none());
    }

    /// Through a store: misses are read and kept, staged tiles are kept only after the stage
    /// succeeded, and the answers equal the store's.
    #[tokio::test]
    async fn cached_store_reads_through_and_keeps_staged_tiles() {
        let store = CachedStore::new(crate::MemoryStore::new(), Arc::new(TileCache::new(1 << 20)));
        let batch = |from: u64, to: u64| StagedBatch {
            expected_size: TreeSize(from),
            entries: (from..to)
                .map(|i| crate::StagedEntry {
                    leaf_hash: signet_merkle::hash_leaf(&i.to_be_bytes()),
                    data: i.to_be_bytes().to_vec(),
                    timestamp_ms: 1,
                })
                .collect(),
            tiles: vec![(
                tile(0, 0, u16::try_from(to).unwrap()),
                contents(tile(0, 0, u16::try_from(to).unwrap())),
            )],
            bundles: Vec::new(),
        };
        store.stage_batch(batch(0, 3)).await.unwrap();
        assert_eq!(store.tiles().stats().entries, 1);
        // A stage that fails keeps nothing.
        assert!(store.stage_batch(batch(0, 5)).await.is_err());
        assert_eq!(
            store.read_tiles(&[tile(0, 0, 5)]).await.unwrap(),
            vec![None]
        );
        let got = store
            .read_tiles(&[tile(0, 0, 2), tile(0, 0, 3), tile(0, 0, 4)])
            .await
            .unwrap();
        assert_eq!(
            got,
            vec![
                Some(contents(tile(0, 0, 2))),
                Some(contents(tile(0, 0, 3))),
                None
            ]
        );
        assert_eq!(
            got,
            store
                .inner()
                .read_tiles(&[tile(0, 0, 2), tile(0, 0, 3), tile(0, 0, 4)])
                .await
                .unwrap()
        );
    }

    /// Proofs through a cache that keeps tile nodes: the first proof computes and keeps the
    /// nodes of the tiles it crosses, later ones read them (hits, no tile reads), and every
    /// proof verifies against the tree's root, with partial tiles at the right edge. A wider
    /// version's nodes answer for a narrower one, never the reverse; the nodes count against
    /// the bound.
    #[tokio::test]
    async fn proofs_read_kept_tile_nodes() {
        use signet_merkle::{CompactRange, LeafIndex, hash_leaf, verify_inclusion};
        let total: u64 = 256 * 3 + 77;
        let leaves: Vec<Hash> = (0..total).map(|i| hash_leaf(&i.to_be_bytes())).collect();
        let mut range = CompactRange::new();
        let integrated =
            signet_tiles::integrate(&mut range, &leaves, |_| Err::<Vec<u8>, ()>(())).unwrap();
        let store = CachedStore::new(crate::MemoryStore::new(), Arc::new(TileCache::new(1 << 20)));
        store
            .stage_batch(StagedBatch {
                expected_size: TreeSize(0),
                entries: (0..total)
                    .map(|i| crate::StagedEntry {
                        leaf_hash: leaves[usize::try_from(i).unwrap()],
                        data: i.to_be_bytes().to_vec(),
                        timestamp_ms: 1,
                    })
                    .collect(),
                tiles: integrated.tiles.clone(),
                bundles: Vec::new(),
            })
            .await
            .unwrap();
        let size = TreeSize(total);
        let (leaves, root) = (&leaves, integrated.root);
        let prove = |i: u64| {
            let store = &store;
            async move {
                let proof = crate::inclusion_proof(store, LeafIndex(i), size)
                    .await
                    .unwrap();
                verify_inclusion(
                    &leaves[usize::try_from(i).unwrap()],
                    LeafIndex(i),
                    size,
                    &proof,
                    &root.0,
                )
                .unwrap();
            }
        };
        prove(5).await;
        let kept = store.tiles().nodes(tile(0, 0, 256));
        assert!(
            kept.is_some(),
            "the nodes of the full tile crossed are kept"
        );
        let edge = store
            .tiles()
            .nodes(tile(0, 3, 77))
            .expect("the right edge's nodes are kept");
        assert_eq!(edge.width(), 77);
        assert!(
            store.tiles().nodes(tile(0, 3, 60)).is_some(),
            "wider nodes answer narrower"
        );
        assert!(
            store.tiles().nodes(tile(0, 3, 78)).is_none(),
            "never narrower for wider"
        );
        // Narrower nodes never replace wider ones.
        let narrow = Arc::new(TileNodes::from_row(&contents(tile(0, 3, 10))).unwrap());
        store.tiles().keep_nodes(tile(0, 3, 10), &narrow);
        assert_eq!(store.tiles().nodes(tile(0, 3, 1)).unwrap().width(), 77);
        let before = store.tiles().stats();
        for i in [0, 1, 100, 255, 256, 600, total - 1] {
            prove(i).await;
        }
        let after = store.tiles().stats();
        assert!(after.hits > before.hits);
        assert!(after.bytes <= after.capacity);
        // A store without a cache gives the same proofs.
        for i in [0, 300, total - 1] {
            assert_eq!(
                crate::inclusion_proof(&store, LeafIndex(i), size)
                    .await
                    .unwrap(),
                crate::inclusion_proof(store.inner(), LeafIndex(i), size)
                    .await
                    .unwrap()
            );
        }
        // Bounded: a cache too small for a tile's nodes keeps none.
        let tiny = TileCache::new(1000);
        tiny.keep_nodes(tile(0, 0, 256), kept.as_ref().unwrap());
        assert_eq!(tiny.nodes(tile(0, 0, 256)), None);
        assert!(tiny.stats().bytes <= 1000);
    }
}
