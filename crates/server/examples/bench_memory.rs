//! Memory benchmark: does the log server's memory grow with its log?
//!
//! ```text
//! bench_memory [--entries 5000000] [--entry-bytes 512] [--cache-bytes 268435456]
//!              [--batch 256] [--reads-per-entry 1] [--every 1000000] [--dir DIR]
//! ```
//!
//! Appends `--entries` entries in process through the real sequencer and a redb store in a
//! temporary directory (or `--dir`), sized as `signet serve log` sizes the Rekor v2 log for
//! `--cache-bytes` ([`signet_server::CacheSizes::for_redb`]: redb's page cache and the tile
//! cache), in durable batches of `--batch`. A reader task runs beside it, at most
//! `--reads-per-entry` reads per entry appended: a random published entry, its inclusion proof
//! to the latest checkpoint, and every 16th time its entry bundle. Every `--every` entries it
//! prints a markdown row: the process's resident memory now (VmRSS) and at its peak (VmHWM),
//! the tile cache's size and hit rate, appends and reads per second since the last row, and
//! the size of the redb file. A benchmark, not a test: it asserts nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss,
    missing_docs
)]

use signet_log::{
    CachedStore, CheckpointFormat, LogStore, RedbStore, Sequencer, SequencerConfig, TileCache,
};
use signet_merkle::{LeafIndex, TreeSize};
use signet_note::Ed25519NoteSigner;
use signet_tiles::{EntryBundleId, TILE_WIDTH};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

struct Args {
    entries: u64,
    entry_bytes: usize,
    cache_bytes: usize,
    batch: usize,
    reads_per_entry: usize,
    every: u64,
    dir: Option<PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        entries: 5_000_000,
        entry_bytes: 512,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        batch: 256,
        reads_per_entry: 1,
        every: 1_000_000,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || -> u64 {
            value
                .replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: {value} is not a number"))
        };
        match flag.as_str() {
            "--entries" => args.entries = number(),
            "--entry-bytes" => args.entry_bytes = number().max(8) as usize,
            "--cache-bytes" => args.cache_bytes = number() as usize,
            "--batch" => args.batch = number().max(1) as usize,
            "--reads-per-entry" => args.reads_per_entry = number() as usize,
            "--every" => args.every = number().max(1),
            "--dir" => args.dir = Some(PathBuf::from(value)),
            _ => panic!("unknown flag {flag}"),
        }
    }
    args
}

/// (VmRSS, VmHWM) in MiB, from /proc/self/status.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A deterministic, distinct entry for index `i`.
fn entry(i: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&i.to_be_bytes());
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

type Store = CachedStore<RedbStore>;

