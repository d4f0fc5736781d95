//! The `LogStore` conformance suite, so that every store runs the same checks: [`conformance`]
//! (appends, duplicates, compare-and-swap, reopening, proofs, checkpoint formats, refusal to
//! open a damaged log; [`log_store_conformance!`](crate::log_store_conformance) makes one test
//! per check for a fixture) and [`failures`] (every store operation failing in turn, before or
//! after it takes effect, then recovery). A store takes part through a [`Fixture`]; this module
//! has them for the memory, redb and PostgreSQL stores.
//!
//! Also the pieces the suites are made of, for a store's own tests: a test clock, a sequencer
//! on it, test entries, and an [`Observer`] that records what clients were told and checks the
//! log never broke a promise.

pub mod conformance;
pub mod failures;

use crate::pg::PgServer;
use signet_log::{
    AppendResult, CheckpointFormat, LogCheck, LogError, LogStore, MemoryStore, PostgresStore,
    RedbStore, Sequencer, SequencerConfig, StoredCheckpoint, check_log, consistency_proof,
    inclusion_proof,
};
use signet_merkle::{LeafIndex, TreeSize, hash_leaf, verify_consistency, verify_inclusion};
use signet_note::{Checkpoint, Ed25519NoteSigner, NoteVerifiers, open_note};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The origin of the test logs.
pub const ORIGIN: &str = "example.com/signet-log-test";
const SEED: [u8; 32] = [42; 32];

/// The test logs' checkpoint signer (a fixed Ed25519 key).
pub fn signer() -> Ed25519NoteSigner {
    Ed25519NoteSigner::from_seed(ORIGIN, &SEED).unwrap()
}

/// The verifier of [`signer`]'s checkpoints.
pub fn verifiers() -> NoteVerifiers {
    NoteVerifiers::from_vkeys([signer().verifier_key().as_str()]).unwrap()
}

/// A sequencer configuration for [`ORIGIN`] writing checkpoints in `format`.
pub fn config(format: CheckpointFormat) -> SequencerConfig {
    SequencerConfig {
        origin: ORIGIN.to_owned(),
        format,
    }
}

/// A clock the test sets by hand; starts at a fixed instant.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl Default for TestClock {
    fn default() -> Self {
        TestClock(Arc::new(AtomicU64::new(1_700_000_000_000)))
    }
}

impl TestClock {
    /// A clock set to the wall-clock time now (it then only moves when told to).
    pub fn now() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        TestClock(Arc::new(AtomicU64::new(now)))
    }
    /// Sets the time (ms since the Unix epoch).
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    /// Moves the time on by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// The clock as the sequencer takes it.
    pub fn closure(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let c = Arc::clone(&self.0);
        move || c.load(Ordering::SeqCst)
    }
}

/// A sequencer on `store` with the test signer and clock, writing C2SP checkpoints.
pub async fn open<S: LogStore>(
    store: &Arc<S>,
    clock: &TestClock,
) -> Result<Sequencer<S>, LogError> {
    open_with(store, clock, CheckpointFormat::C2sp).await
}

/// [`open`], writing checkpoints in `format`.
pub async fn open_with<S: LogStore>(
    store: &Arc<S>,
    clock: &TestClock,
    format: CheckpointFormat,
) -> Result<Sequencer<S>, LogError> {
    Sequencer::open(
        Arc::clone(store),
        Box::new(signer()),
        config(format),
        clock.closure(),
    )
    .await
}

/// A distinct entry per `n`, of varying length (0 to 300 bytes).
pub fn entry(n: u64) -> Vec<u8> {
    let len = (n * 37 % 301) as usize;
    let mut out = format!("entry {n}:").into_bytes();
    out.extend((0..len).map(|i| (i as u64 ^ n) as u8));
    out
}

/// [`entry`] for each of `range`.
pub fn entries(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(entry).collect()
}

/// A store to run the shared tests on, which can be closed and opened again.
pub trait Fixture {
    /// The store.
    type Store: LogStore;
    /// A handle on the store.
    fn store(&self) -> Arc<Self::Store>;
    /// Closes the store (the caller must have dropped every other handle) and opens it again.
    fn reopen(&mut self, old: Arc<Self::Store>) -> Arc<Self::Store>;
}

