//! Proofs and roots read from stored tiles.
//!
//! The Merkle code is synchronous and reads nodes through [`NodeReader`]; stores are async. So a
//! computation runs in passes: each pass reads from the tiles fetched so far and records the
//! tiles it lacked; those are then fetched in one [`LogStore::read_tiles`] call and the
//! computation runs again. Every computation here needs all its tiles in a single
//! `read_nodes` call, so two passes suffice.

use crate::{LogError, LogStore};
use signet_merkle::{Hash, LeafIndex, NodeId, NodeReader, ProveError, TreeSize};
use signet_tiles::{TileData, TileId, TileNodeReader, TileNodes, TileReadError};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Tiles were missing from the cache; they are listed in [`CachedTiles::missing`].
#[derive(Debug)]
pub(crate) struct NeedTiles;

/// A fetched tile: its nodes, computed here or kept by the store, possibly those of a wider
/// version of the tile (whose first `width` hashes are this one's).
#[derive(Clone)]
pub(crate) struct Fetched {
    nodes: Arc<TileNodes>,
    width: usize,
}

impl TileData for Fetched {
    fn byte_len(&self) -> usize {
        self.width.saturating_mul(32)
    }

    fn subtree_root(&self, offset: usize, count: usize) -> Option<Hash> {
        // Only subtrees inside this version's width: the wider version has more.
        if offset.checked_add(count)? > self.width {
            return None;
        }
        self.nodes.subtree_root(offset, count)
    }
}

/// A [`NodeReader`] over the tree of one size, answering from fetched tiles.
pub(crate) struct CachedTiles {
    size: TreeSize,
    tiles: HashMap<TileId, Fetched>,
    missing: RefCell<BTreeSet<TileId>>,
}

impl CachedTiles {
    fn new(size: TreeSize) -> Self {
        CachedTiles {
            size,
            tiles: HashMap::new(),
            missing: RefCell::new(BTreeSet::new()),
        }
    }
}

impl NodeReader for CachedTiles {
    type Error = TileReadError<NeedTiles>;

    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        TileNodeReader::new(self.size, |ids: &[TileId]| {
            let mut out = Vec::with_capacity(ids.len());
            let mut missing = self.missing.borrow_mut();
            for id in ids {
                match self.tiles.get(id) {
                    Some(data) => out.push(data.clone()),
                    None => {
                        missing.insert(*id);
                    }
                }
            }
            if missing.is_empty() {
                Ok(out)
            } else {
                Err(NeedTiles)
            }
        })
        .read_nodes(nodes)
    }
}

/// Maps a tile-read failure that is not a cache miss.
pub(crate) fn tile_error(e: TileReadError<NeedTiles>) -> LogError {
    match e {
        TileReadError::TileLength { tile, got, want } => LogError::BadTile { tile, got, want },
        TileReadError::NodeOutOfRange { .. } => LogError::Internal {
            what: "tile reader asked for a node outside its tree",
        },
        _ => LogError::Internal {
            what: "tile reader failed",
        },
    }
}

/// Runs `f` over the stored tiles of the tree of `size` leaves, fetching what it needs.
/// Returns `f`'s own result once it no longer misses tiles.
pub(crate) async fn with_tiles<S: LogStore, T, E>(
    store: &S,
    size: TreeSize,
    f: impl Fn(&CachedTiles) -> Result<T, E>,
) -> Result<Result<T, E>, LogError> {
    let mut cache = CachedTiles::new(size);
    // Two passes suffice (see the module doc); a few more cost nothing and keep this robust.
    for _ in 0..4 {
        let out = f(&cache);
        let missing: Vec<TileId> = std::mem::take(&mut *cache.missing.borrow_mut())
            .into_iter()
            .collect();
        if out.is_ok() || missing.is_empty() {
            return Ok(out);
        }
        // Tiles whose nodes the store kept (at this width or wider) need no read and no
        // hashing.
        let mut to_read = Vec::with_capacity(missing.len());
        for tile in missing {
            let width = usize::from(tile.width);
            match store.kept_tile_nodes(tile) {
                Some(nodes) if nodes.width() >= width => {
                    cache.tiles.insert(tile, Fetched { nodes, width });
                }
                _ => to_read.push(tile),
            }
        }
        if to_read.is_empty() {
            continue;
        }
        let fetched = store.read_tiles(&to_read).await?;
        if fetched.len() != to_read.len() {
            return Err(LogError::Internal {
                what: "store returned the wrong number of tiles",
            });
        }
        for (tile, data) in to_read.into_iter().zip(fetched) {
            let data = data.ok_or(LogError::MissingTile { tile })?;
            if data.len() != tile.byte_len() {
                return Err(LogError::BadTile {
                    tile,
                    got: data.len(),
                    want: tile.byte_len(),
                });
            }
            let nodes = Arc::new(TileNodes::from_row(&data).ok_or(LogError::BadTile {
                tile,
                got: data.len(),
                want: tile.byte_len(),
            })?);
            store.keep_tile_nodes(tile, &nodes);
            let width = usize::from(tile.width);
            cache.tiles.insert(tile, Fetched { nodes, width });
        }
    }
    Err(LogError::Internal {
        what: "tile reads did not converge",
    })
}

fn prove_error(e: ProveError<TileReadError<NeedTiles>>) -> LogError {
    match e {
        ProveError::Invalid(e) => LogError::Merkle(e),
        ProveError::Read(e) => tile_error(e),
        _ => LogError::Internal {
            what: "unknown proof error",
        },
    }
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from stored tiles.
///
/// `size` may be any size up to the staged size; a server should accept only sizes up to its
/// published checkpoint's. Past the staged size this fails with [`LogError::MissingTile`].
pub async fn inclusion_proof<S: LogStore>(
    store: &S,
    index: LeafIndex,
    size: TreeSize,
) -> Result<Vec<Hash>, LogError> {
    with_tiles(store, size, |r| {
        signet_merkle::prove_inclusion(r, index, size)
    })
    .await?
    .map_err(prove_error)
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2`, from stored
/// tiles. As in [`signet_merkle::prove_consistency`], `size1 == 0` is an error.
pub async fn consistency_proof<S: LogStore>(
    store: &S,
    size1: TreeSize,
    size2: TreeSize,
) -> Result<Vec<Hash>, LogError> {
    with_tiles(store, size2, |r| {
        signet_merkle::prove_consistency(r, size1, size2)
    })
    .await?
    .map_err(prove_error)
}

/// The root of the tree of `size` leaves, recomputed from stored tiles.
pub async fn tree_root<S: LogStore>(store: &S, size: TreeSize) -> Result<Hash, LogError> {
    with_tiles(store, size, |r| signet_merkle::tree_root(r, size))
        .await?
        .map_err(tile_error)
}
