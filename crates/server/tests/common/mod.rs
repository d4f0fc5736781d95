//! Helpers shared by the server tests: a server on a free loopback port (its stores in a
//! directory, its keys kept per directory in memory, as a data directory's key files keep
//! them), and signed requests.
#![allow(dead_code)]

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_log::{BatcherConfig, RedbStore};
use signet_server::{
    LogKeys, LogServer, LogServerParts, LogStores, PostgresStores, RedbStores, ServerError,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The search index's file in a test directory.
pub const SEARCH_INDEX_FILE: &str = "search-v1.redb";

/// The keys of each directory a server was started on.
static KEYS: Mutex<Option<HashMap<PathBuf, LogKeys>>> = Mutex::new(None);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The keys of the server in `dir`: made on first use, the same on every restart.
pub fn keys_for(dir: &Path) -> LogKeys {
    let mut map = KEYS.lock().unwrap();
    let map = map.get_or_insert_with(HashMap::new);
    map.entry(dir.to_owned())
        .or_insert_with(|| {
            let rng = SystemRandom::new();
            let v1 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let mut tree_id = [0u8; 8];
            aws_lc_rs::rand::fill(&mut tree_id).unwrap();
            let mut v2_seed = [0u8; 32];
            aws_lc_rs::rand::fill(&mut v2_seed).unwrap();
            LogKeys {
                v1_pkcs8: v1.as_ref().to_vec(),
                v1_tree_id: (u64::from_be_bytes(tree_id) >> 1).max(1),
                v2_seed,
                created: (now_ms() / 1000) as i64,
                retired_v1: Vec::new(),
            }
        })
        .clone()
}

/// Gives the server in `to` the keys of the server in `from` (as copying the key files does).
pub fn share_keys(from: &Path, to: &Path) {
    let keys = keys_for(from);
    KEYS.lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(to.to_owned(), keys);
}

/// The trusted root as a deployment writes it.
pub fn trusted_root_json(server: &LogServer) -> Vec<u8> {
    server.trusted_root().to_json_pretty().into_bytes()
}

/// Opens a server on the stores in `dir` (or in the database at `database`) with the keys of
/// [`keys_for`]`(dir)`, on the system clock.
pub async fn open(
    dir: &Path,
    public_url: &str,
    database: Option<&str>,
    peer_url: Option<String>,
    batch: BatcherConfig,
) -> Result<LogServer, ServerError> {
    open_with_search_results(
        dir,
        public_url,
        database,
        peer_url,
        batch,
        signet_server::MAX_SEARCH_RESULTS,
    )
    .await
}

/// [`open`], with searches answering at most `search_results` entries.
pub async fn open_with_search_results(
    dir: &Path,
    public_url: &str,
    database: Option<&str>,
    peer_url: Option<String>,
    batch: BatcherConfig,
    search_results: usize,
) -> Result<LogServer, ServerError> {
    let stores = match database {
        None => {
            let (v1_path, v2_path) = (dir.join("log-v1.redb"), dir.join("log-v2.redb"));
            let search_index_path = dir.join(SEARCH_INDEX_FILE);
            // Sized as signet-deploy sizes them.
            let sizes = signet_server::CacheSizes::for_redb(signet_server::DEFAULT_CACHE_BYTES);
            LogStores::Redb(RedbStores {
                v1: RedbStore::open_with_cache(&v1_path, sizes.redb_log).unwrap(),
                v1_path,
                v2: RedbStore::open_with_cache(&v2_path, sizes.redb_log).unwrap(),
                v2_path,
                search_index: redb::Database::builder()
                    .set_cache_size(sizes.redb_search)
                    .create(&search_index_path)
                    .unwrap(),
                search_index_path,
            })
        }
        Some(url) => LogStores::Postgres(PostgresStores::connect(url).await?),
    };
    open_stores(dir, public_url, stores, peer_url, batch, search_results).await
}

/// Opens a server on `dir`'s keys over `stores`.
pub async fn open_stores(
    dir: &Path,
    public_url: &str,
    stores: LogStores,
    peer_url: Option<String>,
    batch: BatcherConfig,
    search_results: usize,
) -> Result<LogServer, ServerError> {
    LogServer::new(LogServerParts {
        public_url: public_url.to_owned(),
        keys: keys_for(dir),
        stores,
        batch,
        peer_url,
        clock: signet_clock::Clock::from_fn(now_ms),
        randomness: signet_clock::Randomness::system(),
        search_results,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        guards: Default::default(),
    })
    .await
}

/// A server serving on 127.0.0.1.
pub struct Running {
    pub server: LogServer,
    pub base: String,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops serving and closes the logs (so the data dir can be reopened).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.server.shutdown().await;
    }
}

