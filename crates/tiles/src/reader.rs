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

/// A tile's contents as a [`TileNodeReader`] reads them: its bytes (a row of hashes), from
/// which the root of any perfect subtree inside the tile can be had.
pub trait TileData {
    /// The tile's length in bytes (32 per hash).
    fn byte_len(&self) -> usize;

    /// The root of the perfect subtree over the `count` hashes (a power of two) starting at
    /// hash `offset` of the tile; `None` if they are not all in the tile or `count` is not a
    /// power of two.
    fn subtree_root(&self, offset: usize, count: usize) -> Option<Hash>;
}

impl TileData for Vec<u8> {
    fn byte_len(&self) -> usize {
        self.len()
    }

    fn subtree_root(&self, offset: usize, count: usize) -> Option<Hash> {
        self.get(offset.checked_mul(32)?..offset.checked_add(count)?.checked_mul(32)?)
            .and_then(perfect_root)
    }
}

impl<T: TileData + ?Sized> TileData for std::sync::Arc<T> {
    fn byte_len(&self) -> usize {
        (**self).byte_len()
    }

    fn subtree_root(&self, offset: usize, count: usize) -> Option<Hash> {
        (**self).subtree_root(offset, count)
    }
}

/// Every node inside one tile, computed once: the row of hashes and each level above it up to
/// the tile's root (511 hashes for a full tile). A proof then reads the nodes it needs from a
/// tile without hashing; a full tile never changes, so its nodes can be kept (e.g. in a cache)
/// and shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileNodes {
    /// `levels[r]` holds the nodes `r` levels above the row (`levels[0]` is the row).
    levels: Vec<Vec<Hash>>,
}

impl TileNodes {
    /// The nodes of the tile whose contents are `row` (1 to 256 whole hashes); `None` for
    /// another length. Nodes that would need hashes past the row's end are not made: only
    /// complete subtrees have a node.
    pub fn from_row(row: &[u8]) -> Option<TileNodes> {
        if row.is_empty() || !row.len().is_multiple_of(32) || row.len() > crate::FULL_TILE_BYTES {
            return None;
        }
        let first: Vec<Hash> = row
            .chunks(32)
            .map(Hash::from_slice)
            .collect::<Result<_, _>>()
            .ok()?;
        let mut levels = vec![first];
        // Exact capacities: `memory_bytes` counts lengths, and caches charge what it says.
        if let Some(row) = levels.first_mut() {
            row.shrink_to_fit();
        }
        loop {
            let next: Vec<Hash> = match levels.last() {
                Some(below) if below.len() >= 2 => below
                    .chunks_exact(2)
                    .filter_map(|p| match p {
                        [l, r] => Some(hash_children(l, r)),
                        _ => None,
                    })
                    .collect(),
                _ => break,
            };
            let mut next = next;
            next.shrink_to_fit();
            levels.push(next);
        }
        Some(TileNodes { levels })
    }

    /// The number of hashes in the row.
    pub fn width(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Bytes of memory the nodes take (32 per hash), for caches that count.
    pub fn memory_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.len() * 32).sum()
    }
}

impl TileData for TileNodes {
    fn byte_len(&self) -> usize {
        self.width() * 32
    }

    fn subtree_root(&self, offset: usize, count: usize) -> Option<Hash> {
        if !count.is_power_of_two() || !offset.is_multiple_of(count) {
            return None;
        }
        let rise = usize::try_from(count.trailing_zeros()).ok()?;
        self.levels.get(rise)?.get(offset / count).copied()
    }
}

/// A [`NodeReader`] over the tiles of a tree of a given size.
///
/// `fetch` receives every distinct tile needed by one `read_nodes` call at once (so it can fetch
/// them in parallel) and must return their contents in the same order: as bytes (`Vec<u8>`), or
/// as anything else that is [`TileData`], such as the precomputed [`TileNodes`]. The width of
/// each tile is the one the tree size implies, so a partial tile is asked for by its exact
/// width.
pub struct TileNodeReader<F> {
    size: TreeSize,
    fetch: F,
}

impl<F, T, E> TileNodeReader<F>
where
    F: Fn(&[TileId]) -> Result<Vec<T>, E>,
    T: TileData,
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

impl<F, T, E> NodeReader for TileNodeReader<F>
where
    F: Fn(&[TileId]) -> Result<Vec<T>, E>,
    T: TileData,
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
            if data.byte_len() != tile.byte_len() {
                return Err(TileReadError::TileLength {
                    tile: *tile,
                    got: data.byte_len(),
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
                    .and_then(|data| data.subtree_root(loc.offset, loc.count))
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

    /// Every subtree root read from precomputed nodes equals the one hashed from the row, for
    /// full and partial tiles; subtrees not wholly in the row, misaligned or not a power of two
    /// have none.
    #[test]
    fn tile_nodes_answer_as_the_row_does() {
        for width in [1usize, 2, 3, 7, 8, 100, 255, 256] {
            let row: Vec<u8> = (0..width)
                .flat_map(|i| {
                    let mut h = [0u8; 32];
                    h[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    h
                })
                .collect();
            let nodes = TileNodes::from_row(&row).expect("a row of whole hashes");
            assert_eq!(nodes.width(), width);
            assert_eq!(TileData::byte_len(&nodes), row.len());
            for rise in 0..=9u32 {
                let count = 1usize << rise;
                for offset in (0..=width + 1).step_by(count.max(1)) {
                    assert_eq!(
                        nodes.subtree_root(offset, count),
                        row.subtree_root(offset, count),
                        "width {width} offset {offset} count {count}"
                    );
                }
            }
            assert_eq!(nodes.subtree_root(1, 2), None, "misaligned");
            assert_eq!(nodes.subtree_root(0, 3), None, "not a power of two");
            assert_eq!(nodes.subtree_root(0, 0), None);
        }
        let full = TileNodes::from_row(&vec![7u8; 256 * 32]).unwrap();
        assert_eq!(full.memory_bytes(), 511 * 32);
        assert_eq!(TileNodes::from_row(&[]), None);
        assert_eq!(TileNodes::from_row(&[0u8; 33]), None);
        assert_eq!(TileNodes::from_row(&vec![0u8; 257 * 32]), None);
    }
}
