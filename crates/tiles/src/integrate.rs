//! Growing a tiled tree: from a batch of new leaf hashes to the tiles that must be written.

use crate::{TILE_HEIGHT, TileId, tile_width};
use signet_merkle::{CompactRange, Hash, TreeSize};
use std::collections::BTreeMap;

/// Why a batch could not be integrated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrateError<E> {
    /// Fetching an existing partial tile failed.
    #[error("fetching partial tile: {0}")]
    Fetch(E),
    /// A fetched partial tile has the wrong size.
    #[error("partial tile {} is {got} bytes, want {want}", .tile.path())]
    TileLength {
        /// The tile.
        tile: TileId,
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// The tree would grow past `u64::MAX` leaves.
    #[error(transparent)]
    Merkle(#[from] signet_merkle::Error),
}

/// The result of integrating a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrated {
    /// New tree size.
    pub size: TreeSize,
    /// New root hash.
    pub root: Hash,
    /// Every tile that is new or wider than before, with its full contents, level by level.
    pub tiles: Vec<(TileId, Vec<u8>)>,
}

/// Appends `leaf_hashes` to the tree whose right edge is `range` and returns the new root and
/// the tiles to write. Reads only the existing partial tiles that grow (at most one per level)
/// through `fetch_partial`. On error `range` is left unchanged; on success it is advanced.
///
/// Nothing is written here: the caller stores the tiles, and only then publishes a checkpoint
/// for the new size.
pub fn integrate<E>(
    range: &mut CompactRange,
    leaf_hashes: &[Hash],
    mut fetch_partial: impl FnMut(TileId) -> Result<Vec<u8>, E>,
) -> Result<Integrated, IntegrateError<E>> {
    let old = range.size();
    let mut next = range.clone();
    // New level-8·L hashes, grouped by tile, in order.
    let mut fresh: BTreeMap<(u8, u64), Vec<u8>> = BTreeMap::new();
    for leaf in leaf_hashes {
        next.append(*leaf, |node, hash| {
            if u32::from(node.level) % TILE_HEIGHT == 0 {
                let tile_level = node.level / 8;
                fresh
                    .entry((tile_level, node.index / 256))
                    .or_default()
                    .extend_from_slice(&hash.0);
            }
        })?;
    }
    let new = next.size();
    let mut tiles = Vec::with_capacity(fresh.len());
    for ((level, index), hashes) in fresh {
        let old_width = tile_width(level, index, old);
        let tile = TileId {
            level,
            index,
            width: tile_width(level, index, new),
        };
        let mut data = Vec::with_capacity(tile.byte_len());
        if old_width > 0 {
            let partial = TileId {
                level,
                index,
                width: old_width,
            };
            let existing = fetch_partial(partial).map_err(IntegrateError::Fetch)?;
            if existing.len() != partial.byte_len() {
                return Err(IntegrateError::TileLength {
                    tile: partial,
                    got: existing.len(),
                    want: partial.byte_len(),
                });
            }
            data.extend_from_slice(&existing);
        }
        data.extend_from_slice(&hashes);
        if data.len() != tile.byte_len() {
            // Cannot happen with a consistent range and size arithmetic; fail closed.
            return Err(IntegrateError::TileLength {
                tile,
                got: data.len(),
                want: tile.byte_len(),
            });
        }
        tiles.push((tile, data));
    }
    *range = next;
    Ok(Integrated {
        size: new,
        root: range.root(),
        tiles,
    })
}
