//! One suite, run over every `TufStore`: the directory store and PostgreSQL (a throwaway
//! server per test; skipped without `SIGNET_PG_BIN` unless `SIGNET_REQUIRE_POSTGRES=1`).
//!
//! The store's contract (compare-and-swap of the timestamp, named files that never change,
//! removals that spare roots, one lock holder at a time), then repositories on one store as
//! several servers run them: opened at once, publishing and re-signing at once without ever
//! making two files of one role and version, and a TUF client bootstrapped from one server's
//! root refreshing from another. A "replica" is another handle on the same store: another
//! connection pool for PostgreSQL; for a directory (one process owns it), the same store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use signet_testkit::pg::PgServer;
use signet_tuf::TufError;
use signet_tuf::repo::{Expiries, Repository, RoleKeys};
use signet_tuf::store::{
    Commit, FileStore, NewTimestamp, PostgresStore, TIMESTAMP, TufLock, TufStore,
};

use crate::common::{DAY, Served, now};

/// A store under test, and how to get another server's handle on it.
pub enum Backend {
    Files {
        _dir: tempfile::TempDir,
        store: FileStore,
    },
    Postgres {
        _server: PgServer,
        url: String,
    },
}

impl Backend {
    pub async fn files() -> Option<Backend> {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(&dir.path().join("repository")).unwrap();
        Some(Backend::Files { _dir: dir, store })
    }

    pub async fn postgres() -> Option<Backend> {
        let server = PgServer::start()?;
        let url = server.create_database();
        Some(Backend::Postgres {
            _server: server,
            url,
        })
    }

    /// A handle on the store, as one more server opens it.
    pub async fn replica(&self) -> Arc<dyn TufStore> {
        match self {
            Backend::Files { store, .. } => Arc::new(store.clone()),
            Backend::Postgres { url, .. } => Arc::new(PostgresStore::connect(url).await.unwrap()),
        }
    }
}

macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        mod files {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(backend) = super::Backend::files().await else { return };
                    super::$test(&backend).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(backend) = super::Backend::postgres().await else { return };
                    super::$test(&backend).await;
                }
            )*
        }
    };
}

store_suite!(
    an_empty_store_holds_nothing,
    a_commit_is_read_back,
    the_timestamp_is_compare_and_swap,
    named_files_never_change,
    removals_spare_roots,
    one_lock_holder_at_a_time,
    replicas_open_one_repository,
    concurrent_publishes_make_one_version_per_change,
    a_refresh_on_one_replica_is_seen_by_the_other,
    other_keys_are_refused,
    a_client_bootstrapped_from_one_replica_refreshes_from_another,
    a_file_repository_is_copied_into_an_empty_store,
    a_failed_commit_is_recovered,
);

// --- the store contract, on minimal files ---------------------------------------------------

fn timestamp(version: u64, snapshot: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"signed":{{"version":{version},"meta":{{"snapshot.json":{{"version":{snapshot}}}}}}}}}"#
    ))
}

fn snapshot(targets: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"signed":{{"meta":{{"targets.json":{{"version":{targets}}}}}}}}}"#
    ))
}

fn file(name: &str, bytes: &Bytes) -> (String, Bytes) {
    (name.to_owned(), bytes.clone())
}

/// Commits version 1 (a root, targets, snapshot and timestamp): what it stored.
async fn commit_v1(store: &dyn TufStore) -> BTreeMap<String, Bytes> {
    let files = vec![
        file("1.root.json", &Bytes::from_static(b"root 1")),
        file("1.targets.json", &Bytes::from_static(b"targets 1")),
        file("1.snapshot.json", &snapshot(1)),
    ];
    let lock = store.lock().await.unwrap();
    lock.commit(Commit {
        files: files.clone(),
        timestamp: Some(NewTimestamp {
            replaces: None,
            version: 1,
            bytes: timestamp(1, 1),
        }),
        remove: Vec::new(),
    })
    .await
    .unwrap();
    let mut expected: BTreeMap<String, Bytes> = files.into_iter().collect();
    expected.insert(TIMESTAMP.to_owned(), timestamp(1, 1));
    expected
}