/// Opens a server on `dir` and serves it on a free port. `public_url` defaults to the port's URL.
pub async fn start(dir: &Path, public_url: Option<&str>) -> Running {
    start_on(dir, public_url, None).await
}

/// Like [`start`], with the logs in the PostgreSQL database at `database` if given (the
/// server's peer URL is its own port's).
pub async fn start_on(dir: &Path, public_url: Option<&str>, database: Option<&str>) -> Running {
    start_with_search_results(dir, public_url, database, signet_server::MAX_SEARCH_RESULTS).await
}

/// [`start_on`], with searches answering at most `search_results` entries.
pub async fn start_with_search_results(
    dir: &Path,
    public_url: Option<&str>,
    database: Option<&str>,
    search_results: usize,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = open_with_search_results(
        dir,
        public_url.unwrap_or(&base),
        database,
        Some(base.clone()),
        test_batches(),
        search_results,
    )
    .await
    .unwrap();
    serve(listener, base, server)
}

/// Batches as the tests run them: a short window.
fn test_batches() -> BatcherConfig {
    BatcherConfig {
        max_wait: Duration::from_millis(5),
        ..BatcherConfig::default()
    }
}

/// [`start_on`] with the PostgreSQL database at `database`, whose copy of a log's checkpoint
/// may get `max_staleness` old while it follows.
pub async fn start_follower(
    dir: &Path,
    public_url: &str,
    database: &str,
    max_staleness: Duration,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stores = PostgresStores::connect(database)
        .await
        .unwrap()
        .follower_max_staleness(max_staleness);
    let server = open_stores(
        dir,
        public_url,
        LogStores::Postgres(stores),
        Some(base.clone()),
        test_batches(),
        signet_server::MAX_SEARCH_RESULTS,
    )
    .await
    .unwrap();
    serve(listener, base, server)
}

/// Serves `server` on `listener` (whose URL is `base`).
fn serve(listener: tokio::net::TcpListener, base: String, server: LogServer) -> Running {
    let router = server.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running { server, base, task }
}

/// The test signer: a fresh P-256 key.
pub use signet_testkit::Signer;

/// A fresh random artifact.
pub fn artifact() -> Vec<u8> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    format!("artifact {}\n", hex::encode(bytes)).into_bytes()
}

/// A hashedrekord 0.0.1 proposed entry for `artifact` signed by `signer`.
pub fn hashedrekord_v1(signer: &Signer, artifact: &[u8]) -> Value {
    hashedrekord_v1_with(signer, artifact, &signer.sign(artifact))
}

pub fn hashedrekord_v1_with(signer: &Signer, artifact: &[u8], sig: &[u8]) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest(&SHA256, artifact))}},
        "signature": {"content": STANDARD.encode(sig), "publicKey": {"content": STANDARD.encode(signer.pem())}},
    }})
}

/// A hashedRekordRequestV002 for `artifact` signed by `signer`.
pub fn hashedrekord_v2(signer: &Signer, artifact: &[u8]) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest(&SHA256, artifact)),
        "signature": {"content": STANDARD.encode(signer.sign(artifact)), "verifier": {
            "publicKey": {"rawBytes": STANDARD.encode(signer.spki())},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }},
    }})
}

