//! The Rekor API over [`signet_log`]: a thin HTTP layer (axum) over its storage, sequencing
//! and proofs, and [`signet_rekor`] (entry validation, canonical bodies, SETs), with the v1
//! search index, the PostgreSQL sequencer lease and the forwarding of writes between servers.
//!
//! One [`LogServer`] hosts two logs side by side, each with its own tree, store and key:
//!
//! - **Rekor v1** (`/api/v1`): ECDSA P-256 key, checkpoints in the Rekor v1 note form with
//!   origin `<host:port> - <tree ID>`, signed entry timestamps.
//! - **Rekor v2** (`/api/v2`): Ed25519 key, C2SP checkpoints with origin `<host:port>`, and the
//!   C2SP tlog-tiles read API (`/api/v2/checkpoint`, `/api/v2/tile/...`).
//!
//! **What it leaves to others.** [`LogServer::new`] takes what it runs on, already opened: the
//! keys ([`LogKeys`]), the stores ([`LogStores`]), the clock and the randomness
//! ([`LogServerParts`]). It reads no key file and writes no trust file: `signet-deploy` keeps
//! the keys and the stores in a data directory and writes the [`LogServer::trusted_root`]
//! there. The origins come from the public URL, so a store keeps its public URL: it refuses to
//! open under another origin. Handlers never read the system clock and never panic on input.
//!
//! **PostgreSQL.** With [`LogStores::Postgres`] the logs and the search index live in a
//! PostgreSQL database ([`PostgresStores::connect`] lays it out: one schema per log,
//! [`V1_SCHEMA`] and [`V2_SCHEMA`], plus [`SERVER_SCHEMA`] for the keys' public parts and the
//! sequencer's address). Several servers may share the database if they have the same keys (a
//! server with other keys is refused with [`ServerError::IdentityMismatch`]) and the same public
//! URL. One of them sequences (holds the database's lease, [`LogServer::is_sequencing`]); the
//! others read everything from the database and forward create requests over HTTP to it (at its
//! [`LogServerParts::peer_url`]), answering 503 if it has not answered within
//! [`FORWARD_TIMEOUT`]; a request whose holder dies or stalls meanwhile (or cannot be reached)
//! goes to the next holder once the lease moves. The holder proves it is alive to the database
//! every [`LEASE_INTERVAL`]; when it dies, or stalls (stopped, hung) for [`LEASE_TIMEOUT`],
//! another takes over within [`LEASE_INTERVAL`] more, and the stalled one, should it resume, can
//! no longer write.
//!
//! A create request is answered only once the entry and a signed checkpoint covering it are
//! durable (see `signet_log::Batcher`), with an inclusion proof to that checkpoint.
//!
//! Limits: request bodies over [`MAX_REQUEST_BODY`] get 413; `POST
//! /api/v1/log/entries/retrieve` takes at most [`signet_rekor::MAX_LOG_ENTRIES`] UUIDs and as
//! many indexes; `POST /api/v1/index/retrieve` combines its keys with `operator` first and
//! then returns the newest [`LogServerParts::search_results`] matches (by default
//! [`MAX_SEARCH_RESULTS`]), with the header `X-Signet-Search-Truncated: true` when it left older
//! ones out.
//!
//! Operations: `GET /healthz` (the process answers), `GET /readyz` (200 once both logs are
//! open, with their tree sizes and whether this server sequences) and `GET /metrics`
//! (Prometheus text: appends by log and outcome, append latency, rejected entries by reason,
//! tree sizes, error answers by status, entries per batch, store commit latency, lease and
//! forwarding, and each cache's size, bound, hits and misses).
//!
//! Memory: every cache is bounded in bytes, and together they stay within
//! [`LogServerParts::cache_bytes`] ([`DEFAULT_CACHE_BYTES`] by default), however large the
//! logs grow; [`CacheSizes`] says how the budget is shared out and what else is bounded.
//!
//! ```no_run
//! # async fn example(parts: signet_server::LogServerParts) -> Result<(), signet_server::ServerError> {
//! let server = signet_server::LogServer::new(parts).await?;
//! let app: axum::Router = server.router();
//! // Serve `app`; list `server.trusted_root()` where clients find it. Then:
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod api;
mod cache;
mod error;
mod metrics;
mod postgres;
mod search;
mod sequencing;
mod store;

