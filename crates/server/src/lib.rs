//! The transparency log server: a thin HTTP layer (axum) over [`signet_log`] (storage,
//! sequencing, proofs) and [`signet_rekor`] (entry validation, canonical bodies, SETs).
//!
//! One [`LogServer`] hosts two logs side by side, each with its own tree, store and key:
//!
//! - **Rekor v1** (`/api/v1`): ECDSA P-256 key, checkpoints in the Rekor v1 note form with
//!   origin `<host:port> - <tree ID>`, signed entry timestamps.
//! - **Rekor v2** (`/api/v2`): Ed25519 key, C2SP checkpoints with origin `<host:port>`, and the
//!   C2SP tlog-tiles read API (`/api/v2/checkpoint`, `/api/v2/tile/...`).
//!
//! The data directory holds the keys (created on first start, mode 0600), the two redb stores
//! and `trusted_root.json`, which lists both logs so clients can verify this server. The
//! origins come from the public URL, so a data directory must keep its public URL: the stores
//! refuse to open under another origin.
//!
//! A create request is answered only once the entry and a signed checkpoint covering it are
//! durable (see `signet_log::Batcher`), with an inclusion proof to that checkpoint.
//!
//! Limits: request bodies over [`MAX_REQUEST_BODY`] get 413; `POST
//! /api/v1/log/entries/retrieve` takes at most [`signet_rekor::MAX_LOG_ENTRIES`] UUIDs and as
//! many indexes; `POST /api/v1/index/retrieve` returns at most [`MAX_SEARCH_RESULTS`] entries
//! per key.
//!
//! Operations: `GET /healthz` (the process answers), `GET /readyz` (200 once both logs are
//! open, with their tree sizes) and `GET /metrics` (Prometheus text: appends by log and
//! outcome, append latency, rejected entries by reason, tree sizes, error answers by status).
#![forbid(unsafe_code)]

mod api;
mod error;
mod keys;
mod metrics;
mod search;

pub use error::{ApiError, ServerError};
pub use keys::{
    CREATED_FILE, V1_KEY_FILE, V1_STORE_FILE, V1_TREE_ID_FILE, V2_KEY_FILE, V2_STORE_FILE,
};
pub use search::MAX_SEARCH_RESULTS;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use signet_formats::trust::{
    MEDIA_TYPE_V0_1, PublicKey, TimeRange, TransparencyLogInstance, TrustedRoot,
};
use signet_formats::{HashAlgorithm, Timestamp};
use signet_log::{Batcher, BatcherConfig, CheckpointFormat, RedbStore, Sequencer, SequencerConfig};
use signet_note::{EcdsaP256NoteSigner, Ed25519NoteSigner};
use signet_rekor::EcdsaP256EntrySigner;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest request body accepted (1 MiB); larger bodies get 413.
pub const MAX_REQUEST_BODY: usize = 1 << 20;

/// The Rekor v1 search index's file name in the data directory (derived data: delete it to
/// rebuild it on the next start).
pub const SEARCH_INDEX_FILE: &str = "search-v1.redb";

/// The trusted root's file name in the data directory.
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";

/// How to run a [`LogServer`].
#[derive(Debug, Clone)]
pub struct LogServerConfig {
    /// Where keys, stores and `trusted_root.json` live. Created if missing.
    pub data_dir: PathBuf,
    /// The URL clients reach the server at, e.g. `http://127.0.0.1:8080`: the trusted root's
    /// `baseUrl`, and its `host[:port]` names both logs' checkpoints.
    pub public_url: String,
    /// How entries are batched.
    pub batch: BatcherConfig,
}

/// The Rekor v1 log.
pub(crate) struct V1Log {
    pub(crate) batcher: Batcher,
    pub(crate) store: Arc<RedbStore>,
    pub(crate) signer: EcdsaP256EntrySigner,
    pub(crate) tree_id: u64,
}

/// The Rekor v2 log.
pub(crate) struct V2Log {
    pub(crate) batcher: Batcher,
    pub(crate) store: Arc<RedbStore>,
    /// SHA-256(origin || "\n" || 0x01 || public key): the log ID in trusted roots and entries.
    pub(crate) log_id: [u8; 32],
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub(crate) v1: V1Log,
    pub(crate) v2: V2Log,
    pub(crate) search: search::SearchIndex,
    pub(crate) metrics: metrics::Metrics,
}

