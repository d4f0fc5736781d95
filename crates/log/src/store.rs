//! The storage trait and the values that go through it.

use crate::StoreError;
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_tiles::{EntryBundleId, TileId, TileNodes};
use std::future::Future;
use std::sync::Arc;

/// One new entry, at the index implied by its position in its [`StagedBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedEntry {
    /// RFC 6962 leaf hash of `data`; the key of the duplicate index.
    pub leaf_hash: Hash,
    /// The entry, exactly as hashed.
    pub data: Vec<u8>,
    /// When the sequencer integrated the entry (ms since the Unix epoch); Rekor v1's
    /// `integratedTime`. Not part of the leaf.
    pub timestamp_ms: u64,
}

/// Phase 1 of an append: the new entries and every tile and entry bundle they create or widen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StagedBatch {
    /// The staged size the batch extends; the first entry goes at this index.
    pub expected_size: TreeSize,
    /// The new entries, in index order.
    pub entries: Vec<StagedEntry>,
    /// New and widened tiles (full contents).
    pub tiles: Vec<(TileId, Vec<u8>)>,
    /// New and widened entry bundles (full contents).
    pub bundles: Vec<(EntryBundleId, Vec<u8>)>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub size: TreeSize,
    /// Its time (ms since the Unix epoch); strictly increasing from one checkpoint to the next.
    pub timestamp_ms: u64,
    /// The signed note, in wire form.
    pub note: Vec<u8>,
}

/// What a store holds, in two numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// Number of entries durably staged (phase 1). Never less than the checkpoint's size.
    pub staged_size: TreeSize,
    /// The latest published checkpoint (phase 2), if any.
    pub checkpoint: Option<StoredCheckpoint>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The entry, exactly as hashed.
    pub data: Vec<u8>,
    /// When it was integrated (see [`StagedEntry::timestamp_ms`]).
    pub timestamp_ms: u64,
}

/// The operations of [`LogStore`], to name them in errors, metrics and fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreOp {
    /// [`LogStore::stage_batch`].
    StageBatch,
    /// [`LogStore::publish_checkpoint`].
    PublishCheckpoint,
    /// [`LogStore::state`].
    State,
    /// [`LogStore::read_tiles`].
    ReadTiles,
    /// [`LogStore::read_entry_bundle`].
    ReadEntryBundle,
    /// [`LogStore::read_entry`].
    ReadEntry,
    /// [`LogStore::find_leaves`].
    FindLeaves,
}

impl StoreOp {
    /// Every operation.
    pub const ALL: [StoreOp; 7] = [
        StoreOp::StageBatch,
        StoreOp::PublishCheckpoint,
        StoreOp::State,
        StoreOp::ReadTiles,
        StoreOp::ReadEntryBundle,
        StoreOp::ReadEntry,
        StoreOp::FindLeaves,
    ];

    /// The method's name, e.g. `stage_batch`.
    pub fn name(self) -> &'static str {
        match self {
            StoreOp::StageBatch => "stage_batch",
            StoreOp::PublishCheckpoint => "publish_checkpoint",
            StoreOp::State => "state",
            StoreOp::ReadTiles => "read_tiles",
            StoreOp::ReadEntryBundle => "read_entry_bundle",
            StoreOp::ReadEntry => "read_entry",
            StoreOp::FindLeaves => "find_leaves",
        }
    }
}