async fn an_empty_store_holds_nothing(b: &Backend) {
    let store = b.replica().await;
    assert!(store.load().await.unwrap().is_empty());
    for name in [TIMESTAMP, "1.root.json", "../1.root.json", "keys/x"] {
        assert!(store.read(name).await.unwrap().is_none(), "{name}");
    }
}

async fn a_commit_is_read_back(b: &Backend) {
    let store = b.replica().await;
    let expected = commit_v1(store.as_ref()).await;
    assert_eq!(store.load().await.unwrap(), expected);
    for (name, bytes) in &expected {
        assert_eq!(
            store.read(name).await.unwrap().as_ref(),
            Some(bytes),
            "{name}"
        );
    }
    // Another server sees the same.
    let other = b.replica().await;
    assert_eq!(other.load().await.unwrap(), expected);
    let mut lock = other.lock().await.unwrap();
    assert_eq!(lock.load().await.unwrap(), expected);
}

async fn the_timestamp_is_compare_and_swap(b: &Backend) {
    let store = b.replica().await;
    let before = commit_v1(store.as_ref()).await;
    for (replaces, version) in [(None, 2), (Some(5), 6), (Some(1), 1), (Some(1), 0)] {
        let lock = store.lock().await.unwrap();
        let r = lock
            .commit(Commit {
                files: vec![file("2.snapshot.json", &snapshot(1))],
                timestamp: Some(NewTimestamp {
                    replaces,
                    version,
                    bytes: timestamp(version, 2),
                }),
                remove: vec!["1.snapshot.json".to_owned()],
            })
            .await;
        assert!(
            matches!(r, Err(TufError::Conflict { .. })),
            "{replaces:?} -> {version}: {r:?}"
        );
        assert_eq!(store.load().await.unwrap(), before, "nothing changed");
    }
    let lock = store.lock().await.unwrap();
    lock.commit(Commit {
        files: vec![file("2.snapshot.json", &snapshot(1))],
        timestamp: Some(NewTimestamp {
            replaces: Some(1),
            version: 2,
            bytes: timestamp(2, 2),
        }),
        remove: Vec::new(),
    })
    .await
    .unwrap();
    assert_eq!(store.read(TIMESTAMP).await.unwrap(), Some(timestamp(2, 2)));
}

async fn named_files_never_change(b: &Backend) {
    let store = b.replica().await;
    let before = commit_v1(store.as_ref()).await;
    for name in ["1.root.json", "1.targets.json", "1.snapshot.json"] {
        let lock = store.lock().await.unwrap();
        let r = lock
            .commit(Commit {
                files: vec![file(name, &Bytes::from_static(b"other"))],
                timestamp: None,
                remove: Vec::new(),
            })
            .await;
        assert!(matches!(r, Err(TufError::Conflict { .. })), "{name}: {r:?}");
        assert_eq!(store.load().await.unwrap(), before, "{name}");
    }
    for bad in [TIMESTAMP, "../x.json", "root.json"] {
        let lock = store.lock().await.unwrap();
        let r = lock
            .commit(Commit {
                files: vec![file(bad, &Bytes::from_static(b"x"))],
                timestamp: None,
                remove: Vec::new(),
            })
            .await;
        assert!(matches!(r, Err(TufError::Conflict { .. })), "{bad}: {r:?}");
    }
    // The same bytes again, and a new root on its own: fine.
    let lock = store.lock().await.unwrap();
    lock.commit(Commit {
        files: vec![
            file("1.root.json", &Bytes::from_static(b"root 1")),
            file("2.root.json", &Bytes::from_static(b"root 2")),
        ],
        timestamp: None,
        remove: Vec::new(),
    })
    .await
    .unwrap();
    assert_eq!(
        store.read("2.root.json").await.unwrap(),
        Some(Bytes::from_static(b"root 2"))
    );
    assert_eq!(store.read(TIMESTAMP).await.unwrap(), Some(timestamp(1, 1)));
}

