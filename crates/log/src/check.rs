//! A whole-log consistency checker (an fsck), for tests and for operators.

use crate::{CheckError, LogStore};
use signet_merkle::{Hash, LeafIndex, MemoryTree, NodeId, NodeReader, TreeSize, hash_leaf};
use signet_note::{Checkpoint, NoteVerifiers, open_note};
use signet_tiles::{EntryBundleId, TILE_WIDTH, TileId, encode_entry_bundle, tiles_for_size};
use std::collections::HashMap;

/// What [`check_log`] verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheck {
    /// Entries staged.
    pub staged_size: TreeSize,
    /// The published checkpoint.
    pub checkpoint: Checkpoint,
    /// Its timestamp.
    pub checkpoint_timestamp_ms: u64,
}

/// Reads the whole log through `store` and checks that it is consistent:
///
/// - the checkpoint opens with `verifiers`, is a checkpoint, and its size is the recorded one
///   and no more than the staged size;
/// - every entry below the staged size is stored and none past it; no entry appears twice; the
///   leaf index maps each entry's hash to its index; entry timestamps never decrease and those
///   the checkpoint covers are no later than it;
/// - the root recomputed from the entries equals the checkpoint's root;
/// - every tile of the staged tree, at its full width and at narrower widths, equals the tile
///   recomputed from the entries, and so does every entry bundle; nothing wider is readable.
///
/// It holds every leaf hash in memory (32 bytes per entry) and reads every entry: meant for
/// tests and offline checks, not for a hot path.
pub async fn check_log<S: LogStore>(
    store: &S,
    verifiers: &NoteVerifiers,
) -> Result<LogCheck, CheckError> {
    let state = store.state().await?;
    let stored = state.checkpoint.ok_or(CheckError::NoCheckpoint)?;
    let opened = open_note(&stored.note, verifiers).map_err(CheckError::Note)?;
    let checkpoint = Checkpoint::parse(opened.text()).map_err(CheckError::Checkpoint)?;
    let staged = state.staged_size;
    if checkpoint.size != stored.size || stored.size > staged {
        return Err(CheckError::CheckpointSize {
            checkpoint: stored.size.0,
            in_note: checkpoint.size.0,
            staged: staged.0,
        });
    }

    // Entries, the leaf index and timestamps.
    let mut tree = MemoryTree::new();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut first_index: HashMap<Hash, u64> = HashMap::new();
    let mut last_ts = 0u64;
    for index in 0..staged.0 {
        let entry = store
            .read_entry(LeafIndex(index))
            .await?
            .ok_or(CheckError::MissingEntry { index })?;
        let leaf = hash_leaf(&entry.data);
        if let Some(&first) = first_index.get(&leaf) {
            return Err(CheckError::Duplicate {
                first,
                second: index,
            });
        }
        first_index.insert(leaf, index);
        if entry.timestamp_ms < last_ts
            || (index < stored.size.0 && entry.timestamp_ms > stored.timestamp_ms)
        {
            return Err(CheckError::EntryTimestamp {
                index,
                timestamp_ms: entry.timestamp_ms,
            });
        }
        last_ts = entry.timestamp_ms;
        tree.push(leaf);
        entries.push(entry.data);
    }
    if store.read_entry(LeafIndex(staged.0)).await?.is_some() {
        return Err(CheckError::ExtraEntry { index: staged.0 });
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| hash_leaf(e)).collect();
    let found = store.find_leaves(&leaves).await?;
    for (index, got) in found.into_iter().enumerate() {
        if got != Some(LeafIndex(index as u64)) {
            return Err(CheckError::LeafIndex {
                index: index as u64,
                found: got.map(|i| i.0),
            });
        }
    }

    // The checkpoint's root.
    let computed =
        signet_merkle::tree_root(&tree, stored.size).map_err(|missing| CheckError::TreeNode {
            size: stored.size.0,
            node: missing.0,
        })?;
    if computed != checkpoint.root_hash {
        return Err(CheckError::RootMismatch {
            size: stored.size.0,
            checkpoint: checkpoint.root_hash,
            computed,
        });
    }

    // Tiles, at full width and at narrower ones.
    for tile in tiles_for_size(staged) {
        for width in widths_to_check(tile.width) {
            let at = TileId { width, ..tile };
            let want = expected_tile(&tree, at);
            let got = store.read_tiles(&[at]).await?.into_iter().next().flatten();
            if want.is_none() || got != want {
                return Err(CheckError::TileMismatch { tile: at });
            }
        }
        if tile.width < 256 {
            let wider = TileId {
                width: tile.width + 1,
                ..tile
            };
            if store
                .read_tiles(&[wider])
                .await?
                .into_iter()
                .flatten()
                .next()
                .is_some()
            {
                return Err(CheckError::PastStaged { what: wider.path() });
            }
        }
    }

    // Entry bundles.
    for tile in tiles_for_size(staged).into_iter().filter(|t| t.level == 0) {
        for width in widths_to_check(tile.width) {
            let bundle = EntryBundleId {
                index: tile.index,
                width,
            };
            let start = usize::try_from(tile.index * TILE_WIDTH).unwrap_or(usize::MAX);
            let want = entries
                .get(start..start + usize::from(width))
                .and_then(|slice| encode_entry_bundle(slice).ok());
            let got = store.read_entry_bundle(bundle).await?;
            if want.is_none() || got != want {
                return Err(CheckError::BundleMismatch { bundle });
            }
        }
        if tile.width < 256 {
            let wider = EntryBundleId {
                index: tile.index,
                width: tile.width + 1,
            };
            if store.read_entry_bundle(wider).await?.is_some() {
                return Err(CheckError::PastStaged { what: wider.path() });
            }
        }
    }

    Ok(LogCheck {
        staged_size: staged,
        checkpoint,
        checkpoint_timestamp_ms: stored.timestamp_ms,
    })
}

/// A few widths of a tile of width `full`: itself, 1 and one less.
fn widths_to_check(full: u16) -> Vec<u16> {
    let mut widths = vec![full, 1, full.saturating_sub(1)];
    widths.retain(|&w| w > 0 && w <= full);
    widths.sort_unstable();
    widths.dedup();
    widths
}

/// A tile's contents recomputed from a whole tree in memory.
fn expected_tile(tree: &MemoryTree, tile: TileId) -> Option<Vec<u8>> {
    let level = tile.level.checked_mul(8)?;
    let first = tile.index.checked_mul(TILE_WIDTH)?;
    let nodes: Vec<NodeId> = (0..u64::from(tile.width))
        .map(|i| NodeId {
            level,
            index: first + i,
        })
        .collect();
    let hashes = tree.read_nodes(&nodes).ok()?;
    Some(hashes.iter().flat_map(|h| h.0).collect())
}
