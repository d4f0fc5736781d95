//! Crash-safety: every store operation fails in turn, before or after it takes effect, in the
//! middle of an append; then the log is recovered (a fresh sequencer, or the same one) and every
//! promise is checked: no acknowledged entry lost or moved, every checkpoint ever visible is
//! consistent with the newest, sizes never shrink, timestamps strictly increase, the recovered
//! log publishes a checkpoint covering everything staged. Runs on both stores.

use signet_testkit::log::failures as suite;
use suite::table;

#[tokio::test]
async fn failure_table_memory() {
    table(async || signet_log::MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_table_redb() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicU64::new(0);
    table(async || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        signet_log::RedbStore::open(dir.path().join(format!("log-{n}.redb"))).unwrap()
    })
    .await;
}

/// Two faults in a row: the batch is staged but its error reported, then the recovery's own
/// checkpoint publication fails too.
#[tokio::test]
async fn fault_during_recovery() {
    suite::fault_during_recovery(async || signet_log::MemoryStore::new()).await;
}

/// A seeded random walk: batches with duplicates, random faults, random restarts.
#[tokio::test]
async fn random_faults() {
    suite::random_faults(signet_log::MemoryStore::new()).await;
}