async fn removals_spare_roots(b: &Backend) {
    let store = b.replica().await;
    commit_v1(store.as_ref()).await;
    let lock = store.lock().await.unwrap();
    lock.commit(Commit {
        files: vec![
            file("2.targets.json", &Bytes::from_static(b"targets 2")),
            file("2.snapshot.json", &snapshot(2)),
        ],
        timestamp: Some(NewTimestamp {
            replaces: Some(1),
            version: 2,
            bytes: timestamp(2, 2),
        }),
        remove: vec![
            "1.root.json".to_owned(),
            "1.targets.json".to_owned(),
            TIMESTAMP.to_owned(),
        ],
    })
    .await
    .unwrap();
    let names: Vec<String> = store.load().await.unwrap().into_keys().collect();
    assert_eq!(
        names,
        [
            "1.root.json",
            "1.snapshot.json",
            "2.snapshot.json",
            "2.targets.json",
            TIMESTAMP
        ]
    );
}

async fn one_lock_holder_at_a_time(b: &Backend) {
    let (one, two) = (b.replica().await, b.replica().await);
    let held = one.lock().await.unwrap();
    let waiting = tokio::spawn(async move { two.lock().await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a second lock while the first is held"
    );
    // Dropped without a commit: released, nothing written.
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the lock was not released")
        .unwrap()
        .unwrap();
    assert!(one.load().await.unwrap().is_empty());
}

// --- repositories on one store -------------------------------------------------------------

const NOW: i64 = 1_780_000_000;

fn keys(dir: &std::path::Path) -> RoleKeys {
    RoleKeys::load_or_create(dir, &aws_lc_rs::rand::SystemRandom::new()).unwrap()
}

/// Two repositories on `b`, as two servers with the same key files open them at once.
async fn two_replicas(
    b: &Backend,
    keys_dir: &std::path::Path,
    now: i64,
) -> (Repository, Repository) {
    let (sa, sb) = (b.replica().await, b.replica().await);
    let (ka, kb) = (keys(keys_dir), keys(keys_dir));
    let (a, b) = tokio::join!(
        Repository::open_store(sa, ka, Expiries::default(), now),
        Repository::open_store(sb, kb, Expiries::default(), now),
    );
    (a.unwrap(), b.unwrap())
}

/// Takes what the other replica published (what `signet up`'s sync task does).
async fn sync(repo: &mut Repository) {
    let files = repo.store().load().await.unwrap();
    repo.install(&files).unwrap();
}

async fn replicas_open_one_repository(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(b, tmp.path(), NOW).await;
    assert_eq!(a.initial_root(), b.initial_root());
    assert_eq!(a.versions(), b.versions());
    assert_eq!(a.versions().timestamp, 1);
    assert_eq!(a.file(TIMESTAMP), b.file(TIMESTAMP));
}

async fn concurrent_publishes_make_one_version_per_change(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b) = two_replicas(b, tmp.path(), NOW).await;
    // Every timestamp either replica ever served, by version: never two different ones.
    let mut seen: HashMap<u64, Bytes> = HashMap::new();
    let mut record = |repo: &Repository| {
        let v = repo.versions();
        for (name, version) in [
            (TIMESTAMP.to_owned(), v.timestamp),
            (
                format!("{}.snapshot.json", v.snapshot),
                v.snapshot + 1_000_000,
            ),
            (format!("{}.targets.json", v.targets), v.targets + 2_000_000),
            (format!("{}.root.json", v.root), v.root + 3_000_000),
        ] {
            let bytes = repo.file(&name).unwrap();
            let earlier = seen.entry(version).or_insert_with(|| bytes.clone());
            assert_eq!(*earlier, bytes, "two different {name}");
        }
    };

    // The same trust files from both at once (every server starting): one new version.
    let same: &[(&str, &[u8])] = &[(signet_tuf::TRUSTED_ROOT_TARGET, b"root-a")];
    let (ra, rb) = tokio::join!(a.publish(same, NOW + 1), b.publish(same, NOW + 1));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra ^ rb, "exactly one publishes: {ra} {rb}");
    sync(&mut a).await;
    sync(&mut b).await;
    assert_eq!(a.versions(), b.versions());
    assert_eq!(a.versions().targets, 2);
    record(&a);
    record(&b);

    // Different trust files at once, several rounds: each change is one version, in turn.
    for round in 0..4u8 {
        let x = [b'x', round];
        let y = [b'y', round];
        let tx: &[(&str, &[u8])] = &[(signet_tuf::TRUSTED_ROOT_TARGET, &x)];
        let ty: &[(&str, &[u8])] = &[(signet_tuf::TRUSTED_ROOT_TARGET, &y)];
        let before = a.versions().targets;
        let (ra, rb) = tokio::join!(a.publish(tx, NOW + 2), b.publish(ty, NOW + 2));
        assert!(ra.unwrap() && rb.unwrap());
        record(&a);
        record(&b);
        sync(&mut a).await;
        sync(&mut b).await;
        assert_eq!(a.versions(), b.versions());
        assert_eq!(a.versions().targets, before + 2, "round {round}");
        assert_eq!(a.file(TIMESTAMP), b.file(TIMESTAMP));
        record(&a);
    }
    // The stored repository opens, and is what both serve.
    let again = Repository::open_store(b.store(), keys(tmp.path()), Expiries::default(), NOW + 3)
        .await
        .unwrap();
    assert_eq!(again.versions(), a.versions());
    assert_eq!(again.file(TIMESTAMP), a.file(TIMESTAMP));
}