/// Reads random published entries with their proofs while the log grows.
async fn reader(
    store: Arc<Store>,
    size: Arc<AtomicU64>,
    budget: Arc<tokio::sync::Semaphore>,
    reads: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(permit) = budget.acquire().await else {
            return;
        };
        permit.forget();
        let tree = size.load(Ordering::Acquire);
        if tree == 0 {
            continue;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let index = x % tree;
        let proof = signet_log::inclusion_proof(store.as_ref(), LeafIndex(index), TreeSize(tree))
            .await
            .unwrap();
        std::hint::black_box(proof);
        let stored = store.read_entry(LeafIndex(index)).await.unwrap();
        assert!(stored.is_some(), "entry {index} missing");
        n += 1;
        if n.is_multiple_of(16) {
            let bundle = index / TILE_WIDTH;
            let width = (tree - bundle * TILE_WIDTH).min(TILE_WIDTH);
            let got = store
                .read_entry_bundle(EntryBundleId {
                    index: bundle,
                    width: u16::try_from(width).unwrap(),
                })
                .await
                .unwrap();
            assert!(got.is_some(), "bundle {bundle} missing");
        }
        reads.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let temp = tempfile::tempdir().unwrap();
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench-memory.redb");
    let sizes = signet_server::CacheSizes::for_redb(args.cache_bytes);
    let redb = RedbStore::open_with_cache(&path, sizes.redb_log).unwrap();
    let tiles = Arc::new(TileCache::new(sizes.tiles));
    let store = Arc::new(CachedStore::new(redb, Arc::clone(&tiles)));
    let origin = "bench.example/memory";
    let signer = Ed25519NoteSigner::from_seed(origin, &[7; 32]).unwrap();
    let config = SequencerConfig {
        origin: origin.into(),
        format: CheckpointFormat::C2sp,
    };
    let start_ms = 1_700_000_000_000u64;
    let mut sequencer = Sequencer::open(Arc::clone(&store), Box::new(signer), config, move || {
        start_ms
    })
    .await
    .unwrap();
    let first = sequencer.checkpoint().map_or(0, |c| c.size.0);

    let size = Arc::new(AtomicU64::new(first));
    let budget = Arc::new(tokio::sync::Semaphore::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader_task = tokio::spawn(reader(
        Arc::clone(&store),
        Arc::clone(&size),
        Arc::clone(&budget),
        Arc::clone(&reads),
        Arc::clone(&stop),
    ));

    println!(
        "# bench_memory: {} entries of {} bytes, batches of {}, {} read(s) per entry; \
         --cache-bytes {} MiB: redb page cache {} MiB, tile cache {} MiB ({} cores)",
        args.entries,
        args.entry_bytes,
        args.batch,
        args.reads_per_entry,
        args.cache_bytes >> 20,
        sizes.redb_log >> 20,
        sizes.tiles >> 20,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    println!();
    println!(
        "| entries | VmRSS MiB | VmHWM MiB | tile cache MiB | tile hits | appends/s | reads/s | redb file MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let row = |entries: u64, appends_per_s: f64, reads_per_s: f64| {
        let (rss, hwm) = memory_mib();
        let stats = tiles.stats();
        let lookups = stats.hits + stats.misses;
        let hit = if lookups == 0 {
            0.0
        } else {
            stats.hits as f64 * 100.0 / lookups as f64
        };
        let file = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1048576.0;
        println!(
            "| {entries} | {rss:.1} | {hwm:.1} | {:.1} | {hit:.1} % | {appends_per_s:.0} | {reads_per_s:.0} | {file:.0} |",
            stats.bytes as f64 / 1048576.0
        );
    };
    row(first, 0.0, 0.0);

    let total = Instant::now();
    let mut mark = Instant::now();
    let mut mark_entries = first;
    let mut mark_reads = 0u64;
    let mut next_row = (first / args.every + 1) * args.every;
    let mut appended = first;
    while appended < args.entries {
        let n = (args.entries - appended).min(args.batch as u64);
        let batch: Vec<Vec<u8>> = (appended..appended + n)
            .map(|i| entry(i, args.entry_bytes))
            .collect();
        let results = sequencer.append_batch(batch).await.unwrap();
        assert!(results.iter().all(|r| !r.duplicate));
        appended += n;
        size.store(appended, Ordering::Release);
        budget.add_permits(n as usize * args.reads_per_entry);
        if appended >= next_row || appended == args.entries {
            let secs = mark.elapsed().as_secs_f64();
            let done_reads = reads.load(Ordering::Relaxed);
            row(
                appended,
                (appended - mark_entries) as f64 / secs,
                (done_reads - mark_reads) as f64 / secs,
            );
            mark = Instant::now();
            mark_entries = appended;
            mark_reads = done_reads;
            next_row = (appended / args.every + 1) * args.every;
        }
    }
    stop.store(true, Ordering::Relaxed);
    budget.close();
    let _ = reader_task.await;
    let stats = tiles.stats();
    println!();
    println!(
        "{} entries in {:.0} s; {} reads; tile cache: {} tiles, {:.1} of {:.1} MiB, {} hits, {} misses",
        appended - first,
        total.elapsed().as_secs_f64(),
        reads.load(Ordering::Relaxed),
        stats.entries,
        stats.bytes as f64 / 1048576.0,
        stats.capacity as f64 / 1048576.0,
        stats.hits,
        stats.misses,
    );
}
