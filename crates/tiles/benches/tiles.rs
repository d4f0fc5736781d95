//! Tiled-log hot paths: integrating a batch into tiles and building proofs from tiles.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_merkle::*;
use signet_tiles::*;
use std::collections::HashMap;
use std::hint::black_box;

fn build(n: u64) -> (HashMap<TileId, Vec<u8>>, CompactRange) {
    let mut store = HashMap::new();
    let mut range = CompactRange::new();
    let leaves: Vec<Hash> = (0..n).map(|i| hash_leaf(&i.to_le_bytes())).collect();
    for batch in leaves.chunks(1000) {
        let out = integrate(&mut range, batch, |t| store.get(&t).cloned().ok_or(())).unwrap();
        for (t, d) in out.tiles {
            store.insert(t, d);
        }
    }
    (store, range)
}

fn integrate_batches(c: &mut Criterion) {
    let (store, range) = build(1 << 20);
    let batch: Vec<Hash> = (0u64..256)
        .map(|i| hash_leaf(&(i + (1 << 40)).to_le_bytes()))
        .collect();
    let mut g = c.benchmark_group("integrate");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("batch_256_on_1Mi_tree", |b| {
        b.iter(|| {
            let mut r = range.clone();
            integrate(&mut r, black_box(&batch), |t| {
                store.get(&t).cloned().ok_or(())
            })
            .unwrap()
        })
    });
    g.finish();
}

fn proofs_from_tiles(c: &mut Criterion) {
    let (store, range) = build(1 << 20);
    let size = range.size();
    let fetch = |ids: &[TileId]| {
        ids.iter()
            .map(|t| store.get(t).cloned().ok_or(()))
            .collect::<Result<Vec<_>, ()>>()
    };
    let reader = TileNodeReader::new(size, fetch);
    let mut g = c.benchmark_group("proofs_from_tiles_1Mi_tree");
    g.throughput(Throughput::Elements(1));
    g.bench_function("prove_inclusion", |b| {
        b.iter(|| prove_inclusion(&reader, black_box(LeafIndex(777_777)), size).unwrap())
    });
    g.bench_function("prove_consistency", |b| {
        b.iter(|| prove_consistency(&reader, black_box(TreeSize(500_001)), size).unwrap())
    });
    g.bench_function("tree_root", |b| {
        b.iter(|| tree_root(&reader, black_box(size)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, integrate_batches, proofs_from_tiles);
criterion_main!(benches);
