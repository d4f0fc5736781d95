//! C2SP `tlog-tiles`: the static, cacheable encoding of a transparency log's Merkle tree.
//!
//! A tile at level `L` holds up to 256 consecutive hashes of tree level `8·L`; the levels in
//! between are recomputed by hashing. This crate does the arithmetic and encoding and nothing
//! else: it names tiles ([`TileId`], [`EntryBundleId`]) and parses their paths strictly, says
//! which tiles exist for a tree size ([`tiles_for_size`]) or change when it grows
//! ([`changed_tiles`]), builds new tiles from appended leaves ([`integrate`]), reads proof nodes
//! out of tiles ([`TileNodeReader`]), and encodes entry bundles ([`encode_entry_bundle`]).
//! Fetching and storing tiles is the caller's job: they come in and go out through closures.
//! Pure: no I/O, no clock, no randomness; paths and tiles from outside are parsed strictly and
//! a malformed one is an error, never a panic.
//!
//! ```
//! use signet_tiles::TileId;
//! let tile = TileId::parse_path("tile/0/x001/x234/067.p/5").unwrap();
//! assert_eq!((tile.level, tile.index, tile.width), (0, 1234067, 5));
//! assert_eq!(tile.path(), "tile/0/x001/x234/067.p/5");
//! ```
#![forbid(unsafe_code)]

mod bundle;
mod integrate;
mod path;
mod reader;

pub use bundle::{BundleError, MAX_ENTRY_SIZE, decode_entry_bundle, encode_entry_bundle};
pub use integrate::{IntegrateError, Integrated, integrate};
pub use path::{EntryBundleId, PathError, TileId, encode_index, parse_index};
pub use reader::{TileData, TileNodeReader, TileNodes, TileReadError};

use signet_merkle::TreeSize;

/// Tree levels covered by one tile.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Bytes in a full tile.
pub const FULL_TILE_BYTES: usize = 256 * 32;
/// Highest tile level that can hold any node of a tree with at most `u64::MAX` leaves.
pub const MAX_TILE_LEVEL: u8 = 7;

/// Number of hashes at tree level `8·level` in a tree of `size` leaves.
pub fn hashes_at_tile_level(level: u8, size: TreeSize) -> u64 {
    size.0
        .checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// Width of tile `index` at `level` for a tree of `size` leaves (0 if it does not exist).
pub fn tile_width(level: u8, index: u64, size: TreeSize) -> u16 {
    let count = hashes_at_tile_level(level, size);
    let before = index.saturating_mul(TILE_WIDTH);
    // At most 256, so the conversion cannot fail.
    u16::try_from(count.saturating_sub(before).min(TILE_WIDTH)).unwrap_or(0)
}

/// Every tile that exists for a tree of `size` leaves, level by level, left to right.
///
/// For large trees this is long (one entry per 256 leaves); use [`changed_tiles`] to find what a
/// batch touched.
pub fn tiles_for_size(size: TreeSize) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let count = hashes_at_tile_level(level, size);
        if count == 0 {
            break;
        }
        for index in 0..count.div_ceil(TILE_WIDTH) {
            out.push(TileId {
                level,
                index,
                width: tile_width(level, index, size),
            });
        }
    }
    out
}

/// The tiles that a tree of `new` leaves has and a tree of `old` leaves lacks (new tiles and
/// wider versions of partial ones), level by level, left to right.
pub fn changed_tiles(old: TreeSize, new: TreeSize) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let (old_count, new_count) = (
            hashes_at_tile_level(level, old),
            hashes_at_tile_level(level, new),
        );
        if new_count <= old_count {
            // Higher levels grow even less.
            break;
        }
        for index in old_count / TILE_WIDTH..new_count.div_ceil(TILE_WIDTH) {
            out.push(TileId {
                level,
                index,
                width: tile_width(level, index, new),
            });
        }
    }
    out
}

/// Entry bundles that a tree of `new` leaves has and one of `old` leaves lacks.
pub fn changed_entry_bundles(old: TreeSize, new: TreeSize) -> Vec<EntryBundleId> {
    changed_tiles(old, new)
        .into_iter()
        .filter(|t| t.level == 0)
        .map(|t| EntryBundleId {
            index: t.index,
            width: t.width,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_sets_of_the_spec_examples() {
        let tiles = tiles_for_size(TreeSize(70_000));
        let count = |level, full: bool| {
            tiles
                .iter()
                .filter(|t| t.level == level && (t.width == 256) == full)
                .count()
        };
        assert_eq!(count(0, true), 273);
        assert_eq!(
            tiles
                .iter()
                .find(|t| t.level == 0 && t.width < 256)
                .unwrap()
                .width,
            112
        );
        assert_eq!(count(1, true), 1);
        assert_eq!(
            tiles
                .iter()
                .find(|t| t.level == 1 && t.width < 256)
                .unwrap()
                .width,
            17
        );
        assert_eq!(
            tiles
                .iter()
                .filter(|t| t.level == 2)
                .map(|t| t.width)
                .collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);

        let tiles = tiles_for_size(TreeSize(256));
        assert_eq!(
            tiles,
            vec![
                TileId {
                    level: 0,
                    index: 0,
                    width: 256
                },
                TileId {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        assert!(tiles_for_size(TreeSize(0)).is_empty());
    }

    #[test]
    fn changed_tiles_cover_the_difference() {
        assert!(changed_tiles(TreeSize(5), TreeSize(5)).is_empty());
        assert_eq!(
            changed_tiles(TreeSize(255), TreeSize(257)),
            vec![
                TileId {
                    level: 0,
                    index: 0,
                    width: 256
                },
                TileId {
                    level: 0,
                    index: 1,
                    width: 1
                },
                TileId {
                    level: 1,
                    index: 0,
                    width: 1
                },
            ]
        );
        assert_eq!(
            changed_entry_bundles(TreeSize(1), TreeSize(2)),
            vec![EntryBundleId { index: 0, width: 2 }]
        );
    }
}

/// Entry points for fuzz targets (see `fuzz/` at the workspace root). Not part of the API.
#[doc(hidden)]
pub mod fuzz {
    /// Parses arbitrary text as tile and entry-bundle paths; whatever parses must print back to
    /// the same path, and a bundle must decode without panicking.
    pub fn parse_paths(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Ok(tile) = crate::TileId::parse_path(&text) {
            assert_eq!(tile.path(), text, "tile path is not canonical");
        }
        if let Ok(bundle) = crate::EntryBundleId::parse_path(&text) {
            assert_eq!(bundle.path(), text, "entry bundle path is not canonical");
        }
        let width = data.first().copied().map_or(1, u16::from);
        let _ = crate::decode_entry_bundle(data, width);
    }
}