pub use api::cors;
pub use cache::{CacheSizes, DEFAULT_CACHE_BYTES};
pub use error::{ApiError, ServerError};
pub use postgres::LEASE_TIMEOUT;
pub use postgres::{FOLLOWER_MAX_STALENESS, PostgresStores, SERVER_SCHEMA, V1_SCHEMA, V2_SCHEMA};
pub use search::MAX_SEARCH_RESULTS;
pub use sequencing::{FORWARD_TIMEOUT, LEASE_INTERVAL};

use aws_lc_rs::digest::{SHA256, digest};
use metrics::Api;
use sequencing::{Cluster, LogHandle, SignerFactory};
use signet_clock::{Clock, Randomness};
use signet_formats::trust::{
    MEDIA_TYPE_V0_1, PublicKey, TimeRange, TransparencyLogInstance, TrustedRoot,
};
use signet_formats::{HashAlgorithm, Timestamp};
use signet_log::{BatcherConfig, CheckpointFormat, RedbStore, SequencerConfig, TileCache};
use signet_note::SharedNoteSigner;
use signet_rekor::EntrySigner;
use signet_signer::{MemorySigner, SharedSigner, SignerAlgorithm};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::{AnyStore, Backend};

/// Largest request body accepted (1 MiB); larger bodies get 413.
pub const MAX_REQUEST_BODY: usize = 1 << 20;

/// Everything that names the two logs: the signing keys, the v1 tree ID and when they were
/// made. Its `Debug` never prints key material.
#[derive(Clone)]
pub struct LogKeys {
    /// PKCS#8 DER of the Rekor v1 ECDSA P-256 key (checkpoints and SETs).
    pub v1_pkcs8: Vec<u8>,
    /// The Rekor v1 tree ID (1 to 2^63-1, as Trillian's): part of the v1 checkpoint origin.
    pub v1_tree_id: u64,
    /// The Rekor v2 Ed25519 seed (checkpoints).
    pub v2_seed: [u8; 32],
    /// When the keys were made (Unix seconds): the trusted root's `validFor.start`.
    pub created: i64,
    /// The Rekor v1 keys rotated out (`signet up --rotate rekor-v1`), still used to answer for
    /// the entries integrated while they were current (see [`RetiredV1Key`]). Empty when the
    /// key never rotated.
    pub retired_v1: Vec<RetiredV1Key>,
}

impl std::fmt::Debug for LogKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKeys")
            .field("v1_tree_id", &self.v1_tree_id)
            .field("created", &self.created)
            .field("retired_v1", &self.retired_v1)
            .finish_non_exhaustive()
    }
}

/// The two logs' signing keys, wherever they live (in memory or in an HSM): the Rekor v1 key
/// (ECDSA P-256: checkpoints and SETs) and the Rekor v2 key (Ed25519: checkpoints). What
/// [`LogServer::with_signers`] signs with; [`LogSigners::from_keys`] makes them from the
/// [`LogKeys`]' key material.
#[derive(Clone, Debug)]
pub struct LogSigners {
    /// The Rekor v1 key: ECDSA P-256.
    pub v1: SharedSigner,
    /// The Rekor v2 key: Ed25519.
    pub v2: SharedSigner,
}

impl LogSigners {
    /// The in-memory signers of `keys.v1_pkcs8` and `keys.v2_seed`.
    ///
    /// # Errors
    /// [`ServerError::BadKey`] if a key does not load.
    pub fn from_keys(keys: &LogKeys) -> Result<LogSigners, ServerError> {
        Ok(LogSigners {
            v1: Self::from_v1_pkcs8(&keys.v1_pkcs8)?,
            v2: Self::from_v2_seed(&keys.v2_seed)?,
        })
    }

    /// The in-memory Rekor v1 signer of a PKCS#8 ECDSA P-256 key.
    ///
    /// # Errors
    /// [`ServerError::BadKey`] if the key does not load.
    pub fn from_v1_pkcs8(pkcs8: &[u8]) -> Result<SharedSigner, ServerError> {
        MemorySigner::from_pkcs8_of(pkcs8, SignerAlgorithm::EcdsaP256Sha256)
            .map(|k| Arc::new(k) as SharedSigner)
            .map_err(|e| ServerError::BadKey {
                log: "Rekor v1",
                reason: e.to_string(),
            })
    }