/// A [`MemoryStore`]; reopening hands back the same store.
pub struct MemoryFixture(Arc<MemoryStore>);

impl MemoryFixture {
    /// A new, empty store.
    pub fn new() -> Self {
        MemoryFixture(Arc::new(MemoryStore::new()))
    }
}

impl Default for MemoryFixture {
    fn default() -> Self {
        MemoryFixture::new()
    }
}

impl MemoryFixture {
    /// [`MemoryFixture::new`], as [`log_store_conformance!`](crate::log_store_conformance)
    /// takes it.
    pub async fn start() -> Option<Self> {
        Some(MemoryFixture::new())
    }
}

impl Fixture for MemoryFixture {
    type Store = MemoryStore;
    fn store(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.0)
    }
    fn reopen(&mut self, old: Arc<MemoryStore>) -> Arc<MemoryStore> {
        old
    }
}

/// A [`RedbStore`] in a temp dir; reopening closes the file and opens it again.
pub struct RedbFixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Option<Arc<RedbStore>>,
}

impl RedbFixture {
    /// A new, empty store.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.redb");
        let store = Arc::new(RedbStore::open(&path).unwrap());
        RedbFixture {
            _dir: dir,
            path,
            store: Some(store),
        }
    }
}

impl Default for RedbFixture {
    fn default() -> Self {
        RedbFixture::new()
    }
}

impl RedbFixture {
    /// [`RedbFixture::new`], as [`log_store_conformance!`](crate::log_store_conformance)
    /// takes it.
    pub async fn start() -> Option<Self> {
        Some(RedbFixture::new())
    }
}

impl Fixture for RedbFixture {
    type Store = RedbStore;
    fn store(&self) -> Arc<RedbStore> {
        Arc::clone(self.store.as_ref().unwrap())
    }
    fn reopen(&mut self, old: Arc<RedbStore>) -> Arc<RedbStore> {
        drop(old);
        let last = self.store.take().unwrap();
        assert_eq!(
            Arc::strong_count(&last),
            1,
            "a store handle is still alive; redb can only be opened once"
        );
        drop(last);
        let store = Arc::new(RedbStore::open(&self.path).unwrap());
        self.store = Some(Arc::clone(&store));
        store
    }
}

impl PgServer {
    /// A [`PostgresStore`] in a new schema of the `postgres` database (much cheaper than a
    /// database, which `CREATE DATABASE` checkpoints to disk).
    pub async fn store(&self) -> PostgresStore {
        use sqlx::Connection as _;
        let name = format!("log{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let options: sqlx::postgres::PgConnectOptions = self.url("postgres").parse().unwrap();
        PostgresStore::connect_with(options.options([("search_path", name.as_str())]))
            .await
            .unwrap()
    }
}

/// A [`PostgresStore`] in a database on a throwaway server of its own; reopening closes the
/// pool and connects again. Needs a multi-threaded runtime.
pub struct PgFixture {
    store: Option<Arc<PostgresStore>>,
    url: String,
    _server: PgServer,
}

impl PgFixture {
    /// A new, empty store, or `None` (the test skips) without PostgreSQL; see [`PgServer`].
    pub async fn start() -> Option<PgFixture> {
        let server = PgServer::start()?;
        let url = server.create_database();
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

/// Makes `mod $module` with one `#[tokio::test]` (multi-threaded, two workers) per check of
/// the [`conformance`] suite, each on a fixture from `$start`: an expression (it may name items
/// of the calling module) whose value is a future of `Option<impl Fixture>`; `None` skips the
/// test. The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
///
/// ```ignore
/// signet_testkit::log_store_conformance!(redb, signet_testkit::log::RedbFixture::start());
/// ```
#[macro_export]
macro_rules! log_store_conformance {
    ($module:ident, $start:expr) => {
        $crate::log_store_conformance!(@module $module, $start;
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
    };
    (@module $module:ident, $start:expr; $($check:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(fixture) = $start.await else {
                        return;
                    };
                    $crate::log::conformance::$check(fixture).await
                }
            )*
        }
    };
}

/// What clients were told: acknowledged entries and every checkpoint seen, in order.
#[derive(Default)]
pub struct Observer {
    /// Acknowledged entries by index.
    pub acked: BTreeMap<u64, Vec<u8>>,
    /// Every checkpoint seen, in order.
    pub checkpoints: Vec<StoredCheckpoint>,
}

impl Observer {
    /// Records a successful append of `entries` and checks its results line up.
    pub fn record(&mut self, entries: &[Vec<u8>], results: &[AppendResult]) {
        assert_eq!(entries.len(), results.len());
        for (entry, result) in entries.iter().zip(results) {
            assert_eq!(result.leaf_hash, hash_leaf(entry));
            assert!(result.index.0 < result.checkpoint.size.0);
            if let Some(previous) = self.acked.insert(result.index.0, entry.clone()) {
                assert_eq!(&previous, entry, "index {} reused", result.index.0);
            }
            self.observe(&result.checkpoint);
        }
    }