/// A running pair of logs (Rekor v1 and v2) and their HTTP API. See the crate docs.
pub struct LogServer {
    state: Arc<AppState>,
    trusted_root: TrustedRoot,
    trusted_root_path: PathBuf,
    v2_origin: String,
    v2_public_key: [u8; 32],
}

impl std::fmt::Debug for LogServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogServer")
            .field("trusted_root_path", &self.trusted_root_path)
            .field("v2_origin", &self.v2_origin)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `host[:port]` of an `http(s)://` URL.
fn host_port(url: &str) -> Result<String, ServerError> {
    let bad = |reason| ServerError::BadPublicUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if !signet_note::is_valid_key_name(host) || host.contains(['?', '#', '@']) {
        return Err(bad("host is not usable as a checkpoint origin"));
    }
    Ok(host.to_owned())
}

/// The DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410).
fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    let mut out = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    out.extend_from_slice(key);
    out
}

/// How Sigstore trusted roots name a Rekor v2 log: SHA-256 of the note key's
/// `origin || "\n" || 0x01 || key` (its first four bytes are the checkpoint key ID).
pub fn rekor_v2_log_id(origin: &str, public_key: &[u8; 32]) -> [u8; 32] {
    let mut data = Vec::with_capacity(origin.len() + 34);
    data.extend_from_slice(origin.as_bytes());
    data.push(b'\n');
    data.push(0x01);
    data.extend_from_slice(public_key);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &data).as_ref());
    out
}

async fn open_log(
    path: &Path,
    signer: Box<dyn signet_note::NoteSigner>,
    config: SequencerConfig,
    batch: BatcherConfig,
) -> Result<(Batcher, Arc<RedbStore>), ServerError> {
    let log_err = |source| ServerError::Log {
        path: path.to_owned(),
        source,
    };
    let store =
        Arc::new(RedbStore::open(path).map_err(|e| log_err(signet_log::LogError::from(e)))?);
    let sequencer = Sequencer::open(Arc::clone(&store), signer, config, now_ms)
        .await
        .map_err(log_err)?;
    let batcher = Batcher::spawn(sequencer, batch).map_err(log_err)?;
    Ok((batcher, store))
}