    /// The in-memory Rekor v2 signer of an Ed25519 seed.
    ///
    /// # Errors
    /// [`ServerError::BadKey`] if the seed is refused.
    pub fn from_v2_seed(seed: &[u8; 32]) -> Result<SharedSigner, ServerError> {
        MemorySigner::from_ed25519_seed(seed)
            .map(|k| Arc::new(k) as SharedSigner)
            .map_err(|e| ServerError::BadKey {
                log: "Rekor v2",
                reason: e.to_string(),
            })
    }

    /// Checks each key's algorithm: ECDSA P-256 for Rekor v1, Ed25519 for Rekor v2.
    fn check(&self) -> Result<(), ServerError> {
        for (log, signer, want) in [
            ("Rekor v1", &self.v1, SignerAlgorithm::EcdsaP256Sha256),
            ("Rekor v2", &self.v2, SignerAlgorithm::Ed25519),
        ] {
            if signer.algorithm() != want {
                return Err(ServerError::BadKey {
                    log,
                    reason: format!(
                        "{} is {}, the log signs with {want}",
                        signer.location(),
                        signer.algorithm()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The Rekor v1 key as it signs SETs and names the log (its public key and log ID).
pub(crate) struct V1EntrySigner {
    signer: SharedSigner,
    log_id: [u8; 32],
}

impl V1EntrySigner {
    fn new(signer: SharedSigner) -> Self {
        V1EntrySigner {
            log_id: signet_rekor::log_id(signer.public_key_spki_der()),
            signer,
        }
    }

    /// The public key as DER `SubjectPublicKeyInfo`.
    pub(crate) fn spki_der(&self) -> &[u8] {
        self.signer.public_key_spki_der()
    }

    /// The public key as Go writes PEM (what `GET /api/v1/log/publicKey` serves).
    pub(crate) fn public_key_pem(&self) -> String {
        signet_rekor::public_key_pem(self.spki_der())
    }
}

impl EntrySigner for V1EntrySigner {
    fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signet_rekor::RekorError> {
        self.signer
            .sign(message)
            .map_err(|e| signet_rekor::RekorError::Sign {
                reason: e.to_string(),
            })
    }
}

/// A retired Rekor v1 key and the time it was the log's key: `[start, end)` in Unix seconds,
/// its trusted-root entry's `validFor`.
///
/// Verifiers pick a Rekor v1 log by the entry's log ID and refuse an entry whose integrated
/// time is outside that log's validity. So an entry read from the log (`GET
/// /api/v1/log/entries`, `GET /api/v1/log/entries/{uuid}`, `POST
/// /api/v1/log/entries/retrieve`) whose integrated time falls in a retired key's window is
/// answered in that key's name: its log ID, a SET signed by it, and an inclusion proof whose
/// checkpoint (the current one) is signed by it alone, as sigstore-js and sigstore-python
/// want every signature of the checkpoint to be by the entry's log. Other entries are answered
/// with the current key. Its `Debug` never prints key material.
#[derive(Clone)]
pub struct RetiredV1Key {
    /// PKCS#8 DER of the retired ECDSA P-256 key.
    pub pkcs8: Vec<u8>,
    /// When the key became the log's key (its `validFor.start`), Unix seconds.
    pub start: i64,
    /// When it was retired (its `validFor.end`, the rotation's time), Unix seconds; after
    /// `start`.
    pub end: i64,
}

impl std::fmt::Debug for RetiredV1Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetiredV1Key")
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// The embedded stores, opened by the caller. The paths only name the stores in errors.
/// Open them with the page caches [`CacheSizes::for_redb`] gives for the server's
/// [`LogServerParts::cache_bytes`] ([`RedbStore::open_with_cache`] with `redb_log`, and
/// `redb::Builder::set_cache_size` with `redb_search`): redb's own default is 1 GiB per file.
#[derive(Debug)]
pub struct RedbStores {
    /// The Rekor v1 log.
    pub v1: RedbStore,
    /// Where `v1` is.
    pub v1_path: PathBuf,
    /// The Rekor v2 log.
    pub v2: RedbStore,
    /// Where `v2` is.
    pub v2_path: PathBuf,
    /// The Rekor v1 search index's database (derived data: an empty one is rebuilt from the
    /// v1 log). Nothing else may use it.
    pub search_index: redb::Database,
    /// Where `search_index` is.
    pub search_index_path: PathBuf,
}

/// Where a [`LogServer`]'s logs live.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // Made once per server start and moved into it.
pub enum LogStores {
    /// redb files: this server is the only one and always sequences.
    Redb(RedbStores),
    /// A PostgreSQL database, possibly shared with other servers (see the crate docs).
    Postgres(PostgresStores),
}

/// What a [`LogServer`] runs on, opened by the caller (`signet-deploy`).
pub struct LogServerParts {
    /// The URL clients reach the server at, e.g. `http://127.0.0.1:8080`: the trusted root's
    /// `baseUrl`, and its `host[:port]` names both logs' checkpoints. Servers sharing a
    /// database must share it (they serve the same logs, e.g. behind one load balancer).
    pub public_url: String,
    /// The logs' keys.
    pub keys: LogKeys,
    /// The logs' stores.
    pub stores: LogStores,
    /// How entries are batched.
    pub batch: BatcherConfig,
    /// With [`LogStores::Postgres`]: the URL other servers reach this one at directly, to
    /// forward create requests to it while it sequences. Default: `public_url` (right only when
    /// it names this server, not a load balancer).
    pub peer_url: Option<String>,
    /// The clock: checkpoint timestamps (kept strictly increasing even if it goes backwards)
    /// and the sequencer record.
    pub clock: Clock,
    /// The randomness: a fresh generator for each ECDSA signer the server makes (the Rekor v1
    /// key signs checkpoints and SETs with random nonces).
    pub randomness: Randomness,
    /// Most entries one `POST /api/v1/index/retrieve` answer lists (the newest matches);
    /// normally [`MAX_SEARCH_RESULTS`].
    pub search_results: usize,
    /// Bytes all the server's caches may hold together, redb's page caches included (see
    /// [`CacheSizes`]); normally [`DEFAULT_CACHE_BYTES`].
    pub cache_bytes: usize,
    /// What must accept each log's checkpoints before they are published (witnesses, a
    /// checkpoint lock; see [`signet_log::guard`]). Default: none.
    pub guards: LogGuards,
}

/// The checkpoint guards of each log, asked in order.
#[derive(Clone, Default)]
pub struct LogGuards {
    /// The Rekor v1 log's.
    pub v1: Vec<Arc<dyn signet_log::CheckpointGuard>>,
    /// The Rekor v2 log's.
    pub v2: Vec<Arc<dyn signet_log::CheckpointGuard>>,
}

impl std::fmt::Debug for LogGuards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |g: &[Arc<dyn signet_log::CheckpointGuard>]| {
            g.iter().map(|g| g.name().to_owned()).collect::<Vec<_>>()
        };
        f.debug_struct("LogGuards")
            .field("v1", &names(&self.v1))
            .field("v2", &names(&self.v2))
            .finish()
    }
}

impl std::fmt::Debug for LogServerParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogServerParts")
            .field("public_url", &self.public_url)
            .field("keys", &self.keys)
            .field("stores", &self.stores)
            .field("batch", &self.batch)
            .field("peer_url", &self.peer_url)
            .field("search_results", &self.search_results)
            .field("cache_bytes", &self.cache_bytes)
            .field("guards", &self.guards)
            .finish_non_exhaustive()
    }
}

/// The Rekor v1 log.
pub(crate) struct V1Log {
    pub(crate) log: Arc<LogHandle>,
    pub(crate) signer: V1EntrySigner,
    /// The retired keys, for the entries integrated while they were current.
    pub(crate) retired: Vec<api::RetiredV1Signer>,
    pub(crate) tree_id: u64,
    /// Consistency proofs already computed (they never change).
    pub(crate) proofs: Arc<api::ProofCache>,
    /// Entry answers (everything but the proof never changes), bounded in bytes.
    pub(crate) entries: Arc<api::EntryCache>,
}

/// The Rekor v2 log.
pub(crate) struct V2Log {
    pub(crate) log: Arc<LogHandle>,
    /// Entry bundles answered (PostgreSQL only; bound zero on redb).
    pub(crate) bundles: Arc<api::BundleCache>,
    /// SHA-256(origin || "\n" || 0x01 || public key): the log ID in trusted roots and entries.
    pub(crate) log_id: [u8; 32],
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub(crate) v1: V1Log,
    pub(crate) v2: V2Log,
    pub(crate) search: search::SearchIndex,
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// Set when the logs live in PostgreSQL (possibly shared with other servers).
    pub(crate) cluster: Option<Arc<Cluster>>,
}

/// The lease loop of a server on PostgreSQL.
struct LeaseTask {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// A running pair of logs (Rekor v1 and v2) and their HTTP API. See the crate docs.
pub struct LogServer {
    state: Arc<AppState>,
    lease: Option<LeaseTask>,
    trusted_root: TrustedRoot,
    v2_origin: String,
    v2_public_key: [u8; 32],
}

impl std::fmt::Debug for LogServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogServer")
            .field("v2_origin", &self.v2_origin)
            .finish_non_exhaustive()
    }
}

/// The checkpoint origins of the two logs a server at `public_url` runs: Rekor v1's
/// (`host[:port] - <tree ID>`) and Rekor v2's (`host[:port]`).
///
/// # Errors
/// [`ServerError::BadPublicUrl`] if the URL's host cannot name a log.
pub fn log_origins(public_url: &str, v1_tree_id: u64) -> Result<(String, String), ServerError> {
    let host = host_port(public_url)?;
    Ok((format!("{host} - {v1_tree_id}"), host))
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

/// How long a server on a shared database waits at start for the sequencing server to publish
/// the first checkpoints.
const FIRST_CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(60);

impl LogServer {
    /// Starts both logs on `parts`. Must run inside a tokio runtime (it starts the sequencing
    /// tasks).
    ///
    /// On [`LogStores::Redb`] this server sequences the logs. On [`LogStores::Postgres`] (see
    /// the crate docs) the server sequences if it gets the database's lease, else it serves
    /// reads and forwards writes to the server that holds it, and takes over when that one
    /// goes.
    ///
    /// # Errors
    /// [`ServerError::BadPublicUrl`] if the public URL has no usable host;
    /// [`ServerError::BadKey`] if a key does not load; [`ServerError::Log`] if a store refuses
    /// to open (damaged, or made under another origin); [`ServerError::IdentityMismatch`] if
    /// the database was created with other keys; [`ServerError::NoSequencer`] if another
    /// server holds the lease but never published a checkpoint; search-index and database
    /// errors otherwise.
    pub async fn new(parts: LogServerParts) -> Result<LogServer, ServerError> {
        let signers = LogSigners::from_keys(&parts.keys)?;
        Self::with_signers(parts, signers).await
    }

    /// [`LogServer::new`] with the logs' keys given as [`LogSigners`] (a key in an HSM, say):
    /// `parts.keys.v1_pkcs8` and `parts.keys.v2_seed` are then not used (leave them empty
    /// and zero); the rest of [`LogKeys`] is.
    ///
    /// A key that fails to sign later (an HSM that went away) fails the appends it would have
    /// signed a checkpoint for with 503, and acknowledges none of them.
    ///
    /// # Errors
    /// As [`LogServer::new`]; [`ServerError::BadKey`] for a key of the wrong algorithm
    /// (Rekor v1 signs with ECDSA P-256, Rekor v2 with Ed25519).
    pub async fn with_signers(
        parts: LogServerParts,
        signers: LogSigners,
    ) -> Result<LogServer, ServerError> {
        signers.check()?;
        let LogServerParts {
            public_url,
            keys,
            stores,
            batch,
            peer_url,
            clock,
            randomness,
            search_results,
            cache_bytes,
            guards,
        } = parts;
        let host = host_port(&public_url)?;
        let base_url = public_url.trim_end_matches('/').to_owned();
        let bad_key = |log: &'static str| {
            move |e: &dyn std::fmt::Display| ServerError::BadKey {
                log,
                reason: e.to_string(),
            }
        };
        let metrics = Arc::new(metrics::Metrics::new());
        let cache_sizes = match &stores {
            LogStores::Redb(_) => CacheSizes::for_redb(cache_bytes),
            LogStores::Postgres(_) => CacheSizes::for_postgres(cache_bytes),
        };
        let v1_tiles = Arc::new(TileCache::new(cache_sizes.tiles));
        let v2_tiles = Arc::new(TileCache::new(cache_sizes.tiles));
        for (api, tiles) in [(Api::V1, &v1_tiles), (Api::V2, &v2_tiles)] {
            let tiles = Arc::clone(tiles);
            metrics.register_cache("tiles", api, move || tiles.stats());
        }

        // Keys (checked once here; the factories below then cannot fail).
        let (v1_origin, _) = log_origins(&public_url, keys.v1_tree_id)?;
        SharedNoteSigner::new(&host, Arc::clone(&signers.v1))
            .map_err(|e| bad_key("Rekor v1")(&e))?;
        let v1_signer = V1EntrySigner::new(Arc::clone(&signers.v1));
        let retired_v1 = keys
            .retired_v1
            .iter()
            .map(|key| api::RetiredV1Signer::new(&host, key, &randomness))
            .collect::<Result<Vec<_>, _>>()?;
        SharedNoteSigner::new(&host, Arc::clone(&signers.v2))
            .map_err(|e| bad_key("Rekor v2")(&e))?;
        let v2_public_key: [u8; 32] = signers
            .v2
            .public_key_spki_der()
            .get(12..)
            .and_then(|key| key.try_into().ok())
            .ok_or_else(|| bad_key("Rekor v2")(&"not an Ed25519 public key"))?;
        let v2_log_id = rekor_v2_log_id(&host, &v2_public_key);
        let factory = |signer: &SharedSigner| -> SignerFactory {
            let (host, signer) = (host.clone(), Arc::clone(signer));
            Box::new(move || {
                SharedNoteSigner::new(&host, Arc::clone(&signer))
                    .ok()
                    .map(|s| Box::new(s) as Box<dyn signet_note::NoteSigner>)
            })
        };
        let v1_factory = factory(&signers.v1);
        let v2_factory = factory(&signers.v2);
        let v1_config = SequencerConfig {
            origin: v1_origin,
            format: CheckpointFormat::RekorV1,
        };
        let v2_config = SequencerConfig {
            origin: host.clone(),
            format: CheckpointFormat::C2sp,
        };

        let (v1_log, v2_log, search, cluster, lease) = match stores {
            LogStores::Redb(redb) => {
                metrics.cache_capacity("redb_log", Api::V1, redb.v1.cache_bytes());
                metrics.cache_capacity("redb_log", Api::V2, redb.v2.cache_bytes());
                metrics.cache_capacity("redb_search", Api::V1, cache_sizes.redb_search);
                let store = |s: RedbStore, api: Api, tiles: &Arc<TileCache>| {
                    Arc::new(AnyStore::new(
                        Backend::Redb(Arc::new(s)),
                        api,
                        Arc::clone(&metrics),
                        Arc::clone(tiles),
                    ))
                };
                let v1 = Arc::new(LogHandle::new(
                    Api::V1,
                    store(redb.v1, Api::V1, &v1_tiles),
                    v1_factory,
                    v1_config,
                    batch,
                    clock.clone(),
                    guards.v1.clone(),
                ));
                let v2 = Arc::new(LogHandle::new(
                    Api::V2,
                    store(redb.v2, Api::V2, &v2_tiles),
                    v2_factory,
                    v2_config,
                    batch,
                    clock.clone(),
                    guards.v2.clone(),
                ));
                for (log, path) in [(&v1, &redb.v1_path), (&v2, &redb.v2_path)] {
                    log.start_sequencing(Arc::clone(&log.store))
                        .await
                        .map_err(|source| ServerError::Log {
                            path: path.clone(),
                            source,
                        })?;
                }
                metrics.sequencer(true);
                let search = search::SearchIndex::open(
                    redb.search_index,
                    Arc::clone(&v1.store),
                    v1.subscribe(),
                    search_results,
                )
                .map_err(|source| ServerError::SearchIndex {
                    path: redb.search_index_path,
                    source: Box::new(source),
                })?;
                (v1, v2, search, None, None)
            }
            LogStores::Postgres(pg) => {
                let PostgresStores {
                    db,
                    v1,
                    v2,
                    follower_max_staleness,
                } = pg;
                db.check_identity(
                    v1_signer.spki_der(),
                    keys.v1_tree_id,
                    &v2_public_key,
                    keys.created,
                )
                .await?;
                let v1_pool = v1.pool().clone();
                let follower = |api, store, tiles: &Arc<TileCache>, factory, config, guards| {
                    let store = AnyStore::new(
                        Backend::Postgres(store),
                        api,
                        Arc::clone(&metrics),
                        Arc::clone(tiles),
                    );
                    let log = LogHandle::new(
                        api,
                        Arc::new(store),
                        factory,
                        config,
                        batch,
                        clock.clone(),
                        guards,
                    );
                    Arc::new(log.follower_max_staleness(follower_max_staleness))
                };
                let v1 = follower(
                    Api::V1,
                    v1,
                    &v1_tiles,
                    v1_factory,
                    v1_config,
                    guards.v1.clone(),
                );
                let v2 = follower(
                    Api::V2,
                    v2,
                    &v2_tiles,
                    v2_factory,
                    v2_config,
                    guards.v2.clone(),
                );
                for log in [&v1, &v2] {
                    // Weak: the log's store holds the metrics.
                    let probe = Arc::downgrade(log);
                    metrics.register_checkpoint(log.api, move || {
                        probe.upgrade().map_or((0, 0), |l| l.freshness.counts())
                    });
                }
                let peer_url = peer_url.unwrap_or_else(|| base_url.clone());
                let cluster = Arc::new(Cluster::new(db, peer_url, clock, Arc::clone(&metrics))?);
                let logs = vec![Arc::clone(&v1), Arc::clone(&v2)];
                let lease =
                    sequencing::first_round(&cluster, &logs, FIRST_CHECKPOINT_TIMEOUT).await?;
                let search = search::SearchIndex::open_postgres(
                    v1_pool,
                    Arc::clone(&v1.store),
                    v1.subscribe(),
                    search_results,
                )
                .await
                .map_err(|e| ServerError::Database {
                    what: "creating the search index tables",
                    source: Box::new(e),
                })?;
                let (stop, stop_rx) = tokio::sync::watch::channel(false);
                let task = tokio::spawn(sequencing::run_lease(
                    Arc::clone(&cluster),
                    logs,
                    lease,
                    stop_rx,
                ));
                (
                    v1,
                    v2,
                    search,
                    Some(cluster),
                    Some(LeaseTask { stop, task }),
                )
            }
        };

        let valid_for = Some(TimeRange {
            start: Some(Timestamp::from_unix_seconds(keys.created)),
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

        let proofs = Arc::new(api::ProofCache::new(cache_sizes.proofs));
        {
            let proofs = Arc::clone(&proofs);
            metrics.register_cache("proofs", Api::V1, move || proofs.stats());
        }
        let bundles = Arc::new(api::BundleCache::new(cache_sizes.bundles));
        if cache_sizes.bundles > 0 {
            let bundles = Arc::clone(&bundles);
            metrics.register_cache("bundles", Api::V2, move || bundles.stats());
        }
        let entries = Arc::new(api::EntryCache::new(cache_sizes.entries));
        {
            let entries = Arc::clone(&entries);
            metrics.register_cache("entries", Api::V1, move || entries.stats());
        }
        Ok(LogServer {
            state: Arc::new(AppState {
                v1: V1Log {
                    log: v1_log,
                    signer: v1_signer,
                    retired: retired_v1,
                    tree_id: keys.v1_tree_id,
                    proofs,
                    entries,
                },
                v2: V2Log {
                    log: v2_log,
                    bundles,
                    log_id: v2_log_id,
                },
                search,
                metrics,
                cluster,
            }),
            lease,
            trusted_root,
            v2_origin: host,
            v2_public_key,
        })
    }

    /// The HTTP API (see the crate docs for the routes).
    pub fn router(&self) -> axum::Router {
        api::router(Arc::clone(&self.state))
    }

    /// The trusted root listing both logs (`tlogs`, valid from [`LogKeys::created`]), for the
    /// caller to publish. Its text is [`TrustedRoot::to_json_pretty`].
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.trusted_root
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

    /// Whether this server sequences the logs right now (always, on redb; on PostgreSQL, while
    /// it holds the database's lease).
    pub fn is_sequencing(&self) -> bool {
        self.state.v2.log.is_sequencing()
    }

    /// Stops both sequencers after the batches already queued, releases the PostgreSQL lease
    /// if held, and closes the stores. Waits (up to 10 s) for routers handed out by
    /// [`LogServer::router`] to be dropped first; if they are not, the sequencers stop when the
    /// last router goes.
    pub async fn shutdown(self) {
        if let Some(lease) = self.lease {
            let _ = lease.stop.send(true);
            let _ = lease.task.await;
        }
        let mut state = self.state;
        for _ in 0..1000 {
            match Arc::try_unwrap(state) {
                Ok(s) => {
                    s.v1.log.stop_sequencing().await;
                    s.v2.log.stop_sequencing().await;
                    drop(s.v1);
                    drop(s.v2);
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
