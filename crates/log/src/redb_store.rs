//! The embedded default store: one redb database file.

use crate::store::{bundle_prefix, tile_prefix};
use crate::{LogState, LogStore, StagedBatch, StoreError, StoreOp, StoredCheckpoint, StoredEntry};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId};
use std::path::Path;
use std::sync::Arc;

/// Entry index → `timestamp_ms (8 bytes BE) || data`.
const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
/// Leaf hash → entry index (the first one with that hash).
const LEAVES: TableDefinition<[u8; 32], u64> = TableDefinition::new("leaves");
/// (tile level, tile index) → widest tile contents.
const TILES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("tiles");
/// Entry bundle index → widest bundle contents.
const BUNDLES: TableDefinition<u64, &[u8]> = TableDefinition::new("bundles");
/// Named values: see the `KEY_*` constants.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// `u64` BE: the layout version of these tables.
const KEY_FORMAT: &str = "format";
/// `u64` BE: number of staged entries.
const KEY_STAGED: &str = "staged_size";
/// `size (u64 BE) || timestamp_ms (u64 BE) || note`: the latest checkpoint.
const KEY_CHECKPOINT: &str = "checkpoint";

/// The table layout written by this code.
const FORMAT_VERSION: u64 = 1;

/// A [`LogStore`] in one redb file.
///
/// Each phase of an append is one write transaction committed with
/// [`Durability::Immediate`]: `commit` returns after the data is fsynced. Writes run on
/// tokio's blocking pool, so calling them needs a tokio runtime. Reads are single read
/// transactions run on the caller's thread: they are short (microseconds from redb's page
/// cache), and run concurrently with the writer thanks to redb's MVCC.
///
/// New files use redb's v3 file format, which redb 3 and later open directly.
///
/// redb keeps pages it read or wrote in a cache of its own, bounded by the size given to
/// [`RedbStore::open_with_cache`] ([`RedbStore::DEFAULT_CACHE_BYTES`] with
/// [`RedbStore::open`]; redb's own default, 1 GiB, is not used). Past it, reads go to the
/// operating system's page cache, which is not the process's memory.
#[derive(Debug, Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    cache_bytes: usize,
}

fn backend(op: StoreOp) -> impl Fn(redb::Error) -> StoreError {
    move |e| StoreError::Backend {
        op,
        source: Arc::new(e),
    }
}

/// Shorthand for `map_err` from any redb error type.
trait OrBackend<T> {
    fn or_backend(self, op: StoreOp) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OrBackend<T> for Result<T, E> {
    fn or_backend(self, op: StoreOp) -> Result<T, StoreError> {
        self.map_err(|e| backend(op)(e.into()))
    }
}

fn decode_u64(what: &'static str, raw: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = raw.try_into().map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{} bytes, want 8", raw.len()),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

fn decode_checkpoint(raw: &[u8]) -> Result<StoredCheckpoint, StoreError> {
    let corrupt = || StoreError::Corrupt {
        what: "checkpoint",
        detail: format!("{} bytes, want at least 16", raw.len()),
    };
    let (size, rest) = raw.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let (ts, note) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
    Ok(StoredCheckpoint {
        size: TreeSize(u64::from_be_bytes(*size)),
        timestamp_ms: u64::from_be_bytes(*ts),
        note: note.to_vec(),
    })
}

fn encode_checkpoint(cp: &StoredCheckpoint) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + cp.note.len());
    out.extend_from_slice(&cp.size.0.to_be_bytes());
    out.extend_from_slice(&cp.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&cp.note);
    out
}

fn decode_entry(raw: &[u8]) -> Result<StoredEntry, StoreError> {
    let (ts, data) = raw
        .split_first_chunk::<8>()
        .ok_or_else(|| StoreError::Corrupt {
            what: "entry",
            detail: format!("{} bytes, want at least 8", raw.len()),
        })?;
    Ok(StoredEntry {
        data: data.to_vec(),
        timestamp_ms: u64::from_be_bytes(*ts),
    })
}

