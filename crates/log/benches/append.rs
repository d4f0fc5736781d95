//! Durable append throughput: a 256-entry batch through the sequencer (stage + sign + publish,
//! two fsynced redb commits), against redb and, for comparison, memory; and the batcher fed by
//! 256 concurrent submitters.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_log::{
    Batcher, BatcherConfig, CheckpointFormat, LogStore, MemoryStore, RedbStore, Sequencer,
    SequencerConfig,
};
use signet_note::Ed25519NoteSigner;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const ORIGIN: &str = "bench.example.com/log";
/// Typical size of a Rekor entry body.
const ENTRY_SIZE: usize = 600;
const BATCH: usize = 256;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn sequencer<S: LogStore>(store: Arc<S>) -> Sequencer<S> {
    let signer = Ed25519NoteSigner::from_seed(ORIGIN, &[1; 32]).unwrap();
    let config = SequencerConfig {
        origin: ORIGIN.into(),
        format: CheckpointFormat::C2sp,
    };
    Sequencer::open(store, Box::new(signer), config, now_ms)
        .await
        .unwrap()
}

/// A unique entry of `ENTRY_SIZE` bytes.
fn entry(n: u64) -> Vec<u8> {
    let mut out = vec![0x61; ENTRY_SIZE];
    out[..8].copy_from_slice(&n.to_be_bytes());
    out
}

fn bench_sequencer<S: LogStore>(c: &mut Criterion, name: &str, store: S) {
    let rt = runtime();
    let mut seq = rt.block_on(sequencer(Arc::new(store)));
    let mut next = 0u64;
    let mut g = c.benchmark_group("sequencer_append");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(format!("{name}/batch_{BATCH}"), |b| {
        b.iter(|| {
            let batch: Vec<Vec<u8>> = (next..next + BATCH as u64).map(entry).collect();
            next += BATCH as u64;
            rt.block_on(seq.append_batch(batch)).unwrap()
        })
    });
    g.finish();
}

fn sequencer_redb(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    bench_sequencer(
        c,
        "redb",
        RedbStore::open(dir.path().join("log.redb")).unwrap(),
    );
}

fn sequencer_memory(c: &mut Criterion) {
    bench_sequencer(c, "memory", MemoryStore::new());
}

fn batcher_redb(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Arc::new(RedbStore::open(dir.path().join("log.redb")).unwrap());
    let log = rt.block_on(async {
        Batcher::spawn(sequencer(store).await, BatcherConfig::default()).unwrap()
    });
    let submitters = 256u64;
    let per_iter = 1024u64;
    let mut next = 0u64;
    let mut g = c.benchmark_group("batcher_submit");
    g.throughput(Throughput::Elements(per_iter));
    g.bench_function(format!("redb/{submitters}_submitters"), |b| {
        b.iter(|| {
            let start = next;
            next += per_iter;
            rt.block_on(async {
                let tasks: Vec<_> = (0..submitters)
                    .map(|s| {
                        let log = log.clone();
                        tokio::spawn(async move {
                            let mut n = start + s;
                            while n < start + per_iter {
                                log.submit(entry(n)).await.unwrap();
                                n += submitters;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, sequencer_redb, sequencer_memory, batcher_redb);
criterion_main!(benches);
