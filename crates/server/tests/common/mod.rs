//! Helpers shared by the server tests: a server on a free loopback port (its stores in a
//! directory, its keys kept per directory in memory, as a data directory's key files keep
//! them), and signed requests.
#![allow(dead_code)]

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_log::{BatcherConfig, RedbStore};
use signet_server::{
    LogKeys, LogServer, LogServerParts, LogStores, PostgresStores, RedbStores, ServerError,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
    let stores = match database {
        None => {
            let (v1_path, v2_path) = (dir.join("log-v1.redb"), dir.join("log-v2.redb"));
            let search_index_path = dir.join(SEARCH_INDEX_FILE);
            LogStores::Redb(RedbStores {
                v1: RedbStore::open(&v1_path).unwrap(),
                v1_path,
                v2: RedbStore::open(&v2_path).unwrap(),
                v2_path,
                search_index: redb::Database::create(&search_index_path).unwrap(),
                search_index_path,
            })
        }
        Some(url) => LogStores::Postgres(PostgresStores::connect(url).await?),
    };
    LogServer::new(LogServerParts {
        public_url: public_url.to_owned(),
        keys: keys_for(dir),
        stores,
        batch,
        peer_url,
        clock: Arc::new(now_ms),
        randomness: Arc::new(|| Box::new(SystemRandom::new())),
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = open(
        dir,
        public_url.unwrap_or(&base),
        database,
        Some(base.clone()),
        BatcherConfig {
            max_wait: Duration::from_millis(5),
            ..BatcherConfig::default()
        },
    )
    .await
    .unwrap();
    let router = server.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running { server, base, task }
}

/// A fresh P-256 signing key.
pub struct Signer {
    pub key: EcdsaKeyPair,
}

impl Signer {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Signer {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap(),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    pub fn spki(&self) -> Vec<u8> {
        self.key.public_key().as_der().unwrap().as_ref().to_vec()
    }

    pub fn pem(&self) -> String {
        let b64 = STANDARD.encode(self.spki());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

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
