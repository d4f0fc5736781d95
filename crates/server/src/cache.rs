//! How a server's memory for caches ([`crate::LogServerParts::cache_bytes`]) is shared out.
//!
//! Every cache a [`crate::LogServer`] keeps is bounded in bytes, and the bounds add up to at
//! most the budget, whatever the size of the logs:
//!
//! | cache | what | share (redb) | share (PostgreSQL) |
//! |---|---|---|---|
//! | redb page cache, each log | pages of the log's file (entries, leaf index, tiles, bundles) | the rest, halved | — |
//! | redb page cache, search index | pages of the v1 search index | 1/16 | — |
//! | tiles, each log | the widest version read or staged of each tile, upper levels first, and the inner nodes of full tiles that proofs crossed ([`signet_log::TileCache`]) | 1/8 | the rest, halved |
//! | v1 entry answers | `GET /api/v1/log/entries` answers by log index (all but the proof never changes) | 1/8 | 1/8 |
//! | v1 consistency proofs | answers of `GET /api/v1/log/proof` by (first, last) size | 1/64 | 1/64 |
//! | v2 entry bundles | `GET /api/v2/tile/entries/…` answers by (index, width), immutable | — (redb's page cache holds them) | 1/8 |
//!
//! Nothing else in the server grows with the log: the sequencer keeps the right edge of the
//! tree (one hash per level), duplicates are found through the store's leaf index (not in
//! memory), the search indexer holds one chunk of entries at a time, and a search answer at
//! most its limit. What grows with traffic is bounded by the HTTP limits (connections, body
//! buffer) and the batcher's queue. PostgreSQL connections are pooled (each with sqlx's
//! statement cache of a fixed number of statements).

/// The default budget: 256 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// The bound of each cache, from a budget (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSizes {
    /// redb's page cache of each log's file (0 on PostgreSQL): open the stores with
    /// [`signet_log::RedbStore::open_with_cache`] and this size.
    pub redb_log: usize,
    /// redb's page cache of the search index (0 on PostgreSQL): open it with
    /// `redb::Builder::set_cache_size` and this size.
    pub redb_search: usize,
    /// Each log's tile cache.
    pub tiles: usize,
    /// The Rekor v1 entry-answer cache.
    pub entries: usize,
    /// The Rekor v1 consistency-proof cache.
    pub proofs: usize,
    /// The Rekor v2 entry-bundle cache (0 on redb, whose page cache holds them).
    pub bundles: usize,
}

impl CacheSizes {
    /// The bounds for logs in redb files, within `total` bytes.
    pub const fn for_redb(total: usize) -> CacheSizes {
        let proofs = total / 64;
        let entries = total / 8;
        let tiles = total / 8;
        let redb_search = total / 16;
        let rest = total
            .saturating_sub(proofs)
            .saturating_sub(entries)
            .saturating_sub(tiles.saturating_mul(2))
            .saturating_sub(redb_search);
        CacheSizes {
            redb_log: rest / 2,
            redb_search,
            tiles,
            entries,
            proofs,
            bundles: 0,
        }
    }

    /// The bounds for logs in PostgreSQL, within `total` bytes.
    pub const fn for_postgres(total: usize) -> CacheSizes {
        let proofs = total / 64;
        let entries = total / 8;
        let bundles = total / 8;
        CacheSizes {
            redb_log: 0,
            redb_search: 0,
            tiles: total
                .saturating_sub(proofs)
                .saturating_sub(entries)
                .saturating_sub(bundles)
                / 2,
            entries,
            proofs,
            bundles,
        }
    }

    /// The sum of the bounds (both logs' caches counted).
    pub const fn total(&self) -> usize {
        self.redb_log
            .saturating_mul(2)
            .saturating_add(self.redb_search)
            .saturating_add(self.tiles.saturating_mul(2))
            .saturating_add(self.entries)
            .saturating_add(self.proofs)
            .saturating_add(self.bundles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_at_most_the_budget() {
        for total in [
            0,
            1,
            1000,
            16 << 20,
            DEFAULT_CACHE_BYTES,
            1 << 40,
            usize::MAX,
        ] {
            for sizes in [CacheSizes::for_redb(total), CacheSizes::for_postgres(total)] {
                assert!(sizes.total() <= total, "{sizes:?} over {total}");
            }
        }
        let redb = CacheSizes::for_redb(DEFAULT_CACHE_BYTES);
        assert_eq!(redb.tiles, 32 << 20);
        assert_eq!(redb.proofs, 4 << 20);
        assert_eq!(redb.redb_search, 16 << 20);
        assert_eq!(redb.entries, 32 << 20);
        assert_eq!(redb.redb_log, 70 << 20);
        assert_eq!(redb.bundles, 0);
        assert!(DEFAULT_CACHE_BYTES - redb.total() < 16);
        let pg = CacheSizes::for_postgres(DEFAULT_CACHE_BYTES);
        assert_eq!(pg.bundles, 32 << 20);
        assert!(DEFAULT_CACHE_BYTES - pg.total() < 16);
    }
}
