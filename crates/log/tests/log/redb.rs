//! The redb store across real closes and reopens of its file.

use signet_log::{
    Batcher, BatcherConfig, FailPoint, FaultyStore, LogStore, RedbStore, StoreError, StoreOp,
};
use signet_testkit::log::*;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_close_reopen_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.redb");
    let clock = TestClock::default();
    let mut obs = Observer::default();
    let mut next = 0u64;
    for round in 0..3 {
        let store = Arc::new(RedbStore::open(&path).unwrap());
        let seq = open(&store, &clock).await.unwrap();
        assert_eq!(seq.checkpoint().unwrap().size.0, next, "round {round}");
        let log = Batcher::spawn(seq, BatcherConfig::default()).unwrap();
        let mut tasks = Vec::new();
        for n in next..next + 300 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let data = entry(n);
                (data.clone(), log.submit(data).await.unwrap())
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        results.sort_by_key(|(_, r)| r.checkpoint.size);
        for (data, r) in results {
            obs.record(&[data], &[r]);
        }
        next += 300;
        log.shutdown().await;
        obs.verify(store.as_ref()).await;
        assert_eq!(Arc::strong_count(&store), 1);
        clock.advance(100);
    }
}

/// A crash between staging and publishing, with the file really closed in between: the next
/// open publishes a checkpoint for the staged entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_but_unpublished_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.redb");
    let clock = TestClock::default();
    let mut obs = Observer::default();
    {
        let store = Arc::new(FaultyStore::new(RedbStore::open(&path).unwrap()));
        let mut seq = open(&store, &clock).await.unwrap();
        let batch = entries(0..10);
        let r = seq.append_batch(batch.clone()).await.unwrap();
        obs.record(&batch, &r);
        store.fail_nth(StoreOp::PublishCheckpoint, 1, FailPoint::Before);
        assert!(seq.append_batch(entries(10..20)).await.is_err());
        let state = store.inner().state().await.unwrap();
        assert_eq!(state.staged_size.0, 20);
        assert_eq!(state.checkpoint.unwrap().size.0, 10);
    }
    let store = Arc::new(RedbStore::open(&path).unwrap());
    let mut seq = open(&store, &clock).await.unwrap();
    assert_eq!(seq.checkpoint().unwrap().size.0, 20);
    let batch = entries(10..25);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    assert_eq!(r.iter().filter(|r| r.duplicate).count(), 10);
    obs.record(&batch, &r);
    obs.verify(store.as_ref()).await;
}

#[test]
fn refuses_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, vec![0x5a; 10_000]).unwrap();
    let err = RedbStore::open(&junk).unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");

    let newer = dir.path().join("newer.redb");
    drop(RedbStore::open(&newer).unwrap());
    {
        let db = redb::Database::open(&newer).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("format", 2u64.to_be_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let err = RedbStore::open(&newer).unwrap_err();
    assert!(
        matches!(err, StoreError::FormatVersion { found: 2, want: 1 }),
        "{err:?}"
    );
}