    /// Records a checkpoint a client saw.
    pub fn observe(&mut self, checkpoint: &StoredCheckpoint) {
        if self.checkpoints.last() != Some(checkpoint) {
            self.checkpoints.push(checkpoint.clone());
        }
    }

    /// Records the checkpoint a reader of the store would see now.
    pub async fn observe_store<S: LogStore>(&mut self, store: &S) {
        if let Some(cp) = store.state().await.unwrap().checkpoint {
            self.observe(&cp);
        }
    }

    /// Checks every promise against the store: the whole log is consistent; sizes never went
    /// back; timestamps strictly increased; every acknowledged entry is at its index,
    /// byte-identical, and provably included in the newest checkpoint; every checkpoint seen is
    /// consistent with the newest; the newest covers every staged entry.
    pub async fn verify<S: LogStore>(&mut self, store: &S) -> LogCheck {
        let check = check_log(store, &verifiers()).await.unwrap();
        self.observe_store(store).await;
        let state = store.state().await.unwrap();
        let newest = state.checkpoint.clone().unwrap();
        assert_eq!(
            newest.size, state.staged_size,
            "the newest checkpoint must cover every staged entry"
        );
        for pair in self.checkpoints.windows(2) {
            assert!(pair[0].size <= pair[1].size, "checkpoint size went back");
            assert!(
                pair[0].timestamp_ms < pair[1].timestamp_ms,
                "checkpoint timestamps must strictly increase"
            );
        }
        let newest_root = parse(&newest).root_hash;
        for cp in &self.checkpoints {
            let old = parse(cp);
            if old.size.0 == 0 {
                continue;
            }
            let proof = consistency_proof(store, old.size, newest.size)
                .await
                .unwrap();
            verify_consistency(
                old.size,
                newest.size,
                &old.root_hash.0,
                &newest_root.0,
                &proof,
            )
            .unwrap();
        }
        // `check_log` proved the tiles match the entries and the checkpoint's root, so a
        // sample of inclusion proofs is enough (they are slow in debug builds).
        let last = self.acked.keys().next_back().copied();
        for (&index, data) in &self.acked {
            let stored = store.read_entry(LeafIndex(index)).await.unwrap().unwrap();
            assert_eq!(&stored.data, data, "acknowledged entry {index} changed");
            if self.acked.len() > 64 && index % 13 != 0 && Some(index) != last {
                continue;
            }
            let proof = inclusion_proof(store, LeafIndex(index), newest.size)
                .await
                .unwrap();
            verify_inclusion(
                &hash_leaf(data),
                LeafIndex(index),
                newest.size,
                &proof,
                &newest_root.0,
            )
            .unwrap();
        }
        check
    }
}

/// Opens and parses a stored checkpoint with the test key.
pub fn parse(cp: &StoredCheckpoint) -> Checkpoint {
    let opened = open_note(&cp.note, &verifiers()).unwrap();
    let parsed = Checkpoint::parse(opened.text()).unwrap();
    assert_eq!(parsed.size, cp.size);
    assert_eq!(parsed.origin, ORIGIN);
    parsed
}

/// `TreeSize(n)`.
pub fn size(n: u64) -> TreeSize {
    TreeSize(n)
}