/// The search suite, run on redb (`api.rs`) and PostgreSQL (`postgres.rs`) by a server started
/// with [`start_with_search_results`] and a limit of 4: a key with more entries than
/// the limit and a later entry, combined with rarer keys by `and` and `or`. Answers list the
/// newest matches first, combine keys before the limit, and say when they were cut.
pub async fn search_suite(s: &Running) {
    let client = reqwest::Client::new();
    let (flood, rare) = (Signer::new(), Signer::new());
    let artifacts: Vec<Vec<u8>> = (0..8).map(|_| artifact()).collect();
    let create = |signer: &Signer, data: &[u8]| {
        let request = client
            .post(s.url("/api/v1/log/entries"))
            .json(&hashedrekord_v1(signer, data));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::CREATED);
            let entry: Value = response.json().await.unwrap();
            let (id, value) = entry.as_object().unwrap().iter().next().unwrap();
            (id.clone(), value["logIndex"].as_u64().unwrap())
        }
    };
    // Indexes 0..=5: the flooding key; 6: the rare key over artifact 3; 7: the flooding key
    // again, later than the limit's worth of its older entries.
    let mut ids = Vec::new();
    for data in &artifacts[..6] {
        ids.push(create(&flood, data).await);
    }
    ids.push(create(&rare, &artifacts[3]).await);
    ids.push(create(&flood, &artifacts[7]).await);
    for (i, (_, index)) in ids.iter().enumerate() {
        assert_eq!(*index, i as u64);
    }
    let id = |i: usize| ids[i].0.clone();
    let key = |signer: &Signer| json!({"format": "x509", "content": STANDARD.encode(signer.pem())});
    let hash = |i: usize| hex::encode(digest(&SHA256, &artifacts[i]));
    let search = |query: Value| {
        let request = client.post(s.url("/api/v1/index/retrieve")).json(&query);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK, "{query}");
            let truncated = response
                .headers()
                .get("x-signet-search-truncated")
                .map(|v| v.to_str().unwrap().to_owned());
            let found: Vec<String> = response.json().await.unwrap();
            (found, truncated.as_deref() == Some("true"))
        }
    };
    let want = |indexes: &[usize], truncated: bool| {
        (
            indexes.iter().map(|&i| id(i)).collect::<Vec<_>>(),
            truncated,
        )
    };

    // The flooding key: its newest four, the later entry first, and the answer says it is cut.
    assert_eq!(
        search(json!({"publicKey": key(&flood)})).await,
        want(&[7, 5, 4, 3], true)
    );
    // `and` with a rare key finds the match wherever it is among the flood: the newest
    // (beyond the oldest four), the oldest (beyond the newest four), and one in between.
    for (artifact, index) in [(7, 7), (0, 0), (3, 3)] {
        assert_eq!(
            search(json!({"publicKey": key(&flood), "hash": hash(artifact), "operator": "and"}))
                .await,
            want(&[index], false),
            "artifact {artifact}"
        );
    }
    assert_eq!(
        search(json!({"publicKey": key(&rare), "hash": hash(3), "operator": "and"})).await,
        want(&[6], false)
    );
    assert_eq!(
        search(json!({"publicKey": key(&rare), "hash": hash(0), "operator": "and"})).await,
        want(&[], false)
    );
    // `or`: the union first, then the newest four of it.
    assert_eq!(
        search(json!({"publicKey": key(&flood), "hash": hash(3), "operator": "or"})).await,
        want(&[7, 6, 5, 4], true)
    );
    assert_eq!(
        search(json!({"publicKey": key(&rare), "hash": hash(3)})).await,
        want(&[6, 3], false)
    );
    assert_eq!(
        search(json!({"hash": hash(5), "email": "nobody@example.com", "operator": "and"})).await,
        want(&[], false)
    );
}

/// A hashedRekordRequestV002 over `digest` with signature `sig` by `signer`.
pub fn hashedrekord_v2_with(signer: &Signer, digest: &[u8], sig: &[u8]) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest),
        "signature": {"content": STANDARD.encode(sig), "verifier": {
            "publicKey": {"rawBytes": STANDARD.encode(signer.spki())},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }},
    }})
}