impl LogServer {
    /// Opens (or creates) both logs in `config.data_dir` and writes `trusted_root.json`.
    /// Must run inside a tokio runtime (it starts the sequencing tasks).
    ///
    /// # Errors
    /// [`ServerError::MissingKey`] if a store exists without its key; I/O, key-file and store
    /// errors otherwise.
    pub async fn open(config: LogServerConfig) -> Result<LogServer, ServerError> {
        let dir = config.data_dir.as_path();
        let host = host_port(&config.public_url)?;
        let base_url = config.public_url.trim_end_matches('/').to_owned();
        let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
        let identity = keys::load_or_create(dir, now)?;
        let key_err = |file: &str, e: &dyn std::fmt::Display| ServerError::BadKeyFile {
            path: dir.join(file),
            reason: e.to_string(),
        };

        // Rekor v1.
        let v1_origin = format!("{host} - {}", identity.v1_tree_id);
        let v1_note_signer = EcdsaP256NoteSigner::from_pkcs8(
            &host,
            &identity.v1_pkcs8,
            Box::new(SystemRandom::new()),
        )
        .map_err(|e| key_err(V1_KEY_FILE, &e))?;
        let v1_signer =
            EcdsaP256EntrySigner::from_pkcs8(&identity.v1_pkcs8, Box::new(SystemRandom::new()))
                .map_err(|e| key_err(V1_KEY_FILE, &e))?;
        let (v1_batcher, v1_store) = open_log(
            &dir.join(V1_STORE_FILE),
            Box::new(v1_note_signer),
            SequencerConfig {
                origin: v1_origin,
                format: CheckpointFormat::RekorV1,
            },
            config.batch,
        )
        .await?;

        let search_path = dir.join(SEARCH_INDEX_FILE);
        let search = search::SearchIndex::open(&search_path, Arc::clone(&v1_store), &v1_batcher)
            .map_err(|source| ServerError::SearchIndex {
                path: search_path,
                source: Box::new(source),
            })?;

        // Rekor v2.
        let v2_note_signer = Ed25519NoteSigner::from_seed(&host, &identity.v2_seed)
            .map_err(|e| key_err(V2_KEY_FILE, &e))?;
        let v2_public_key = v2_note_signer.public_key();
        let v2_log_id = rekor_v2_log_id(&host, &v2_public_key);
        let (v2_batcher, v2_store) = open_log(
            &dir.join(V2_STORE_FILE),
            Box::new(v2_note_signer),
            SequencerConfig {
                origin: host.clone(),
                format: CheckpointFormat::C2sp,
            },
            config.batch,
        )
        .await?;

        let valid_for = Some(TimeRange {
            start: Some(Timestamp::from_unix_seconds(identity.created)),
            end: None,
        });
        let trusted_root = TrustedRoot {
            media_type: MEDIA_TYPE_V0_1.to_owned(),
            tlogs: vec![
                TransparencyLogInstance {
                    base_url: base_url.clone(),
                    hash_algorithm: Some(HashAlgorithm::Sha2_256),
                    public_key: PublicKey {
                        raw_bytes: Some(v1_signer.spki_der().to_vec()),
                        key_details: "PKIX_ECDSA_P256_SHA_256".into(),
                        valid_for,
                    },
                    log_id: signet_rekor::log_id(v1_signer.spki_der()).to_vec(),
                    checkpoint_key_id: None,
                },
                TransparencyLogInstance {
                    base_url,
                    hash_algorithm: Some(HashAlgorithm::Sha2_256),
                    public_key: PublicKey {
                        raw_bytes: Some(ed25519_spki(&v2_public_key)),
                        key_details: "PKIX_ED25519".into(),
                        valid_for,
                    },
                    log_id: v2_log_id.to_vec(),
                    checkpoint_key_id: None,
                },
            ],
            certificate_authorities: Vec::new(),
            ctlogs: Vec::new(),
            timestamp_authorities: Vec::new(),
        };
        let trusted_root_path = dir.join(TRUSTED_ROOT_FILE);
        let json = trusted_root.to_json_pretty();
        let tmp = dir.join("trusted_root.json.tmp");
        std::fs::write(&tmp, json.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &trusted_root_path))
            .map_err(|source| ServerError::Io {
                path: trusted_root_path.clone(),
                source,
            })?;

        Ok(LogServer {
            state: Arc::new(AppState {
                v1: V1Log {
                    batcher: v1_batcher,
                    store: v1_store,
                    signer: v1_signer,
                    tree_id: identity.v1_tree_id,
                },
                v2: V2Log {
                    batcher: v2_batcher,
                    store: v2_store,
                    log_id: v2_log_id,
                },
                search,
                metrics: metrics::Metrics::new(),
            }),
            trusted_root,
            trusted_root_path,
            v2_origin: host,
            v2_public_key,
        })
    }

    /// The HTTP API (see the crate docs for the routes).
    pub fn router(&self) -> axum::Router {
        api::router(Arc::clone(&self.state))
    }

    /// The trusted root listing both logs, as written to [`LogServer::trusted_root_path`].
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.trusted_root
    }

    /// Where `trusted_root.json` was written.
    pub fn trusted_root_path(&self) -> &Path {
        &self.trusted_root_path
    }

    /// The Rekor v2 checkpoint origin (and note key name).
    pub fn v2_origin(&self) -> &str {
        &self.v2_origin
    }

    /// The Rekor v2 Ed25519 public key.
    pub fn v2_public_key(&self) -> [u8; 32] {
        self.v2_public_key
    }

    /// The Rekor v1 tree ID.
    pub fn v1_tree_id(&self) -> u64 {
        self.state.v1.tree_id
    }

    /// Stops both sequencers after the batches already queued, and closes the stores. Waits
    /// (up to 10 s) for routers handed out by [`LogServer::router`] to be dropped first; if
    /// they are not, the sequencers stop when the last router goes.
    pub async fn shutdown(self) {
        let mut state = self.state;
        for _ in 0..1000 {
            match Arc::try_unwrap(state) {
                Ok(s) => {
                    s.v1.batcher.shutdown().await;
                    s.v2.batcher.shutdown().await;
                    s.search.close().await;
                    return;
                }
                Err(shared) => {
                    state = shared;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}