/// Reads the staged size and checkpoint from an open META table.
fn read_state(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    op: StoreOp,
) -> Result<LogState, StoreError> {
    let staged = match meta.get(KEY_STAGED).or_backend(op)? {
        Some(v) => decode_u64("staged size", v.value())?,
        None => 0,
    };
    let checkpoint = match meta.get(KEY_CHECKPOINT).or_backend(op)? {
        Some(v) => Some(decode_checkpoint(v.value())?),
        None => None,
    };
    Ok(LogState {
        staged_size: TreeSize(staged),
        checkpoint,
    })
}

impl RedbStore {
    /// redb's page cache with [`RedbStore::open`]: 64 MiB.
    pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

    /// Opens the database at `path`, creating it (and its tables) if it does not exist, with
    /// a page cache of [`RedbStore::DEFAULT_CACHE_BYTES`]. This blocks: call it at startup,
    /// or from a blocking task.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_cache(path, Self::DEFAULT_CACHE_BYTES)
    }

    /// [`RedbStore::open`] with a page cache of at most `cache_bytes` (redb keeps 9/10 of it
    /// for pages read, 1/10 for pages written and not yet committed).
    pub fn open_with_cache(path: impl AsRef<Path>, cache_bytes: usize) -> Result<Self, StoreError> {
        let op = StoreOp::State;
        let db = Database::builder()
            .create_with_file_format_v3(true)
            .set_cache_size(cache_bytes)
            .create(path)
            .or_backend(op)?;
        let mut txn = db.begin_write().or_backend(op)?;
        txn.set_durability(Durability::Immediate);
        {
            txn.open_table(ENTRIES).or_backend(op)?;
            txn.open_table(LEAVES).or_backend(op)?;
            txn.open_table(TILES).or_backend(op)?;
            txn.open_table(BUNDLES).or_backend(op)?;
            let mut meta = txn.open_table(META).or_backend(op)?;
            let found = match meta.get(KEY_FORMAT).or_backend(op)? {
                Some(v) => Some(decode_u64("format version", v.value())?),
                None => None,
            };
            match found {
                None => {
                    meta.insert(KEY_FORMAT, FORMAT_VERSION.to_be_bytes().as_slice())
                        .or_backend(op)?;
                }
                Some(FORMAT_VERSION) => {}
                Some(found) => {
                    return Err(StoreError::FormatVersion {
                        found,
                        want: FORMAT_VERSION,
                    });
                }
            }
        }
        txn.commit().or_backend(op)?;
        Ok(RedbStore {
            db: Arc::new(db),
            cache_bytes,
        })
    }

    /// The bound of redb's page cache this store was opened with.
    pub fn cache_bytes(&self) -> usize {
        self.cache_bytes
    }

    /// Runs a write on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        op: StoreOp,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Backend {
                op,
                source: Arc::new(e),
            })?
    }
}

fn stage(db: &Database, batch: StagedBatch) -> Result<(), StoreError> {
    let op = StoreOp::StageBatch;
    let mut txn = db.begin_write().or_backend(op)?;
    txn.set_durability(Durability::Immediate);
    {
        let mut meta = txn.open_table(META).or_backend(op)?;
        let found = read_state(&meta, op)?.staged_size.0;
        if found != batch.expected_size.0 {
            // Dropping the transaction aborts it.
            return Err(StoreError::StagedConflict {
                expected: batch.expected_size.0,
                found,
            });
        }
        let mut entries = txn.open_table(ENTRIES).or_backend(op)?;
        let mut leaves = txn.open_table(LEAVES).or_backend(op)?;
        let mut next = found;
        let mut value = Vec::new();
        for entry in &batch.entries {
            value.clear();
            value.extend_from_slice(&entry.timestamp_ms.to_be_bytes());
            value.extend_from_slice(&entry.data);
            entries.insert(next, value.as_slice()).or_backend(op)?;
            if leaves.get(entry.leaf_hash.0).or_backend(op)?.is_none() {
                leaves.insert(entry.leaf_hash.0, next).or_backend(op)?;
            }
            next += 1;
        }
        let mut tiles = txn.open_table(TILES).or_backend(op)?;
        for (tile, data) in &batch.tiles {
            tiles
                .insert((tile.level, tile.index), data.as_slice())
                .or_backend(op)?;
        }
        let mut bundles = txn.open_table(BUNDLES).or_backend(op)?;
        for (bundle, data) in &batch.bundles {
            bundles
                .insert(bundle.index, data.as_slice())
                .or_backend(op)?;
        }
        meta.insert(KEY_STAGED, next.to_be_bytes().as_slice())
            .or_backend(op)?;
    }
    txn.commit().or_backend(op)
}