async fn a_refresh_on_one_replica_is_seen_by_the_other(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b) = two_replicas(b, tmp.path(), NOW).await;
    let before = a.versions();
    // Half a day on, both look at once: one re-signs the timestamp.
    let at = NOW + DAY / 2;
    let (ra, rb) = tokio::join!(a.refresh(at), b.refresh(at));
    assert!(ra.unwrap() ^ rb.unwrap());
    sync(&mut a).await;
    sync(&mut b).await;
    assert_eq!(a.versions().timestamp, before.timestamp + 1);
    assert_eq!(a.file(TIMESTAMP), b.file(TIMESTAMP));
    // Half a year on, A alone: B sees the new root and timestamp without signing anything.
    let at = NOW + 183 * DAY;
    assert!(a.refresh(at).await.unwrap());
    assert!(!b.refresh(at).await.unwrap(), "B re-signed what A just did");
    assert_eq!(b.versions(), a.versions());
    assert_eq!(b.versions().root, 2);
    assert_eq!(b.file("2.root.json"), a.file("2.root.json"));
    assert_eq!(b.file(TIMESTAMP), a.file(TIMESTAMP));
    // An older state is never taken back.
    let mut stale = b.store().load().await.unwrap();
    stale.insert(TIMESTAMP.to_owned(), a.file(TIMESTAMP).unwrap());
    assert!(!b.install(&stale).unwrap());
}

