//! Reading tree nodes out of tiles, so proofs can be built from a tiled log.

use crate::{TILE_HEIGHT, TileId, tile_width};
use signet_merkle::{Hash, NodeId, NodeReader, TreeSize, hash_children};
use std::collections::BTreeMap;

/// Why a node could not be read from tiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileReadError<E> {
    /// The fetch function failed.
    #[error("fetching tiles: {0}")]
    Fetch(E),
    /// A fetched tile has the wrong size for its width.
    #[error("tile {} is {got} bytes, want {want}", .tile.path())]
    TileLength {
        /// The tile.
        tile: TileId,
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// The fetch function returned a different number of tiles than asked for.
    #[error("asked for {want} tiles, got {got}")]
    TileCount {
        /// Tiles received.
        got: usize,
        /// Tiles requested.
        want: usize,
    },
    /// The node is not complete in a tree of this size.
    #[error("node at level {} index {} is not in a tree of size {size}", .node.level, .node.index)]
    NodeOutOfRange {
        /// The node.
        node: NodeId,
        /// The tree size the reader was built for.
        size: u64,
    },
}

/// A [`NodeReader`] over the tiles of a tree of a given size.
///
/// `fetch` receives every distinct tile needed by one `read_nodes` call at once (so it can fetch
/// them in parallel) and must return their contents in the same order. The width of each tile
/// is the one the tree size implies, so a partial tile is asked for by its exact width.
pub struct TileNodeReader<F> {
    size: TreeSize,
    fetch: F,
}

impl<F, E> TileNodeReader<F>
where
    F: Fn(&[TileId]) -> Result<Vec<Vec<u8>>, E>,
{
    /// A reader for the tree of `size` leaves.
    pub fn new(size: TreeSize, fetch: F) -> Self {
        TileNodeReader { size, fetch }
    }
}

/// Where a node lives: its tile, and the range of tile hashes below it.
struct Location {
    tile: TileId,
    offset: usize,
    count: usize,
}

fn locate(node: NodeId, size: TreeSize) -> Option<Location> {
    let level = u32::from(node.level);
    // The node must be complete: all its leaves are below the tree size.
    let end = node
        .index
        .checked_add(1)?
        .checked_shl(level)
        .filter(|e| e >> level == node.index + 1)?;
    if end > size.0 {
        return None;
    }
    let tile_level = u8::try_from(level / TILE_HEIGHT).ok()?;
    let rise = level % TILE_HEIGHT;
    let first = node.index << rise;
    let tile_index = first / 256;
    let tile = TileId {
        level: tile_level,
        index: tile_index,
        width: tile_width(tile_level, tile_index, size),
    };
    Some(Location {
        tile,
        offset: usize::try_from(first % 256).ok()?,
        count: 1usize << rise,
    })
}

/// Hash of a perfect subtree given its bottom row (a power-of-two number of hashes); `None`
/// for a row of another length, never a made-up hash.
fn perfect_root(row: &[u8]) -> Option<Hash> {
    let mut level: Vec<Hash> = row
        .chunks(32)
        .map(Hash::from_slice)
        .collect::<Result<_, _>>()
        .ok()?;
    if !level.len().is_power_of_two() {
        return None;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [l, r] => Some(hash_children(l, r)),
                _ => None,
            })
            .collect::<Option<_>>()?;
    }
    level.first().copied()
}

impl<F, E> NodeReader for TileNodeReader<F>
where
    F: Fn(&[TileId]) -> Result<Vec<Vec<u8>>, E>,
{
    type Error = TileReadError<E>;

    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        let locations = nodes
            .iter()
            .map(|&node| {
                locate(node, self.size).ok_or(TileReadError::NodeOutOfRange {
                    node,
                    size: self.size.0,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut wanted: BTreeMap<TileId, usize> = BTreeMap::new();
        for loc in &locations {
            let next = wanted.len();
            wanted.entry(loc.tile).or_insert(next);
        }
        let mut ids = vec![
            TileId {
                level: 0,
                index: 0,
                width: 0
            };
            wanted.len()
        ];
        for (tile, &slot) in &wanted {
            if let Some(id) = ids.get_mut(slot) {
                *id = *tile;
            }
        }
        let contents = (self.fetch)(&ids).map_err(TileReadError::Fetch)?;
        if contents.len() != ids.len() {
            return Err(TileReadError::TileCount {
                got: contents.len(),
                want: ids.len(),
            });
        }
        for (tile, data) in ids.iter().zip(&contents) {
            if data.len() != tile.byte_len() {
                return Err(TileReadError::TileLength {
                    tile: *tile,
                    got: data.len(),
                    want: tile.byte_len(),
                });
            }
        }
        locations
            .iter()
            .map(|loc| {
                let missing = TileReadError::TileLength {
                    tile: loc.tile,
                    got: 0,
                    want: loc.tile.byte_len(),
                };
                // Every location's tile was fetched; if one was not, its row is missing (never
                // another tile's).
                let Some(&slot) = wanted.get(&loc.tile) else {
                    return Err(missing);
                };
                contents
                    .get(slot)
                    .and_then(|data| data.get(loc.offset * 32..(loc.offset + loc.count) * 32))
                    .and_then(perfect_root)
                    .ok_or(missing)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row that is not a power-of-two number of whole hashes has no root; it used to get
    /// the zero hash, or the root of the hashes that happened to pair up.
    #[test]
    fn perfect_root_needs_a_perfect_row() {
        let a = Hash([1; 32]);
        let b = Hash([2; 32]);
        let row = |hashes: &[Hash]| hashes.iter().flat_map(|h| h.0).collect::<Vec<u8>>();
        assert_eq!(perfect_root(&row(&[a])), Some(a));
        assert_eq!(perfect_root(&row(&[a, b])), Some(hash_children(&a, &b)));
        assert_eq!(perfect_root(&[]), None);
        assert_eq!(perfect_root(&row(&[a, b, a])), None);
        let mut ragged = row(&[a, b]);
        ragged.pop();
        assert_eq!(perfect_root(&ragged), None);
    }
}