fn publish(
    db: &Database,
    expected_previous: Option<TreeSize>,
    checkpoint: StoredCheckpoint,
) -> Result<(), StoreError> {
    let op = StoreOp::PublishCheckpoint;
    let mut txn = db.begin_write().or_backend(op)?;
    txn.set_durability(Durability::Immediate);
    {
        let mut meta = txn.open_table(META).or_backend(op)?;
        let state = read_state(&meta, op)?;
        let found = state.checkpoint.as_ref().map(|c| c.size.0);
        if found != expected_previous.map(|s| s.0) {
            return Err(StoreError::CheckpointConflict {
                expected: expected_previous.map(|s| s.0),
                found,
            });
        }
        if checkpoint.size > state.staged_size {
            return Err(StoreError::CheckpointBeyondStaged {
                size: checkpoint.size.0,
                staged: state.staged_size.0,
            });
        }
        if let Some(previous) = found.filter(|&p| p > checkpoint.size.0) {
            return Err(StoreError::CheckpointShrinks {
                size: checkpoint.size.0,
                previous,
            });
        }
        meta.insert(KEY_CHECKPOINT, encode_checkpoint(&checkpoint).as_slice())
            .or_backend(op)?;
    }
    txn.commit().or_backend(op)
}

impl LogStore for RedbStore {
    async fn stage_batch(&self, batch: StagedBatch) -> Result<(), StoreError> {
        self.write(StoreOp::StageBatch, move |db| stage(db, batch))
            .await
    }

    async fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> Result<(), StoreError> {
        self.write(StoreOp::PublishCheckpoint, move |db| {
            publish(db, expected_previous, checkpoint)
        })
        .await
    }

    async fn state(&self) -> Result<LogState, StoreError> {
        let op = StoreOp::State;
        let txn = self.db.begin_read().or_backend(op)?;
        let meta = txn.open_table(META).or_backend(op)?;
        read_state(&meta, op)
    }

    async fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let op = StoreOp::ReadTiles;
        let txn = self.db.begin_read().or_backend(op)?;
        let table = txn.open_table(TILES).or_backend(op)?;
        let mut out = Vec::with_capacity(tiles.len());
        for tile in tiles {
            let data = table.get((tile.level, tile.index)).or_backend(op)?;
            out.push(data.and_then(|d| tile_prefix(d.value(), *tile).map(<[u8]>::to_vec)));
        }
        Ok(out)
    }

    async fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let op = StoreOp::ReadEntryBundle;
        let txn = self.db.begin_read().or_backend(op)?;
        let table = txn.open_table(BUNDLES).or_backend(op)?;
        let data = table.get(bundle.index).or_backend(op)?;
        Ok(data.and_then(|d| bundle_prefix(d.value(), bundle.width).map(<[u8]>::to_vec)))
    }

    async fn read_entry(&self, index: LeafIndex) -> Result<Option<StoredEntry>, StoreError> {
        let op = StoreOp::ReadEntry;
        let txn = self.db.begin_read().or_backend(op)?;
        let table = txn.open_table(ENTRIES).or_backend(op)?;
        match table.get(index.0).or_backend(op)? {
            Some(raw) => Ok(Some(decode_entry(raw.value())?)),
            None => Ok(None),
        }
    }

    async fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        let op = StoreOp::FindLeaves;
        let txn = self.db.begin_read().or_backend(op)?;
        let table = txn.open_table(LEAVES).or_backend(op)?;
        let mut out = Vec::with_capacity(leaf_hashes.len());
        for hash in leaf_hashes {
            out.push(
                table
                    .get(hash.0)
                    .or_backend(op)?
                    .map(|v| LeafIndex(v.value())),
            );
        }
        Ok(out)
    }
}
