//! Tile vectors from `../shared/testdata/signed-note/` and round trips through a tiled log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde::Deserialize;
use signet_merkle::*;
use signet_tiles::*;
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Deserialize)]
struct GoTlog {
    tile_paths: Vec<GoTilePath>,
}
#[derive(Deserialize)]
#[allow(non_snake_case)]
struct GoTilePath {
    path: String,
    L: Option<i64>,
    N: Option<u64>,
    W: Option<u16>,
    valid: bool,
}

/// Go's sumdb paths carry a tile height `tile/<H>/<L>/...`; C2SP fixes H = 8 and drops it. The
/// level, index and partial-width encodings are the same, so check those on the C2SP form.
#[test]
fn go_sumdb_tile_paths_in_c2sp_form() {
    let v: GoTlog = serde_json::from_slice(
        &std::fs::read(signet_testdata::path("signed-note/golang-sumdb-tlog.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v.tile_paths.len(), 8);
    for case in &v.tile_paths {
        let without_height = case.path.splitn(3, '/').nth(2).unwrap();
        let c2sp = format!("tile/{}", without_height.replacen("data/", "entries/", 1));
        if !case.valid {
            assert!(TileId::parse_path(&c2sp).is_err(), "{c2sp} accepted");
            continue;
        }
        let partial = c2sp.contains(".p/");
        if case.L == Some(-1) {
            let b = EntryBundleId::parse_path(&c2sp).unwrap();
            assert_eq!(b.index, case.N.unwrap());
            assert_eq!(b.path(), c2sp);
        } else {
            let t = TileId::parse_path(&c2sp).unwrap();
            assert_eq!(i64::from(t.level), case.L.unwrap());
            assert_eq!(t.index, case.N.unwrap());
            if partial {
                assert_eq!(t.width, case.W.unwrap());
            } else {
                assert_eq!(t.width, 256);
            }
            assert_eq!(t.path(), c2sp);
        }
    }
}

#[derive(Deserialize)]
struct C2spExamples {
    tlog_tiles: TlogTiles,
}
#[derive(Deserialize)]
struct TlogTiles {
    index_encoding: Vec<IndexEncoding>,
    tree_size_tiles: Vec<SizeTiles>,
}
#[derive(Deserialize)]
struct IndexEncoding {
    index: u64,
    path_elem: String,
}
#[derive(Deserialize)]
struct SizeTiles {
    tree_size: u64,
    tiles: Vec<LevelTiles>,
}
#[derive(Deserialize)]
struct LevelTiles {
    level: u8,
    full_count: Option<usize>,
    partial_width: Option<u16>,
}

#[test]
fn c2sp_tile_examples() {
    let v: C2spExamples = serde_json::from_slice(
        &std::fs::read(signet_testdata::path("signed-note/c2sp-examples.json")).unwrap(),
    )
    .unwrap();
    for e in &v.tlog_tiles.index_encoding {
        assert_eq!(encode_index(e.index), e.path_elem);
        assert_eq!(parse_index(&e.path_elem).unwrap(), e.index);
    }
    for case in &v.tlog_tiles.tree_size_tiles {
        let tiles = tiles_for_size(TreeSize(case.tree_size));
        let mut expected = 0;
        for lt in &case.tiles {
            if let Some(n) = lt.full_count {
                let got = tiles
                    .iter()
                    .filter(|t| t.level == lt.level && t.is_full())
                    .count();
                assert_eq!(
                    got, n,
                    "size {} level {} full tiles",
                    case.tree_size, lt.level
                );
                expected += n;
            }
            if let Some(w) = lt.partial_width {
                let got: Vec<u16> = tiles
                    .iter()
                    .filter(|t| t.level == lt.level && !t.is_full())
                    .map(|t| t.width)
                    .collect();
                assert_eq!(
                    got,
                    vec![w],
                    "size {} level {} partial tile",
                    case.tree_size,
                    lt.level
                );
                expected += 1;
            }
        }
        assert_eq!(
            tiles.len(),
            expected,
            "size {}: no other tiles",
            case.tree_size
        );
    }
}

/// A tiled log in memory: every tile ever written, by path.
#[derive(Default)]
struct TileStore {
    tiles: RefCell<HashMap<String, Vec<u8>>>,
}

impl TileStore {
    fn fetch(&self, ids: &[TileId]) -> Result<Vec<Vec<u8>>, String> {
        let tiles = self.tiles.borrow();
        ids.iter()
            .map(|t| tiles.get(&t.path()).cloned().ok_or_else(|| t.path()))
            .collect()
    }
}

fn grow_and_check(batches: &[u64], probes: &[u64]) {
    let store = TileStore::default();
    let mut range = CompactRange::new();
    let mut reference = MemoryTree::new();
    let mut next_leaf = 0u64;
    for &batch in batches {
        let old = range.size();
        let leaves: Vec<Hash> = (next_leaf..next_leaf + batch)
            .map(|i| hash_leaf(&i.to_le_bytes()))
            .collect();
        next_leaf += batch;
        for l in &leaves {
            reference.push(*l);
        }
        let out = integrate(&mut range, &leaves, |t| {
            store.fetch(&[t]).map(|mut v| v.remove(0))
        })
        .unwrap();
        assert_eq!(out.size, reference.size());
        assert_eq!(out.root, reference.root());
        let written: Vec<TileId> = out.tiles.iter().map(|(t, _)| *t).collect();
        assert_eq!(written, changed_tiles(old, out.size));
        for (tile, data) in out.tiles {
            store.tiles.borrow_mut().insert(tile.path(), data);
        }
        // Every tile of this size is available, and proofs from tiles equal proofs from memory.
        for tile in tiles_for_size(out.size) {
            assert!(
                store.tiles.borrow().contains_key(&tile.path()),
                "{} missing",
                tile.path()
            );
        }
        let size = out.size;
        let reader = TileNodeReader::new(size, |ids: &[TileId]| store.fetch(ids));
        assert_eq!(tree_root(&reader, size).unwrap(), reference.root());
        for &p in probes {
            if size.0 == 0 {
                break;
            }
            let i = p % size.0;
            let from_tiles = prove_inclusion(&reader, LeafIndex(i), size).unwrap();
            assert_eq!(
                from_tiles,
                prove_inclusion(&reference, LeafIndex(i), size).unwrap()
            );
            let m = 1 + p % size.0;
            let from_tiles = prove_consistency(&reader, TreeSize(m), size).unwrap();
            assert_eq!(
                from_tiles,
                prove_consistency(&reference, TreeSize(m), size).unwrap()
            );
        }
    }
}

#[test]
fn a_tiled_log_past_level_two() {
    // 70,000 leaves: full and partial tiles on levels 0 and 1, a partial tile on level 2.
    let mut batches = vec![1, 1, 254, 1, 255, 256, 300, 7];
    let so_far: u64 = batches.iter().sum();
    batches.extend(std::iter::repeat_n(997, ((70_000 - so_far) / 997) as usize));
    let so_far: u64 = batches.iter().sum();
    batches.push(70_000 - so_far);
    grow_and_check(&batches, &[0, 255, 256, 65_535, 65_536, 69_999, 12_345]);
}

#[test]
fn tile_reader_rejects_bad_tiles() {
    let size = TreeSize(10);
    let short = TileNodeReader::new(size, |ids: &[TileId]| {
        Ok::<_, ()>(ids.iter().map(|_| vec![0u8; 31]).collect())
    });
    assert!(matches!(
        short.read_nodes(&[NodeId::leaf(0)]),
        Err(TileReadError::TileLength { .. })
    ));
    let ok = TileNodeReader::new(size, |ids: &[TileId]| {
        Ok::<_, ()>(ids.iter().map(|t| vec![0u8; t.byte_len()]).collect())
    });
    assert!(matches!(
        ok.read_nodes(&[NodeId::leaf(10)]),
        Err(TileReadError::NodeOutOfRange { .. })
    ));
    assert!(matches!(
        ok.read_nodes(&[NodeId { level: 3, index: 1 }]),
        Err(TileReadError::NodeOutOfRange { .. })
    ));
    assert!(matches!(
        ok.read_nodes(&[NodeId {
            level: 63,
            index: u64::MAX
        }]),
        Err(TileReadError::NodeOutOfRange { .. })
    ));
    let missing = TileNodeReader::new(size, |_: &[TileId]| Ok::<Vec<Vec<u8>>, ()>(vec![]));
    assert!(matches!(
        missing.read_nodes(&[NodeId::leaf(0)]),
        Err(TileReadError::TileCount { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_batches_match_memory(batches in proptest::collection::vec(1u64..600, 1..12), probes in proptest::collection::vec(any::<u64>(), 3)) {
        grow_and_check(&batches, &probes);
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let t = TileId { level, index, width };
        prop_assert_eq!(TileId::parse_path(&t.path()).unwrap(), t);
        let b = EntryBundleId { index, width };
        prop_assert_eq!(EntryBundleId::parse_path(&b.path()).unwrap(), b);
    }

    #[test]
    fn arbitrary_paths_never_panic_and_parse_canonically(path in "tile/[0-9a-z./x-]{0,40}") {
        if let Ok(t) = TileId::parse_path(&path) {
            prop_assert_eq!(t.path(), path.clone());
        }
        if let Ok(b) = EntryBundleId::parse_path(&path) {
            prop_assert_eq!(b.path(), path);
        }
    }

    #[test]
    fn entry_bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=256)) {
        let data = encode_entry_bundle(&entries).unwrap();
        let back = decode_entry_bundle(&data, entries.len() as u16).unwrap();
        prop_assert_eq!(back.len(), entries.len());
        for (a, b) in back.iter().zip(&entries) {
            prop_assert_eq!(*a, b.as_slice());
        }
    }
}
