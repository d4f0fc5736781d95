//! The batcher: many concurrent submitters, batches formed, every caller answered once its
//! checkpoint is published; failures reach exactly the callers of the failed batch.

use signet_log::{
    Batcher, BatcherConfig, FailPoint, FaultyStore, LogError, LogStore, MemoryStore, RedbStore,
    StoreError, StoreOp,
};
use signet_testkit::log::*;
use signet_tiles::MAX_ENTRY_SIZE;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const SUBMITTERS: u64 = 64;
const PER_SUBMITTER: u64 = 50;

async fn concurrent_submitters<S: LogStore>(inner: S) {
    let store = Arc::new(FaultyStore::new(inner));
    let clock = TestClock::default();
    let seq = open(&store, &clock).await.unwrap();
    let publishes_before = store.calls(StoreOp::PublishCheckpoint);
    let log = Batcher::spawn(seq, BatcherConfig::default()).unwrap();
    let mut tasks = Vec::new();
    for s in 0..SUBMITTERS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..PER_SUBMITTER {
                let data = entry(s * PER_SUBMITTER + i);
                let r = log.submit(data.clone()).await.unwrap();
                out.push((data, r));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.extend(task.await.unwrap());
    }
    // Record in the order the checkpoints were published.
    results.sort_by_key(|(_, r)| r.checkpoint.size);
    let mut obs = Observer::default();
    let mut indices = BTreeSet::new();
    for (data, r) in results {
        assert!(!r.duplicate);
        assert!(indices.insert(r.index.0), "index {} given twice", r.index.0);
        obs.record(std::slice::from_ref(&data), std::slice::from_ref(&r));
    }
    let total = SUBMITTERS * PER_SUBMITTER;
    assert_eq!(indices, (0..total).collect::<BTreeSet<_>>());
    let checkpoints = store.calls(StoreOp::PublishCheckpoint) - publishes_before;
    println!("{total} entries in {checkpoints} batches");
    assert!(
        checkpoints < total,
        "{checkpoints} checkpoints for {total} entries"
    );
    assert_eq!(log.latest_checkpoint().size.0, total);
    log.shutdown().await;
    let check = obs.verify(store.inner()).await;
    assert_eq!(check.staged_size.0, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submitters_memory() {
    concurrent_submitters(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submitters_redb() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_submitters(RedbStore::open(dir.path().join("log.redb")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batch_fails_its_callers_only() {
    let store = Arc::new(FaultyStore::new(MemoryStore::new()));
    let clock = TestClock::default();
    let seq = open(&store, &clock).await.unwrap();
    let config = BatcherConfig {
        max_batch: 8,
        max_wait: Duration::from_millis(5),
        ..BatcherConfig::default()
    };
    let log = Batcher::spawn(seq, config).unwrap();
    store.fail_nth(StoreOp::StageBatch, 2, FailPoint::After);
    store.fail_nth(StoreOp::PublishCheckpoint, 4, FailPoint::Before);
    let mut obs = Observer::default();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let data = entry(n);
            (data.clone(), log.submit(data).await)
        }));
    }
    let mut failed = Vec::new();
    let mut done = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (data, Ok(r)) => done.push((data, r)),
            (data, Err(LogError::Store(StoreError::Injected { .. }))) => failed.push(data),
            (_, Err(e)) => panic!("unexpected {e:?}"),
        }
    }
    done.sort_by_key(|(_, r)| r.checkpoint.size);
    for (data, r) in done {
        obs.record(&[data], &[r]);
    }
    assert!(!failed.is_empty());
    assert_eq!(store.fired().len(), 2);
    // Resubmitting succeeds; entries whose failed write took effect come back as duplicates.
    for data in failed {
        let r = log.submit(data.clone()).await.unwrap();
        obs.record(&[data], &[r]);
    }
    log.shutdown().await;
    let check = obs.verify(store.inner()).await;
    assert_eq!(check.staged_size.0, 40);
}

#[tokio::test]
async fn limits_and_updates() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let seq = open(&store, &clock).await.unwrap();
    let log = Batcher::spawn(seq, BatcherConfig::default()).unwrap();
    let mut updates = log.subscribe();
    assert_eq!(log.latest_checkpoint().size.0, 0);
    let err = log.submit(vec![0; MAX_ENTRY_SIZE + 1]).await.unwrap_err();
    assert!(matches!(err, LogError::EntryTooLarge { .. }), "{err:?}");
    let r = log.submit(b"one".to_vec()).await.unwrap();
    assert_eq!(r.index.0, 0);
    updates.changed().await.unwrap();
    assert_eq!(updates.borrow().size.0, 1);
    let again = log.submit(b"one".to_vec()).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.index.0, 0);
    assert_eq!(again.timestamp_ms, r.timestamp_ms);
    log.shutdown().await;
    Observer::default().verify(store.as_ref()).await;
}

/// A lone submitter does not wait out `max_wait`: after a batch of one entry the next batch is
/// written at once. Once batches hold several entries, a batch waits to fill.
#[tokio::test]
async fn lone_submitter_does_not_wait() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let seq = open(&store, &clock).await.unwrap();
    let config = BatcherConfig {
        max_wait: Duration::from_secs(3),
        ..BatcherConfig::default()
    };
    let log = Batcher::spawn(seq, config).unwrap();
    // Waiting out the window even once would take 3 s.
    let start = tokio::time::Instant::now();
    for n in 0..5 {
        let r = log.submit(entry(n)).await.unwrap();
        assert_eq!(r.index.0, n);
        assert_eq!(r.checkpoint.size.0, n + 1, "one entry per batch");
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );

    // Two entries queued together form a batch of two; the next batch then waits the window
    // and so collects entries submitted a little later.
    let (a, b) = tokio::join!(log.submit(entry(10)), log.submit(entry(11)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.checkpoint.size, b.checkpoint.size);
    let later = {
        let log = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            log.submit(entry(13)).await.unwrap()
        })
    };
    let first = log.submit(entry(12)).await.unwrap();
    let second = later.await.unwrap();
    assert_eq!(first.checkpoint.size, second.checkpoint.size, "one batch");
    log.shutdown().await;
    Observer::default().verify(store.as_ref()).await;
}

/// Every new entry's answer carries its inclusion proof, computed from the batch alone, equal to
/// the proof read back from the stored tiles; duplicates of earlier entries carry none.
#[tokio::test]
async fn batch_proofs_match_stored_tiles() {
    let store = Arc::new(MemoryStore::new());
    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let mut next = 0u64;
    // Batches that start and end on and off tile and power-of-two boundaries.
    for len in [1u64, 2, 1, 4, 8, 240, 1, 255, 256, 3, 300, 17, 512, 1] {
        let mut batch = entries(next..next + len);
        // A duplicate of the first entry of the log.
        batch.push(entry(0));
        let results = seq.append_batch(batch).await.unwrap();
        next += len;
        for r in &results {
            let size = r.checkpoint.size;
            assert_eq!(size.0, next);
            if r.duplicate && r.index.0 < next - len {
                assert!(r.inclusion_proof.is_none(), "duplicate of an earlier entry");
                continue;
            }
            let got = r.inclusion_proof.as_deref().expect("a new entry's proof");
            let want = signet_log::inclusion_proof(store.as_ref(), r.index, size)
                .await
                .unwrap();
            assert_eq!(got, want.as_slice(), "index {} in {}", r.index.0, size.0);
        }
    }
}
