//! Hot paths of the Merkle core: hashing, appending, proof generation and verification.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::Digest;
use signet_merkle::*;
use std::hint::black_box;

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hashing");
    let mib = vec![0xabu8; 1 << 20];
    g.throughput(Throughput::Bytes(mib.len() as u64));
    g.bench_function("sha256_1MiB", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&mib)))
    });
    for size in [32usize, 256, 1024] {
        let entry = vec![7u8; size];
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("hash_leaf", size), &entry, |b, e| {
            b.iter(|| hash_leaf(black_box(e)))
        });
    }
    let (l, r) = (hash_leaf(b"l"), hash_leaf(b"r"));
    g.bench_function("hash_children", |b| {
        b.iter(|| hash_children(black_box(&l), black_box(&r)))
    });
    g.finish();
}

fn appending(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    let leaves: Vec<Hash> = (0u64..65536).map(|i| hash_leaf(&i.to_le_bytes())).collect();
    g.throughput(Throughput::Elements(leaves.len() as u64));
    g.bench_function("compact_range_64Ki_leaves", |b| {
        b.iter(|| {
            let mut range = CompactRange::new();
            for l in &leaves {
                range.append(*l, |_, _| {}).unwrap();
            }
            range.root()
        })
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let n = 1u64 << 20;
    let tree = MemoryTree::from_leaf_hashes((0..n).map(|i| hash_leaf(&i.to_le_bytes())));
    let size = TreeSize(n - 12345);
    let root = tree.root_at(size).unwrap();
    let index = LeafIndex(777_777);
    let leaf = hash_leaf(&index.0.to_le_bytes());
    let old = TreeSize(500_001);
    let old_root = tree.root_at(old).unwrap();

    let mut g = c.benchmark_group("proofs_1Mi_tree");
    g.throughput(Throughput::Elements(1));
    g.bench_function("prove_inclusion_memory", |b| {
        b.iter(|| prove_inclusion(&tree, black_box(index), size).unwrap())
    });
    g.bench_function("prove_consistency_memory", |b| {
        b.iter(|| prove_consistency(&tree, black_box(old), size).unwrap())
    });
    let incl = prove_inclusion(&tree, index, size).unwrap();
    let cons = prove_consistency(&tree, old, size).unwrap();
    g.bench_function("verify_inclusion", |b| {
        b.iter(|| {
            verify_inclusion(black_box(&leaf), index, size, black_box(&incl), &root.0).unwrap()
        })
    });
    g.bench_function("verify_consistency", |b| {
        b.iter(|| {
            verify_consistency(old, size, black_box(&old_root.0), &root.0, black_box(&cons))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, appending, proofs);
criterion_main!(benches);