impl std::fmt::Display for StoreOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Durable storage for one transparency log.
///
/// # Contract
///
/// - **Durable when Ok.** A write that returned `Ok` survives a crash of the process and of the
///   machine. A write that returned `Err` may or may not have happened (a fault *after* the
///   commit is possible); callers find out by reading [`LogStore::state`] again.
/// - **One writer.** Only one sequencer calls [`LogStore::stage_batch`] and
///   [`LogStore::publish_checkpoint`] at a time. The caller guarantees this (one process, or a
///   lease); the store does not lock. The compare-and-swap checks below catch a second writer
///   after the fact, never prevent one.
/// - **Reads run concurrently with writes and with each other.** A read sees each write whole
///   or not at all.
/// - **Compare-and-swap commits.** `stage_batch` succeeds only if the staged size is
///   `expected_size`; `publish_checkpoint` only if the current checkpoint's size is
///   `expected_previous`. Otherwise they return a conflict and write nothing.
/// - **No retries inside.** Every error reaches the caller, who decides.
/// - **Append-only.** Entries and leaf-index rows are never rewritten; a tile or bundle is only
///   replaced by a wider version of itself, whose prefix is the old contents.
///
/// Methods return `impl Future + Send` so that implementations may be `async` (sqlx) or hand
/// work to a blocking pool (redb); the sequencer is generic over the store, so no `dyn` is
/// needed.
pub trait LogStore: Send + Sync + 'static {
    /// Phase 1: durably stores the batch's entries at indices `expected_size..`, their
    /// leaf-hash index rows (keeping the first index if a hash is already present), its tiles
    /// and entry bundles, and raises the staged size. One atomic write.
    fn stage_batch(
        &self,
        batch: StagedBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Phase 2: durably replaces the checkpoint, if the current one has size
    /// `expected_previous` (`None`: there is none). Rejects a checkpoint larger than the staged
    /// size or smaller than the current one.
    fn publish_checkpoint(
        &self,
        expected_previous: Option<TreeSize>,
        checkpoint: StoredCheckpoint,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The staged size and the latest checkpoint, read together.
    fn state(&self) -> impl Future<Output = Result<LogState, StoreError>> + Send;

    /// The contents of each tile at exactly the width asked for, or `None` where the staged tree
    /// does not have that many hashes in that tile. A narrower width is the prefix of a wider
    /// one, so stores may keep only the widest version.
    fn read_tiles(
        &self,
        tiles: &[TileId],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send;

    /// The entry bundle at exactly the width asked for, or `None` if not that many entries are
    /// staged in it.
    fn read_entry_bundle(
        &self,
        bundle: EntryBundleId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The entry at `index`, or `None` if it is not staged.
    fn read_entry(
        &self,
        index: LeafIndex,
    ) -> impl Future<Output = Result<Option<StoredEntry>, StoreError>> + Send;

    /// For each leaf hash, the index of the entry with that hash, if one is staged.
    fn find_leaves(
        &self,
        leaf_hashes: &[Hash],
    ) -> impl Future<Output = Result<Vec<Option<LeafIndex>>, StoreError>> + Send;

    /// The nodes of `tile` kept from an earlier proof, at its width or wider, when this store
    /// keeps them (a cache in front of a store does); proofs then need no hashing inside that
    /// tile. A tile only grows by appending, so the complete subtrees of a narrower version are
    /// those of any wider one, and kept nodes are never stale. Default: none kept.
    fn kept_tile_nodes(&self, _tile: TileId) -> Option<Arc<TileNodes>> {
        None
    }

    /// Offers the nodes of `tile` at its width for keeping (see
    /// [`LogStore::kept_tile_nodes`]). Default: not kept.
    fn keep_tile_nodes(&self, _tile: TileId, _nodes: &Arc<TileNodes>) {}
}

/// The first `width` entries of an encoded entry bundle, or `None` if it has fewer or the
/// width is not 1 to 256.
pub(crate) fn bundle_prefix(data: &[u8], width: u16) -> Option<&[u8]> {
    if width == 0 || u64::from(width) > signet_tiles::TILE_WIDTH {
        return None;
    }
    let mut end = 0usize;
    for _ in 0..width {
        let len = data.get(end..end.checked_add(2)?)?;
        let len = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
        end = end.checked_add(2)?.checked_add(len)?;
        if end > data.len() {
            return None;
        }
    }
    data.get(..end)
}

/// The first `width` hashes of a tile, or `None` if it has fewer or the width is not 1 to 256.
pub(crate) fn tile_prefix(data: &[u8], tile: TileId) -> Option<&[u8]> {
    if tile.width == 0 || u64::from(tile.width) > signet_tiles::TILE_WIDTH {
        return None;
    }
    data.get(..tile.byte_len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bundle_prefixes() {
        let bundle = signet_tiles::encode_entry_bundle(&[b"ab".as_slice(), b"", b"c"]).unwrap();
        assert_eq!(bundle_prefix(&bundle, 0), None);
        assert_eq!(bundle_prefix(&bundle, 1), Some(&bundle[..4]));
        assert_eq!(bundle_prefix(&bundle, 2), Some(&bundle[..6]));
        assert_eq!(bundle_prefix(&bundle, 3), Some(&bundle[..]));
        assert_eq!(bundle_prefix(&bundle, 4), None);
        assert_eq!(bundle_prefix(&bundle[..5], 2), None);
    }
}
