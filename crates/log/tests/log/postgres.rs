//! The PostgreSQL store under the same conformance and failure-injection suites as the other
//! stores, against a real throwaway PostgreSQL server per test (`initdb` + `pg_ctl` on a temp
//! dir, 127.0.0.1, a free port), plus the single-sequencer lease.
//!
//! The server binaries come from `SIGNET_PG_BIN` (e.g. `/usr/lib/postgresql/15/bin`;
//! `scripts/ensure-postgres` installs them). Without it the tests are skipped with a message,
//! unless `SIGNET_REQUIRE_POSTGRES=1`, when they fail. When running as root, the server runs
//! as the `postgres` user (PostgreSQL refuses to run as root).

use signet_log::{LogError, LogStore, PostgresStore, StoreError};
use signet_testkit::log::failures as failure_suite;
use signet_testkit::log::*;
use signet_testkit::pg::PgServer;
use std::sync::Arc;

signet_testkit::log_store_conformance!(conformance, signet_testkit::log::PgFixture::start());

/// Every store operation failing before or after it takes effect, a database per scenario.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_table() {
    let Some(server) = PgServer::start() else {
        return;
    };
    failure_suite::table(async || server.store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_during_recovery() {
    let Some(server) = PgServer::start() else {
        return;
    };
    failure_suite::fault_during_recovery(async || server.store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults() {
    let Some(server) = PgServer::start() else {
        return;
    };
    failure_suite::random_faults(server.store().await).await;
}

/// Two servers on one database: the second cannot take the sequencer lease while the first
/// holds it; a second sequencer opened anyway is fenced on its first write; the lease passes
/// on once released, or once its holder's connection dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sequencer_lease() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let url = server.create_database();
    let first = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let second = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let clock = TestClock::default();

    let mut lease = first.try_lease().await.unwrap().expect("first lease");
    assert!(second.try_lease().await.unwrap().is_none());
    assert!(
        first.try_lease().await.unwrap().is_none(),
        "one lease per database"
    );
    lease.check().await.unwrap();
    let mut obs = Observer::default();
    let mut seq = open(&first, &clock).await.unwrap();
    let batch = entries(0..5);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);

    // Without the lease (a misconfigured second server), compare-and-swap fences it.
    let mut intruder = open(&second, &clock).await.unwrap();
    clock.advance(1);
    let batch = entries(5..8);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    let err = intruder.append_batch(entries(20..22)).await.unwrap_err();
    assert!(
        matches!(err, LogError::Fenced(StoreError::StagedConflict { .. })),
        "{err:?}"
    );
    // It can still serve reads.
    obs.verify(second.as_ref()).await;

    // Released: the second server takes over and carries on from the stored log.
    drop(seq);
    lease.release().await.unwrap();
    let lease2 = second
        .try_lease()
        .await
        .unwrap()
        .expect("lease after release");
    let mut seq2 = open(&second, &clock).await.unwrap();
    clock.advance(1);
    let batch = entries(8..10);
    let r = seq2.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    assert!(first.try_lease().await.unwrap().is_none());
    // Its connection dropped (a crashed holder): the lease is free again.
    drop(lease2);
    let mut again = None;
    for _ in 0..50 {
        again = first.try_lease().await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        again.is_some(),
        "lease not freed when its connection closed"
    );
    obs.verify(first.as_ref()).await;
    assert_eq!(first.state().await.unwrap().staged_size.0, 10);
}

/// Committed writes survive an immediate shutdown of the server (`pg_ctl stop -m immediate`
/// skips the checkpoint, so the restart replays the WAL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_server_crash() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let url = server.create_database();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let clock = TestClock::default();
    let mut obs = Observer::default();
    let mut seq = open(&store, &clock).await.unwrap();
    let batch = entries(0..300);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    drop(seq);
    store.pool().close().await;
    drop(store);

    server.crash();
    server.restart();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    obs.verify(store.as_ref()).await;
    let mut seq = open(&store, &clock).await.unwrap();
    clock.advance(1);
    let batch = entries(300..310);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    obs.verify(store.as_ref()).await;
}

/// Each checkpoint commit notifies `signet_checkpoint` with the log's schema, and the watcher
/// says when notifications may have been missed: when it starts listening, and after its
/// connection was cut (it reconnects by itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_commits_are_notified() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let url = server.create_database();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let store = Arc::new(
        PostgresStore::connect_with(options.clone().options([("search_path", "public")]))
            .await
            .unwrap(),
    );
    let (events, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(signet_log::watch_checkpoints(
        options,
        std::time::Duration::from_millis(50),
        move |schema: Option<&str>| {
            let _ = events.send(schema.map(str::to_owned));
        },
        stop_rx,
    ));
    let next = async |heard: &mut tokio::sync::mpsc::UnboundedReceiver<Option<String>>| {
        tokio::time::timeout(std::time::Duration::from_secs(20), heard.recv())
            .await
            .expect("no word from the watcher")
            .expect("the watcher ended")
    };
    assert_eq!(
        next(&mut heard).await,
        None,
        "listening starts: anything may have moved"
    );

    let clock = TestClock::default();
    let mut seq = open(&store, &clock).await.unwrap();
    // Opening an empty log publishes its empty checkpoint; each append publishes one more.
    assert_eq!(next(&mut heard).await.as_deref(), Some("public"));
    seq.append_batch(entries(0..3)).await.unwrap();
    assert_eq!(next(&mut heard).await.as_deref(), Some("public"));
    clock.advance(1);
    seq.append_batch(entries(3..4)).await.unwrap();
    assert_eq!(next(&mut heard).await.as_deref(), Some("public"));

    // The listener's connection is cut: it says so once listening again, then hears the next.
    let cut = server.query(
        &url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert_eq!(cut, "1");
    assert_eq!(next(&mut heard).await, None);
    // Until it listens again, what is committed may go unheard; it says so when it does.
    let mut events = Vec::new();
    loop {
        clock.advance(1);
        seq.append_batch(entries(10 + events.len() as u64..11 + events.len() as u64))
            .await
            .unwrap();
        let event = next(&mut heard).await;
        events.push(event.clone());
        if event.as_deref() == Some("public") {
            break;
        }
        assert!(events.len() < 50, "{events:?}");
    }
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), watcher)
        .await
        .expect("the watcher stops when asked")
        .unwrap();
}
