//! The PostgreSQL store under the same conformance and failure-injection suites as the other
//! stores, against a real throwaway PostgreSQL server per test (`initdb` + `pg_ctl` on a temp
//! dir, 127.0.0.1, a free port), plus the single-sequencer lease.
//!
//! The server binaries come from `SIGNET_PG_BIN` (e.g. `/usr/lib/postgresql/15/bin`;
//! `scripts/ensure-postgres` installs them). Without it the tests are skipped with a message,
//! unless `SIGNET_REQUIRE_POSTGRES=1`, when they fail. When running as root, the server runs
//! as the `postgres` user (PostgreSQL refuses to run as root).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "common/conformance_suite.rs"]
mod conformance_suite;
#[path = "common/failure_suite.rs"]
mod failure_suite;
#[path = "common/pg.rs"]
mod pg;

use common::*;
use pg::PgServer;
use signet_log::{LogError, LogStore, PostgresStore, StoreError};
use std::sync::Arc;
use std::sync::atomic::Ordering;

trait PgServerExt {
    async fn database(&self) -> String;
    async fn store(&self) -> PostgresStore;
}

impl PgServerExt for PgServer {
    /// A new, empty database; returns its URL.
    async fn database(&self) -> String {
        let name = format!("log{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let mut admin = sqlx_connect(&self.url("postgres")).await;
        sqlx_execute(&mut admin, &format!("CREATE DATABASE {name}")).await;
        self.url(&name)
    }

    /// A store in a new schema of the `postgres` database (much cheaper than a database,
    /// which `CREATE DATABASE` checkpoints to disk).
    async fn store(&self) -> PostgresStore {
        let name = format!("log{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let mut admin = sqlx_connect(&self.url("postgres")).await;
        sqlx_execute(&mut admin, &format!("CREATE SCHEMA {name}")).await;
        let options: sqlx::postgres::PgConnectOptions = self.url("postgres").parse().unwrap();
        PostgresStore::connect_with(options.options([("search_path", name.as_str())]))
            .await
            .unwrap()
    }
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap()
}

async fn sqlx_execute(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

/// A database on a server of its own; `reopen` drops the pool and connects again.
struct PgFixture {
    store: Option<Arc<PostgresStore>>,
    url: String,
    _server: PgServer,
}

impl PgFixture {
    async fn new() -> Option<PgFixture> {
        let server = PgServer::start()?;
        let url = server.database().await;
        let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
        Some(PgFixture {
            store: Some(store),
            url,
            _server: server,
        })
    }
}

impl Fixture for PgFixture {
    type Store = PostgresStore;
    fn store(&self) -> Arc<PostgresStore> {
        Arc::clone(self.store.as_ref().unwrap())
    }
    fn reopen(&mut self, old: Arc<PostgresStore>) -> Arc<PostgresStore> {
        drop(old);
        let last = self.store.take().unwrap();
        assert_eq!(Arc::strong_count(&last), 1, "a store handle is still alive");
        let url = self.url.clone();
        let store = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                last.pool().close().await;
                PostgresStore::connect(&url).await.unwrap()
            })
        });
        let store = Arc::new(store);
        self.store = Some(Arc::clone(&store));
        store
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fx) = super::PgFixture::new().await else { return };
                    super::conformance_suite::$name(fx).await
                }
            )*
        }
    };
}

// The same list as in `conformance.rs`.
conformance!(
    append_and_read,
    duplicates,
    aliases,
    compare_and_swap,
    reopen_continues,
    proofs,
    rekor_v1_checkpoints,
    entry_size_limit,
    clock_goes_backwards,
    refuses_root_mismatch,
    refuses_entry_mismatch,
    refuses_other_origin,
    large_tree,
);

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
    let url = server.database().await;
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
    let url = server.database().await;
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

    let data = server.data();
    server.run(
        "pg_ctl",
        &[
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ],
    );
    let opts = format!(
        "-p {} -k {} -h 127.0.0.1",
        server.port,
        server.dir.path().display()
    );
    let log = server.dir.path().join("server.log");
    server.run(
        "pg_ctl",
        &[
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ],
    );
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    obs.verify(store.as_ref()).await;
    let mut seq = open(&store, &clock).await.unwrap();
    clock.advance(1);
    let batch = entries(300..310);
    let r = seq.append_batch(batch.clone()).await.unwrap();
    obs.record(&batch, &r);
    obs.verify(store.as_ref()).await;
}