async fn other_keys_are_refused(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let store = b.replica().await;
    Repository::open_store(store, keys(&tmp.path().join("a")), Expiries::default(), NOW)
        .await
        .unwrap();
    let other = b.replica().await;
    let r =
        Repository::open_store(other, keys(&tmp.path().join("b")), Expiries::default(), NOW).await;
    let Err(err) = r else {
        panic!("a repository opened with other keys")
    };
    assert!(matches!(err, TufError::KeyMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("copy its TUF key files"), "{err}");
}

async fn a_client_bootstrapped_from_one_replica_refreshes_from_another(b: &Backend) {
    let keys_dir = tempfile::tempdir().unwrap();
    let now = now();
    let (mut a, repo_b) = two_replicas(b, keys_dir.path(), now).await;
    a.publish(
        &[(signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 1}\n")],
        now,
    )
    .await
    .unwrap();
    let initial_root = a.initial_root().to_vec();
    let served_a = Served::serve(a, tempfile::tempdir().unwrap()).await;
    let served_b = Served::serve(repo_b, tempfile::tempdir().unwrap()).await;
    // B has not looked yet: it still serves version 1 (no targets), so sync it first.
    sync(&mut *served_b.repo.write().await).await;

    let client_dir = tempfile::tempdir().unwrap();
    let client = signet_tuf::client::InstanceStore::new(client_dir.path().join("instance"));
    client.bootstrap(&initial_root).unwrap();
    let transport = || signet_tuf::client::Transport::new(reqwest::Client::new());
    let got = client.refresh(&served_a.url, transport()).await.unwrap();
    assert_eq!(got.trusted_root, b"{\"trusted\": 1}\n");
    let got = client.refresh(&served_b.url, transport()).await.unwrap();
    assert_eq!(got.trusted_root, b"{\"trusted\": 1}\n");
    assert!(!got.offline);

    // A publishes new trust files and re-signs its root; the client, behind a balancer that
    // now sends it to B, gets them once B has looked.
    {
        let mut a = served_a.repo.write().await;
        a.publish(
            &[(signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 2}\n")],
            now,
        )
        .await
        .unwrap();
    }
    sync(&mut *served_b.repo.write().await).await;
    let got = client.refresh(&served_b.url, transport()).await.unwrap();
    assert_eq!(got.trusted_root, b"{\"trusted\": 2}\n");
    // And back to A: no rollback, same answer.
    let got = client.refresh(&served_a.url, transport()).await.unwrap();
    assert_eq!(got.trusted_root, b"{\"trusted\": 2}\n");
    served_a.stop().await;
    served_b.stop().await;
}

async fn a_file_repository_is_copied_into_an_empty_store(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let mut local = Repository::open(
        &tmp.path().join("local"),
        keys(&tmp.path().join("keys")),
        Expiries::default(),
        NOW,
    )
    .await
    .unwrap();
    local
        .publish(&[(signet_tuf::TRUSTED_ROOT_TARGET, b"root-a")], NOW)
        .await
        .unwrap();
    local
        .publish(&[(signet_tuf::TRUSTED_ROOT_TARGET, b"root-b")], NOW)
        .await
        .unwrap();
    // A publish that crashed before its timestamp left a snapshot no timestamp names.
    let next = local.versions().snapshot + 1;
    std::fs::write(
        tmp.path()
            .join("local")
            .join(format!("{next}.snapshot.json")),
        b"left over",
    )
    .unwrap();
    let from = FileStore::open(&tmp.path().join("local")).unwrap();
    let to = b.replica().await;
    assert!(
        signet_tuf::store::copy_if_empty(&from, to.as_ref())
            .await
            .unwrap()
    );
    assert!(
        !signet_tuf::store::copy_if_empty(&from, to.as_ref())
            .await
            .unwrap(),
        "copied twice"
    );
    let mut copied =
        Repository::open_store(to, keys(&tmp.path().join("keys")), Expiries::default(), NOW)
            .await
            .unwrap();
    assert_eq!(copied.initial_root(), local.initial_root());
    assert_eq!(copied.versions(), local.versions());
    assert_eq!(copied.file(TIMESTAMP), local.file(TIMESTAMP));
    // The left-over version is not in the way of the next publish.
    assert!(
        copied
            .publish(&[(signet_tuf::TRUSTED_ROOT_TARGET, b"root-c")], NOW)
            .await
            .unwrap()
    );
}

// --- failures ---------------------------------------------------------------------------------

/// When the next commit through a [`Failing`] store fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailAt {
    /// Before it reaches the store: nothing is written.
    Before,
    /// After the store committed it (the answer was lost).
    After,
}

/// A store whose next commit fails, before or after it takes effect.
#[derive(Debug)]
struct Failing {
    inner: Arc<dyn TufStore>,
    next: Arc<std::sync::Mutex<Option<FailAt>>>,
}

struct FailingLock {
    inner: Box<dyn TufLock>,
    fail: Option<FailAt>,
}

fn injected() -> TufError {
    TufError::Database {
        what: "injected failure",
        source: "injected".into(),
    }
}

#[tough::async_trait]
impl TufStore for Failing {
    async fn load(&self) -> Result<BTreeMap<String, Bytes>, TufError> {
        self.inner.load().await
    }
    async fn read(&self, name: &str) -> Result<Option<Bytes>, TufError> {
        self.inner.read(name).await
    }
    async fn lock(&self) -> Result<Box<dyn TufLock>, TufError> {
        let inner = self.inner.lock().await?;
        let fail = self.next.lock().unwrap().take();
        Ok(Box::new(FailingLock { inner, fail }))
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[tough::async_trait]
impl TufLock for FailingLock {
    async fn load(&mut self) -> Result<BTreeMap<String, Bytes>, TufError> {
        self.inner.load().await
    }
    async fn commit(self: Box<Self>, commit: Commit) -> Result<(), TufError> {
        match self.fail {
            Some(FailAt::Before) => Err(injected()),
            Some(FailAt::After) => {
                self.inner.commit(commit).await?;
                Err(injected())
            }
            None => self.inner.commit(commit).await,
        }
    }
}

/// A publish and a re-signing whose commit fails before or after it takes effect: the
/// repository keeps serving its last state, and the retry makes exactly one new version
/// (or sees that the lost one is there).
async fn a_failed_commit_is_recovered(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let next = Arc::new(std::sync::Mutex::new(None));
    let store: Arc<dyn TufStore> = Arc::new(Failing {
        inner: b.replica().await,
        next: next.clone(),
    });
    let mut repo = Repository::open_store(store, keys(tmp.path()), Expiries::default(), NOW)
        .await
        .unwrap();
    let mut round = 0u8;
    for at in [FailAt::Before, FailAt::After] {
        round += 1;
        let before = repo.versions();
        let served = repo.file(TIMESTAMP);
        let targets = [b'r', round];
        let targets: &[(&str, &[u8])] = &[(signet_tuf::TRUSTED_ROOT_TARGET, &targets)];
        *next.lock().unwrap() = Some(at);
        let r = repo.publish(targets, NOW).await;
        assert!(matches!(r, Err(TufError::Database { .. })), "{at:?}: {r:?}");
        assert_eq!(repo.versions(), before, "{at:?}");
        assert_eq!(repo.file(TIMESTAMP), served, "{at:?}");
        // The retry: a new version if the first never landed, else nothing to do.
        let published = repo.publish(targets, NOW).await.unwrap();
        assert_eq!(published, at == FailAt::Before, "{at:?}");
        assert_eq!(repo.versions().targets, before.targets + 1, "{at:?}");
        assert_eq!(repo.versions().timestamp, before.timestamp + 1, "{at:?}");

        let before = repo.versions();
        let at_time = NOW + i64::from(round) * DAY;
        *next.lock().unwrap() = Some(at);
        assert!(repo.refresh(at_time).await.is_err(), "{at:?}");
        assert_eq!(repo.versions(), before, "{at:?}");
        let resigned = repo.refresh(at_time).await.unwrap();
        assert_eq!(resigned, at == FailAt::Before, "{at:?}");
        assert_eq!(repo.versions().timestamp, before.timestamp + 1, "{at:?}");
    }
    // What is stored opens as what is served.
    let again = Repository::open_store(
        b.replica().await,
        keys(tmp.path()),
        Expiries::default(),
        NOW + 3 * DAY,
    )
    .await
    .unwrap();
    assert_eq!(again.versions(), repo.versions());
    assert_eq!(again.file(TIMESTAMP), repo.file(TIMESTAMP));
}

/// PostgreSQL: a publisher whose session ends while it holds the lock (what
/// `idle_in_transaction_session_timeout` does to a stopped one) gives the lock up at once, and
/// cannot commit afterwards: the other server publishes, and the first one's commit fails
/// without changing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_publisher_whose_session_ended_cannot_commit() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let Backend::Postgres { url, .. } = &backend else {
        unreachable!()
    };
    let (one, two) = (backend.replica().await, backend.replica().await);
    let before = commit_v1(one.as_ref()).await;
    let mut stalled = one.lock().await.unwrap();
    assert_eq!(stalled.load().await.unwrap(), before);
    let waiting = tokio::spawn(async move {
        let lock = two.lock().await?;
        lock.commit(Commit {
            files: vec![file("2.snapshot.json", &snapshot(1))],
            timestamp: Some(NewTimestamp {
                replaces: Some(1),
                version: 2,
                bytes: timestamp(2, 2),
            }),
            remove: Vec::new(),
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the lock was not held");

    // The session of the stalled publisher ends.
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'signet tuf' AND state = 'idle in transaction'",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one publisher holds the lock");
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the lock was not released")
        .unwrap()
        .unwrap();

    // The stalled one resumes: its commit fails, the other's stays.
    let r = stalled
        .commit(Commit {
            files: vec![file("2.snapshot.json", &Bytes::from_static(b"a fork"))],
            timestamp: Some(NewTimestamp {
                replaces: Some(1),
                version: 2,
                bytes: timestamp(2, 9),
            }),
            remove: Vec::new(),
        })
        .await;
    assert!(matches!(r, Err(TufError::Database { .. })), "{r:?}");
    let store = backend.replica().await;
    assert_eq!(store.read(TIMESTAMP).await.unwrap(), Some(timestamp(2, 2)));
    assert_eq!(
        store.read("2.snapshot.json").await.unwrap(),
        Some(snapshot(1))
    );
}
